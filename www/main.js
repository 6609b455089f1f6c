// The demo page's own start-up: make it work offline after the first visit. The
// service worker is registered once the engine answers, so its precache does not
// download the same files a second time while the page is still loading them.
if ('serviceWorker' in navigator) {
  window.siameseReady.then(() => navigator.serviceWorker.register('sw.js')).catch(() => {
    // Without a service worker (e.g. a file:// page) the demo still works online.
  });
}
