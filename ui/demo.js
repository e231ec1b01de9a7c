// demo.js - the demo page (herald serve --demo): the page plays the host
// practice-management app. It signs in as a member of the demo practice
// (a member token, minted with the demo workspace's key), embeds Herald's
// components, fires each kind of event as the app would, and shows what
// Herald would have sent by email, SMS and push (the sink).
import './herald.js';

const $ = (id) => document.getElementById(id);
let key, members = [], me = null, counter = 0;

async function api(method, path, body) {
  const r = await fetch(path, {
    method,
    headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await r.json().catch(() => null);
  if (!r.ok) throw new Error((data && data.error && data.error.message) || r.statusText);
  return data;
}

const CLIENTS = [
  { id: 'cl_dana', name: 'Dana Reyes' }, { id: 'cl_omar', name: 'Omar Haddad' },
  { id: 'cl_aoife', name: 'Aoife Murphy' }, { id: 'cl_chen', name: 'Chen Wei' },
];
const pick = (list) => list[Math.floor(Math.random() * list.length)];

function when(days, hour, minute) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  d.setHours(hour, minute, 0, 0);
  return d.toISOString();
}

function appointment(extra = {}) {
  return { id: 'ap_' + Date.now().toString(36), starts_at: when(1 + Math.floor(Math.random() * 3), 9 + Math.floor(Math.random() * 8), 30),
           staff_ids: [me], service: { id: 'sv_initial', name: 'Initial consultation' }, ...extra };
}

const someone = () => ({ ...pick(CLIENTS), assigned_staff_ids: [me] });
const asClient = (c) => ({ kind: 'client', id: c.id, name: c.name });
const colleague = () => members.find((m) => m.id !== me && m.role === 'receptionist') || members.find((m) => m.id !== me);

// Each simulated event: what the app would send. `me` is the member signed in.
const SIMULATIONS = [
  ['Bookings', [
    ['Booked online (booking page)', () => { const c = someone(); return ['appointment.booked', 'booking_page', asClient(c), { appointment: appointment(), client: c }]; }],
    ['Booked in the website widget', () => { const c = someone(); return ['appointment.booked', 'widget', asClient(c), { appointment: appointment(), client: c }]; }],
    ['Booked by reception', () => { const c = someone(), r = colleague(); return ['appointment.booked', 'reception', { kind: 'member', id: r.id, name: r.name }, { appointment: appointment(), client: c }]; }],
    ['Booked in the client portal', () => { const c = someone(); return ['appointment.booked', 'client_portal', asClient(c), { appointment: appointment(), client: c }]; }],
  ]],
  ['Changes', [
    ['Client cancelled: feeling unwell', () => { const c = someone(); return ['appointment.cancelled', 'client_portal', asClient(c), { appointment: appointment(), client: c, reason: 'Feeling unwell' }]; }],
    ['Client cancelled: work came up', () => { const c = someone(); return ['appointment.cancelled', 'booking_page', asClient(c), { appointment: appointment(), client: c, reason: 'Something came up at work' }]; }],
    ['Client rescheduled', () => { const c = someone(); return ['appointment.rescheduled', 'client_portal', asClient(c), { appointment: appointment(), client: c, previous: { starts_at: when(1, 11, 0) } }]; }],
    ['Client confirmed', () => { const c = someone(); return ['appointment.confirmed', 'client_portal', asClient(c), { appointment: appointment(), client: c }]; }],
  ]],
  ['Clients and documents', [
    ['Intake form submitted', () => { const c = someone(); return ['form.submitted', 'client_portal', asClient(c), { client: c, form: { id: 'fm_intake', name: 'Intake questionnaire' } }]; }],
    ['File uploaded', () => { const c = someone(); return ['file.uploaded', 'client_portal', asClient(c), { client: c, file: { id: 'f_' + Date.now(), name: 'MRI report.pdf' } }]; }],
    ['Client added a note', () => { const c = someone(); return ['note.created', 'client_portal', asClient(c), { client: c, note: { id: 'n_' + Date.now(), title: 'Before my visit', text: 'My knee is worse after running.' } }]; }],
    ['New client assigned to me', () => { const c = someone(), r = colleague(); return ['client.assigned', 'staff', { kind: 'member', id: r.id, name: r.name }, { client: c }]; }],
  ]],
  ['Messages', [
    ['Dana writes in "Knee rehab"', () => message('conv-dana', 'Knee rehab', CLIENTS[0], pick(['Is tomorrow still on?', 'Can I bring my own resistance band?', 'The exercises help, thank you!']))],
    ['Omar writes in "Back pain"', () => message('conv-omar', 'Back pain', CLIENTS[1], pick(['Should I ice it tonight?', 'Running late, 10 minutes.']))],
  ]],
  ['Billing', [
    ['Invoice paid', () => { const c = someone(); return ['invoice.paid', 'system', asClient(c), { invoice: { id: 'inv_' + Date.now(), number: 'INV-' + (1000 + ++counter), amount: 85, currency: 'EUR', staff_ids: [me] }, client: c }]; }],
    ['Plan payment failed (owners, admins)', () => ['subscription.payment_failed', 'system', { kind: 'system' }, { subscription: { id: 'sub_1', plan: 'Clinic Pro', amount: 129, currency: 'EUR' } }]],
    ['Referral credit earned', () => ['referral.credited', 'system', { kind: 'system' }, { referral: { id: 'ref_' + Date.now(), referrer_id: me, referred_name: 'Northside Physio', amount: 50, currency: 'EUR' } }]],
  ]],
];

function message(conv, name, client, text) {
  return ['message.received', 'client_portal', asClient(client),
          { conversation: { id: conv, name, participant_ids: [me] }, message: { id: 'msg_' + Date.now(), text } }];
}

async function simulate(label, make) {
  const [type, source, actor, data] = make();
  const id = `demo-${Date.now().toString(36)}-${++counter}`;
  try {
    const out = await api('POST', '/v1/events', { id, type, occurred_at: new Date().toISOString(), source, actor, data });
    const who = out.notifications.map((n) => memberName(n.member_id)).join(', ') || 'nobody';
    const grouped = (out.grouped || []).length;
    $('sim-status').textContent = grouped
      ? `${label}: a pop-up now; the feed gets one notification when the 3-minute window closes.`
      : `${label}: notified ${who}.`;
    setTimeout(refreshSink, 400);
  } catch (e) {
    $('sim-status').textContent = `${label}: ${e.message}`;
  }
}

function memberName(id) {
  const m = members.find((x) => x.id === id);
  return m ? m.name : id;
}

function buildSimulations() {
  const root = $('sim');
  for (const [group, items] of SIMULATIONS) {
    const fs = document.createElement('fieldset');
    fs.innerHTML = `<legend>${group}</legend>`;
    for (const [label, make] of items) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = label;
      b.addEventListener('click', () => simulate(label, make));
      fs.append(b);
    }
    root.append(fs);
  }
}

