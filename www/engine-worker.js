// The engine, in a dedicated worker: the page's main thread only draws. One worker
// per page serves every <siamese-digits> element (worker-client.js starts it).
//
// It loads the small CPU module first (pkg/siamese_digits.js: burn-ndarray, SIMD),
// which answers the first distance. Where the backend is auto or webgpu and the
// browser has a WebGPU adapter, it then fetches the WebGPU module (pkg/gpu/) and
// moves the engine there, weights and training set included; if the GPU fails, the
// engine moves back to the CPU module. All computing — preprocessing included — is
// Rust; this file only routes messages and moves state between the two modules.
//
// Protocol: requests `{ id, op, args }` → replies `{ id, result }` or
// `{ id, error, fatal }` (fatal: the wasm instance trapped, restart the worker);
// events `{ event, … }`: progress (of a download), backend (after a move; `note`
// says why when the GPU failed).

let pkg = null; // URL of pkg/
let cpu = null; // the CPU module's Engine
let gpu = null; // the WebGPU module's Engine, once it runs
let engine = null; // the one answering now
let cpuModule = null; // the CPU module
let gpuModule = null; // the WebGPU module, fetched at most once per worker
let cpuExports = null; // their wasm exports (memory)
let gpuExports = null;
let wanted = 'auto';
let fallbackReason = null;
let mapReady = false; // whether the engine has fitted the map (project() needs it)
/** The training set as the engines hold it, to carry it from one module to the other. */
let items = [];

const post = (message, transfer = []) => self.postMessage(message, transfer);

function info() {
  return { backend: engine.backend, reason: fallbackReason, threshold: engine.threshold, wanted, release: engine.release };
}

