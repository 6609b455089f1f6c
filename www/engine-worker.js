// The engine, in a dedicated worker: the page's main thread only draws. One worker
// per page serves every <siamese-digits> element (worker-client.js starts it).
//
// It loads the small CPU module first (pkg/siamese_digits.js: burn-ndarray, SIMD),
// which answers the first distance. Where the backend is auto or webgpu and the
// browser has a WebGPU adapter, it then fetches the WebGPU module (pkg/gpu/) and
// moves the engine's session there (weights, training set, options, steps: one byte
// format, Rust's); if the GPU fails, the session moves back to the CPU module. The
// seed network's weights (pkg/seed.bin.gz) are downloaded the first time a visitor
// chooses that network, never before. All
// computing — preprocessing included — is Rust; this file only routes messages and
// moves sessions between the two modules; it keeps no copy of the session (nor of
// the gallery's embeddings: the engine embeds its references again when the model
// changes).
//
// Protocol: requests `{ id, op, args }` → replies `{ id, result }` or
// `{ id, error, fatal }` (fatal: the wasm instance trapped, restart the worker);
// events `{ event, … }`: progress (of a download), backend (after a move; `note`
// says why when the GPU failed). Ops that change the session answer a snapshot
// (see `snapshot()`). Notes for the status line are messages (`{ key, params }`,
// with `recovered` for a failure), which the page puts into its words (i18n.js).

let pkg = null; // URL of pkg/
let testing = false; // whether the page was opened with ?testing (testing aids answer)
let cpu = null; // the CPU module's Engine
let gpu = null; // the WebGPU module's Engine, once it runs
let engine = null; // the one answering now
let cpuModule = null; // the CPU module
let gpuModule = null; // the WebGPU module, fetched at most once per worker
let cpuExports = null; // their wasm exports (memory)
let gpuExports = null;
let fineTuning = null; // Engine.fineTuning(): the options' defaults and bounds
let version = null; // Engine.version(): Cargo.toml's
let wanted = 'auto';
let fallbackReason = null;
let mapReady = false; // whether the engine has fitted the map (project() needs it)
let lastDrawing = -Infinity; // when the page last asked for a distance (performance.now())
let seedWeights = null; // the seed network's weights file, downloaded when first chosen

const post = (message, transfer = []) => self.postMessage(message, transfer);

function info() {
  return {
    backend: engine.backend, reason: fallbackReason, threshold: engine.threshold, wanted, release: engine.release, fineTuning,
    network: engine.network, embeddingSize: engine.embeddingSize, version,
  };
}

/**
 * The session as the page keeps it: its bytes (for storage and for a restarted
 * worker), its items and gallery (for the thumbnails), steps, options and revision,
 * all read from one engine.
 */
async function snapshot() {
  const source = engine;
  let bytes;
  let revision;
  do {
    revision = source.revision;
    bytes = await source.exportSession(); // on WebGPU a read: other calls may run meanwhile
  } while (revision !== source.revision);
  return { bytes, items: source.items(), gallery: source.gallery(), steps: source.steps, options: source.options, revision, info: info() };
}

/** Fetch a file with progress events (a wasm compiles while it streams). */
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

/**
 * The seed network's weights, given to `target` (downloaded once per worker, with
 * progress; gunzipped here unless the host already did).
 */
async function giveSeedWeights(target) {
  if (!seedWeights) {
    const response = await streamed(new URL('seed.bin.gz', pkg), 'seed network');
    let bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      bytes = new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
    }
    seedWeights = bytes;
  }
  if (!target.hasSeedWeights) target.addSeedWeights(seedWeights);
}

/**
 * Open the answering engine's session in `target`; resolves to the revision copied.
 * The session's bytes hold our network; while the seed network answers it goes
 * along too, as it is now.
 */
async function copySession(target) {
  const revision = engine.revision;
  target.openSession(await engine.exportSession());
  if (engine.network === 'seed') {
    await engine.syncWeights();
    const weights = engine.exportWeights();
    await giveSeedWeights(target);
    await target.useNetwork('seed');
    target.importWeights(weights);
  }
  return revision;
}

let moving = Promise.resolve(); // moves run one at a time, each from where the last left

/**
 * Make `target` the engine. `copied`: the revision of the session it already holds,
 * if any. The old engine answers until the switch; the session is copied again
 * until no change slipped in meanwhile, so no answer comes from a stale session.
 */
function moveTo(target, note, copied = null) {
  const move = moving.then(async () => {
    if (target === engine) return;
    while (copied !== engine.revision) copied = await copySession(target);
    engine = target;
    mapReady = false; // the map's projection lives in the engine it was fitted by
    post({ event: 'backend', ...info(), note });
  });
  moving = move.catch(() => {});
  return move;
}

