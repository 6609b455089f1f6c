// Benchmark (figures, not pass/fail): our network against the seed network (the
// reference post's 2-D one), driven directly through the engine in a page, per backend.
//
//   node tests/browser/networks.mjs [--backend cpu|webgpu] [--quick]
//
// cpu: the CPU module (pkg/) in Chromium without an adapter; webgpu: the WebGPU module
// (pkg/gpu/) on SwiftShader, a software GPU. For each network:
//   pair latency  `await engine.distance(a, b)` on two fixed bundled digits, after 5
//                 warm-up calls: median and p10–p90 over N calls (200 cpu, 30 webgpu);
//   fine-tuning   10 labelled bundled digits (two each of 0–4), batch size 32, 3 warm-up
//                 steps, then S timed `await engine.trainStep()` (40 cpu, 10 webgpu):
//                 ms/step and pairs/s = S × 32 / seconds.
// `--quick` divides N and S by 10 (a smoke run; its figures are noisy).
import { execSync } from 'node:child_process';
import { startServer, launch, openPage } from './harness.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.includes('--backend') ? args[args.indexOf('--backend') + 1] : null;
if (only !== null && !['cpu', 'webgpu'].includes(only)) {
  console.error(`--backend cpu|webgpu, not ${only}`);
  process.exit(2);
}
const backends = only ? [only] : ['cpu', 'webgpu'];
const BATCH = 32;
const COUNTS = { cpu: { pairs: 200, steps: 40 }, webgpu: { pairs: 30, steps: 10 } };
const scaled = (n) => (quick ? Math.max(1, Math.round(n / 10)) : n);

let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  if (execSync('git status --porcelain -- src pkg weights', { encoding: 'utf8' }).trim()) commit += ' (+ uncommitted changes in src/, pkg/ or weights/)';
} catch {}
console.log(`networks benchmark — commit ${commit}${quick ? ' — --quick: a smoke run, figures noisy' : ''}`);
console.log(`${new Date().toISOString()}, headless Chromium; WebGPU is SwiftShader (a software GPU)`);

const { server, origin } = await startServer();
let failed = false;

/** Runs in the page: import the module, create the engine, pick the fixed inputs. */
async function boot(page, module) {
  return page.evaluate(async (module) => {
    const { default: init, Engine } = await import(module);
    await init();
    const t0 = performance.now();
    window.engine = await Engine.create({ backend: 'auto' });
    // As the worker does: every kernel compiled once before the engine answers.
    if (engine.backend === 'webgpu') await engine.warm();
    const images = engine.validationImages();
    const labels = engine.validationLabels();
    const img = (i) => images.slice(i * 784, (i + 1) * 784);
    // The pair: the first bundled 7 and the first 1 (any two fixed digits would do).
    window.pair = [img(labels.indexOf(7)), img(labels.indexOf(1))];
    // The training items: two of each of 0–4, so there are same and different pairs.
    window.examples = [];
    for (let digit = 0; digit < 5; digit++) {
      let found = 0;
      for (let i = 0; i < labels.length && found < 2; i++) if (labels[i] === digit) { window.examples.push([img(i), digit]); found++; }
    }
    return { backend: engine.backend, reason: engine.fallbackReason, release: engine.release, version: Engine.version(), createMs: performance.now() - t0 };
  }, module);
}

/** Runs in the page: switch to `network` (the seed one's weights fetched and gunzipped here). */
async function use(page, network) {
  return page.evaluate(async (network) => {
    const t0 = performance.now();
    let fetched = 0;
    if (network === 'seed' && !engine.hasSeedWeights) {
      const response = await fetch(new URL('/pkg/seed.bin.gz', location.href));
      if (!response.ok) throw new Error(`pkg/seed.bin.gz: HTTP ${response.status}`);
      let bytes = new Uint8Array(await response.arrayBuffer());
      fetched = bytes.length;
      if (bytes[0] === 0x1f && bytes[1] === 0x8b) { // a server that sends it as is
        bytes = new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
      }
      engine.addSeedWeights(bytes);
    }
    await engine.useNetwork(network);
    if (engine.backend === 'webgpu') await engine.warm(); // as the worker does after switching
    const switchMs = performance.now() - t0;
    // The parameter count, from the weights file's header: magic (8), header length
    // u32, the JSON header, then the count u32.
    await engine.syncWeights();
    const file = engine.exportWeights();
    const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
    const params = view.getUint32(12 + view.getUint32(8, true), true);
    return { network: engine.network, preset: engine.preset, embeddingSize: engine.embeddingSize, params, fetched, switchMs };
  }, network);
}

