// sw.js - Herald's service worker for browser push (served at /ui/sw.js;
// a host app serves a copy on its own origin, see <herald-preferences
// sw-url>). It shows each push as a notification and, on a click, focuses
// the app's window (or opens it) at the push's url.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let msg;
  try {
    msg = event.data ? event.data.json() : {};
  } catch {
    msg = { body: event.data ? event.data.text() : '' };
  }
  const data = msg.data || {};
  // a conversation's pushes replace each other, and each still alerts;
  // others stand alone
  const tag = data.conversation_id ? 'conversation:' + data.conversation_id : data.notification_id;
  event.waitUntil(self.registration.showNotification(msg.title || 'Notification', {
    body: msg.body || '',
    data,
    tag,
    renotify: !!data.conversation_id,
  }));
});

// A click focuses the window already at the push's url; else one of this
// app's windows (within the worker's scope), focused first (a click's
// permission to focus is short), then sent there; else a new one. A push
// without a url only brings the app forward: no page is replaced.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const scope = self.registration.scope;
  const target = event.notification.data && event.notification.data.url;
  const url = target ? new URL(target, scope).href : null;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const app = windows.filter((w) => w.url.startsWith(scope));
    const same = url && windows.find((w) => w.url.split('#')[0] === url.split('#')[0]);
    const win = same || app[0];
    if (!win) return self.clients.openWindow(url || scope);
    try {
      await win.focus();
    } catch { /* focus is not allowed any more: still move it */ }
    if (!url || same) return undefined;
    try {
      // null when the url is on another origin: it went there all the same
      if (win.navigate) { await win.navigate(url); return undefined; }
    } catch { /* an uncontrolled window cannot be moved */ }
    return self.clients.openWindow(url);
  })());
});
