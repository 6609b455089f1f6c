// Everything that talks to the wasm engine: loading it (once per page), choosing
// the backend, coalescing live distance requests, keeping the fine-tuned weights and
// the training set in IndexedDB. No DOM here: embed.js draws, this module computes
// (through Rust).

let wasm = null; // the module's exports, once initialised
const engines = new Map(); // backend wanted → Promise<Engine>

/** Load pkg/ once per page, reporting download progress as a fraction. */
async function loadWasm(pkgUrl, onProgress) {
  if (!wasm) {
    wasm = (async () => {
      const mod = await import(new URL('siamese_digits.js', pkgUrl).href);
      const response = await fetch(new URL('siamese_digits_bg.wasm', pkgUrl));
      if (!response.ok) throw new Error(`could not download the model (${response.status})`);
      const total = Number(response.headers.get('content-length')) || 0;
      const reader = response.body.getReader();
      const chunks = [];
      let received = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        received += value.length;
        if (total) onProgress?.(received / total);
      }
      const bytes = await new Blob(chunks).arrayBuffer();
      await mod.default({ module_or_path: bytes });
      return mod;
    })();
  }
  return wasm;
}

/** The engine for `backend` ('auto' | 'webgpu' | 'cpu'), created once per page. */
export async function getEngine(pkgUrl, backend, onProgress) {
  if (!engines.has(backend)) {
    engines.set(backend, (async () => {
      const { Engine } = await loadWasm(pkgUrl, onProgress);
      return Engine.create({ backend });
    })());
    engines.get(backend).catch(() => engines.delete(backend));
  }
  return engines.get(backend);
}

// The engine holds one fallback callback; elements sharing an engine all hear it.
const fallbackListeners = new WeakMap(); // Engine → Set of listeners

/** Call `listener(reason, engine)` when `engine` moves from WebGPU to the CPU. */
export function onFallback(engine, listener) {
  if (!fallbackListeners.has(engine)) {
    const listeners = new Set();
    fallbackListeners.set(engine, listeners);
    engine.onFallback((reason) => listeners.forEach((f) => f(reason, engine)));
  }
  fallbackListeners.get(engine).add(listener);
}

/** Destroy the page's WebGPU device (to try the CPU fallback by hand). */
export async function destroyGpuDevice() {
  (await wasm)?.Engine.destroyGpuDevice();
}

/**
 * Runs `compute` whenever `request()` is called, but never two at once and at most
 * once per animation frame: drawing stays smooth however fast pointer events come.
 * `onBusy(true)` fires when a request arrives while idle, `onBusy(false)` once the
 * last request has been computed, so what is shown matches the latest input.
 */
export class Coalescer {
  constructor(compute, onBusy = () => {}) {
    this.compute = compute;
    this.onBusy = onBusy;
    this.wanted = false;
    this.running = false;
    this.frame = 0;
  }

  request() {
    if (!this.wanted && !this.running && !this.frame) this.onBusy(true);
    this.wanted = true;
    if (!this.frame && !this.running) this.frame = requestAnimationFrame(() => this.run());
  }

  async run() {
    this.frame = 0;
    if (this.running || !this.wanted) return;
    this.wanted = false;
    this.running = true;
    try {
      await this.compute();
    } finally {
      this.running = false;
      if (this.wanted) this.frame = requestAnimationFrame(() => this.run());
      else this.onBusy(false);
    }
  }
}

// The fine-tuned weights and the training set survive reloads in IndexedDB.
const DB = 'siamese-digits';
const STORE = 'weights';

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
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

/** Yield to the browser so it can paint and handle input between training steps. */
export const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
