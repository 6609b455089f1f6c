// The main thread's side of the engine: one worker per page (engine-worker.js),
// shared by every <siamese-digits> element, spoken to with promises. It keeps what
// a restart needs — the last snapshot of the engine's session — and starts a fresh
// worker from it if the old one dies (a wasm trap, an out-of-memory). No DOM here.

import { failure, msg } from './i18n.js';

const WORKER = new URL('engine-worker.js', import.meta.url);
const MAX_RESTARTS = 3; // within a minute; past that the engine stays down, with a message

/** A module worker from this script's host, even when the page is on another origin. */
function spawn() {
  if (WORKER.origin === location.origin) return new Worker(WORKER, { type: 'module' });
  // Workers must be same-origin with the page: a blob worker imports the real
  // script from its host (CORS, like the module scripts and the wasm).
  const url = URL.createObjectURL(new Blob([`import ${JSON.stringify(WORKER.href)};`], { type: 'text/javascript' }));
  const worker = new Worker(url, { type: 'module' });
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return worker;
}

/**
 * The page's engine. Events: `progress` (detail: fraction of a download), `backend`
 * (detail: info, after a move between WebGPU and the CPU or new weights), `restarted`
 * (detail: info, a new worker took over), `note` (detail: a message for the status
 * line, i18n.js; one with `recovered` reports a failure),
 * `session` (detail: the new snapshot, after the session changed).
 *
 * A snapshot is `{ bytes, items, gallery, steps, options, revision, info }`: the
 * session's bytes, its training set (`{ kind: 'example', image, label } | { kind:
 * 'pair', a, b, same }`, in order added), its gallery (`{ name, image }`, in order
 * added), the fine-tuning steps on its weights, its options (`{ loss, learningRate,
 * batchSize, steps }`) and the engine's info then.
 */
export class EngineClient extends EventTarget {
  /** `testing`: the testing aids answer (the page was opened with ?testing). */
  constructor(pkgUrl, backend, testing) {
    super();
    this.pkg = String(pkgUrl);
    this.wanted = backend;
    this.testing = testing;
    /** The last snapshot of the session the worker sent (a restart starts from it). */
    this.snapshot = null;
    this.info = null;
    this.pending = new Map();
    this.nextId = 1;
    this.restarts = [];
    this.ready = this.start();
  }

  /** The training set, for the thumbnails. */
  get items() {
    return this.snapshot?.items ?? [];
  }

  /** The gallery's references, for the thumbnails. */
  get gallery() {
    return this.snapshot?.gallery ?? [];
  }

  start() {
    this.worker = spawn();
    this.worker.onmessage = ({ data }) => this.receive(data);
    // An uncaught error or a script that fails to load: the worker is gone.
    this.worker.onerror = (e) => { e.preventDefault(); this.restart(e.message || 'the engine worker failed'); };
    const options = { pkg: this.pkg, backend: this.wanted, testing: this.testing, session: this.snapshot?.bytes ?? null };
    const started = this.call('start', [options]);
    this.failed = false;
    return started.then(({ info, snapshot, note }) => {
      this.info = info;
      this.snapshot = snapshot;
      this.startNote = note;
      return info;
    }, (e) => { this.failed = true; throw e; });
  }