/** Fetch a wasm with progress events and compile it while it streams. */
async function streamed(url, what) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not download the ${what} (${response.status})`);
  const total = Number(response.headers.get('content-length')) || 0;
  let received = 0;
  const counted = response.body.pipeThrough(new TransformStream({
    transform(chunk, controller) {
      received += chunk.length;
      if (total) post({ event: 'progress', what, fraction: received / total });
      controller.enqueue(chunk);
    },
  }));
  return new Response(counted, { headers: { 'content-type': 'application/wasm' } });
}

function push(target, item) {
  if (item.kind === 'example') target.addExample(item.image, item.label);
  else target.addPair(item.a, item.b, item.same);
}

/** Make `target` the engine, with the current weights and training set. */
async function moveTo(target, note) {
  if (target === engine) return;
  await engine.syncWeights(); // fine-tuned weights may still be on the GPU
  target.importWeights(engine.exportWeights());
  target.clearExamples();
  for (const item of items) push(target, item);
  engine = target;
  mapReady = false; // the map's projection lives in the engine it was fitted by
  post({ event: 'backend', ...info(), note });
}

/** Leave the GPU for good (for this worker): back to the CPU module. */
async function leaveGpu(reason) {
  fallbackReason = reason;
  const note = `Moved to the CPU: ${reason}`;
  const failed = gpu;
  gpu = null; // dropped, not freed: calls may still be running on it
  if (engine === failed) await moveTo(cpu, note);
  else post({ event: 'backend', ...info(), note });
}

let gpuAttempt = null;
/** Fetch the WebGPU module and move there; resolves once settled either way. */
function tryGpu() {
  gpuAttempt ??= (async () => {
    try {
      const adapter = await navigator.gpu?.requestAdapter();
      if (!navigator.gpu) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
      if (!adapter) throw new Error('no WebGPU adapter is available');
      if (!gpuModule) {
        const mod = await import(new URL('gpu/siamese_digits.js', pkg).href);
        gpuExports = await mod.default({ module_or_path: streamed(new URL('gpu/siamese_digits_bg.wasm', pkg), 'WebGPU engine') });
        gpuModule = mod;
      }
      const created = await gpuModule.Engine.create({ backend: 'webgpu' });
      if (created.backend !== 'webgpu') {
        const reason = created.fallbackReason;
        created.free();
        throw new Error(reason);
      }
      // The module's own CPU fallback keeps a failing call alive; then the engine
      // comes back to the faster CPU module.
      created.onFallback((reason) => setTimeout(() => { if (created === gpu) leaveGpu(reason).catch(fail); }));
      gpu = created;
      fallbackReason = null;
      if (wanted !== 'cpu') await moveTo(gpu); // the badge says so; the status line keeps its note
    } catch (e) {
      fallbackReason = e.message ?? String(e);
      post({ event: 'backend', ...info() });
    } finally {
      gpuAttempt = null;
    }
  })();
  return gpuAttempt;
}

/** The 28×28 image the network sees of a pad's strokes (or pixels), or null without ink. */
function preprocess(pad) {
  if (!pad) return null;
  try {
    return pad.xy
      ? engine.preprocessStrokes(new Float32Array(pad.xy), new Uint32Array(pad.ends))
      : engine.preprocess(new Uint8Array(pad.rgba), pad.width, pad.height);
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) throw e;
    return null; // a stray dot of no ink
  }
}

const ops = {
  async start(options) {
    pkg = new URL(options.pkg);
    wanted = options.backend;
    const mod = await import(new URL('siamese_digits.js', pkg).href);
    cpuExports = await mod.default({ module_or_path: streamed(new URL('siamese_digits_bg.wasm', pkg), 'model') });
    cpuModule = mod;
    cpu = await mod.Engine.create({ backend: 'cpu' });
    engine = cpu;
    // After a restart: the last good weights and the training set come back.
    if (options.weights) cpu.importWeights(options.weights);
    ops.setItems(options.items ?? []);
    if (wanted !== 'cpu') {
      fallbackReason = 'the WebGPU engine is loading';
      tryGpu(); // in the background: the CPU answers meanwhile
    }
    return info();
  },

  async setBackend(backend) {
    wanted = backend;
    if (backend === 'cpu') {
      fallbackReason = null;
      if (engine !== cpu) await moveTo(cpu);
    } else if (gpu) {
      await moveTo(gpu);
    } else {
      await tryGpu();
    }
    return info();
  },

  /**
   * Both pads → what the network sees, the distance, and, once the map is fitted,
   * where they land on it and the labels of the 5 map digits nearest each.
   */
  async compare({ a, b }) {
    const images = { a: preprocess(a), b: preprocess(b) };
    const result = { images, distance: null, xy: { a: null, b: null }, nearest: { a: null, b: null } };
    const embeddings = { a: null, b: null };
    if (images.a && images.b) {
      const { distance, a: ea, b: eb } = await engine.compare(images.a, images.b);
      result.distance = distance;
      Object.assign(embeddings, { a: ea, b: eb });
    } else if (mapReady) {
      for (const id of ['a', 'b']) if (images[id]) embeddings[id] = await engine.embed(images[id]);
    }
    if (mapReady) {
      for (const id of ['a', 'b']) {
        if (!embeddings[id]) continue;
        result.xy[id] = engine.project(embeddings[id]);
        result.nearest[id] = [...engine.nearest(embeddings[id], 5)];
      }
    }
    return result;
  },

  /** A bundled held-out MNIST digit `digit` (784 values), the `nth` such one, cycling. */
  sample(digit, nth) {
    const labels = engine.validationLabels();
    const which = labels.reduce((found, label, i) => (label === digit ? [...found, i] : found), []);
    const i = which[nth % which.length];
    return engine.validationImages().slice(i * 784, (i + 1) * 784);
  },

  /** Bytes of wasm memory each module holds (for the soak test and the curious). */
  memory() {
    return { cpu: cpuExports?.memory.buffer.byteLength ?? 0, gpu: gpuExports?.memory.buffer.byteLength ?? 0 };
  },

  /** A pad's pixels → the 28×28 image the network sees, or null without ink. */
  preprocess(pad) {
    return preprocess(pad);
  },

  async map() {
    const fitter = engine;
    mapReady = false;
    const points = await fitter.referenceMap();
    if (fitter === engine) mapReady = true; // not if the engine moved meanwhile
    return { points, labels: fitter.validationLabels() };
  },

  addItem(item) {
    push(engine, item);
    items.push(item);
    return items.length;
  },

  /** Replace the training set; resolves to the indices of the items kept (the engine drops unreadable ones). */
  setItems(list) {
    engine.clearExamples();
    items = [];
    const kept = [];
    list.forEach((item, i) => {
      try {
        push(engine, item);
        items.push(item);
        kept.push(i);
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) throw e;
      }
    });
    return kept;
  },

  removeItem(index) {
    const item = items[index];
    if (!item) throw new Error(`there is no item ${index}`);
    const sameKind = items.slice(0, index).filter((i) => i.kind === item.kind).length;
    if (item.kind === 'example') engine.removeExample(sameKind);
    else engine.removePair(sameKind);
    items.splice(index, 1);
    return items.length;
  },

  trainStep(options) {
    return engine.trainStep(options);
  },

  async scores() {
    return { user: await engine.userAccuracy(), validation: await engine.validationAccuracy() };
  },

  reset() {
    engine.reset();
    return info(); // the threshold comes with the weights
  },

  async exportWeights() {
    await engine.syncWeights();
    return engine.exportWeights();
  },

  importWeights(bytes) {
    engine.importWeights(bytes);
    return info();
  },

  /** Testing aid: destroy the WebGPU device, as a driver reset would. */
  loseGpu() {
    gpuModule?.Engine.destroyGpuDevice();
  },

  /** Testing aid: a real Rust panic in the module answering now (it traps). */
  crash() {
    (engine === gpu ? gpuModule : cpuModule).Engine.testPanic();
  },
};

let started = null; // every call but `start` waits for it

/** The panic that trapped a module, read from its (still intact) memory. */
function panicMessage() {
  for (const module of [gpuModule, cpuModule]) {
    try {
      const message = module?.Engine.lastPanic();
      if (message) return `the engine panicked: ${message}`;
    } catch {
      // That instance is beyond reading: the plain trap message will do.
    }
  }
  return null;
}

/** Report a failure outside any call (a move between modules): the worker is unusable. */
function fail(e) {
  setTimeout(() => { throw e; }); // an uncaught error: the client restarts this worker
}

self.onmessage = async ({ data: { id, op, args = [] } }) => {
  try {
    if (op === 'start') started = ops.start(...args);
    else await started;
    const result = await (op === 'start' ? started : ops[op](...args));
    const transfer = [];
    if (result instanceof Uint8Array || result instanceof Float32Array) transfer.push(result.buffer);
    if (result?.images) for (const image of Object.values(result.images)) if (image) transfer.push(image.buffer);
    post({ id, result }, transfer);
  } catch (e) {
    // A trap leaves the wasm instance unusable: the client restarts this worker,
    // and says why when a Rust panic caused it.
    const fatal = e instanceof WebAssembly.RuntimeError;
    post({ id, error: (fatal && panicMessage()) || (e?.message ?? String(e)), fatal });
  }
};
