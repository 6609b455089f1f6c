// A page that uses <siamese-digits>, its worker client and the Engine, written against
// the declarations (www/embed.d.ts, www/worker-client.d.ts, pkg/siamese_digits.d.ts)
// and checked with `tsc --strict` (tsconfig.json here; nothing runs). Each
// `@ts-expect-error` marks a misuse the types must refuse: if a type decayed to
// `any`, that line would compile and tsc would fail on the unused directive.

import '../../www/embed.js';
import type { Mode, SiameseDigits, SiameseDigitsAttributes, SiameseDistanceDetail, Theme } from '../../www/embed.js';
import { Coalescer, getClient, nextFrame } from '../../www/worker-client.js';
import type { CompareResult, Drawing, EngineClient, EngineInfo, Snapshot } from '../../www/worker-client.js';
import init, { Engine } from '../../pkg/siamese_digits.js';
import type { Comparison, FineTuning, GalleryMatch, Item, Options, SetAside } from '../../pkg/siamese_digits.js';
import type { Engine as GpuEngine } from '../../pkg/gpu/siamese_digits.js';

// ---- The element -------------------------------------------------------------

const el: SiameseDigits = document.createElement('siamese-digits');
const mode: Mode = 'gallery';
const theme: Theme = 'dark';
el.setAttribute('mode', mode);
el.setAttribute('backend', 'cpu' satisfies SiameseDigitsAttributes['backend']);
el.setAttribute('model', 'seed' satisfies SiameseDigitsAttributes['model']);
el.setAttribute('theme', theme);
el.setAttribute('lang', 'zh-CN');
el.setAttribute('gallery', 'symbols.json');
document.body.append(el);

// @ts-expect-error: not a mode
const badMode: Mode = 'fancy';
// @ts-expect-error: not a backend
const badBackend: SiameseDigitsAttributes['backend'] = 'gpu';

el.addEventListener('siamese-ready', (e) => {
  const backend: 'webgpu' | 'cpu' = e.detail.backend;
  console.log(backend, e.detail.threshold.toFixed(2));
});

el.addEventListener('siamese-distance', (e) => {
  const { distance, same, pad }: SiameseDistanceDetail = e.detail;
  if (distance != null) console.log(pad?.toUpperCase(), distance.toFixed(3), same ? 'same' : 'different');
  // @ts-expect-error: null while a pad is empty
  const always: number = e.detail.distance;
  // @ts-expect-error: no such field
  console.log(e.detail.distanse, always);
});

el.addEventListener('siamese-match', function (e) {
  const shown: SiameseDigits = this;
  const { pad, label, nearest, distance } = e.detail;
  console.log(shown.version, pad === 'a' || pad === 'b', label ?? 'none of these', nearest, distance?.toFixed(3));
  // @ts-expect-error: a pad is 'a' or 'b'
  if (pad === 'c') console.log('never');
});

el.addEventListener('siamese-trained', (e) => {
  const { step, steps, loss } = e.detail;
  console.log(`${step}/${steps}`, loss.toFixed(4));
});

el.addEventListener('siamese-error', (e) => {
  const recovered: boolean = e.detail.recovered;
  console.log(e.detail.message.trim(), recovered);
  // @ts-expect-error: a boolean, not words
  const words: string = e.detail.recovered;
  console.log(words);
});

// The events bubble and are composed: the document hears them, typed (README's example).
document.addEventListener('siamese-distance', ({ target, detail }) => {
  if (detail.distance != null) console.log((target as SiameseDigits).id, detail.distance.toFixed(3), detail.same ? 'same' : 'different');
});
window.addEventListener('siamese-error', (e) => console.log(e.detail.message));

// A listener for another event keeps the DOM's types.
el.addEventListener('click', (e) => console.log(e.clientX));

const found = document.querySelector('siamese-digits');
const version: string | null = found?.version ?? null;
// @ts-expect-error: read-only
el.version = '9.9.9';

const ready: EngineInfo = await window.siameseReady;
console.log(version, ready.threshold, ready.backend, ready.network, ready.version, ready.fineTuning.steps.max);

const shared: EngineClient | null = el.client;
if (shared?.info) console.log(shared.info.release, shared.info.reason ?? 'on the backend asked for');

