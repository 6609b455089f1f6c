// The main thread's side of the engine: one worker per page (engine-worker.js),
// shared by every <siamese-digits> element, spoken to with promises. It keeps what
// a restart needs — the last good weights and the page's training set — and starts
// a fresh worker if the old one dies (a wasm trap, an out-of-memory). No DOM here.

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
 * (detail: info, after a move between WebGPU and the CPU), `restarted` (detail: info,
 * a new worker took over), `note` (detail: text for the status line), `items` (the
 * training set changed).
 */
export class EngineClient extends EventTarget {
  constructor(pkgUrl, backend) {
    super();
    this.pkg = String(pkgUrl);
    this.wanted = backend;
    /** The page's training set: `{ kind: 'example', image, label } | { kind: 'pair', a, b, same }`. */
    this.items = [];
    /** The last good fine-tuned weights (null: the shipped ones), for a restart. */
    this.weights = null;
    this.info = null;
    this.pending = new Map();
    this.nextId = 1;
    this.restarts = [];
    this.ready = this.start();
  }

  start() {
    this.worker = spawn();
    this.worker.onmessage = ({ data }) => this.receive(data);
    // An uncaught error or a script that fails to load: the worker is gone.
    this.worker.onerror = (e) => { e.preventDefault(); this.restart(e.message || 'the engine worker failed'); };
    const started = this.call('start', [{ pkg: this.pkg, backend: this.wanted, items: this.items, weights: this.weights }]);
    this.failed = false;
    return started.then((info) => { this.info = info; return info; }, (e) => { this.failed = true; throw e; });
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

  /** Replace a dead worker with a fresh one, from the last good weights and the training set. */
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
      this.emit('note', `The engine keeps stopping (${reason}). Reload the page to try again.`);
      return;
    }
    this.restarts.push(now);
    this.ready = this.start();
    this.ready.then(
      () => {
        this.emit('note', `The engine stopped (${reason}) and was restarted with your last saved model and examples.`);
        this.emit('restarted', this.info);
      },
      (e) => this.emit('note', `The engine stopped and could not be restarted: ${e.message}`),
    );
  }

  async setBackend(backend) {
    this.wanted = backend;
    this.info = await this.call('setBackend', [backend]);
    return this.info;
  }

  /**
   * Drawings as `Pad.transferable()` gives them (`{ xy, ends }`, or pixels as
   * `{ rgba, width, height }`), or null; their buffers are transferred.
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
  /** `{ cpu, gpu }`: bytes of wasm memory each module holds. */
  memory() { return this.call('memory'); }
  scores() { return this.call('scores'); }
  trainStep(options) { return this.call('trainStep', [options]); }
  loseGpu() { return this.call('loseGpu'); }
  /** Testing aid: the worker behaves as if its wasm had trapped. */
  crash() { return this.call('crash'); }

  async addItem(item) {
    await this.call('addItem', [item]);
    this.items.push(item);
    this.emit('items');
  }

  async removeItem(index) {
    await this.call('removeItem', [index]);
    this.items.splice(index, 1);
    this.emit('items');
  }

  /** Restore a saved training set; resolves to how many items were dropped as unreadable. */
  async setItems(list) {
    const kept = await this.call('setItems', [list]);
    this.items = kept.map((i) => list[i]);
    this.emit('items');
    return list.length - kept.length;
  }

  /** The current weights as a file (read back from the GPU if they live there). */
  async exportWeights() {
    const bytes = await this.call('exportWeights');
    this.weights = bytes.slice();
    return bytes;
  }

  /** Load weights; a bad file rejects and the current model stays. */
  async importWeights(bytes) {
    this.modelChanged(await this.call('importWeights', [bytes]));
    this.weights = bytes;
  }

  async reset() {
    this.modelChanged(await this.call('reset'));
    this.weights = null;
  }

  /** New weights bring their own threshold: tell the elements. */
  modelChanged(info) {
    this.info = info;
    this.emit('backend', info);
  }
}

let client = null;

/** The page's engine client, created by the first element that needs it. */
export function getClient(pkgUrl, backend) {
  client ??= new EngineClient(pkgUrl, backend);
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
