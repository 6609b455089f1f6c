// Soak: 5,000 distance updates and 500 fine-tuning steps in one page on the CPU, and
// 200 and 20 on WebGPU (SwiftShader takes 11 minutes for the full count), leave memory
// flat: the engine worker's wasm memory and JS heap, and the page's JS heap. Figures
// are printed. The bounds are loose, yet a leak of one 28×28 image per update (3 KiB)
// breaks them: on the CPU 2 MiB each (5,000 updates leak 15 MiB); on WebGPU 0.5 MiB
// for the worker's heap and wasm memory (200 updates leak 0.6 MiB; they grew 0 and
// 0.1 MiB in every run), where the WebGPU module's own code lives. The page's code is
// the same on both backends and soaked at full count on the CPU; its heap grows
// 0.2–0.6 MiB once in every run, so on WebGPU its bound stays 1 MiB. A JS heap is
// measured with the buffers its objects hold (images are typed arrays).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, UNTHROTTLED } from './harness.mjs';
import { onBackend } from './page-helpers.mjs';

let server, origin;
before(async () => ({ server, origin } = await startServer()));
after(() => server.close());

const MiB = 1024 * 1024;

/** Bytes a JS heap holds after a full collection, through `send` (a CDP session's). */
async function heapOf(send) {
  await send('HeapProfiler.collectGarbage');
  const { usedSize, backingStorageSize } = await send('Runtime.getHeapUsage');
  return usedSize + backingStorageSize;
}

/**
 * A `send` for the engine worker's own CDP session. Playwright opens CDP sessions on
 * pages and frames only; the browser's session reaches the worker target, unflattened:
 * messages go in and come out wrapped in Target events.
 */
async function workerSession(browser) {
  const cdp = await browser.newBrowserCDPSession();
  const { targetInfos } = await cdp.send('Target.getTargets');
  const worker = targetInfos.find((t) => t.type === 'worker' && t.url.endsWith('/engine-worker.js'));
  assert.ok(worker, `the engine worker among ${targetInfos.map((t) => `${t.type} ${t.url}`).join(', ')}`);
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: worker.targetId, flatten: false });
  const waiting = new Map();
  let next = 0;
  cdp.on('Target.receivedMessageFromTarget', (event) => {
    const { id, result, error } = JSON.parse(event.message);
    if (event.sessionId !== sessionId || !waiting.has(id)) return; // an event, or another session's
    const { resolve, reject } = waiting.get(id);
    waiting.delete(id);
    if (error) reject(new Error(`${error.message} (${error.code})`));
    else resolve(result);
  });
  return (method, params = {}) => new Promise((resolve, reject) => {
    const id = ++next;
    waiting.set(id, { resolve, reject });
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(reject);
  });
}

// [backend, warm-up updates and steps, measured updates and steps, bounds]
const RUNS = [
  ['cpu', [100, 20], [5000, 500], { wasm: 2 * MiB, worker: 2 * MiB, page: 2 * MiB }],
  ['webgpu', [50, 10], [200, 20], { wasm: 0.5 * MiB, worker: 0.5 * MiB, page: 1 * MiB }],
];

for (const [backend, [WARM_UPDATES, WARM_STEPS], [UPDATES, STEPS], BOUNDS] of RUNS) {
  test(`${UPDATES} distance updates and ${STEPS} training steps leave memory flat (${backend})`, { timeout: 3_600_000 }, async () => {
    const browser = await launch(backend, UNTHROTTLED);
    try {
      // ?testing: the worker answers `memory` (its modules' wasm memory).
      const { context, page, problems } = await openPage(browser, origin, `/www/index.html?backend=${backend}&testing`);
      await page.evaluate(() => window.siameseReady);
      await onBackend(page, backend);
      const pageCdp = await context.newCDPSession(page);
      const workerSend = await workerSession(browser);

      async function measure() {
        const wasm = await page.evaluate(() => document.querySelector('siamese-digits').client.memory());
        return { page: await heapOf((m) => pageCdp.send(m)), worker: await heapOf(workerSend), wasm: wasm.cpu + wasm.gpu };
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
        document.querySelector('siamese-digits').status(''); // the last run's "Done after" is not this one's
        root.querySelector('[data-testid=train]').click();
        await new Promise((resolve, reject) => {
          const check = () => {
            const text = root.querySelector('.status-text').textContent;
            if (/^Done after/.test(text)) resolve();
            else if (/^(Training stopped|Not trained)/.test(text)) reject(new Error(text));
            else setTimeout(check, 50);
          };
          check();
        });
      }, steps);

      // Two labelled digits to fine-tune on, then a warm-up so caches and pools exist
      // (and the saved-models list, which the page holds, has an entry already).
      await page.evaluate(async () => {
        const el = document.querySelector('siamese-digits');
        el.pads.a.setStrokes([[[60, 40], [200, 40], [100, 240]]]);
        await el.studio.addExample('a', 7);
        el.pads.a.setStrokes([[[140, 30], [140, 250]]]);
        await el.studio.addExample('a', 1);
      });
      await updates(WARM_UPDATES);
      await train(WARM_STEPS);
      const start = await measure();
      const d = await updates(UPDATES);
      await train(STEPS);
      const end = await measure();
      const mib = (x) => (x / MiB).toFixed(1);
      console.log(`${backend}: wasm memory ${mib(start.wasm)} → ${mib(end.wasm)} MiB; worker JS heap ${mib(start.worker)} → ${mib(end.worker)} MiB; page JS heap ${mib(start.page)} → ${mib(end.page)} MiB (after ${UPDATES} updates and ${STEPS} steps)`);
      assert.ok(Number.isFinite(d), 'the last update shows a distance');
      for (const part of ['wasm', 'worker', 'page']) {
        assert.ok(end[part] - start[part] <= BOUNDS[part], `${part} memory grew by ${mib(end[part] - start[part])} MiB (bound ${mib(BOUNDS[part])})`);
      }
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
}
