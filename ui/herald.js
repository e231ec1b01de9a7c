// herald.js - Herald's browser components, served by Herald at /ui/herald.js.
// No framework and no build step: one ES module that defines
//
//   <herald-bell>         the bell with a live unread badge
//   <herald-inbox>        the activity panel: Unread / Read / Ignored / All
//   <herald-popups>       new-message pop-ups, bottom right
//   <herald-preferences>  what reaches me, and how; browser notifications
//
// Each takes the member's token (token="...") and, when the page is not
// served by Herald, Herald's address (base="https://herald.example"). The
// elements on a page share one connection per member: one live stream
// (Server-Sent Events) that resumes where it left off after a drop.
//
// Theme with CSS custom properties on the elements (--herald-accent,
// --herald-bg, --herald-fg, --herald-muted, --herald-border,
// --herald-unread, --herald-badge, --herald-on-accent, --herald-danger,
// --herald-radius, --herald-font); theme="dark" or
// theme="light" overrides the system's choice.

const HERE = new URL('.', import.meta.url);
const DEFAULT_BASE = HERE.origin + HERE.pathname.replace(/\/ui\/$/, '');

// ---- the connection to Herald, shared by the elements of one member ----

const clients = new Map(); // "base\nworkspace\nmember" -> HeraldClient

// Whose a token is, from its claims. Only to share one connection per
// member: Herald verifies the token, this does not.
function claims(token) {
  try {
    const p = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return p && typeof p === 'object' ? p : {};
  } catch {
    return {};
  }
}

class HeraldClient extends EventTarget {
  static key(base, token) {
    const c = claims(token);
    return base.replace(/\/$/, '') + '\n' + (c.ws && c.sub ? c.ws + '\n' + c.sub : token);
  }

  // One client per member: a renewed token (the host replacing one that
  // expired) takes the old one's place, and the stream resumes with it.
  static for(base, token) {
    const key = HeraldClient.key(base, token);
    let client = clients.get(key);
    if (!client) clients.set(key, (client = new HeraldClient(key, base, token)));
    else client.setToken(token);
    return client;
  }

  constructor(key, base, token) {
    super();
    this.key = key;
    this.base = base.replace(/\/$/, '');
    this.token = token;
    this.member = claims(token).sub || null;
    this.users = 0;
    this.unread = null;
    this.lastId = null;
    this.live = null; // not yet known
    this.failures = 0;
    this.refused = false; // 'unauthorized' was told for this token
  }

  setToken(token) {
    if (token === this.token) return;
    // an element still holding an older token must not undo a renewal
    // (unless the newer one was refused)
    if (!this.refused && (claims(token).iat || 0) < (claims(this.token).iat || 0)) return;
    this.token = token;
    this.refused = false;
    if (this.users) { this.disconnect(); this.connect(); }
    this.emit('token', {}); // what failed with the old one may load now
  }

