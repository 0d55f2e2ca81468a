// Jejak's service worker: the app shell from a versioned cache, so the scanner opens offline.
// Rendered by webapp/pwa/views.py: VERSION is a hash of every shell file, SHELL their URLs.
// Never cached: /api/ (scans and user data go through the page's IndexedDB outbox instead).
const VERSION = {{ version|tojson }};
const SHELL = {{ shell|tojson }};
const CACHE = `jejak-shell-${VERSION}`;
const OFFLINE = {{ url_for('pwa.offline')|tojson }};
// The installed app's start URL sends each role to its screen; without the network it opens the scanner.
const START = {{ url_for('pwa.start')|tojson }};
const SCANNER = {{ url_for('pwa.scan')|tojson }};
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
  if (request.mode === "navigate" && SHELL.includes(url.pathname)) {
    // A shell page (the scanner, the handover: no user data) opens at once from this cache, whatever the
    // signal. The fresh copy fetched meanwhile replaces it for the next open when it is of this cache's
    // version (a language chosen since, say); a deploy's new version comes with a new worker and cache.
    const fresh = fetch(request).then(async (response) => {
      if (response.ok && !response.redirected && response.headers.get("X-Jejak-Shell") === VERSION) {
        await (await caches.open(CACHE)).put(url.pathname, response.clone());
      }
      return response;
    });
    event.waitUntil(fresh.catch(() => {}));
    event.respondWith(
      caches
        .match(url.pathname, { cacheName: CACHE })
        .then((hit) => hit || fresh)
        .catch(() => caches.match(OFFLINE, { cacheName: CACHE })),
    );
    return;
  }
  if (request.mode === "navigate") {
    // Pages carry user data: always from the network; offline, the shell page itself or the offline
    // page. The start page does not wait more than a few seconds for a weak signal.
    const page = url.pathname === START ? SCANNER : url.pathname;
    const fallback = async () =>
      (await caches.match(page, { cacheName: CACHE })) || caches.match(OFFLINE, { cacheName: CACHE });
    const network = fetch(request);
    const patience = SHELL.includes(page) ? SHELL_PATIENCE_MS : null;
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
