// Jejak's service worker: the app shell from a versioned cache, so the scanner opens offline.
// Rendered by webapp/pwa/views.py: VERSION is a hash of every shell file, SHELL their URLs.
// Never cached: /api/ (scans and user data go through the page's IndexedDB outbox instead).
const VERSION = {{ version|tojson }};
const SHELL = {{ shell|tojson }};
const CACHE = `jejak-shell-${VERSION}`;
const OFFLINE = {{ url_for('pwa.offline')|tojson }};
const SHELL_PATIENCE_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload", credentials: "omit" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("jejak-shell-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) {
    return; // the network as usual
  }
  if (request.mode === "navigate") {
    // Pages carry user data: always from the network; offline, the shell page itself or the offline
    // page. A shell page (no user data) does not wait more than a few seconds for a weak signal.
    const fallback = async () =>
      (await caches.match(url.pathname, { cacheName: CACHE })) || caches.match(OFFLINE, { cacheName: CACHE });
    const network = fetch(request);
    const patience = SHELL.includes(url.pathname) ? SHELL_PATIENCE_MS : null;
    event.respondWith(
      (patience
        ? Promise.race([network, new Promise((_, fail) => setTimeout(() => fail(new Error("slow")), patience))])
        : network
      ).catch(fallback),
    );
    return;
  }
  if (SHELL.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname, { cacheName: CACHE }).then((hit) => hit || fetch(request)));
  }
});

// Background sync: the page registers "jejak-outbox" when scans wait; wake an open page to send them.
self.addEventListener("sync", (event) => {
  if (event.tag === "jejak-outbox") {
    event.waitUntil(
      self.clients.matchAll({ type: "window" }).then((clients) => clients.forEach((c) => c.postMessage({ type: "sync" }))),
    );
  }
});
