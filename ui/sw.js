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
// app's windows (within the worker's scope), sent there; else a new one.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const scope = self.registration.scope;
  const url = new URL((event.notification.data && event.notification.data.url) || scope, scope).href;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const same = windows.find((w) => w.url.split('#')[0] === url.split('#')[0]);
    if (same) return same.focus();
    const app = windows.find((w) => w.url.startsWith(scope));
    if (app && app.navigate) {
      try {
        const moved = await app.navigate(url);
        if (moved) return moved.focus();
      } catch { /* another origin's url, or a window it may not move */ }
    }
    return self.clients.openWindow(url);
  })());
});