let signingIn = 0;

async function signIn(id) {
  me = id;
  const mine = ++signingIn;
  const { token } = await api('POST', `/v1/members/${encodeURIComponent(id)}/tokens`, {});
  if (mine !== signingIn) return; // another member was picked meanwhile
  for (const el of document.querySelectorAll('herald-bell, herald-inbox, herald-popups, herald-preferences'))
    el.setAttribute('token', token);
  localStorage.setItem('herald-demo-member', id);
}

const esc = (s) => String(s == null ? '' : s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
let sinkSeen = null;

async function refreshSink() {
  try {
    const { items } = await api('GET', '/v1/dev/sink?limit=40');
    const sig = items.map((i) => i.delivery_id).join(',');
    if (sig === sinkSeen) return;
    sinkSeen = sig;
    $('sink').innerHTML = items.length ? items.map((i) => `<li>
        <span class="ch">${esc(i.channel)}</span>
        <span class="to">to ${esc(memberName(i.member_id))} · ${esc(i.to)} · ${esc(new Date(i.at).toLocaleTimeString())}</span>
        ${i.subject || i.title ? `<span class="subject">${esc(i.subject || i.title)}</span>` : ''}
        <span class="text">${esc((i.text || '').trim())}</span></li>`).join('')
      : '<li><span class="ch">—</span><span class="text">Nothing yet. Cancellation alerts (email, SMS) and pushes appear here.</span></li>';
  } catch { /* the next tick tries again */ }
}

function cycleTheme() {
  const order = ['system', 'light', 'dark'];
  const now = document.documentElement.dataset.theme || 'system';
  const next = order[(order.indexOf(now) + 1) % order.length];
  if (next === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = next;
  for (const el of document.querySelectorAll('herald-bell, herald-inbox, herald-popups, herald-preferences'))
    if (next === 'system') el.removeAttribute('theme'); else el.setAttribute('theme', next);
  $('theme').setAttribute('aria-label', `Theme: ${next}`);
}

async function main() {
  ({ api_key: key } = await (await fetch('/v1/demo/session')).json());
  members = (await api('GET', '/v1/members?limit=100')).members;
  const roles = { owner: 'owner', admin: 'admin', practitioner: 'practitioner', staff: 'staff', receptionist: 'reception' };
  $('member').innerHTML = members.map((m) => `<option value="${esc(m.id)}">${esc(m.name)} (${roles[m.role] || m.role})</option>`).join('');
  const saved = localStorage.getItem('herald-demo-member');
  // Sam first: the demo set him up with cancellation alerts and a phone
  const first = members.find((m) => m.id === saved) || members.find((m) => m.id === 'm_sam') ||
                members.find((m) => m.role === 'practitioner') || members[0];
  $('member').value = first.id;
  $('member').addEventListener('change', (e) => signIn(e.target.value));
  $('theme').addEventListener('click', cycleTheme);
  buildSimulations();
  await signIn(first.id);
  refreshSink();
  setInterval(refreshSink, 2000);
}

main().catch((e) => { $('sim-status').textContent = 'The demo could not start: ' + e.message; });