// ---- The worker client ---------------------------------------------------------

const client = getClient(new URL('../../pkg/', import.meta.url), 'auto');
const info = await client.ready;
console.log(info.wanted, info.embeddingSize);

client.addEventListener('progress', (e) => console.log(e.detail.what, Math.round(100 * e.detail.fraction)));
client.addEventListener('backend', (e) => console.log(e.detail.backend, e.detail.note?.key));
client.addEventListener('restarted', (e) => console.log(e.detail.threshold));
client.addEventListener('note', (e) => console.log(typeof e.detail === 'string' ? e.detail : e.detail.key));
client.addEventListener('session', (e) => console.log(e.detail.items.length, e.detail.gallery.map((g) => g.name)));

const stroke = (points: number[][]): Drawing => ({
  xy: new Float32Array(points.flat()).buffer,
  ends: new Uint32Array([points.length]).buffer,
});
const r: CompareResult = await client.compare(stroke([[0, 0], [0, 1]]), null);
console.log(r.distance?.toFixed(3), r.images.a?.length, r.xy.a?.[0], r.nearest.a?.join(', '), r.match.a?.label);

const snapshot: Snapshot = await client.setOptions({ steps: 20, loss: 'triplet' });
console.log(snapshot.options.steps, snapshot.steps, snapshot.bytes.byteLength, client.items.length);
await client.addReference('star', stroke([[0, 0], [1, 1]]));
await client.useNetwork('seed');
const setAsideByClient: SetAside | null = await client.openSession(snapshot.bytes);
console.log(setAsideByClient?.release);

// @ts-expect-error: a backend is 'auto', 'webgpu' or 'cpu'
await client.setBackend('gpu');
// @ts-expect-error: an option that does not exist
await client.setOptions({ epochs: 3 });

const live = new Coalescer(async () => { await client.compare(null, null); }, (busy) => console.log(busy));
live.request();
live.cancel();
await nextFrame();

// ---- The Engine (pkg/) ---------------------------------------------------------

await init();
const engine = await Engine.create({ backend: 'cpu' });
const running: 'webgpu' | 'cpu' = engine.backend;
console.log(running, engine.fallbackReason ?? '', engine.threshold, engine.release, Engine.hasWebGpu());

const a = engine.preprocessStrokes(new Float32Array([0, 0, 0, 1]), new Uint32Array([2]));
const b = engine.preprocessStrokes(new Float32Array([0, 0, 1, 1]), new Uint32Array([2]));
const comparison: Comparison = await engine.compare(a, b);
console.log(comparison.distance.toFixed(3), comparison.a.length === engine.embeddingSize, comparison.b[0]);

const bounds: FineTuning = Engine.fineTuning();
const options: Options = engine.options;
const changed: Options = engine.setOptions({ loss: 'triplet', learningRate: bounds.learningRate.default });
console.log(options.loss, changed.learningRate, bounds.loss.choices.join(' | '));

engine.addExample(a, 7);
engine.addPair(a, b, true);
for (const item of engine.items() satisfies Item[]) console.log(item.kind === 'example' ? item.label : item.same);

engine.addReference('star', new Float32Array([0, 0, 1, 1]), new Uint32Array([2]));
const match: GalleryMatch = await engine.matchGallery(await engine.embed(a), 3);
console.log(match.label ?? 'none of these', match.nearest.map(({ name, distance }) => `${name} ${distance.toFixed(3)}`));

await engine.useNetwork('seed');
const { setAside } = engine.openSession(await engine.exportSession());
console.log(setAside?.steps, engine.network);

// @ts-expect-error: not a backend
await Engine.create({ backend: 'gpu' });
// @ts-expect-error: not a network
await engine.useNetwork('big');
// @ts-expect-error: not a loss
engine.setOptions({ loss: 'hinge' });
// @ts-expect-error: the distance is a number, not an object
console.log(comparison.distance.value);

// The WebGPU module (pkg/gpu/) declares the same Engine.
async function distanceOn(either: Engine | GpuEngine): Promise<number> {
  const { distance }: Comparison = await either.compare(a, b);
  // @ts-expect-error: not a network
  await either.useNetwork('big');
  return distance;
}
console.log(await distanceOn(engine));

export {};
