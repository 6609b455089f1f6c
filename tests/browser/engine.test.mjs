// The wasm engines in a real Chromium (README: tests/run-all.sh): the WebGPU module
// (pkg/gpu/) where there is an adapter, the CPU module (pkg/) where there is not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage } from './harness.mjs';
import { withHeader } from './page-helpers.mjs';

let server, origin;
before(async () => ({ server, origin } = await startServer()));
after(() => server.close());

/** Runs in the page: import a module's engine once and expose it on window. */
async function boot(page, module, backend) {
  return page.evaluate(async ([module, backend]) => {
    const { default: init, Engine } = await import(module);
    await init();
    window.Engine = Engine;
    window.engine = await Engine.create({ backend });
    const images = window.engine.validationImages();
    window.labels = Array.from(window.engine.validationLabels());
    window.img = (i) => images.slice(i * 784, (i + 1) * 784);
    return { backend: window.engine.backend, reason: window.engine.fallbackReason, threshold: window.engine.threshold, hasWebGpu: Engine.hasWebGpu() };
  }, [module, backend]);
}

for (const backend of ['webgpu', 'cpu']) {
  test(`engine on ${backend}`, { timeout: 300_000 }, async (t) => {
    const browser = await launch(backend);
    const { page, problems } = await openPage(browser, origin, '/tests/browser/blank.html');
    try {
      const module = backend === 'webgpu' ? '/pkg/gpu/siamese_digits.js' : '/pkg/siamese_digits.js';
      const info = await boot(page, module, 'auto');
      await t.test('auto picks the right backend', () => {
        assert.equal(info.backend, backend);
        assert.equal(info.hasWebGpu, backend === 'webgpu');
        if (backend === 'cpu') assert.match(info.reason, /CPU module, which has no WebGPU code/);
        else assert.equal(info.reason, undefined);
        assert.ok(info.threshold > 0 && info.threshold < 2);
      });

      await t.test('distances: finite, zero for identical inputs, and separate digits', async () => {
        const r = await page.evaluate(async () => {
          const same = await engine.distance(img(0), img(0));
          const acc = await engine.validationAccuracy();
          const d = await engine.distance(img(1), img(2));
          const both = await engine.compare(img(1), img(2));
          const [ea, eb] = [await engine.embed(img(1)), await engine.embed(img(2))];
          const gap = (x, y) => Math.max(...x.map((v, i) => Math.abs(v - y[i])));
          return { same, acc, d, both: { d: both.distance, a: gap(both.a, ea), b: gap(both.b, eb), n: both.a.length } };
        });
        assert.equal(r.same, 0);
        assert.ok(Number.isFinite(r.d) && r.d > 0);
        // compare() embeds both images in one batch: the same embeddings and distance.
        assert.equal(r.both.n, 32);
        assert.ok(r.both.a <= 1e-5 && r.both.b <= 1e-5, `embedding gaps ${r.both.a}, ${r.both.b}`);
        assert.ok(Math.abs(r.both.d - r.d) <= 1e-5 * r.d, `compare ${r.both.d} vs distance ${r.d}`);
        assert.ok(r.acc >= 0.98, `pair accuracy on 600 bundled pairs: ${r.acc}`);
      });

      if (backend === 'webgpu') {
        await t.test('WebGPU, the WebGPU module on the CPU, and the CPU module agree within 1e-4 (relative)', async () => {
          const worst = await page.evaluate(async () => {
            const own = await Engine.create({ backend: 'cpu' });
            const cpuModule = await import('/pkg/siamese_digits.js');
            await cpuModule.default();
            const cpu = await cpuModule.Engine.create({ backend: 'cpu' });
            if (own.backend !== 'cpu' || cpu.backend !== 'cpu') throw new Error('asked for cpu');
            const worst = { own: 0, module: 0 };
            for (let i = 0; i < 20; i++) {
              const [a, b] = [img(i), img((i * 7 + 3) % 300)];
              const [g, o, c] = [await engine.distance(a, b), await own.distance(a, b), await cpu.distance(a, b)];
              worst.own = Math.max(worst.own, Math.abs(g - o) / Math.max(Math.abs(o), 1e-6));
              worst.module = Math.max(worst.module, Math.abs(g - c) / Math.max(Math.abs(c), 1e-6));
            }
            return worst;
          });
          assert.ok(worst.own <= 1e-4 && worst.module <= 1e-4, `worst relative differences ${JSON.stringify(worst)}`);
        });
      }

      await t.test('bad input throws a clear error and the engine keeps working', async () => {
        const wrappingFile = [...withHeader((h) => { h.config.stages[0] = { channels: 1, kernel: 65536, stride: 1, padding: 65535, lrn: null, pool: 1, pool_stride: 1 }; })];
        const r = await page.evaluate(async (wrappingFile) => {
          const wrapping = new Uint8Array(wrappingFile);
          const attempt = async (f) => { try { await f(); return 'no error'; } catch (e) { return String(e.message ?? e); } };
          const nan = img(0); nan[5] = NaN;
          const out = {
            short: await attempt(() => engine.distance(new Float32Array(783), img(0))),
            nan: await attempt(() => engine.distance(img(0), nan)),
            compareShort: await attempt(() => engine.compare(img(0), new Float32Array(10))),
            blank: await attempt(() => engine.preprocess(new Uint8ClampedArray(40 * 40 * 4).fill(255), 40, 40)),
            rgba: await attempt(() => engine.preprocess(new Uint8ClampedArray(10), 40, 40)),
            noExamples: await attempt(() => engine.trainStep()),
            weights: await attempt(() => engine.importWeights(new Uint8Array([1, 2, 3]))),
            // 65,536² weights: 2³² wraps to 0 in wasm32's usize unless checked.
            wrapping: await attempt(() => engine.importWeights(wrapping)),
            session: await attempt(() => engine.openSession(new Uint8Array(64))),
            options: await attempt(() => engine.setOptions({ batchSize: 1 })),
            testPanic: await attempt(() => engine.testPanic()),
            destroyGpu: await attempt(() => engine.destroyGpuDevice()),
          };
          engine.addExample(img(0), labels[0]);
          engine.addExample(img(1), labels[1]);
          out.singleClass = await attempt(() => engine.trainStep());
          engine.clearItems();
          out.after = await engine.distance(img(0), img(1));
          return out;
        }, wrappingFile);
        assert.match(r.short, /expected 784 values .* got 783/);
        assert.match(r.nan, /not a finite number/);
        assert.match(r.compareShort, /second image: expected 784 values .* got 10/);
        assert.match(r.blank, /nothing is drawn/);
        assert.match(r.rgba, /expected 6400 values/);
        assert.match(r.noExamples, /add some examples first/);
        assert.match(r.weights, /not a siamese-digits weights file/);
        assert.match(r.singleClass, /at least two different digits/);
        assert.match(r.wrapping, /stage 1's sizes overflow \(1×1×65536×65536 weights and 1 biases exceed 4294967295\)/);
        assert.match(r.session, /not a siamese-digits session file/);
        assert.match(r.options, /the batch size must be between 2 and 512, got 1/);
        assert.match(r.testPanic, /testing aids answer only when the page was opened with \?testing/);
        assert.match(r.destroyGpu, /testing aids answer only/);
        assert.ok(Number.isFinite(r.after));
      });

      await t.test('fine-tuning lowers the loss; an absurd rate is undone; export → reset → import is exact', async () => {
        const r = await page.evaluate(async () => {
          // 20 labelled digits (two of each) from the bundled validation sample, and
          // ten pairs of a 1 and a 7 marked "same": a lesson the shipped model has not
          // learnt, so the loss starts high and must come down.
          for (let d = 0; d < 10; d++) {
            const idx = labels.map((l, i) => [l, i]).filter(([l]) => l === d).slice(0, 2);
            for (const [, i] of idx) engine.addExample(img(i), d);
          }
          const ones = labels.flatMap((l, i) => (l === 1 ? [i] : []));
          const sevens = labels.flatMap((l, i) => (l === 7 ? [i] : []));
          for (let k = 0; k < 10; k++) engine.addPair(img(ones[k]), img(sevens[k]), true);
          const probe = [[ones[20], sevens[20]], [ones[21], sevens[21]], [2, 3], [4, 5]];
          const distances = async () => Promise.all(probe.map(([a, b]) => engine.distance(img(a), img(b))));
          const shipped17 = (await distances()).slice(0, 2);
          const losses = [];
          engine.setOptions({ loss: 'contrastive', learningRate: 1e-3, batchSize: 32 });
          for (let s = 0; s < 30; s++) losses.push(await engine.trainStep());
          const tuned = await distances();
          let absurd;
          try { engine.setOptions({ learningRate: 1e30 }); absurd = 'no error'; } catch (e) { absurd = e.message; }
          const afterAbsurd = await distances();
          // Steps leave the weights on the device; on WebGPU only an async read brings them back.
          let unsynced;
          try { engine.exportWeights(); unsynced = 'exported'; } catch (e) { unsynced = e.message; }
          await engine.syncWeights();
          const bytes = engine.exportWeights();
          engine.reset();
          const shipped = await distances();
          engine.importWeights(bytes);
          const imported = await distances();
          engine.setOptions({ loss: 'triplet', learningRate: 1e-4, batchSize: 16 });
          const triplet = await engine.trainStep();
          // The whole session in one file: opened in a fresh engine, it answers the same.
          await engine.syncWeights();
          const session = await engine.exportSession();
          const other = await Engine.create({ backend: 'cpu' });
          other.openSession(session);
          const reopened = { items: other.itemCount, steps: other.steps, options: other.options, d: await other.distance(img(2), img(3)), here: await engine.distance(img(2), img(3)) };
          other.free();
          // reset() while a step is in flight: the step is dropped (on WebGPU, where the
          // read really waits) or has finished first (on the CPU); either way no panic.
          // (The step starts in a microtask; the timer lets it reach its read.)
          engine.setOptions({ loss: 'contrastive', learningRate: 1e-3 });
          const pending = engine.trainStep();
          await new Promise((resolve) => setTimeout(resolve, 0));
          engine.reset();
          let raced;
          try { await pending; raced = 'finished'; } catch (e) { raced = e.message; }
          const afterRace = await distances();
          return { losses, tuned, absurd, afterAbsurd, unsynced, shipped, imported, triplet, shipped17, raced, afterRace, reopened };
        });
        const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
        assert.ok(r.losses.every(Number.isFinite));
        assert.ok(mean(r.losses.slice(-10)) < 0.7 * mean(r.losses.slice(0, 10)), `loss ${r.losses.map((l) => l.toFixed(4)).join(' ')}`);
        // Held-out 1s and 7s moved closer: the lesson generalised beyond the taught pairs.
        assert.ok(r.tuned[0] < r.shipped17[0] && r.tuned[1] < r.shipped17[1], `1–7 distances ${r.shipped17} → ${r.tuned.slice(0, 2)}`);
        assert.match(r.absurd, /the learning rate must be between 0.000001 and 1, got 1000000000000000000000000000000$/);
        assert.deepEqual(r.afterAbsurd, r.tuned);
        if (backend === 'webgpu') assert.match(r.unsynced, /still on the GPU: sync them first/);
        else assert.equal(r.unsynced, 'exported');
        assert.notDeepEqual(r.shipped, r.tuned);
        assert.deepEqual(r.imported, r.tuned);
        assert.ok(Number.isFinite(r.triplet));
        assert.deepEqual(r.reopened.options, { loss: 'triplet', learningRate: 1e-4, batchSize: 16, steps: 40 });
        assert.equal(r.reopened.items, 30);
        assert.equal(r.reopened.steps, 1, 'steps since the import');
        assert.ok(Math.abs(r.reopened.d - r.reopened.here) <= 1e-4 * r.reopened.here, `reopened ${r.reopened.d} vs ${r.reopened.here}`);
        if (backend === 'webgpu') assert.match(r.raced, /replaced while this training step ran/);
        else assert.equal(r.raced, 'finished');
        assert.deepEqual(r.afterRace, r.shipped);
      });

      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
}
