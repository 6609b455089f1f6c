// Soak: 1,000 distance updates and 200 fine-tuning steps in one page leave the
// engine's wasm memory and the page's JS heap flat. Figures are printed; the bounds
// are loose (2 MiB each), yet a leak of one 28×28 image per update would break them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, UNTHROTTLED } from './harness.mjs';

let server, origin;
before(async () => ({ server, origin } = await startServer()));
after(() => server.close());

const MiB = 1024 * 1024;

test('1,000 distance updates and 200 training steps leave memory flat (cpu)', { timeout: 900_000 }, async () => {
  const browser = await launch('cpu', UNTHROTTLED);
  try {
    const { context, page, problems } = await openPage(browser, origin, '/www/index.html?backend=cpu');
    await page.evaluate(() => window.siameseReady);
    const cdp = await context.newCDPSession(page);

    async function measure() {
      await cdp.send('HeapProfiler.collectGarbage');
      const { usedSize } = await cdp.send('Runtime.getHeapUsage');
      const wasm = await page.evaluate(() => document.querySelector('siamese-digits').client.memory());
      return { heap: usedSize, wasm: wasm.cpu + wasm.gpu };
    }

    /** `n` new drawings on both pads, each waited for until its distance is shown. */
    const updates = (n) => page.evaluate(async (n) => {
      const el = document.querySelector('siamese-digits');
      const out = el.shadowRoot.querySelector('[data-testid=distance]');
      const settled = () => new Promise((resolve) => {
        const check = () => (out.getAttribute('aria-busy') === 'false' ? resolve() : requestAnimationFrame(check));
        check();
      });
      for (let i = 0; i < n; i++) {
        el.pads.a.setStrokes([[[60, 40], [60 + 10 * (i % 9), 40], [100, 240]]]);
        el.pads.b.setStrokes([[[140, 30], [140 + (i % 5), 250]]]);
        await settled();
      }
      return Number(out.dataset.value);
    }, n);

    const train = (steps) => page.evaluate(async (steps) => {
      const root = document.querySelector('siamese-digits').shadowRoot;
      root.querySelector('[data-setting=steps]').value = String(steps);
      root.querySelector('[data-testid=train]').click();
      await new Promise((resolve) => {
        const check = () => (/^Done after/.test(root.querySelector('.status-text').textContent) ? resolve() : setTimeout(check, 50));
        check();
      });
    }, steps);

    // Two labelled digits to fine-tune on, then a warm-up so caches and pools exist.
    await page.evaluate(async () => {
      const el = document.querySelector('siamese-digits');
      el.pads.a.setStrokes([[[60, 40], [200, 40], [100, 240]]]);
      await el.studio.addExample('a', 7);
      el.pads.a.setStrokes([[[140, 30], [140, 250]]]);
      await el.studio.addExample('a', 1);
    });
    await updates(100);
    await train(20);
    const start = await measure();
    const d = await updates(1000);
    await train(200);
    const end = await measure();
    console.log(`wasm memory ${(start.wasm / MiB).toFixed(1)} → ${(end.wasm / MiB).toFixed(1)} MiB; JS heap ${(start.heap / MiB).toFixed(1)} → ${(end.heap / MiB).toFixed(1)} MiB (after 1,000 updates and 200 steps)`);
    assert.ok(Number.isFinite(d), 'the last update shows a distance');
    assert.ok(end.wasm - start.wasm <= 2 * MiB, `wasm memory grew by ${((end.wasm - start.wasm) / MiB).toFixed(1)} MiB`);
    assert.ok(end.heap - start.heap <= 2 * MiB, `the JS heap grew by ${((end.heap - start.heap) / MiB).toFixed(1)} MiB`);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
