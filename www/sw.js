// Offline support: after the page is ready (main.js registers this worker then, so
// nothing is downloaded twice while the page loads), precache what the CPU path
// needs; answer from the network when there is one (refreshing the cache) and from
// the cache when there is not. The WebGPU module is cached when a page fetches it.
// VERSION is the hash of pkg/ written by .ci/build-pkg.sh, so a new build installs
// a new cache. Only caches named with this demo's prefix are ever deleted: the
// origin's other caches belong to the host.
const VERSION = 'pkg-b2f9c5a88fe4fd34';
const PREFIX = 'siamese-digits-';
const CACHE = `${PREFIX}${VERSION}`;
const FILES = [
  './', 'index.html', 'blog.html', 'embed.js', 'worker-client.js', 'engine-worker.js', 'studio.js', 'gallery.js', 'saved.js',
  'storage.js', 'pad.js', 'charts.js', 'i18n.js', 'main.js', 'embed.css', 'page.css', 'icon.svg', 'manifest.webmanifest',
  '../pkg/siamese_digits.js', '../pkg/siamese_digits_bg.wasm',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
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
