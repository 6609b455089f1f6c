// Benchmarks (figures, not pass/fail): `node tests/browser/bench.mjs [--no-peers]`.
//
// 1. The page, per backend (headless Chromium): navigation → first answer, stroke end
//    → distance on screen, and the main thread while 40 training steps run and
//    someone keeps drawing (Long Tasks API: longest task, total blocking time).
// 2. What the first view downloads on the CPU path (`index.html?backend=cpu`, every
//    response before `siameseReady`), raw and gzip -9, and the two modules' sizes.
// 3. Side by side with onnxruntime-web and TensorFlow.js on the same network, in one
//    run of the shared peers harness (../shared/peers, run on a copy in target/peers),
//    as ratios: pair latency, fine-tuning throughput, WebGPU pair latency.
import { gzipSync } from 'node:zlib';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startServer, launch, openPage } from './harness.mjs';
import { firstView } from './page-helpers.mjs';

const ROOT = new URL('../../', import.meta.url);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
const gzipOf = (path) => gzipSync(readFileSync(new URL(`.${path}`, ROOT)), { level: 9 }).length;
const { server, origin } = await startServer();
const shadow = (sel) => `document.querySelector('siamese-digits').shadowRoot.querySelector('${sel}')`;

/** Draw one stroke on a pad with real pointer events. */
async function stroke(page, box, from, to) {
  await page.mouse.move(box.x + from[0] * box.width, box.y + from[1] * box.height);
  await page.mouse.down();
  for (let t = 1; t <= 6; t++) {
    await page.mouse.move(box.x + (from[0] + ((to[0] - from[0]) * t) / 6) * box.width, box.y + (from[1] + ((to[1] - from[1]) * t) / 6) * box.height);
  }
  await page.mouse.up();
}

async function pageFigures(backend) {
  const browser = await launch(backend);
  const { page } = await openPage(browser, origin);
  await page.setViewportSize({ width: 900, height: 1400 });
  const start = Date.now();
  await page.goto(`${origin}/www/index.html`);
  await page.evaluate(() => window.siameseReady);
  const ready = Date.now() - start;
  await page.waitForFunction((b) => eval(`document.querySelector('siamese-digits').shadowRoot.querySelector('[data-testid=backend]')`).dataset.backend === b, backend, { timeout: 120_000 });
  const onBackend = Date.now() - start;
  const pad = async (id) => {
    const canvas = page.locator(`siamese-digits [data-testid=pad-${id}]`);
    await canvas.scrollIntoViewIfNeeded();
    return canvas.boundingBox();
  };
  const [boxA, boxB] = [await pad('a'), await pad('b')];

  // Stroke end → distance on screen.
  await stroke(page, boxA, [0.5, 0.15], [0.5, 0.85]);
  const strokeLatency = [];
  for (let i = 0; i < 15; i++) {
    await page.locator('siamese-digits [data-testid=clear-b]').click();
    await page.waitForTimeout(100);
    const x = 0.25 + i * 0.02;
    await page.mouse.move(boxB.x + x * boxB.width, boxB.y + 0.2 * boxB.height);
    await page.mouse.down();
    await page.mouse.move(boxB.x + (x + 0.15) * boxB.width, boxB.y + 0.45 * boxB.height);
    await page.mouse.move(boxB.x + (x + 0.07) * boxB.width, boxB.y + 0.8 * boxB.height);
    const wait = page.evaluate((sel) => new Promise((resolve) => {
      const out = eval(sel);
      const t0 = performance.now();
      new MutationObserver((_, obs) => { obs.disconnect(); requestAnimationFrame(() => resolve(performance.now() - t0)); }).observe(out, { attributes: true, attributeFilter: ['data-value'] });
    }), shadow('[data-testid=distance]'));
    await page.mouse.up();
    strokeLatency.push(await wait);
  }

  // Six labelled drawings, then 40 training steps while pad B keeps being drawn on.
  for (const [digit, from, to] of [[1, [0.5, 0.15], [0.5, 0.85]], [1, [0.45, 0.1], [0.55, 0.9]], [7, [0.2, 0.15], [0.7, 0.8]], [7, [0.25, 0.2], [0.6, 0.85]], [0, [0.3, 0.2], [0.7, 0.8]], [0, [0.7, 0.2], [0.3, 0.8]]]) {
    await page.locator('siamese-digits [data-testid=clear-a]').click();
    await stroke(page, await pad('a'), from, to); // clicking a label scrolls the page: measure again
    await page.waitForTimeout(150);
    await page.locator(`siamese-digits button[data-label=a][data-digit="${digit}"]`).click();
  }
  await page.locator('siamese-digits [data-setting=steps]').fill('40');
  await page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
  });
  const t0 = Date.now();
  await page.locator('siamese-digits [data-testid=train]').click();
  let strokes = 0;
  let status = '';
  for (;;) {
    status = await page.locator('siamese-digits .status-text').textContent();
    if (/Done after|Training stopped/.test(status)) break;
    await page.locator('siamese-digits [data-testid=clear-b]').click();
    await stroke(page, await pad('b'), [0.3 + (strokes % 5) * 0.05, 0.2], [0.5, 0.8]);
    strokes++;
  }
  const trainSeconds = (Date.now() - t0) / 1000;
  const longTasks = await page.evaluate(() => window.longTasks);
  await browser.close();
  return {
    backend, ready, onBackend, strokeLatency: median(strokeLatency), trainSeconds, strokes, status,
    longest: Math.max(0, ...longTasks), count: longTasks.length, tbt: longTasks.reduce((s, d) => s + Math.max(0, d - 50), 0),
  };
}

