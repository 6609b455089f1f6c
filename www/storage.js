// What the studio keeps in this browser (IndexedDB): the fine-tuned weights, tagged
// with the release (shipped weights) they were tuned from, and the training set, so
// they come back on the next visit. No DOM, no engine here.
//
// Schema, by database version:
//   1: store `weights`: `fine-tuned` (weights file bytes), `examples` (items).
//   2: store `weights`: `model` ({ bytes, release }), `examples`. Upgrading moves a
//      version-1 `fine-tuned` into `model` with `release: null` (tuned from an
//      earlier release than any that records it).

const DB = 'siamese-digits';
const VERSION = 2;
const STORE = 'weights';

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, VERSION);
    request.onupgradeneeded = (e) => {
      if (e.oldVersion < 1) request.result.createObjectStore(STORE);
      if (e.oldVersion === 1) {
        const store = request.transaction.objectStore(STORE);
        const old = store.get('fine-tuned');
        old.onsuccess = () => {
          if (old.result !== undefined) store.put({ bytes: old.result, release: null }, 'model');
          store.delete('fine-tuned');
        };
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error('the browser storage is blocked by another tab'));
  });
}

async function withStore(mode, action) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request?.result);
      tx.onerror = () => reject(tx.error);
      // A full disk aborts the transaction: say so instead of waiting forever.
      tx.onabort = () => reject(tx.error ?? new Error('the browser storage refused the write'));
    });
  } finally {
    db.close();
  }
}

/** One IndexedDB entry: `load()` resolves to undefined when nothing is saved. */
const stored = (key) => ({
  load: () => withStore('readonly', (s) => s.get(key)),
  save: (value) => withStore('readwrite', (s) => s.put(value, key)),
  clear: () => withStore('readwrite', (s) => s.delete(key)),
});

/** The fine-tuned weights: `{ bytes, release }`, `release` being `Engine.release` when they were saved. */
export const savedModel = stored('model');
/** The studio's items: `{ kind: 'example', image, label } | { kind: 'pair', a, b, same }`. */
export const savedExamples = stored('examples');
