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
  event.waitUntil(self.registration.showNotification(msg.title || 'Notification', {
    body: msg.body || '',
    data,
    // a conversation's pushes replace each other; others stand alone
    tag: data.conversation_id ? 'conversation:' + data.conversation_id : data.notification_id,
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(event.notification.data && event.notification.data.url || self.registration.scope,
                      self.registration.scope).href;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const w of windows)
      if (w.url.startsWith(url) && 'focus' in w) return w.focus();
    if (windows.length && 'focus' in windows[0]) {
      await windows[0].focus();
      return windows[0].navigate ? windows[0].navigate(url) : undefined;
    }
    return self.clients.openWindow ? self.clients.openWindow(url) : undefined;
  })());
});