  async api(method, path, body, renewed = false) {
    const token = this.token;
    const headers = { Authorization: 'Bearer ' + token };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(this.base + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (r.status === 204) return null;
    const data = await r.json().catch(() => null);
    if (r.status === 401 && token === this.token && !this.refused) {
      this.refused = true; // once per token, however many calls fail
      this.emit('unauthorized', { error: data && data.error, told: false });
    }
    // renewed meanwhile (or by the host's handler just now): once more with the new one
    if (r.status === 401 && token !== this.token && !renewed) return this.api(method, path, body, true);
    if (!r.ok) {
      const e = new Error((data && data.error && data.error.message) || r.statusText);
      e.status = r.status;
      e.data = data;
      throw e;
    }
    return data;
  }

  acquire() {
    if (this.users++ === 0) this.connect();
  }

  release() {
    if (--this.users > 0) return;
    this.disconnect();
    clients.delete(this.key);
  }

  disconnect() {
    clearTimeout(this.timer);
    if (this.es) this.es.close();
    this.es = null;
  }

  // The browser's EventSource reconnects by itself after a drop, sending
  // Last-Event-ID, and Herald replays what was missed. A stream refused
  // outright (an expired token, too many streams) closes for good: then
  // we try again ourselves, slower each time, from the last id we saw.
  connect() {
    let url = `${this.base}/v1/me/stream?access_token=${encodeURIComponent(this.token)}`;
    if (this.lastId) url += `&last_event_id=${encodeURIComponent(this.lastId)}`;
    const es = new EventSource(url);
    this.es = es;
    const on = (type, fn) => es.addEventListener(type, (e) => {
      if (this.es !== es) return;
      if (e.lastEventId) this.lastId = e.lastEventId;
      fn(JSON.parse(e.data));
    });
    on('count', (d) => this.setUnread(d.unread));
    on('notification', (d) => { this.emit('notification', d); this.setUnread(d.unread); });
    on('notification_state', (d) => { this.emit('state', d); this.setUnread(d.unread); });
    on('message', (d) => this.emit('message', d));
    on('reset', (d) => this.emit('reset', d));
    es.onopen = () => { if (this.es === es) { this.failures = 0; this.setLive(true); } };
    es.onerror = () => {
      if (this.es !== es) return;
      this.setLive(false);
      if (es.readyState !== EventSource.CLOSED) return;
      this.es = null;
      // EventSource does not say why: an expired token is the usual one,
      // which an API call tells (and reports as 'unauthorized').
      this.api('GET', '/v1/me/notifications/count').catch(() => {});
      const delay = Math.min(30000, 1000 * 2 ** this.failures++);
      this.timer = setTimeout(() => { if (this.users && !this.es) this.connect(); }, delay);
    };
  }

  setUnread(n) {
    this.unread = n;
    this.emit('count', { unread: n });
  }

  setLive(live) {
    if (this.live === live) return;
    this.live = live;
    this.emit('status', { live });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

// ---- shared look ----

const THEME = `
:host {
  --_accent: var(--herald-accent, #2563eb);
  --_bg: var(--herald-bg, #ffffff);
  --_fg: var(--herald-fg, #1f2937);
  --_muted: var(--herald-muted, #5b6472);
  --_border: var(--herald-border, #e3e6ea);
  --_unread: var(--herald-unread, #eef4ff);
  --_radius: var(--herald-radius, 10px);
  --_danger: var(--herald-danger, #b42318);
  --_badge: var(--herald-badge, #d92d20);
  --_on-accent: var(--herald-on-accent, #ffffff);
  color-scheme: light dark;
  font-family: var(--herald-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  color: var(--_fg);
  font-size: 14px;
  line-height: 1.4;
}
@media (prefers-color-scheme: dark) {
  :host(:not([theme=light])) {
    --_accent: var(--herald-accent, #7aa2ff);
    --_bg: var(--herald-bg, #17191d);
    --_fg: var(--herald-fg, #e8eaed);
    --_muted: var(--herald-muted, #a0a7b1);
    --_border: var(--herald-border, #30343b);
    --_unread: var(--herald-unread, #1d2840);
    --_danger: var(--herald-danger, #ff8a80);
    --_on-accent: var(--herald-on-accent, #0b1220);
  }
}
:host([theme=dark]) {
  --_accent: var(--herald-accent, #7aa2ff);
  --_bg: var(--herald-bg, #17191d);
  --_fg: var(--herald-fg, #e8eaed);
  --_muted: var(--herald-muted, #a0a7b1);
  --_border: var(--herald-border, #30343b);
  --_unread: var(--herald-unread, #1d2840);
  --_danger: var(--herald-danger, #ff8a80);
  --_on-accent: var(--herald-on-accent, #0b1220);
  color-scheme: dark;
}
:host([theme=light]) { color-scheme: light; }
:host([hidden]) { display: none !important; }
* { box-sizing: border-box; }
button { font: inherit; color: inherit; cursor: pointer; }
:focus-visible { outline: 2px solid var(--_accent); outline-offset: 2px; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

function shadow(el, css, html) {
  const root = el.attachShadow({ mode: 'open' });
  root.innerHTML = `<style>${THEME}${css}</style>${html}`;
  return root;
}

function escapeHtml(s) {
  return String(s == null ? '' : s).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(values[k] == null ? '' : values[k]));
}

const LANG = document.documentElement.lang || navigator.language || 'en';
const relative = new Intl.RelativeTimeFormat(LANG, { numeric: 'auto', style: 'long' });
const fullTime = new Intl.DateTimeFormat(LANG, { dateStyle: 'full', timeStyle: 'short' });

// "2 minutes ago", "yesterday", ...; the full time goes in the title.
function ago(iso, now = Date.now()) {
  // never "in 3 minutes": a time ahead of this browser's clock is clock skew
  const s = Math.min(0, Math.round((Date.parse(iso) - now) / 1000));
  const a = Math.abs(s);
  if (a < 45) return relative.format(0, 'second'); // "now"
  if (a < 2700) return relative.format(Math.round(s / 60), 'minute');
  if (a < 79200) return relative.format(Math.round(s / 3600), 'hour');
  if (a < 26 * 86400) return relative.format(Math.round(s / 86400), 'day');
  if (a < 320 * 86400) return relative.format(Math.round(s / (30 * 86400)), 'month');
  return relative.format(Math.round(s / (365 * 86400)), 'year');
}

// ---- the base of every element: attributes, the shared client ----

class HeraldElement extends HTMLElement {
  static get observedAttributes() { return ['base', 'token']; }

  connectedCallback() { this.attach(); }
  disconnectedCallback() { this.detach(); }
  attributeChangedCallback(name, was, now) {
    if (was === now || !this.isConnected || (name !== 'base' && name !== 'token')) return;
    const token = this.getAttribute('token');
    const base = this.getAttribute('base') || DEFAULT_BASE;
    // the same member with a renewed token: the connection carries on
    if (this.client && token && HeraldClient.key(base, token) === this.client.key) {
      this.client.setToken(token);
      return;
    }
    this.detach();
    this.attach();
  }

  attach() {
    const token = this.getAttribute('token');
    if (!token || this.client) return;
    this.client = HeraldClient.for(this.getAttribute('base') || DEFAULT_BASE, token);
    this.subscriptions = [];
    this.client.acquire();
    // A token that expired: the host hands a new one (token="..."). Each
    // of the member's elements tells its own listeners; only one bubbles,
    // so the document hears it once.
    this.listen('unauthorized', (d) => {
      const first = !d.told;
      d.told = true;
      this.dispatchEvent(new CustomEvent('herald-unauthorized', { detail: d.error, bubbles: first, composed: first }));
    });
    this.start();
  }

  // Without a token (signed out) an element shows nothing of anyone's.
  detach() {
    if (!this.client) return;
    for (const [type, fn] of this.subscriptions) this.client.removeEventListener(type, fn);
    this.client.release();
    this.client = null;
    this.stop();
  }

  listen(type, fn) {
    const handler = (e) => fn(e.detail);
    this.client.addEventListener(type, handler);
    this.subscriptions.push([type, handler]);
  }

  // A call's answer counts only if the element still shows the same member.
  async call(method, path, body) {
    const client = this.client;
    const data = await client.api(method, path, body);
    if (client !== this.client) throw STALE;
    return data;
  }

  start() {}
  stop() {}
}

// thrown by call() for an answer that came after the member changed
const STALE = new Error('stale');

// ---- <herald-bell> ----

const BELL_ICON = '<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-1.7 1.7A1 1 0 0 0 4 19.4h16a1 1 0 0 0 .7-1.7Z"/></svg>';

class HeraldBell extends HeraldElement {
  constructor() {
    super();
    this.root = shadow(this, `
      :host { display: inline-block; }
      button { position: relative; display: grid; place-items: center; width: 40px; height: 40px;
               border: 1px solid transparent; border-radius: 50%; background: transparent; }
      button:hover { background: color-mix(in srgb, var(--_fg) 8%, transparent); }
      .badge { position: absolute; top: 2px; right: 0; min-width: 18px; height: 18px; padding: 0 5px;
               border-radius: 9px; background: var(--_badge); color: #fff; font-size: 11px;
               font-weight: 700; line-height: 18px; text-align: center;
               box-shadow: 0 0 0 2px var(--_bg); }
      .badge[hidden] { display: none; }
      .offline { position: absolute; bottom: 4px; right: 4px; width: 8px; height: 8px; border-radius: 50%;
                 background: var(--_muted); }
    `, `<button part="button" type="button" aria-haspopup="dialog" aria-expanded="false" aria-label="Notifications">
          ${BELL_ICON}<span class="badge" part="badge" hidden></span><span class="offline" hidden title="Reconnecting"></span>
        </button>`);
    this.button = this.root.querySelector('button');
    this.badge = this.root.querySelector('.badge');
    this.button.addEventListener('click', () => this.toggle());
  }

  start() {
    const offline = this.root.querySelector('.offline');
    this.listen('count', (d) => this.show(d.unread));
    this.listen('status', (d) => { offline.hidden = d.live !== false; });
    offline.hidden = this.client.live !== false;
    if (this.client.unread != null) this.show(this.client.unread);
    else this.call('GET', '/v1/me/notifications/count').then((d) => this.show(d.unread), () => {});
  }

  stop() {
    this.show(0);
    this.root.querySelector('.offline').hidden = true;
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this.watched?.removeEventListener('herald-close', this.onPanelClose);
    this.watched = null;
  }

  show(n) {
    this.unread = n;
    this.badge.hidden = !n;
    this.badge.textContent = n > 99 ? '99+' : String(n);
    this.button.setAttribute('aria-label', n ? `Notifications, ${n} unread` : 'Notifications, none unread');
  }

  // The panel it opens: for="inbox-id". Escape in the panel brings focus back.
  get panel() {
    const id = this.getAttribute('for');
    return id ? this.getRootNode().getElementById?.(id) || document.getElementById(id) : null;
  }

  toggle(force) {
    const panel = this.panel;
    const open = force !== undefined ? force : !(panel && !panel.hidden && this.opened);
    this.opened = open;
    this.button.setAttribute('aria-expanded', String(open));
    if (panel) {
      if (panel !== this.watched) {
        this.watched?.removeEventListener('herald-close', this.onPanelClose);
        this.onPanelClose ||= () => { if (this.opened) { this.toggle(false); this.button.focus(); } };
        panel.addEventListener('herald-close', this.onPanelClose);
        this.watched = panel;
        // IDREFs do not cross shadow roots; element references do, where supported
        if ('ariaControlsElements' in this.button) this.button.ariaControlsElements = [panel];
      }
      panel.hidden = !open;
      panel.setAttribute('closable', '');
      if (open) requestAnimationFrame(() => panel.focus());
    }
    this.dispatchEvent(new CustomEvent('herald-toggle', { detail: { open }, bubbles: true, composed: true }));
  }

  focus() { this.button.focus(); }
}

// ---- <herald-inbox> ----

const FILTERS = [['unread', 'Unread'], ['read', 'Read'], ['ignored', 'Ignored'], ['all', 'All']];
const PAGE = 20;

class HeraldInbox extends HeraldElement {
  static get observedAttributes() { return ['base', 'token', 'closable']; }

  constructor() {
    super();
    this.filter = 'unread';
    this.items = new Map();
    this.pending = []; // stream changes that came during a page load
    this.ticket = 0;   // the page load whose answer counts
    this.root = shadow(this, `
      :host { display: block; width: 100%; max-width: 420px; }
      .panel { display: flex; flex-direction: column; max-height: var(--herald-inbox-height, 560px);
               background: var(--_bg); border: 1px solid var(--_border); border-radius: var(--_radius);
               box-shadow: 0 12px 32px rgb(0 0 0 / 0.12); overflow: hidden; }
      header { display: flex; align-items: center; gap: 8px; padding: 14px 16px 6px; }
      h2 { flex: 1; margin: 0; font-size: 16px; font-weight: 650; }
      .mark-all { border: 0; background: none; color: var(--_accent); padding: 6px 8px; border-radius: 6px; font-weight: 550; }
      .mark-all:hover { background: color-mix(in srgb, var(--_accent) 10%, transparent); }
      .mark-all:disabled { color: var(--_muted); cursor: default; background: none; }
      .close { display: none; border: 0; background: none; width: 30px; height: 30px; border-radius: 6px; color: var(--_muted); }
      :host([closable]) .close { display: block; }
      [role=tablist] { display: flex; gap: 4px; padding: 0 12px; border-bottom: 1px solid var(--_border); }
      [role=tab] { border: 0; background: none; padding: 10px 8px 9px; border-bottom: 2px solid transparent;
                   color: var(--_muted); font-weight: 550; }
      [role=tab][aria-selected=true] { color: var(--_fg); border-bottom-color: var(--_accent); }
      .count { margin-left: 4px; font-size: 12px; color: var(--_muted); }
      .scroll { flex: 1; overflow-y: auto; display: flex; flex-direction: column; }
      ul { list-style: none; margin: 0; padding: 0; }
      li { display: grid; grid-template-columns: 10px 1fr auto; gap: 4px 10px; padding: 12px 12px 12px 14px;
           border-bottom: 1px solid var(--_border); }
      li.unread { background: var(--_unread); }
      .dot { width: 8px; height: 8px; margin-top: 6px; border-radius: 50%; }
      li.unread .dot { background: var(--_accent); }
      .open { grid-column: 2; text-align: left; border: 0; background: none; padding: 0; min-width: 0; }
      .title { display: block; font-weight: 600; }
      .body { display: block; color: var(--_fg); opacity: 0.86; overflow-wrap: anywhere; }
      time { display: block; margin-top: 2px; color: var(--_muted); font-size: 12px; }
      .actions { grid-column: 3; grid-row: 1; display: flex; gap: 2px; align-items: flex-start; }
      .actions button { width: 30px; height: 30px; border: 0; border-radius: 6px; background: none; color: var(--_muted);
                        display: grid; place-items: center; }
      .actions button:hover { background: color-mix(in srgb, var(--_fg) 8%, transparent); color: var(--_fg); }
      .empty { padding: 32px 16px; text-align: center; color: var(--_muted); }
      .more { margin: 8px auto 12px; border: 1px solid var(--_border); background: var(--_bg); border-radius: 6px; padding: 6px 12px; }
      .error { padding: 8px 16px; color: var(--_danger); }
      .sentinel { height: 1px; }
      @media (max-width: 480px) {
        :host { max-width: none; }
        .panel { border-radius: 0; max-height: min(var(--herald-inbox-height, 100dvh), 100dvh); }
      }
    `, `<section class="panel" part="panel" role="region" aria-labelledby="title" tabindex="-1">
          <header><h2 id="title">Activity</h2><button class="mark-all" type="button">Mark all read</button>
            <button class="close" type="button" aria-label="Close">✕</button></header>
          <div role="tablist" aria-label="Show">
            ${FILTERS.map(([f, label]) => `<button role="tab" type="button" id="tab-${f}" data-filter="${f}" aria-controls="tabpanel"
               aria-selected="${f === 'unread'}" tabindex="${f === 'unread' ? 0 : -1}">${label}${f === 'unread' ? '<span class="count" aria-hidden="true"></span>' : ''}</button>`).join('')}
          </div>
          <div class="scroll" id="tabpanel" role="tabpanel" aria-labelledby="tab-unread">
            <ul aria-busy="false"></ul>
            <p class="empty" hidden></p>
            <p class="error" role="alert" hidden></p>
            <div class="sentinel"></div>
            <button class="more" type="button" hidden>Load more</button>
          </div>
          <div class="sr-only" role="status" aria-live="polite"></div>
        </section>`);
    const r = this.root;
    this.list = r.querySelector('ul');
    this.panel = r.querySelector('.panel');
    this.more = r.querySelector('.more');
    this.status = r.querySelector('[role=status]');
    this.tabs = [...r.querySelectorAll('[role=tab]')];
    r.querySelector('.mark-all').addEventListener('click', () => this.markAllRead());
    r.querySelector('.close').addEventListener('click', () => this.close());
    this.more.addEventListener('click', () => this.load(false));
    for (const tab of this.tabs) {
      tab.addEventListener('click', () => this.show(tab.dataset.filter, true));
      tab.addEventListener('keydown', (e) => {
        const i = this.tabs.indexOf(tab);
        const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: this.tabs.length - 1 }[e.key];
        if (next === undefined) return;
        e.preventDefault();
        this.show(this.tabs[(next + this.tabs.length) % this.tabs.length].dataset.filter, true);
      });
    }
    this.list.addEventListener('click', (e) => this.onListClick(e));
    this.panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.close(); });
  }

  // A panel a bell opens and closes is a dialog; on a page of its own, a region.
  attributeChangedCallback(name, was, now) {
    if (name !== 'closable') return super.attributeChangedCallback(name, was, now);
    this.panel.setAttribute('role', now !== null ? 'dialog' : 'region');
  }

  close() {
    this.dispatchEvent(new CustomEvent('herald-close', { bubbles: true, composed: true }));
  }

  focus() { this.panel.focus(); }

  start() {
    // Changes that arrive while a page is loading wait for it: the page may
    // have been read before or after them, and replaying them in order on
    // top of it gives the same list either way.
    const held = (fn) => (d) => (this.loading ? this.pending.push(() => fn(d)) : fn(d));
    this.listen('notification', held((d) => this.onNew(d.notification)));
    this.listen('state', held((d) => this.onState(d)));
    this.listen('count', (d) => this.showCount(d.unread));
    this.listen('reset', () => this.load(true));
    this.listen('token', () => { if (this.failed) this.load(true); });
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && this.cursor && !this.loading) this.load(false);
    }, { root: this.root.querySelector('.scroll'), rootMargin: '0px 0px 200px 0px' });
    this.observer.observe(this.root.querySelector('.sentinel'));
    this.ticker = setInterval(() => this.refreshTimes(), 30000);
    if (this.client.unread != null) this.showCount(this.client.unread);
    this.load(true);
  }

  stop() {
    if (this.observer) this.observer.disconnect();
    clearInterval(this.ticker);
    this.ticket++; // an answer still on its way is dropped
    this.loading = false;
    this.failed = false;
    this.pending = [];
    this.cursor = null;
    this.items.clear();
    this.list.replaceChildren();
    this.list.setAttribute('aria-busy', 'false');
    this.more.hidden = true;
    this.showCount(0);
    this.setError(null);
    this.root.querySelector('.empty').hidden = true;
  }

  showCount(n) {
    this.root.querySelector('.count').textContent = n ? `(${n})` : '';
    const markAll = this.root.querySelector('.mark-all');
    // a disabled button drops the keyboard out of the panel: keep it on the tab
    if (!n && this.root.activeElement === markAll) this.root.getElementById(`tab-${this.filter}`).focus();
    markAll.disabled = !n;
  }

  show(filter, focusTab) {
    if (filter !== this.filter) {
      this.filter = filter;
      for (const tab of this.tabs) {
        const on = tab.dataset.filter === filter;
        tab.setAttribute('aria-selected', String(on));
        tab.tabIndex = on ? 0 : -1;
      }
      this.root.getElementById('tabpanel').setAttribute('aria-labelledby', `tab-${filter}`);
      this.load(true);
    }
    if (focusTab) this.root.getElementById(`tab-${filter}`).focus();
  }

  async load(reset) {
    if (!this.client) return;
    if (reset) {
      // the keyboard stays in the panel: on the chosen tab
      const focusWasInList = this.list.contains(this.root.activeElement);
      this.cursor = null;
      this.items.clear();
      this.list.replaceChildren();
      if (focusWasInList) this.root.getElementById(`tab-${this.filter}`).focus();
    }
    const ticket = ++this.ticket;
    this.loading = true;
    this.list.setAttribute('aria-busy', 'true');
    try {
      const q = new URLSearchParams({ filter: this.filter, limit: String(PAGE) });
      if (this.cursor) q.set('cursor', this.cursor);
      const page = await this.call('GET', '/v1/me/notifications?' + q);
      if (ticket !== this.ticket) return; // another tab was chosen meanwhile
      for (const item of page.items) this.add(item, false);
      this.cursor = page.next_cursor;
      this.more.hidden = !this.cursor;
      this.failed = false;
      this.setError(null);
    } catch (e) {
      if (ticket !== this.ticket) return;
      this.failed = true;
      this.setError(`Could not load notifications: ${e.message}`);
    } finally {
      if (ticket === this.ticket) {
        this.loading = false;
        this.list.setAttribute('aria-busy', 'false');
        while (this.pending.length && !this.loading) this.pending.shift()();
        this.updateEmpty();
      }
    }
  }

  setError(text) {
    const el = this.root.querySelector('.error');
    el.hidden = !text;
    el.textContent = text || '';
  }

  matches(state) {
    return this.filter === 'all' || this.filter === state;
  }

  add(item, atTop) {
    if (this.items.has(item.id)) return false;
    this.items.set(item.id, item);
    const li = document.createElement('li');
    li.dataset.id = item.id;
    this.paint(li, item);
    if (atTop) this.list.prepend(li); else this.list.append(li);
    return true;
  }

  paint(li, item) {
    const unread = item.state === 'unread', ignored = item.state === 'ignored';
    li.className = item.state;
    li.innerHTML = `<span class="dot" aria-hidden="true"></span>
      <button class="open" type="button">${unread ? '<span class="sr-only">Unread: </span>' : ''}<span class="title">${escapeHtml(item.title)}</span>
        <span class="body">${escapeHtml(item.body)}</span>
        <time datetime="${escapeHtml(item.created_at)}" title="${escapeHtml(fullTime.format(new Date(item.created_at)))}">${escapeHtml(ago(item.created_at))}</time></button>
      <span class="actions">
        <button type="button" data-act="${unread ? 'read' : 'unread'}" aria-label="${unread ? 'Mark as read' : 'Mark as unread'}: ${escapeHtml(item.title)}" title="${unread ? 'Mark as read' : 'Mark as unread'}">
          ${unread ? '<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true"><path fill="currentColor" d="M6.2 11.6 2.6 8l1-1 2.6 2.6 6.2-6.2 1 1Z"/></svg>'
                   : '<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true"><circle cx="8" cy="8" r="4" fill="currentColor"/></svg>'}
        </button>
        <button type="button" data-act="${ignored ? 'restore' : 'ignore'}" aria-label="${ignored ? 'Restore' : 'Ignore'}: ${escapeHtml(item.title)}" title="${ignored ? 'Restore' : 'Ignore'}">
          ${ignored ? '<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true"><path fill="currentColor" d="M8 3a5 5 0 1 1-4.9 6h1.5A3.5 3.5 0 1 0 8 4.5V7L4.5 3.8 8 .5Z"/></svg>'
                    : '<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true"><path fill="currentColor" d="m4.1 3 8.9 8.9-1.1 1.1L3 4.1Zm7.8 0 1.1 1.1-8.9 8.9L3 11.9Z"/></svg>'}
        </button>
      </span>`;
  }

  remove(id) {
    this.items.delete(id);
    const li = this.list.querySelector(`li[data-id="${CSS.escape(id)}"]`);
    if (!li) return;
    // keep the keyboard where it was: on the next item, else the previous
    const focusWasIn = li.contains(this.root.activeElement);
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    if (focusWasIn) (next ? next.querySelector('.open') : this.panel).focus();
  }

  updateEmpty() {
    const empty = this.root.querySelector('.empty');
    empty.hidden = this.items.size > 0 || this.loading;
    empty.textContent = {
      unread: 'You are all caught up.', read: 'Nothing read yet.',
      ignored: 'Nothing ignored.', all: 'No notifications yet.' }[this.filter];
  }

  onNew(item) {
    if (!this.matches(item.state) || !this.add(item, true)) return;
    this.status.textContent = `New: ${item.title}`;
    this.updateEmpty();
  }

  onState(d) {
    if (d.all) { // read-all, from here or from another session
      if (this.filter === 'unread') { for (const id of [...this.items.keys()]) this.remove(id); }
      else if (this.filter === 'read') { this.load(true); return; }
      else for (const [id, item] of this.items) if (item.state === 'unread') this.setState(id, d.state);
      this.updateEmpty();
      return;
    }
    let unknown = false;
    for (const id of d.ids) {
      if (!this.items.has(id)) { unknown = unknown || this.matches(d.state); continue; }
      this.setState(id, d.state);
    }
    if (unknown) this.load(true); // an item came into this tab: its place is the feed's
    this.updateEmpty();
  }

  setState(id, state) {
    const item = this.items.get(id);
    if (!item || item.state === state) return;
    item.state = state;
    if (!this.matches(state)) { this.remove(id); return; }
    const li = this.list.querySelector(`li[data-id="${CSS.escape(id)}"]`);
    if (!li) return;
    // repainting replaces the buttons: the keyboard goes back to the same one
    const active = this.root.activeElement;
    const at = li.contains(active) ? [...li.querySelectorAll('button')].indexOf(active) : -1;
    this.paint(li, item);
    if (at >= 0) li.querySelectorAll('button')[at]?.focus();
  }

  async change(id, state) {
    const before = this.items.get(id)?.state;
    this.setState(id, state); // at once; the stream confirms it
    this.updateEmpty();
    try {
      const r = await this.call('PATCH', `/v1/me/notifications/${encodeURIComponent(id)}`, { state });
      // the stream's count is newer when it is up; the answer's when it is down
      if (r && typeof r.unread === 'number' && this.client.live !== true) this.client.setUnread(r.unread);
    } catch (e) {
      if (e === STALE) return;
      if (before) this.load(true);
      this.setError(`Could not update: ${e.message}`);
    }
  }

  // Applied here at once, so the panel is right even while the stream is
  // down; the stream's own read-all event then changes nothing.
  async markAllRead() {
    try {
      const r = await this.call('POST', '/v1/me/notifications/read-all');
      const apply = () => { if (this.filter !== 'read' || r.changed) this.onState({ all: true, state: 'read' }); };
      if (this.loading) this.pending.push(apply); else apply();
      if (this.client.live !== true) this.client.setUnread(typeof r.unread === 'number' ? r.unread : 0);
      this.status.textContent = r.changed ? `${r.changed} marked read` : 'Nothing to mark';
    } catch (e) {
      if (e !== STALE) this.setError(`Could not mark all read: ${e.message}`);
    }
  }

  onListClick(e) {
    const li = e.target.closest('li');
    if (!li) return;
    const id = li.dataset.id, item = this.items.get(id);
    const act = e.target.closest('[data-act]')?.dataset.act;
    if (act) {
      this.change(id, { read: 'read', unread: 'unread', ignore: 'ignored', restore: 'unread' }[act]);
      return;
    }
    if (!e.target.closest('.open') || !item) return;
    if (item.state === 'unread') this.change(id, 'read');
    const open = new CustomEvent('herald-open', { detail: item, bubbles: true, composed: true, cancelable: true });
    const href = this.getAttribute('item-href');
    if (this.dispatchEvent(open) && href)
      location.assign(fill(href, { ...(item.data && typeof item.data === 'object' ? flat(item.data) : {}),
                                   id: item.id, type: item.type, event_id: item.event_id }));
  }

  refreshTimes() {
    for (const t of this.root.querySelectorAll('time')) t.textContent = ago(t.getAttribute('datetime'));
  }
}

// {appointment: {id: 1}} -> {appointment_id: 1}, for item-href templates
function flat(o, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(o)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) flat(v, prefix + k + '_', out);
    else out[prefix + k] = v;
  }
  return out;
}

// ---- <herald-popups> ----

class HeraldPopups extends HeraldElement {
  constructor() {
    super();
    this.root = shadow(this, `
      :host { position: fixed; right: 16px; bottom: 16px; z-index: 2147483000; display: block; }
      .stack { display: flex; flex-direction: column; gap: 8px; width: min(360px, calc(100vw - 32px)); }
      .toast { display: grid; grid-template-columns: 1fr auto; gap: 2px 8px; padding: 12px 12px 12px 14px;
               background: var(--_bg); color: var(--_fg); border: 1px solid var(--_border);
               border-left: 4px solid var(--_accent); border-radius: var(--_radius);
               box-shadow: 0 10px 28px rgb(0 0 0 / 0.18); animation: in 160ms ease-out; }
      @keyframes in { from { transform: translateY(8px); opacity: 0; } }
      @media (prefers-reduced-motion: reduce) { .toast { animation: none; } }
      .who { font-weight: 650; }
      .where { color: var(--_muted); font-size: 12px; }
      .text { grid-column: 1 / -1; overflow-wrap: anywhere; }
      a { grid-column: 1 / -1; color: var(--_accent); font-weight: 550; }
      .close { grid-column: 2; grid-row: 1; border: 0; background: none; width: 28px; height: 28px; border-radius: 6px; color: var(--_muted); }
    `, `<div class="stack" role="region" aria-label="New messages" aria-live="polite"></div>`);
    this.stack = this.root.querySelector('.stack');
  }

  start() {
    this.listen('message', (d) => this.pop(d));
  }

  stop() {
    this.stack.replaceChildren();
  }

  pop(m) {
    const conv = m.conversation || {};
    const href = this.getAttribute('conversation-href');
    const toast = document.createElement('div');
    toast.className = 'toast';
    toast.innerHTML = `<span><span class="who">${escapeHtml(m.from && m.from.name || 'New message')}</span>
        ${conv.name ? `<span class="where">in ${escapeHtml(conv.name)}</span>` : ''}</span>
      <button class="close" type="button" aria-label="Dismiss">✕</button>
      ${m.message && m.message.text ? `<span class="text">${escapeHtml(m.message.text)}</span>` : ''}
      <a href="${href ? escapeHtml(fill(href, { conversation_id: conv.id, id: conv.id })) : '#'}">Open conversation</a>`;
    toast.querySelector('.close').addEventListener('click', () => toast.remove());
    toast.querySelector('a').addEventListener('click', (e) => {
      const open = new CustomEvent('herald-open-conversation', { detail: m, bubbles: true, composed: true, cancelable: true });
      if (!this.dispatchEvent(open) || !href) e.preventDefault();
      toast.remove();
    });
    this.stack.append(toast);
    while (this.stack.children.length > 4) this.stack.firstElementChild.remove();
    // it stays while the pointer or the keyboard is on it
    const ms = Number(this.getAttribute('timeout') || 8000);
    let timer;
    const arm = () => { clearTimeout(timer); timer = setTimeout(() => toast.remove(), ms); };
    toast.addEventListener('mouseenter', () => clearTimeout(timer));
    toast.addEventListener('mouseleave', arm);
    toast.addEventListener('focusin', () => clearTimeout(timer));
    toast.addEventListener('focusout', arm);
    arm();
  }
}

// ---- <herald-preferences> ----

const CATEGORIES = {
  scheduling: 'Scheduling', practitioner_scheduling: 'My own scheduling actions', billing: 'Billing',
  clients_documents: 'Clients and documents', workspace: 'Practice', communications: 'Messages' };
const CHANNELS = { in_app: 'In-app', email: 'Email', sms: 'SMS', push: 'Push' };
const SOURCES = { default: 'Herald default', workspace: 'Practice default', critical: 'Always on' };
const TYPES = { 'subscription.payment_failed': 'Plan payment failed' };

class HeraldPreferences extends HeraldElement {
  constructor() {
    super();
    this.root = shadow(this, `
      :host { display: block; max-width: 720px; }
      form { display: grid; gap: 16px; }
      fieldset { margin: 0; min-width: 0; padding: 14px 16px 16px; border: 1px solid var(--_border); border-radius: var(--_radius);
                 background: var(--_bg); }
      legend { padding: 0 6px; font-weight: 650; }
      .hint { margin: 0 0 10px; color: var(--_muted); }
      .scroll { overflow-x: auto; }
      table { border-collapse: collapse; width: 100%; min-width: 420px; }
      th, td { padding: 8px 6px; text-align: center; border-bottom: 1px solid var(--_border); }
      th[scope=row] { text-align: left; font-weight: 550; }
      thead th { color: var(--_muted); font-weight: 550; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
      td label { display: inline-flex; flex-direction: column; align-items: center; gap: 2px; cursor: pointer; }
      input[type=checkbox] { width: 18px; height: 18px; accent-color: var(--_accent); cursor: pointer; }
      .src { font-size: 11px; color: var(--_muted); }
      .src.member { color: var(--_accent); }
      .locked { display: inline-flex; gap: 4px; align-items: center; color: var(--_muted); font-size: 12px; }
      .row { display: flex; flex-wrap: wrap; align-items: center; gap: 10px 16px; margin: 8px 0; }
      select, input[type=number] { font: inherit; color: inherit; background: var(--_bg); border: 1px solid var(--_border);
                                   border-radius: 6px; padding: 6px 8px; }
      input[type=number] { width: 5.5em; }
      .enable { border: 1px solid var(--_accent); background: var(--_accent); color: var(--_on-accent); border-radius: 8px; padding: 8px 12px; font-weight: 600; }
      .enable:disabled { opacity: .55; cursor: default; }
      .saved { min-height: 1.4em; margin: 0; color: var(--_muted); }
      .error { color: var(--_danger); }
      .reset { border: 0; background: none; color: var(--_accent); font-size: 11px; padding: 0; }
    `, `<form novalidate aria-label="Notification settings"></form>
        <p class="saved" role="status" aria-live="polite"></p>`);
    this.form = this.root.querySelector('form');
    this.saved = this.root.querySelector('.saved');
    this.form.addEventListener('change', (e) => this.onChange(e));
    this.form.addEventListener('click', (e) => this.onClick(e));
    this.form.addEventListener('submit', (e) => e.preventDefault());
  }

  start() {
    this.listen('token', () => { if (!this.built) this.load(); });
    this.load();
  }

  async load() {
    this.form.innerHTML = '<p class="hint">Loading…</p>';
    try {
      this.render(await this.call('GET', '/v1/me/preferences'));
    } catch (e) {
      if (e !== STALE)
        this.form.innerHTML = `<p class="error">Could not load your settings: ${escapeHtml(e.message)}</p>`;
    }
  }

  stop() {
    this.built = false;
    this.prefs = null;
    this.saving = null;
    this.unsaved = 0;
    this.failed = null;
    this.browserOn = false;
    this.form.replaceChildren();
    this.saved.textContent = '';
  }

  // The form is built once; saves then update its values in place, so a
  // save never replaces a control the person is using.
  render(p) {
    if (this.built && this.builtCritical === JSON.stringify(p.critical || [])) {
      this.sync(p);
      return;
    }
    this.build(p);
    this.sync(p);
  }

  sync(p) {
    this.prefs = p;
    for (const cat of Object.keys(CATEGORIES))
      for (const ch of Object.keys(CHANNELS)) {
        const box = this.root.getElementById(`m-${cat}-${ch}`);
        const src = p.sources[cat][ch];
        box.checked = p.categories[cat][ch];
        box.setAttribute('aria-label', `${CATEGORIES[cat]} by ${CHANNELS[ch]}${src !== 'member' ? ` (${SOURCES[src] || src})` : ''}`);
        const mark = box.parentElement.querySelector('.reset, .src');
        const want = src === 'member' ? 'reset' : 'src';
        if (!mark.classList.contains(want) || (want === 'src' && mark.textContent !== (src === 'workspace' ? 'practice' : 'default'))) {
          const focused = this.root.activeElement === mark;
          mark.outerHTML = src === 'member'
            ? `<button type="button" class="reset" data-cat="${cat}" data-ch="${ch}" aria-label="Use the default for ${CATEGORIES[cat]} by ${CHANNELS[ch]}">reset</button>`
            : `<span class="src" aria-hidden="true">${src === 'workspace' ? 'practice' : 'default'}</span>`;
          if (focused) box.focus();
        }
      }
    const alerts = p.cancellation_alerts || { channels: 'off', within_days: null };
    const anytime = alerts.within_days == null;
    this.root.getElementById('cancel-channels').value = alerts.channels;
    this.root.getElementById('cancel-anytime').checked = anytime;
    this.root.getElementById('cancel-within').checked = !anytime;
    const days = this.root.getElementById('cancel-days');
    days.disabled = anytime;
    if (!anytime && this.root.activeElement !== days) days.value = alerts.within_days;
    this.root.getElementById('push-enabled').checked = p.push_enabled;
  }

  build(p) {
    this.built = true;
    this.builtCritical = JSON.stringify(p.critical || []);
    const critical = p.critical || [];
    const rows = Object.keys(CATEGORIES).map((cat) => `<tr>
        <th scope="row">${CATEGORIES[cat]}</th>
        ${Object.keys(CHANNELS).map((ch) => {
          const on = p.categories[cat][ch], src = p.sources[cat][ch];
          const id = `m-${cat}-${ch}`;
          return `<td><label for="${id}"><input type="checkbox" id="${id}" data-cat="${cat}" data-ch="${ch}" ${on ? 'checked' : ''}
                   aria-label="${CATEGORIES[cat]} by ${CHANNELS[ch]}${src !== 'member' ? ` (${SOURCES[src] || src})` : ''}">
                 ${src === 'member'
                    ? `<button type="button" class="reset" data-cat="${cat}" data-ch="${ch}" aria-label="Use the default for ${CATEGORIES[cat]} by ${CHANNELS[ch]}">reset</button>`
                    : `<span class="src" aria-hidden="true">${src === 'workspace' ? 'practice' : 'default'}</span>`}</label></td>`;
        }).join('')}
      </tr>`).join('');
    const locked = critical.map((c) => `<tr><th scope="row">${escapeHtml(TYPES[c.type] || c.type)}</th>
        ${Object.keys(CHANNELS).map((ch) => c.channels.includes(ch)
          ? `<td><span class="locked"><input type="checkbox" checked disabled aria-label="${escapeHtml(TYPES[c.type] || c.type)} by ${CHANNELS[ch]}: always on">
               <svg width="12" height="12" viewBox="0 0 16 16" aria-hidden="true"><path fill="currentColor" d="M5 7V5a3 3 0 0 1 6 0v2h1v7H4V7Zm1.5 0h3V5a1.5 1.5 0 0 0-3 0Z"/></svg></span></td>`
          : '<td></td>').join('')}</tr>`).join('');
    const alerts = p.cancellation_alerts || { channels: 'off', within_days: null };
    const anytime = alerts.within_days == null;
    this.form.innerHTML = `
      <fieldset>
        <legend>What reaches me</legend>
        <p class="hint">"default" and "practice" mark values you inherit until you change them; "reset" goes back.</p>
        <div class="scroll"><table>
          <thead><tr><th scope="col"><span class="sr-only">Category</span></th>${Object.values(CHANNELS).map((c) => `<th scope="col">${c}</th>`).join('')}</tr></thead>
          <tbody>${rows}</tbody>
          ${locked ? `<tbody aria-label="Always on">${locked}</tbody>` : ''}
        </table></div>
      </fieldset>
      <fieldset>
        <legend>Cancellation alerts</legend>
        <p class="hint">When a client cancels, tell me at once, beyond the feed.</p>
        <div class="row"><label for="cancel-channels">Send</label>
          <select id="cancel-channels">
            ${[['off', 'No alert'], ['email', 'Email'], ['sms', 'SMS'], ['email_and_sms', 'Email and SMS']]
              .map(([v, l]) => `<option value="${v}" ${alerts.channels === v ? 'selected' : ''}>${l}</option>`).join('')}
          </select></div>
        <div class="row" role="radiogroup" aria-label="For which appointments">
          <label><input type="radio" name="when" id="cancel-anytime" value="anytime" ${anytime ? 'checked' : ''}> Any appointment</label>
          <label><input type="radio" name="when" id="cancel-within" value="within" ${anytime ? '' : 'checked'}> Only when it starts within</label>
          <label><input type="number" id="cancel-days" min="1" max="365" value="${anytime ? 2 : alerts.within_days}"
                 aria-label="days" ${anytime ? 'disabled' : ''}> days</label>
        </div>
      </fieldset>
      <fieldset>
        <legend>Push</legend>
        <div class="row"><label><input type="checkbox" id="push-enabled" ${p.push_enabled ? 'checked' : ''}> Push notifications to my devices</label></div>
        <div class="row"><button type="button" class="enable" id="enable-browser">Enable browser notifications</button>
          <span class="browser-status" aria-live="polite"></span></div>
      </fieldset>`;
    this.showBrowserState();
  }

  // Saves go one at a time, in the order made, and the form shows the
  // answer to the last: a quick second click is not undone by the first's.
  save(patch) {
    const client = this.client;
    this.unsaved = (this.unsaved || 0) + 1;
    this.saving = (this.saving || Promise.resolve()).then(async () => {
      if (client !== this.client) return;
      try {
        this.prefs = await this.call('PATCH', '/v1/me/preferences', patch);
      } catch (e) {
        if (e === STALE) return;
        this.failed = e;
      }
      if (--this.unsaved > 0) return;
      this.render(this.prefs);
      this.saved.classList.toggle('error', !!this.failed);
      this.saved.textContent = this.failed ? `Not saved: ${this.failed.message}` : 'Saved';
      this.failed = null;
    }).catch(() => {}); // one step that throws must not stop the saves after it
    return this.saving;
  }

  onChange(e) {
    const t = e.target;
    if (t.dataset.cat)
      return this.save({ categories: { [t.dataset.cat]: { [t.dataset.ch]: t.checked } } });
    if (t.id === 'push-enabled') return this.save({ push_enabled: t.checked });
    if (t.id === 'cancel-channels' || t.name === 'when' || t.id === 'cancel-days') {
      const within = this.root.getElementById('cancel-within').checked;
      const days = Math.max(1, Math.min(365, Number(this.root.getElementById('cancel-days').value) || 1));
      return this.save({ cancellation_alerts: {
        channels: this.root.getElementById('cancel-channels').value, within_days: within ? days : null } });
    }
  }

  onClick(e) {
    const reset = e.target.closest('.reset');
    if (reset) {
      e.preventDefault();
      this.save({ categories: { [reset.dataset.cat]: { [reset.dataset.ch]: null } } });
    }
    if (e.target.closest('#enable-browser')) {
      if (this.browserOn) this.disableBrowser().catch(() => {}); else this.enableBrowser();
    }
  }

  browserStatus(text, error) {
    const el = this.root.querySelector('.browser-status');
    if (!el) return;
    el.textContent = text;
    el.classList.toggle('error', !!error);
  }

  swScope() {
    return new URL(this.getAttribute('sw-scope') || '/', location.href).href;
  }

  // Whether this browser's subscription is one of this member's devices.
  async showBrowserState() {
    const button = this.root.getElementById('enable-browser');
    if (!('serviceWorker' in navigator) || !('PushManager' in window)) {
      button.disabled = true;
      this.browserStatus('This browser cannot receive push notifications.');
      return;
    }
    if (Notification.permission === 'denied') {
      button.disabled = true;
      this.browserStatus('Notifications are blocked for this site in the browser\u2019s settings.');
      return;
    }
    try {
      const id = localStorage.getItem(DEVICE_KEY);
      const reg = id && await navigator.serviceWorker.getRegistration(this.swScope());
      const sub = reg && await reg.pushManager.getSubscription();
      if (!sub) return;
      const { items } = await this.call('GET', '/v1/me/devices');
      const mine = items.find((d) => d.id === id && d.kind === 'webpush');
      if (mine && sub.endpoint.endsWith(mine.token_suffix)) this.setBrowserOn(true);
    } catch { /* shown as off: enabling again repairs it */ }
  }

  setBrowserOn(on) {
    this.browserOn = on;
    const button = this.root.getElementById('enable-browser');
    if (button) button.textContent = on ? 'Turn off browser notifications' : 'Enable browser notifications';
    this.browserStatus(on ? 'Browser notifications are on.' : '');
  }

  // Registers the service worker (sw-url, default Herald's /ui/sw.js when
  // this page is Herald's), subscribes with Herald's VAPID key and
  // registers the subscription as one of the member's devices. The device
  // id is this browser's, whoever signs in: Herald keeps a subscription
  // with the last member who registered it.
  async enableBrowser() {
    try {
      if (await Notification.requestPermission() !== 'granted') {
        this.browserStatus('Notifications were not allowed.', true);
        return;
      }
      const base = this.client.base;
      const swUrl = new URL(this.getAttribute('sw-url') || base + '/ui/sw.js', location.href);
      if (swUrl.origin !== location.origin)
        throw new Error('the service worker must be on this site: set sw-url');
      const reg = await activated(await navigator.serviceWorker.register(swUrl, { scope: this.swScope() }));
      const r = await fetch(base + '/v1/push/vapid-public-key');
      if (!r.ok) throw new Error(`Herald has no push key (${r.status})`);
      const key = b64ToBytes((await r.json()).public_key);
      let sub = await reg.pushManager.getSubscription();
      // a subscription made for another key cannot carry Herald's pushes
      const had = sub && sub.options && sub.options.applicationServerKey;
      if (sub && (!had || !sameBytes(new Uint8Array(had), key))) { await sub.unsubscribe(); sub = null; }
      sub ||= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
      let id = localStorage.getItem(DEVICE_KEY);
      if (!id) localStorage.setItem(DEVICE_KEY, (id = 'browser-' + crypto.randomUUID()));
      await this.call('PUT', `/v1/me/devices/${id}`, { kind: 'webpush', subscription: sub.toJSON(), name: browserName() });
      this.setBrowserOn(true);
    } catch (e) {
      if (e !== STALE) this.browserStatus(`Could not enable browser notifications: ${e.message}`, true);
    }
  }

  // Stops this browser's notifications for this member. A host calls it
  // at sign-out as well (await it, then remove the token), so the next
  // person on this computer does not get the last one's. Rejects if it
  // could not.
  async disableBrowser() {
    const client = this.client;
    if (!client) throw new Error('no token: sign in first');
    try {
      const id = localStorage.getItem(DEVICE_KEY);
      if (id) await client.api('DELETE', `/v1/me/devices/${id}`).catch((e) => { if (e.status !== 404) throw e; });
      const reg = 'serviceWorker' in navigator && await navigator.serviceWorker.getRegistration(this.swScope());
      const sub = reg && await reg.pushManager.getSubscription();
      if (sub) await sub.unsubscribe();
      if (client !== this.client) return;
      this.setBrowserOn(false);
      this.browserStatus('Browser notifications are off.');
    } catch (e) {
      if (client === this.client) this.browserStatus(`Could not turn browser notifications off: ${e.message}`, true);
      throw e;
    }
  }
}

const DEVICE_KEY = 'herald-device-id'; // localStorage: this browser's device id

// The registration once its worker is active: a push subscription needs
// one. (navigator.serviceWorker.ready would wait for a worker controlling
// this page, which a worker with a narrower scope never does.)
function activated(reg) {
  const worker = reg.installing || reg.waiting;
  if (reg.active || !worker) return Promise.resolve(reg);
  return new Promise((resolve, reject) => worker.addEventListener('statechange', () => {
    if (worker.state === 'activated') resolve(reg);
    else if (worker.state === 'redundant') reject(new Error('the service worker did not install'));
  }));
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function b64ToBytes(s) {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - s.length % 4) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function browserName() {
  const ua = navigator.userAgent;
  const b = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS/.test(ua) ? 'macOS' : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : '';
  return os ? `${b} on ${os}` : b;
}

const ELEMENTS = { 'herald-bell': HeraldBell, 'herald-inbox': HeraldInbox,
                   'herald-popups': HeraldPopups, 'herald-preferences': HeraldPreferences };
for (const [name, cls] of Object.entries(ELEMENTS))
  if (!customElements.get(name)) customElements.define(name, cls);

export { HeraldClient, HeraldBell, HeraldInbox, HeraldPopups, HeraldPreferences, ago };