/** Runs in the page: `n` timed distance() calls after `warmup` untimed ones; sorted ms. */
async function pairLatency(page, n, warmup = 5) {
  return page.evaluate(async ([n, warmup]) => {
    const [a, b] = window.pair;
    for (let i = 0; i < warmup; i++) await engine.distance(a, b);
    const times = [];
    let d = 0;
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      d = await engine.distance(a, b);
      times.push(performance.now() - t0);
    }
    if (!Number.isFinite(d)) throw new Error(`distance ${d}`);
    return times.sort((x, y) => x - y);
  }, [n, warmup]);
}

/** Runs in the page: the items, batch size, 3 warm-up steps, then `steps` timed ones. */
async function training(page, steps, batchSize) {
  return page.evaluate(async ([steps, batchSize]) => {
    engine.clearItems();
    for (const [image, label] of window.examples) engine.addExample(image, label);
    engine.setOptions({ batchSize });
    for (let i = 0; i < 3; i++) await engine.trainStep();
    const t0 = performance.now();
    let loss = NaN;
    for (let i = 0; i < steps; i++) loss = await engine.trainStep();
    const ms = performance.now() - t0;
    engine.clearItems();
    return { ms, loss, items: window.examples.length };
  }, [steps, batchSize]);
}

const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

for (const backend of backends) {
  const { pairs, steps } = COUNTS[backend];
  const [n, s] = [scaled(pairs), scaled(steps)];
  const browser = await launch(backend);
  const { page, problems } = await openPage(browser, origin, '/tests/browser/blank.html');
  try {
    const module = backend === 'webgpu' ? '/pkg/gpu/siamese_digits.js' : '/pkg/siamese_digits.js';
    const info = await boot(page, module);
    console.log(`\n== ${backend}: ${module}, engine on ${info.backend}, version ${info.version}, release ${info.release}, created${backend === 'webgpu' ? ' + warmed' : ''} in ${info.createMs.toFixed(0)} ms`);
    if (info.backend !== backend) throw new Error(`wanted ${backend}, the engine is on ${info.backend}: ${info.reason}`);
    console.log(`pair latency: ${n} calls of distance(a, b) after 5 warm-up; fine-tuning: 10 items, batch ${BATCH}, ${s} steps after 3 warm-up`);
    const rows = [];
    for (const network of ['default', 'seed']) {
      const net = await use(page, network);
      if (net.network !== network) throw new Error(`asked for ${network}, the engine answers with ${net.network}`);
      const lat = await pairLatency(page, n);
      const train = await training(page, s, BATCH);
      rows.push({ ...net, lat, train });
      const fetchNote = net.fetched ? `, ${(net.fetched / 1024).toFixed(0)} KiB fetched` : '';
      console.log(`  ${network}: switched in ${net.switchMs.toFixed(0)} ms${fetchNote}; last loss ${train.loss.toFixed(4)}`);
    }
    console.log('');
    console.log(`${pad('network', 9)}${pad('preset', 9)}${lpad('emb', 4)}${lpad('params', 10)}   ${pad('pair ms median (p10–p90)', 26)}${lpad('train ms/step', 14)}${lpad('pairs/s', 10)}`);
    for (const r of rows) {
      const pairMs = `${pct(r.lat, 0.5).toFixed(2)} (${pct(r.lat, 0.1).toFixed(2)}–${pct(r.lat, 0.9).toFixed(2)})`;
      const msStep = r.train.ms / s;
      const perSecond = (s * BATCH) / (r.train.ms / 1000);
      console.log(`${pad(r.network, 9)}${pad(r.preset, 9)}${lpad(r.embeddingSize, 4)}${lpad(r.params.toLocaleString('en-US'), 10)}   ${pad(pairMs, 26)}${lpad(msStep.toFixed(1), 14)}${lpad(perSecond.toFixed(0), 10)}`);
    }
    if (problems.length) {
      failed = true;
      console.error(`page problems on ${backend}:\n${problems.join('\n')}`);
    }
  } catch (e) {
    failed = true;
    console.error(`${backend} failed: ${e.message}`);
    if (problems.length) console.error(problems.join('\n'));
  } finally {
    await browser.close();
  }
}
server.close();
if (failed) process.exit(1);