  receive(data) {
    if (data.event) {
      if (data.event === 'backend') {
        this.info = data;
        this.emit('backend', data);
        if (data.note) this.emit('note', data.note);
      } else this.emit(data.event, data);
      return;
    }
    const call = this.pending.get(data.id);
    if (!call) return;
    this.pending.delete(data.id);
    if (data.fatal) {
      call.reject(new Error(`${data.error}; the engine was restarted`));
      this.restart(data.error);
    } else if ('error' in data) call.reject(new Error(data.error));
    else call.resolve(data.result);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** Send `op` to the worker; `transfer` lists buffers handed over, not copied. */
  call(op, args = [], transfer = []) {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, args }, transfer);
    });
  }

  /**
   * Start over after a failed start (say, the wasm download broke off): a new worker.
   * A start that is running or has worked is left alone (several elements may ask).
   */
  retry() {
    if (!this.failed) return this.ready;
    this.worker.terminate();
    this.ready = this.start();
    return this.ready;
  }

  /** Replace a dead worker with a fresh one, from the last snapshot of the session. */
  restart(reason) {
    this.worker.terminate();
    for (const { reject } of this.pending.values()) reject(new Error(`the engine stopped (${reason})`));
    this.pending.clear();
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < 60_000);
    if (this.restarts.length >= MAX_RESTARTS) {
      this.dead = new Error(`the engine keeps stopping (${reason}); reload the page to try again`);
      this.ready = Promise.reject(this.dead);
      this.ready.catch(() => {});
      this.emit('note', failure('engineKeepsStopping', { reason }, false));
      return;
    }
    this.restarts.push(now);
    this.ready = this.start();
    this.ready.then(
      () => {
        this.emit('note', failure('engineRestarted', { reason, reopened: this.startNote ?? msg('restartKept') }));
        this.emit('restarted', this.info);
      },
      (e) => this.emit('note', failure('engineNotRestarted', { error: e.message }, false)),
    );
  }

  async setBackend(backend) {
    this.wanted = backend;
    this.info = await this.call('setBackend', [backend]);
    return this.info;
  }

  /**
   * Drawings as `Pad.transferable()` gives them (`{ xy, ends }`, or pixels as
   * `{ rgba, width, height }`), or null; their buffers are transferred. Resolves to
   * `{ distance, images, xy, nearest, match }` (see the worker's `compare`).
   */
  compare(a, b) {
    return this.call('compare', [{ a, b }], [...buffers(a), ...buffers(b)]);
  }

  /** A drawing (transferred) → the 28×28 image the network sees, or null without ink. */
  preprocess(pad) {
    return pad ? this.call('preprocess', [pad], buffers(pad)) : Promise.resolve(null);
  }

  map() { return this.call('map'); }
  /** The `nth` bundled sample of `digit` (784 values). */
  sample(digit, nth) { return this.call('sample', [digit, nth]); }
  scores() { return this.call('scores'); }
  /** One fine-tuning step with the session's options; resolves to its loss. */
  trainStep() { return this.call('trainStep'); }
  /** Testing aid: `{ cpu, gpu }`, bytes of wasm memory each module holds. */
  memory() { return this.call('memory'); }
  /** Testing aid: the WebGPU device is destroyed, as a driver reset would. */
  loseGpu() { return this.call('loseGpu'); }
  /** Testing aid: the engine panics, as a bug in it would. */
  crash() { return this.call('crash'); }

  /** A new snapshot of the session: kept for a restart, and told to the page. */
  accept(snapshot) {
    this.snapshot = snapshot;
    this.emit('session', snapshot);
    return snapshot;
  }

  /** `{ kind: 'example', image, label } | { kind: 'pair', a, b, same }`, added at the end. */
  async addItem(item) { return this.accept(await this.call('addItem', [item])); }
  async removeItem(index) { return this.accept(await this.call('removeItem', [index])); }
  async clearItems() { return this.accept(await this.call('clearItems')); }
  /** Some of `{ loss, learningRate, batchSize, steps }`; a value out of bounds rejects with the engine's reason. */
  async setOptions(options) { return this.accept(await this.call('setOptions', [options])); }
  /** A snapshot of the session as it is now (after a training run, whose steps send none). */
  async refreshSnapshot() { return this.accept(await this.call('snapshot')); }

  /**
   * Keep a pad's drawing (`Pad.transferable()`, transferred; null when empty) in the
   * gallery under `name`; a refused one rejects with the engine's reason.
   */
  async addReference(name, pad) { return this.accept(await this.call('addReference', [{ name, pad }], buffers(pad))); }
  async removeReference(index) { return this.accept(await this.call('removeReference', [index])); }
  async clearGallery() { return this.accept(await this.call('clearGallery')); }
  /** A gallery file's text: its references are added after the visitor's, or, if one is bad, none (rejects with the reason). */
  async importGallery(text) { return this.accept(await this.call('importGallery', [text])); }
  /** The gallery as a file's text (JSON). */
  exportGallery() { return this.call('exportGallery'); }

  /** The current weights as a file (read back from the GPU if they live there). */
  exportWeights() { return this.call('exportWeights'); }

  /** Load weights; a bad file rejects and the current model stays. */
  async importWeights(bytes) { return this.modelChanged(await this.call('importWeights', [bytes])); }

  async reset() { return this.modelChanged(await this.call('reset')); }

  /** Let `'default'` (ours) or `'seed'` (the reference post's) answer; the first switch to seed downloads its weights. */
  async useNetwork(name) { return this.modelChanged(await this.call('useNetwork', [name])); }

  /**
   * Replace the whole session with saved bytes; a bad file rejects and the session
   * stays. Resolves to what the engine set aside — `{ weights, release, steps }` of a
   * session fine-tuned under another release (the shipped weights are in use) — or null.
   */
  async openSession(bytes) {
    const { snapshot, setAside } = await this.call('openSession', [bytes]);
    this.modelChanged(snapshot);
    return setAside ?? null;
  }

  /** New weights bring their own threshold: tell the elements. */
  modelChanged(snapshot) {
    this.info = snapshot.info;
    this.emit('backend', snapshot.info);
    return this.accept(snapshot);
  }
}

let client = null;

/** The page's engine client, created by the first element that needs it. */
export function getClient(pkgUrl, backend, testing) {
  client ??= new EngineClient(pkgUrl, backend, testing);
  return client;
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

  /** Drop a pending update (the element went away). */
  cancel() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.wanted = false;
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

/** Yield to the browser so it can paint and handle input between training steps. */
export const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

/** The buffers of a drawing, to transfer rather than copy. */
function buffers(drawing) {
  if (!drawing) return [];
  return drawing.xy ? [drawing.xy, drawing.ends] : [drawing.rgba];
}
