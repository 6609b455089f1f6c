// Benchmarks (figures, not pass/fail): `node tests/browser/bench.mjs`.
// Per backend: navigation → ready engine, distance() latency for fresh pairs,
// fine-tuning throughput, stroke end → distance on screen; and the bytes the
// first view downloads, raw and gzip.
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { startServer, launch, openPage } from './harness.mjs';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
const { server, origin } = await startServer();

for (const backend of ['cpu', 'webgpu']) {
  const browser = await launch(backend);
  const { page } = await openPage(browser, origin);
  const bytes = new Map();
  page.on('response', async (r) => { try { bytes.set(r.url(), (await r.body()).length); } catch { /* redirects */ } });
  const start = Date.now();
  await page.goto(`${origin}/www/index.html`);
  await page.evaluate(() => window.siameseReady);
  const ready = Date.now() - start;

  const figures = await page.evaluate(async () => {
    const { Engine } = await import('/pkg/siamese_digits.js');
    const engine = await Engine.create({ backend: 'auto' });
    const images = engine.validationImages();
    const img = (i) => images.slice(i * 784, (i + 1) * 784);
    const times = [];
    for (let i = 0; i < 40; i++) {
      const a = img(i); const b = img(299 - i);
      const t0 = performance.now();
      await engine.distance(a, b);
      times.push(performance.now() - t0);
    }
    const labels = engine.validationLabels();
    for (let i = 0; i < 20; i++) engine.addExample(img(i * 15), labels[i * 15]); // two of each digit
    await engine.trainStep({ batchSize: 32, learningRate: 1e-4 }); // warm-up
    const steps = 5;
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) await engine.trainStep({ batchSize: 32, learningRate: 1e-4 });
    const seconds = (performance.now() - t0) / 1000;
    return { backend: engine.backend, times, pairsPerSecond: (steps * 32) / seconds };
  });

  // Stroke end → distance on screen, through the page's own pipeline.
  await page.setViewportSize({ width: 900, height: 1200 });
  const pad = (id) => page.locator(`siamese-digits [data-testid=pad-${id}]`);
  const boxB = await pad('b').boundingBox();
  const boxA = await pad('a').boundingBox();
  await page.mouse.move(boxA.x + 100, boxA.y + 40); await page.mouse.down();
  await page.mouse.move(boxA.x + 100, boxA.y + 200); await page.mouse.up();
  const strokeLatency = [];
  for (let i = 0; i < 15; i++) {
    await page.locator('siamese-digits [data-testid=clear-b]').click();
    await page.waitForTimeout(100);
    const x = boxB.x + 60 + i * 8;
    await page.mouse.move(x, boxB.y + 50); await page.mouse.down();
    await page.mouse.move(x + 40, boxB.y + 120); await page.mouse.move(x + 20, boxB.y + 210);
    const wait = page.evaluate(() => new Promise((resolve) => {
      const out = document.querySelector('siamese-digits').shadowRoot.querySelector('[data-testid=distance]');
      const t0 = performance.now();
      new MutationObserver((_, obs) => { obs.disconnect(); requestAnimationFrame(() => resolve(performance.now() - t0)); }).observe(out, { attributes: true });
    }));
    await page.mouse.up();
    strokeLatency.push(await wait);
  }
  const total = [...bytes.entries()];
  const gz = total.reduce((sum, [url]) => {
    const path = new URL(url).pathname;
    try { return sum + gzipSync(readFileSync(new URL(`../..${path}`, import.meta.url))).length; } catch { return sum; }
  }, 0);
  console.log(`\n== ${figures.backend}`);
  console.log(`navigation → ready engine      ${ready} ms`);
  console.log(`distance() fresh pair, median  ${median(figures.times).toFixed(2)} ms (of 40)`);
  console.log(`fine-tuning, batch of 32       ${figures.pairsPerSecond.toFixed(1)} pairs/s`);
  console.log(`stroke end → distance painted  ${median(strokeLatency).toFixed(1)} ms median (of 15)`);
  console.log(`first view downloads           ${kb(total.reduce((s, [, n]) => s + n, 0))} raw, ${kb(gz)} gzip, ${total.length} files`);
  await browser.close();
}

const wasm = readFileSync(new URL('../../pkg/siamese_digits_bg.wasm', import.meta.url));
const js = readFileSync(new URL('../../pkg/siamese_digits.js', import.meta.url));
const weights = readFileSync(new URL('../../weights/default.bin', import.meta.url));
console.log('\n== sizes');
console.log(`pkg/siamese_digits_bg.wasm     ${kb(wasm.length)} raw, ${kb(gzipSync(wasm, { level: 9 }).length)} gzip (weights and digit samples inside)`);
console.log(`pkg/siamese_digits.js          ${kb(js.length)} raw, ${kb(gzipSync(js, { level: 9 }).length)} gzip`);
console.log(`weights/default.bin            ${kb(weights.length)} raw, ${kb(gzipSync(weights, { level: 9 }).length)} gzip`);
server.close();
