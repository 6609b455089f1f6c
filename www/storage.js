// What the page keeps in this browser (IndexedDB): the engine's session (its bytes,
// tagged with the release they were saved under) and a history of saved models, so
// nothing fine-tuned or named is lost on the next visit or a new release. No DOM, no
// engine here: saved.js restores and saves the session.
//
// Schema, by database version (one store, `weights`):
//   1: `fine-tuned` (weights file bytes), `examples` (items).
//   2: `model` ({ bytes, release }), `examples`.
//   3: `session` ({ bytes, release }), `history` (saved models, newest first), and
//      `examples` only until the page has moved them into the session. Upgrading
//      puts a version-1 `fine-tuned` (release null: older than any that records it)
//      or a version-2 `model` into `history`, date and steps unknown.

const DB = 'siamese-digits';
const VERSION = 3;
const STORE = 'weights';
/** Saved models kept, newest first: older ones are dropped as new ones come. */
const MODELS_KEPT = 10;

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, VERSION);
    request.onupgradeneeded = (e) => {
      if (e.oldVersion < 1) request.result.createObjectStore(STORE);
      if (e.oldVersion === 1 || e.oldVersion === 2) {
        const store = request.transaction.objectStore(STORE);
        const key = e.oldVersion === 1 ? 'fine-tuned' : 'model';
        const old = store.get(key);
        old.onsuccess = () => {
          if (old.result !== undefined) {
            const { bytes, release } = e.oldVersion === 1 ? { bytes: old.result, release: null } : old.result;
            store.put([{ bytes, release, date: null, steps: null, accuracy: null }], 'history');
          }
          store.delete(key);
        };
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error('the browser storage is blocked by another tab'));
  });
}

/**
 * One transaction: `action(store, step)` runs in it; work it schedules in request
 * callbacks goes through `step`, so a throw there (say, a full disk) aborts the whole
 * transaction — nothing half-written — and is the error reported.
 */
async function withStore(mode, action) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      let failure = null;
      const step = (work) => {
        try {
          return work();
        } catch (e) {
          failure = e;
          tx.abort();
        }
      };
      const request = step(() => action(tx.objectStore(STORE), step));
      tx.oncomplete = () => resolve(request?.result);
      tx.onabort = () => reject(failure ?? tx.error ?? new Error('the browser storage refused the write'));
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

/** The engine's session: `{ bytes, release }`, `release` being `Engine.release` when it was saved. */
export const savedSession = stored('session');

/** Items a version-1 or -2 page saved, for saved.js to move into the session once. */
export const legacyExamples = stored('examples');

/**
 * Saved models, newest first: `{ bytes (weights file), release, date (ms), steps,
 * accuracy (pair accuracy on the visitor's examples) }`; release, date, steps and
 * accuracy may be null (not known).
 */
export const savedModels = {
  load: () => withStore('readonly', (s) => s.get('history')).then((list) => list ?? []),
  /** Add a model; adding it and dropping the oldest are one transaction: a failure leaves the list as it was. */
  add: (model) => withStore('readwrite', (s, step) => {
    const old = s.get('history');
    old.onsuccess = () => step(() => s.put([model, ...(old.result ?? [])].slice(0, MODELS_KEPT), 'history'));
  }),
};