/** Leave the GPU for good (for this worker): back to the CPU module. */
async function leaveGpu(reason) {
  fallbackReason = reason;
  const note = { key: 'movedToCpu', params: { reason }, recovered: true };
  const failed = gpu;
  gpu = null; // dropped, not freed: calls may still be running on it
  if (engine === failed) await moveTo(cpu, note);
  else post({ event: 'backend', ...info(), note });
}

/** How long the visitor stops drawing before the WebGPU engine's set-up runs. */
const PAUSE_MS = 1000;

/**
 * Resolves once the visitor has paused drawing. Creating and warming the WebGPU
 * engine holds this thread for up to a second at a time (SwiftShader on 2 cores):
 * done while the visitor draws, the CPU engine's answers would wait behind it.
 */
async function pause() {
  for (let quiet; (quiet = performance.now() - lastDrawing) < PAUSE_MS;) {
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS - quiet));
  }
}

let gpuAttempt = null;
/** Fetch the WebGPU module and move there; resolves once settled either way. */
function tryGpu() {
  gpuAttempt ??= (async () => {
    try {
      const problem = await cpuModule.Engine.webGpuProblem();
      if (problem) throw new Error(problem);
      if (!gpuModule) {
        const mod = await import(new URL('gpu/siamese_digits.js', pkg).href);
        gpuExports = await mod.default({ module_or_path: streamed(new URL('gpu/siamese_digits_bg.wasm', pkg), 'WebGPU engine') });
        gpuModule = mod;
      }
      await pause();
      const created = await gpuModule.Engine.create({ backend: 'webgpu', testing });
      let copied;
      try {
        if (created.backend === 'webgpu') {
          // The module's own CPU fallback keeps a failing call alive; then the engine
          // comes back to the faster CPU module.
          created.onFallback((reason) => setTimeout(() => { if (created === gpu) leaveGpu(reason).catch(fail); }));
          // Ready before it answers: the session, and every kernel compiled once,
          // while the CPU engine goes on answering.
          await pause();
          copied = await copySession(created);
          await created.warm();
        }
        if (created.backend !== 'webgpu') throw new Error(created.fallbackReason);
      } catch (e) {
        created.free();
        throw e;
      }
      gpu = created;
      fallbackReason = null;
      if (wanted !== 'cpu') await moveTo(gpu, undefined, copied); // the badge says so; the status line keeps its note
    } catch (e) {
      if (engine !== gpu) gpu = null; // one that never took over is not used later
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

/** Testing aids break things on purpose: only on a page that asked for them. */
function testingAid() {
  if (!testing) throw new Error('testing aids need ?testing in the page URL');
}

const ops = {
  /**
   * `{ pkg, backend, testing, session }`; `session`: the bytes of the client's last
   * snapshot, after a restart. Resolves to `{ info, snapshot, note }`, `note` saying
   * why that session could not be opened.
   */
  async start(options) {
    pkg = new URL(options.pkg);
    wanted = options.backend;
    testing = options.testing;
    const mod = await import(new URL('siamese_digits.js', pkg).href);
    cpuExports = await mod.default({ module_or_path: streamed(new URL('siamese_digits_bg.wasm', pkg), 'model') });
    cpuModule = mod;
    fineTuning = mod.Engine.fineTuning();
    version = mod.Engine.version();
    cpu = await mod.Engine.create({ backend: 'cpu', testing });
    engine = cpu;
    let note = null;
    if (options.session) {
      try {
        cpu.openSession(options.session);
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) throw e;
        note = { key: 'lastSessionNotReopened', params: { error: e.message ?? String(e) } };
      }
    }
    if (wanted !== 'cpu') {
      fallbackReason = 'the WebGPU engine is loading';
      tryGpu(); // in the background: the CPU answers meanwhile
    }
    return { info: info(), snapshot: await snapshot(), note };
  },

  async setBackend(backend) {
    wanted = backend;
    if (backend === 'cpu') {
      fallbackReason = null;
      await moveTo(cpu);
    } else if (gpu) {
      await moveTo(gpu);
    } else {
      await tryGpu();
    }
    return info();
  },

  /**
   * Both pads → what the network sees, the distance, once the map is fitted where
   * they land on it and the labels of the 5 map digits nearest each, and while the
   * gallery holds references each drawing's match against them (`{ label, nearest }`:
   * the 3 nearest names; null for an empty pad or gallery).
   */
  async compare({ a, b }) {
    lastDrawing = performance.now();
    const images = { a: preprocess(a), b: preprocess(b) };
    const result = { images, distance: null, xy: { a: null, b: null }, nearest: { a: null, b: null }, match: { a: null, b: null } };
    const embeddings = { a: null, b: null };
    const matching = engine.galleryCount > 0;
    if (images.a && images.b) {
      const { distance, a: ea, b: eb } = await engine.compare(images.a, images.b);
      result.distance = distance;
      Object.assign(embeddings, { a: ea, b: eb });
    } else if (mapReady || matching) {
      for (const id of ['a', 'b']) if (images[id]) embeddings[id] = await engine.embed(images[id]);
    }
    for (const id of ['a', 'b']) {
      if (!embeddings[id]) continue;
      if (mapReady) {
        result.xy[id] = engine.project(embeddings[id]);
        result.nearest[id] = [...engine.nearest(embeddings[id], 5)];
      }
      if (matching) result.match[id] = await engine.matchGallery(embeddings[id], 3);
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

  /** `{ kind: 'example', image, label } | { kind: 'pair', a, b, same }`, added to the end of the training set. */
  addItem(item) {
    if (item.kind === 'example') engine.addExample(item.image, item.label);
    else engine.addPair(item.a, item.b, item.same);
    return snapshot();
  },

  removeItem(index) {
    engine.removeItem(index);
    return snapshot();
  },

  clearItems() {
    engine.clearItems();
    return snapshot();
  },

  /**
   * `{ name, pad }`: a pad's drawing (`Pad.transferable()`, null when empty) kept in
   * the gallery under `name`; the engine checks both.
   */
  addReference({ name, pad }) {
    // References are kept as strokes, so that a new model can embed them again.
    if (pad?.rgba) throw new Error('a typed sample cannot be a reference: draw on the pad instead');
    engine.addReference(name, new Float32Array(pad?.xy ?? 0), new Uint32Array(pad?.ends ?? 0));
    return snapshot();
  },

  removeReference(index) {
    engine.removeReference(index);
    return snapshot();
  },

  clearGallery() {
    engine.clearGallery();
    return snapshot();
  },

  /** A gallery file's text: its references join the visitor's, all of them or, if one is bad, none. */
  importGallery(text) {
    engine.importGallery(text);
    return snapshot();
  },

  /** The gallery as a file's text (JSON). */
  exportGallery() {
    return engine.exportGallery();
  },

  /** Some of `{ loss, learningRate, batchSize, steps }`; the engine checks them against its bounds. */
  setOptions(options) {
    engine.setOptions(options);
    return snapshot();
  },

  /** One step with the session's options; resolves to its loss (`snapshot` after a run). */
  async trainStep() {
    const trainer = engine;
    const loss = await trainer.trainStep();
    // A step that ended on an engine which no longer answers changed a session the page no longer uses.
    if (trainer !== engine) throw new Error(`the engine moved to ${engine.backend} during this step, which was dropped`);
    return loss;
  },

  snapshot() {
    return snapshot();
  },

  async scores() {
    return { user: await engine.userAccuracy(), validation: await engine.validationAccuracy() };
  },

  /** Let `'default'` or `'seed'` answer; the network leaving is kept as it was. */
  async useNetwork(name) {
    if (name === 'seed') await giveSeedWeights(engine);
    await engine.useNetwork(name);
    // Another network's kernels: compiled now, while the status says so, not on the next drawing.
    if (engine.backend === 'webgpu') await engine.warm();
    mapReady = false; // a new embedding: the map is fitted again
    return snapshot();
  },

  reset() {
    engine.reset();
    return snapshot(); // its info: the threshold comes with the weights
  },

  async exportWeights() {
    await engine.syncWeights();
    return engine.exportWeights();
  },

  importWeights(bytes) {
    engine.importWeights(bytes);
    return snapshot();
  },

  /** Replace the whole session; `setAside`: `{ weights, release, steps }` of a session fine-tuned under another release. */
  async openSession(bytes) {
    const { setAside } = engine.openSession(bytes);
    return { snapshot: await snapshot(), setAside };
  },

  /** Testing aid: bytes of wasm memory each module holds (for the soak test). */
  memory() {
    testingAid();
    return { cpu: cpuExports?.memory.buffer.byteLength ?? 0, gpu: gpuExports?.memory.buffer.byteLength ?? 0 };
  },

  /** Testing aid: destroy the WebGPU device, as a driver reset would. */
  loseGpu() {
    testingAid();
    gpu?.destroyGpuDevice();
  },

  /** Testing aid: a real Rust panic in the engine answering now (it traps). */
  crash() {
    testingAid();
    engine.testPanic();
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

/** The buffers of a result's typed arrays, to transfer rather than copy (each once). */
function buffers(value, found = new Set()) {
  if (ArrayBuffer.isView(value)) found.add(value.buffer);
  else if (value && typeof value === 'object') for (const inner of Object.values(value)) buffers(inner, found);
  return found;
}

self.onmessage = async ({ data: { id, op, args = [] } }) => {
  try {
    if (op === 'start') started = ops.start(...args);
    else await started;
    const result = await (op === 'start' ? started : ops[op](...args));
    post({ id, result }, [...buffers(result)]);
  } catch (e) {
    // A trap leaves the wasm instance unusable: the client restarts this worker,
    // and says why when a Rust panic caused it.
    const fatal = e instanceof WebAssembly.RuntimeError;
    post({ id, error: (fatal && panicMessage()) || (e?.message ?? String(e)), fatal });
  }
};
