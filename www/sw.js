// Offline support: precache every file the demo needs, answer from the network
// when there is one (refreshing the cache) and from the cache when there is not.
// VERSION is the hash of pkg/ written by .ci/build-pkg.sh, so a new build installs
// a new cache and the old one is dropped.
const VERSION = 'pkg-684a80543578dcbe';
const CACHE = `siamese-digits-${VERSION}`;
const FILES = [
  './', 'index.html', 'blog.html', 'embed.js', 'engine.js', 'pad.js', 'charts.js', 'main.js',
  'embed.css', 'page.css', 'icon.svg', 'manifest.webmanifest',
  '../pkg/siamese_digits.js', '../pkg/siamese_digits_bg.wasm',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(request);
      if (response.ok) await cache.put(request, response.clone());
      return response;
    } catch (offline) {
      const cached = await cache.match(request, { ignoreSearch: true });
      if (cached) return cached;
      throw offline;
    }
  })());
});
