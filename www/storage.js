// What the studio keeps in this browser (IndexedDB): the fine-tuned weights and the
// training set, so they come back on the next visit. No DOM, no engine here.

const DB = 'siamese-digits';
const STORE = 'weights';

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
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

export const savedWeights = stored('fine-tuned');
/** The studio's items: `{ kind: 'example', image, label } | { kind: 'pair', a, b, same }`. */
export const savedExamples = stored('examples');
