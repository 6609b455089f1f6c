// The demo page's own start-up: make it work offline after the first visit.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('sw.js').catch(() => {
    // Without a service worker (e.g. a file:// page) the demo still works online.
  });
}