async function cpuFirstView() {
  const browser = await launch('webgpu');
  const { page } = await openPage(browser, origin);
  const view = await firstView(page, `${origin}/www/index.html?backend=cpu`);
  await browser.close();
  return view;
}

console.log('== the page (headless Chromium; WebGPU is SwiftShader, a software GPU)');
for (const backend of ['cpu', 'webgpu']) {
  const f = await pageFigures(backend);
  console.log(`\n-- ${backend}`);
  console.log(`navigation → first answer (CPU module)     ${f.ready} ms`);
  console.log(`navigation → running on ${backend.padEnd(6)}             ${f.onBackend} ms`);
  console.log(`stroke end → distance painted, median/15    ${f.strokeLatency.toFixed(1)} ms`);
  console.log(`40 training steps + scoring, while drawing  ${f.trainSeconds.toFixed(1)} s, ${f.strokes} strokes drawn meanwhile («${f.status.trim()}»)`);
  console.log(`main thread meanwhile: long tasks           ${f.count}, longest ${f.longest.toFixed(0)} ms, total blocking time ${f.tbt.toFixed(0)} ms`);
}

const view = await cpuFirstView();
console.log('\n== first view on the CPU path (index.html?backend=cpu, every response before siameseReady)');
console.log(`${view.files.length} files, ${kb(view.raw)} raw, ${kb(view.gz)} gzip -9${view.gpuModule ? ' (includes the WebGPU module!)' : ''}`);
for (const p of view.files) console.log(`  ${p}`);
for (const [name, path] of [['CPU module', '/pkg/siamese_digits_bg.wasm'], ['WebGPU module', '/pkg/gpu/siamese_digits_bg.wasm']]) {
  console.log(`${name.padEnd(14)} ${path.padEnd(32)} ${kb(readFileSync(new URL(`.${path}`, ROOT)).length)} raw, ${kb(gzipOf(path))} gzip -9`);
}
server.close();

// Side by side with the peers, in one run of the shared harness.
const shared = new URL('../shared/peers/', ROOT);
if (process.argv.includes('--no-peers') || !existsSync(shared)) {
  console.log('\n(peers skipped: no ../shared/peers, or --no-peers)');
} else {
  const copy = new URL('target/peers/', ROOT);
  rmSync(new URL('results/', copy), { recursive: true, force: true });
  cpSync(shared, copy, { recursive: true }); // its node_modules and .venv stay between runs
  // Our WebGPU row loads the WebGPU module (pkg/gpu/), the CPU rows the CPU module (pkg/).
  const run = readFileSync(new URL('run.mjs', copy), 'utf8');
  const patched = run.replace("cfg: { backend: 'webgpu', train: true }", "cfg: { backend: 'webgpu', train: true, pkg: '../project/pkg/gpu/' }");
  writeFileSync(new URL('run.mjs', copy), patched);
  console.log('\n== side by side (shared peers harness, arch ours, one run; ~5 min)');
  const r = spawnSync('node', ['run.mjs', '--project', '../..', '--arch', 'ours', '--peer', 'ort,tfjs,ours', '--only', 'wasm-1t,cpu,webgpu'], { cwd: fileURLToPath(copy), stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  const rows = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((x) => x.kind !== 'facts');
  const row = (peer, label) => rows.find((x) => x.peer === peer && x.backend === label && !x.error);
  const b1 = (x) => x?.batch1_ms?.median;
  const b2 = (x) => x?.batch2_ms?.median;
  const ours = row('siamese-digits', 'cpu');
  const oursGpu = row('siamese-digits', 'webgpu');
  const ort = row('onnxruntime-web', 'wasm-1t');
  const ortGpu = row('onnxruntime-web', 'webgpu');
  const tfjs = row('tfjs', 'wasm-1t');
  const tfjsTrain = row('tfjs', 'wasm-1t+shim');
  const tfjsCpu = row('tfjs', 'cpu');
  const fmt = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(2)}×` : '–');
  console.log(`pair latency, CPU: ours distance() ${fmt(b2(ours))} ms, compare() ${fmt(ours?.compare_ms?.median)} ms; onnxruntime-web wasm 1 thread ${fmt(b2(ort))} ms → ${ratio(b2(ours), b2(ort))}; TF.js wasm ${fmt(b2(tfjs))} ms; TF.js cpu ${fmt(b2(tfjsCpu))} ms`);
  console.log(`one image, CPU: ours embed() ${fmt(b1(ours))} ms; onnxruntime-web ${fmt(b1(ort))} ms → ${ratio(b1(ours), b1(ort))}`);
  console.log(`fine-tuning, CPU: ours ${fmt(ours?.train?.pairs_per_s, 0)} pairs/s; TF.js wasm (+ its Conv2DBackpropFilter shim) ${fmt(tfjsTrain?.train?.pairs_per_s, 0)} pairs/s → ${ratio(ours?.train?.pairs_per_s, tfjsTrain?.train?.pairs_per_s)}`);
  console.log(`pair latency, WebGPU (SwiftShader): ours ${fmt(b2(oursGpu), 2)} ms; onnxruntime-web webgpu ${fmt(b2(ortGpu), 2)} ms → ${ratio(b2(oursGpu), b2(ortGpu))}`);
  for (const x of rows.filter((x) => x.error)) console.log(`row ${x.peer} ${x.backend} failed: ${x.error.message ?? JSON.stringify(x.error)}`);
  console.log(`(full table: target/peers/results/latest.md)`);
}
