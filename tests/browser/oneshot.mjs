// One-shot recognition in the browser, through the page's own path: for each trial the
// engine's gallery is filled with one reference per class (pen strokes, as a pad sends
// them), the query's strokes are embedded, and `matchGallery` names the nearest.
// The trials and their native scores come from
//   cargo run --release -- oneshot --mnist-idx ../shared/data/mnist --omniglot ../shared/data/omniglot --export target/oneshot.json
// Usage: node tests/browser/oneshot.mjs [target/oneshot.json] [--backend cpu|webgpu]
import { readFileSync } from 'node:fs';
import { startServer, launch, openPage } from './harness.mjs';

const args = process.argv.slice(2);
const backend = args.includes('--backend') ? args[args.indexOf('--backend') + 1] : 'cpu';
const file = args.find((a) => a.endsWith('.json')) ?? 'target/oneshot.json';
const data = JSON.parse(readFileSync(file, 'utf8'));

const { server, origin } = await startServer();
const browser = await launch(backend);
const { page, problems } = await openPage(browser, origin, '/tests/browser/blank.html');
const module = backend === 'webgpu' ? '/pkg/gpu/siamese_digits.js' : '/pkg/siamese_digits.js';
const info = await page.evaluate(async (module) => {
  const { default: init, Engine } = await import(module);
  await init();
  window.engine = await Engine.create({ backend: 'auto' });
  return { backend: engine.backend, threshold: engine.threshold, release: engine.release };
}, module);
console.log(`one-shot in Chromium, ${info.backend} engine, release ${info.release}, threshold ${info.threshold.toFixed(4)} (native: ${data.threshold.toFixed(4)})`);

for (const set of data.sets) {
  console.log(`\n${set.name}: ${set.items.length} drawings`);
  console.log('  ways  browser  native  named  strangers refused (browser / native)  ms per match');
  for (const row of set.ways) {
    const r = await page.evaluate(async ({ items, trials }) => {
      const strokes = (i) => [new Float32Array(items[i].xy), new Uint32Array(items[i].ends)];
      let right = 0, named = 0, strangers = 0, refused = 0, matching = 0;
      for (const t of trials) {
        engine.clearGallery();
        for (const i of t.references) engine.addReference(items[i].class, ...strokes(i));
        const answer = items[t.references[t.answer]].class;
        const ask = async (i) => {
          const e = await engine.embed(engine.preprocessStrokes(...strokes(i)));
          const start = performance.now();
          const m = await engine.matchGallery(e, 3);
          matching += performance.now() - start;
          return m;
        };
        const m = await ask(t.query);
        right += m.nearest[0].name === answer;
        named += m.label === answer;
        if (t.stranger !== null) {
          strangers += 1;
          refused += (await ask(t.stranger)).label === null;
        }
      }
      engine.clearGallery();
      const asked = trials.length + strangers;
      return { accuracy: right / trials.length, named: named / trials.length, refused: strangers ? refused / strangers : null, ms: matching / asked };
    }, { items: set.items, trials: row.trials });
    const n = row.native;
    const fmt = (v) => (v === null || v === undefined ? '  –  ' : v.toFixed(3));
    console.log(`  ${String(row.ways).padStart(4)}  ${fmt(r.accuracy)}    ${fmt(n.accuracy)}   ${fmt(r.named)}  ${fmt(r.refused)} / ${fmt(n.strangers_refused)}  ${r.ms.toFixed(2)}`);
  }
}
await browser.close();
server.close();
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
