// The reference post's network in the page, on both backends: chosen in mode="full"
// (its weights downloaded then, and only then), answering the pads, its 2-D plane as
// the map, fine-tuned like ours, and ours back unchanged when switched back; once
// chosen, it works offline too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage } from './harness.mjs';
import { strokes, within, compare, onBackend, waitForStatus } from './page-helpers.mjs';

let server, origin;
before(async () => { ({ server, origin } = await startServer()); });
after(() => server.close());

const shadow = (page, selector) => page.locator(`siamese-digits >> ${selector}`);

/** The drawings' marks on the map, in CSS pixels of the canvas: `{ A: [x, y], B: [x, y] }`. */
async function marks(page) {
  const text = await shadow(page, 'canvas.map').getAttribute('data-marks');
  return Object.fromEntries((text ? text.split(';') : []).map((m) => { const [label, xy] = m.split(':'); return [label, xy.split(',').map(Number)]; }));
}

/**
 * Wait until the model hook says `network`, and the engine has caught up: the element
 * fits the map again for the new network (300 embeddings, seconds on SwiftShader),
 * and a map asked for after it answers after it.
 */
async function answering(page, network) {
  await page.waitForFunction((n) => document.querySelector('siamese-digits').shadowRoot.querySelector('[data-testid=model]')?.dataset.model === n, network, { timeout: 180_000 });
  await page.evaluate(() => document.querySelector('siamese-digits').client.map());
}

for (const backend of ['webgpu', 'cpu']) {
  test(`the seed network on ${backend}`, { timeout: 600_000 }, async (t) => {
    const browser = await launch(backend);
    const { page, problems } = await openPage(browser, origin);
    await page.setViewportSize({ width: 900, height: 1400 });
    const seedDownloads = [];
    page.on('request', (r) => { if (/seed\.bin/.test(r.url())) seedDownloads.push(r.url()); });
    try {
      await page.goto(`${origin}/www/index.html?testing&backend=${backend}`);
      await page.evaluate(() => window.siameseReady);
      await onBackend(page, backend);
      const ui = within(page);
      const ours = await compare(page, ui, strokes(7, 0), strokes(1, 0));
      assert.equal(await ui.testid('model').getAttribute('data-model'), 'default');
      assert.deepEqual(seedDownloads, [], 'the seed weights are not part of the first view');

      let seed;
      await t.test('choosing the seed network downloads its weights once and it answers the pads', async () => {
        await ui.testid('model').selectOption('seed');
        await answering(page, 'seed');
        assert.equal(seedDownloads.length, 1, `downloads: ${seedDownloads}`);
        seed = await compare(page, ui, strokes(7, 0), strokes(1, 0));
        assert.ok(Number.isFinite(seed.d) && seed.d !== ours.d, `seed ${seed.d}, ours ${ours.d}`);
        const same = await compare(page, ui, strokes(1, 1), strokes(1, 0));
        assert.ok(same.d < seed.d, `two 1s (${same.d}) closer than a 7 and a 1 (${seed.d})`);
      });

      await t.test('the map is the network\'s own plane: the drawings inside it, moving with the drawing', async () => {
        assert.match(await shadow(page, '.map-section .hint').textContent(), /own plane/);
        await page.waitForFunction(() => /A:.*;B:/.test(document.querySelector('siamese-digits').shadowRoot.querySelector('canvas.map').dataset.marks ?? ''));
        const box = await shadow(page, 'canvas.map').boundingBox();
        const before = await marks(page);
        for (const [x, y] of Object.values(before)) assert.ok(x >= 0 && x <= box.width && y >= 0 && y <= box.height, `mark ${x},${y} outside ${box.width}×${box.height}`);
        assert.equal(Number(await shadow(page, 'canvas.map').getAttribute('data-points')), 300, 'every bundled held-out digit is plotted');
        await compare(page, ui, strokes(1, 1), strokes(0, 0));
        const after = await marks(page);
        assert.notDeepEqual(after.B, before.B, 'pad B\'s mark moved with its drawing');
        for (const [x, y] of Object.values(after)) assert.ok(x >= 0 && x <= box.width && y >= 0 && y <= box.height);
      });

      await t.test('fine-tuning runs on it', async () => {
        await compare(page, ui, strokes(7, 1), strokes(1, 1));
        await shadow(page, 'button[data-action=pair][data-same=true]').click();
        await shadow(page, '.thumbs li').first().waitFor({ timeout: 10_000 });
        await shadow(page, '[data-setting=steps]').fill('5');
        await ui.testid('train').click();
        await waitForStatus(page, /Done after 5 steps/, 300_000);
        const tuned = await compare(page, ui, strokes(7, 0), strokes(1, 0));
        assert.notEqual(tuned.d, seed.d, 'five steps moved the seed network');
        seed = tuned;
      });

      await t.test('switching back restores ours unchanged, and the seed network keeps its fine-tuning', async () => {
        await page.evaluate(() => document.querySelector('siamese-digits').setAttribute('model', 'default'));
        await answering(page, 'default');
        assert.equal((await compare(page, ui, strokes(7, 0), strokes(1, 0))).d, ours.d);
        await ui.testid('model').selectOption('seed');
        await answering(page, 'seed');
        assert.equal((await compare(page, ui, strokes(7, 0), strokes(1, 0))).d, seed.d);
        assert.equal(seedDownloads.length, 1, 'downloaded once');
        await ui.testid('model').selectOption('default');
        await answering(page, 'default');
      });
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
}

test('once chosen on a first visit, the seed network works offline (cpu)', { timeout: 300_000 }, async () => {
  const browser = await launch('cpu');
  const { context, page, problems } = await openPage(browser, origin);
  try {
    // A first visit: the engine's worker starts before the service worker exists.
    await page.goto(`${origin}/www/index.html?backend=cpu`);
    await page.evaluate(() => window.siameseReady);
    // Controlled: the service worker has claimed the page and its engine's worker.
    await page.waitForFunction(() => navigator.serviceWorker.controller);
    const ui = within(page);
    await ui.testid('model').selectOption('seed');
    await answering(page, 'seed');
    const online = await compare(page, ui, strokes(7, 0), strokes(1, 0));

    await context.setOffline(true);
    await page.reload();
    await page.evaluate(() => window.siameseReady);
    await ui.testid('model').selectOption('seed'); // its weights come from the cache now
    await answering(page, 'seed');
    const offline = await compare(page, ui, strokes(7, 0), strokes(1, 0));
    assert.equal(offline.d, online.d);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
