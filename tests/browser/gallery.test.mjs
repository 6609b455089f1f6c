// The one-shot gallery in a real Chromium, on both backends: named drawings added
// from the pads, each pad matched live against them — "none of these" beyond the
// model's threshold —, kept across a reload, downloaded and opened again, embedded
// anew when the model changes; a missing name, an empty pad and bad files refused
// with the engine's reasons. mode="gallery" (no studio) keeps the gallery across a
// reload too. A page's own gallery (the `gallery` attribute) is added once, after the
// visitor's saved one is restored and only to an empty gallery, and matching stays
// live with 100 references.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, launch, openPage } from './harness.mjs';
import { strokes, draw, within, onBackend, waitForStatus, savedValue } from './page-helpers.mjs';

let server, origin;
before(async () => ({ server, origin } = await startServer()));
after(() => server.close());

const ready = (page) => page.evaluate(() => window.siameseReady);

// Drawings that are not digits, in pad pixels (0‥280).
const ZIGZAG = [[[50, 70], [230, 70], [50, 140], [230, 140], [50, 210], [230, 210]]];
const spiral = Array.from({ length: 41 }, (_, i) => [140 + (10 + 2.2 * i) * Math.cos(i * 0.3), 140 + (10 + 2.2 * i) * Math.sin(i * 0.3)]);
/** Shapes to try against one, ring and zig: the test takes the one farthest from all three. */
const UNLIKE = {
  dash: [[[40, 140], [240, 140]]],
  cross: [[[60, 60], [220, 220]], [[220, 60], [60, 220]]],
  plus: [[[140, 40], [140, 240]], [[40, 140], [240, 140]]],
  hash: [[[100, 40], [100, 240]], [[180, 40], [180, 240]], [[40, 100], [240, 100]], [[40, 180], [240, 180]]],
  triangle: [[[140, 40], [240, 230], [40, 230], [140, 40]]],
  square: [[[50, 50], [230, 50], [230, 230], [50, 230], [50, 50]]],
  star: [[[140, 30], [200, 240], [40, 100], [240, 100], [80, 240], [140, 30]]],
  wave: [[[30, 140], [65, 80], [100, 140], [135, 200], [170, 140], [205, 80], [240, 140]]],
  spiral: [spiral],
};

/** Strokes as `Pad.transferable()` and a gallery file hold them: the points, and how many there are up to each stroke's end. */
const flat = (lines) => ({ xy: lines.flat(2), ends: lines.map((_, k) => lines.slice(0, k + 1).flat().length) });

/** A gallery file (src/gallery.rs documents it) of `[name, strokes]` pairs. */
const galleryFile = (named) => JSON.stringify({ kind: 'siamese-digits gallery', version: 1, references: named.map(([name, lines]) => ({ name, ...flat(lines) })) });

/** What `page`'s (first) element's gallery count says, once it says `n`. */
const countIs = (root, n) => root.locator(`[data-testid=gallery-count][data-value="${n}"]`).waitFor({ timeout: 30_000 });

/** Pad `id`'s match once it shows the answer for the pads' latest ink: `{ label, nearest, distance (null: none), text }`. */
function matchShown(ui, id) {
  return ui.testid(`match-${id}`).evaluate((el) => new Promise((resolve) => {
    const check = () => {
      if (el.getAttribute('aria-busy') !== 'false') { requestAnimationFrame(check); return; }
      const { label, nearest, distance } = el.dataset;
      resolve({ label, nearest, distance: distance === '' ? null : Number(distance), text: el.textContent });
    };
    check();
  }));
}

/** Clear pad `id`, draw `lines` on it and wait for its match. */
async function drawAndMatch(page, ui, id, lines) {
  await ui.testid(`clear-${id}`).click();
  await draw(page, ui.pad(id), lines);
  return matchShown(ui, id);
}

/** The match the engine gives `lines` on a pad, asked directly (`{ label, nearest: [{ name, distance }] }`). */
function matchOf(page, lines) {
  return page.evaluate(async ({ xy, ends }) => {
    const drawing = { xy: new Float32Array(xy).buffer, ends: new Uint32Array(ends).buffer };
    return (await document.querySelector('siamese-digits').client.compare(drawing, null)).match.a;
  }, flat(lines));
}

/** A blank status line, so that the next message is not taken for an earlier one. */
const blankStatus = (page) => page.evaluate(() => document.querySelector('siamese-digits').status(''));

/** Wait until IndexedDB holds the engine's session as it is now. */
async function saved(page) {
  const now = await page.evaluate(() => [...document.querySelector('siamese-digits').client.snapshot.bytes]);
  for (let i = 0; i < 100; i++) {
    const kept = await savedValue(page, 'session');
    if (kept && kept.bytes.length === now.length && kept.bytes.every((b, j) => b === now[j])) return;
    await page.waitForTimeout(100);
  }
  assert.fail('the session was not saved within 10 s');
}

const close = (x, y) => Math.abs(x - y) <= 1e-4 * Math.max(Math.abs(y), 1e-6);

for (const backend of ['webgpu', 'cpu']) {
  test(`the one-shot gallery on ${backend}`, { timeout: 300_000 }, async (t) => {
    const browser = await launch(backend);
    const { page, problems } = await openPage(browser, origin);
    await page.setViewportSize({ width: 900, height: 1400 });
    try {
      // ?testing: "Clear gallery" asks for no confirmation.
      await page.goto(`${origin}/www/index.html?testing`);
      await ready(page);
      await onBackend(page, backend);
      const ui = within(page);
      const root = page.locator('siamese-digits');
      const names = () => page.locator('siamese-digits >> .references li span').allTextContents();
      const threshold = await page.evaluate(() => document.querySelector('siamese-digits').client.info.threshold);
      let ring; // pad B's circle against "ring", before the model changes

      await t.test('named drawings are added from pad A, by button and by Enter', async () => {
        await countIs(root, 0);
        assert.deepEqual(await matchShown(ui, 'a'), { label: '', nearest: '', distance: null, text: 'Pad A: the gallery is empty; add a drawing to match against.' });
        assert.equal(await ui.testid('match-a').getAttribute('aria-live'), 'polite');
        for (const [name, lines, n] of [['one', strokes(1, 1), 1], ['ring', strokes(0, 1), 2], ['zig', ZIGZAG, 3]]) {
          await ui.testid('clear-a').click();
          await draw(page, ui.pad('a'), lines);
          await ui.testid('gallery-name').fill(name);
          if (name === 'zig') await ui.testid('gallery-name').press('Enter');
          else await ui.testid('gallery-add-a').click();
          await countIs(root, n);
          assert.equal(await ui.testid('gallery-name').inputValue(), '', 'the name field is ready for the next one');
        }
        assert.deepEqual(await names(), ['one', 'ring', 'zig']);
        // Pad A still shows the zigzag it just added.
        const own = await matchShown(ui, 'a');
        assert.equal(own.label, 'zig', JSON.stringify(own));
        assert.ok(own.distance < 0.01, `a reference matches its own drawing: ${own.distance}`);
      });

      await t.test('a circle on pad B is matched to "ring"', async () => {
        const m = await drawAndMatch(page, ui, 'b', strokes(0, 2));
        assert.equal(m.label, 'ring', JSON.stringify(m));
        assert.equal(m.nearest, 'ring');
        assert.ok(m.distance < threshold, `${m.distance} within the threshold ${threshold}`);
        assert.match(m.text, /^Pad B: “ring” \(\d\.\d{3}\)\. Next: “(one|zig)” \(\d\.\d{3}\), “(one|zig)” \(\d\.\d{3}\)\.$/);
      });

      await t.test('a drawing unlike every reference is "none of these", its nearest still named', async () => {
        const tried = [];
        for (const [shape, lines] of Object.entries(UNLIKE)) {
          const m = await matchOf(page, lines);
          const [best] = m.nearest;
          assert.equal(m.label === null, best.distance >= threshold, `${shape}: a label exactly when the nearest is within the threshold: ${JSON.stringify(m)}`);
          tried.push({ shape, ...best });
        }
        const farthest = tried.reduce((a, b) => (b.distance > a.distance ? b : a));
        assert.ok(farthest.distance >= threshold, `no shape lies beyond the threshold ${threshold}: ${JSON.stringify(tried)}`);
        const m = await drawAndMatch(page, ui, 'b', UNLIKE[farthest.shape]);
        assert.equal(m.label, '', `${farthest.shape}: ${JSON.stringify(m)} (tried ${JSON.stringify(tried)})`);
        assert.notEqual(m.nearest, '');
        assert.ok(m.distance >= threshold, `${m.distance} beyond the threshold ${threshold}`);
        assert.match(m.text, /^Pad B: none of these \(nearest: “(one|ring|zig)”, \d\.\d{3}\)\./);
      });

      await t.test('no name, an empty pad or a typed sample is refused with the reason; nothing changes', async () => {
        await ui.testid('clear-a').click();
        await draw(page, ui.pad('a'), strokes(7, 0));
        await ui.testid('gallery-name').fill('');
        await blankStatus(page);
        await ui.testid('gallery-add-a').click();
        await waitForStatus(page, /^Not added: name the drawing first\.$/);

        await ui.testid('clear-a').click();
        await ui.testid('gallery-name').fill('blank');
        await ui.testid('gallery-add-a').click();
        await waitForStatus(page, /^Not added: the pad is empty: draw something to add\.$/);
        assert.equal(await ui.testid('gallery-name').inputValue(), 'blank', 'the name typed stays');

        await ui.pad('a').focus();
        await page.keyboard.press('4');
        await page.locator('siamese-digits >> [data-testid=note-a]').filter({ hasText: 'typed 4' }).waitFor();
        await ui.testid('gallery-add-a').click();
        await waitForStatus(page, /^Not added: a typed sample cannot be a reference: draw on the pad instead\.$/);
        await ui.testid('clear-a').click();
        await countIs(root, 3);
        assert.deepEqual(await names(), ['one', 'ring', 'zig']);
      });

      await t.test('the gallery comes back after a reload', async () => {
        await saved(page);
        await page.reload();
        await ready(page);
        await onBackend(page, backend);
        await waitForStatus(page, /Restored 3 references in your gallery\./);
        await countIs(root, 3);
        assert.deepEqual(await names(), ['one', 'ring', 'zig']);
        const m = await drawAndMatch(page, ui, 'b', strokes(0, 2));
        assert.equal(m.label, 'ring', JSON.stringify(m));
        ring = m.distance;
      });

      await t.test('Download gallery → Clear → Open a gallery brings it back; a bad file is refused whole', async () => {
        const downloading = page.waitForEvent('download');
        await ui.testid('gallery-download').click();
        const download = await downloading;
        assert.equal(download.suggestedFilename(), 'siamese-digits-gallery.json');
        const text = readFileSync(await download.path(), 'utf8');
        const file = JSON.parse(text);
        assert.equal(file.kind, 'siamese-digits gallery');
        assert.deepEqual(file.references.map((r) => r.name), ['one', 'ring', 'zig']);

        await ui.testid('gallery-clear').click();
        await countIs(root, 0);
        assert.deepEqual(await names(), []);
        assert.deepEqual(await matchShown(ui, 'b'), { label: '', nearest: '', distance: null, text: 'Pad B: the gallery is empty; add a drawing to match against.' });

        const open = ui.testid('gallery-open');
        await open.setInputFiles({ name: 'mine.json', mimeType: 'application/json', buffer: Buffer.from(text) });
        await waitForStatus(page, /^Opened mine\.json: 3 references added\.$/);
        await countIs(root, 3);
        assert.deepEqual(await names(), ['one', 'ring', 'zig']);
        const m = await matchShown(ui, 'b');
        assert.equal(m.label, 'ring');
        assert.ok(close(m.distance, ring), `the same drawing, the same distance: ${m.distance} vs ${ring}`);

        const edited = (edit) => { const f = JSON.parse(text); edit(f); return JSON.stringify(f); };
        for (const [name, content, reason] of [
          ['half.json', text.slice(0, text.length / 2), /^not a gallery file: /],
          ['weights.json', readFileSync(new URL('../../weights/default.bin', import.meta.url)), /^not a gallery file: /],
          ['other-kind.json', edited((f) => { f.kind = 'something else'; }), /^not a gallery file: its kind is "something else"/],
          ['bad-stroke.json', edited((f) => { f.references[1].ends = [99_999]; }), /^reference 2 \("ring"\): /],
          ['no-name.json', edited((f) => { f.references[2].name = ' '; }), /^reference 3 \(" "\): name the drawing first$/],
        ]) {
          await open.setInputFiles({ name, mimeType: 'application/json', buffer: Buffer.from(content) });
          const status = await waitForStatus(page, new RegExp(`^${name.replace('.', '\\.')} was not opened: `));
          const why = status.slice(`${name} was not opened: `.length, -'. Your gallery stays.'.length);
          assert.ok(status.endsWith('. Your gallery stays.'), status);
          assert.match(why, reason, name);
          await countIs(root, 3);
          assert.deepEqual(await names(), ['one', 'ring', 'zig'], `${name} added nothing`);
        }
      });

      await t.test('a new model embeds the references again: fine-tuning moves the distance, reset brings it back', async () => {
        const before = await matchShown(ui, 'b');
        assert.equal(before.label, 'ring');
        // A few steps, through the engine client: the studio's scores and saved models are not the point here.
        await page.evaluate(async () => {
          const { client } = document.querySelector('siamese-digits');
          for (const [i, digit] of [0, 1, 7, 0, 1, 7].entries()) await client.addItem({ kind: 'example', image: await client.sample(digit, i), label: digit });
          for (let step = 0; step < 3; step++) await client.trainStep();
          await client.refreshSnapshot(); // the session changed: every element shows it, and matches again
        });
        const tuned = await matchShown(ui, 'b');
        assert.equal(tuned.nearest, 'ring', JSON.stringify(tuned));
        assert.notEqual(tuned.distance, before.distance, 'the references were embedded by the fine-tuned model');
        assert.equal(tuned.label === '', tuned.distance >= threshold, JSON.stringify(tuned));

        await blankStatus(page);
        await page.locator('siamese-digits >> button[data-action=reset]').click();
        await waitForStatus(page, /^Back to the shipped model/);
        const reset = await matchShown(ui, 'b');
        assert.equal(reset.label, 'ring');
        assert.ok(close(reset.distance, before.distance), `the shipped model's distance again: ${reset.distance} vs ${before.distance}`);
      });

      await t.test('clearing empties the gallery and both matches', async () => {
        await drawAndMatch(page, ui, 'a', strokes(1, 2));
        await ui.testid('gallery-clear').click();
        await countIs(root, 0);
        for (const id of ['a', 'b']) {
          const m = await matchShown(ui, id);
          assert.deepEqual([m.label, m.nearest, m.distance], ['', '', null], `pad ${id}: ${JSON.stringify(m)}`);
        }
      });

      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
}

/** Put `html` (elements) on `page`, a blank page, and wait for the first engine answer. */
const put = (page, html) => page.evaluate(async (html) => {
  await import('/www/embed.js');
  document.body.innerHTML = html;
  await window.siameseReady;
}, html);

/** Wait until element `id`'s status line matches `re`. */
const statusOf = (page, id, re) => page.waitForFunction(([id, source]) => new RegExp(source).test(document.getElementById(id).shadowRoot.querySelector('.status-text').textContent), [id, re.source], { timeout: 60_000 });

test('mode="gallery" keeps the references across a reload, with no studio (cpu)', { timeout: 300_000 }, async () => {
  const browser = await launch('cpu');
  try {
    const { page, problems } = await openPage(browser, origin, '/tests/browser/blank.html');
    await page.setViewportSize({ width: 900, height: 1400 });
    const element = page.locator('#mine');
    const ui = within(element);
    const names = () => element.locator('.references li span').allTextContents();
    await put(page, '<siamese-digits id="mine" mode="gallery" backend="cpu"></siamese-digits>');
    assert.equal(await element.locator('[data-testid=train]').count(), 0);
    await statusOf(page, 'mine', /^Ready\. Draw a digit on each pad\.$/);
    for (const [name, lines, n] of [['ring', strokes(0, 1), 1], ['zig', ZIGZAG, 2]]) {
      await ui.testid('clear-a').click();
      await draw(page, ui.pad('a'), lines);
      await ui.testid('gallery-name').fill(name);
      await ui.testid('gallery-add-a').click();
      await countIs(element, n);
    }
    const before = await drawAndMatch(page, ui, 'b', strokes(0, 2));
    assert.equal(before.label, 'ring', JSON.stringify(before));
    await saved(page);

    await page.reload();
    await put(page, '<siamese-digits id="mine" mode="gallery" backend="cpu"></siamese-digits>');
    await statusOf(page, 'mine', /^Restored 2 references in your gallery\. Draw a digit on each pad\.$/);
    await countIs(element, 2);
    assert.deepEqual(await names(), ['ring', 'zig']);
    const after = await drawAndMatch(page, ui, 'b', strokes(0, 2));
    assert.equal(after.label, 'ring', JSON.stringify(after));
    assert.ok(close(after.distance, before.distance), `the same drawing, the same distance: ${after.distance} vs ${before.distance}`);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('a page\'s own gallery is added once, after the restore and only to an empty gallery; a missing or bad one is reported (cpu)', { timeout: 300_000 }, async () => {
  const browser = await launch('cpu');
  try {
    let fetched = 0;
    const problems = []; // each page's list
    /** A blank page in a new browser context: nothing saved yet. */
    const fresh = async () => {
      const opened = await openPage(browser, origin, '/tests/browser/blank.html');
      const { context, page } = opened;
      await page.setViewportSize({ width: 900, height: 3000 });
      await context.route('**/post/gallery.json', (route) => {
        fetched++;
        return route.fulfill({ contentType: 'application/json', body: galleryFile([['one', strokes(1, 1)], ['ring', strokes(0, 1)], ['zig', ZIGZAG]]) });
      });
      await context.route('**/post/missing.json', (route) => route.fulfill({ status: 404, body: 'not found' }));
      await context.route('**/post/bad.json', (route) => route.fulfill({ contentType: 'application/json', body: '{"kind": "a shopping list"}' }));
      problems.push(opened.problems);
      return { page };
    };
    const names = (page, id) => page.locator(`#${id} >> .references li span`).allTextContents();
    /** On `page`, which holds a saved gallery of `kept` names: the page's gallery is asked for again, and not added. */
    const notAddedAgain = async (page, mode, kept) => {
      await page.goto(`${origin}/tests/browser/blank.html`);
      const asked = fetched;
      const answered = page.waitForResponse('**/post/gallery.json');
      await put(page, `<siamese-digits id="again" mode="${mode}" backend="cpu" gallery="/post/gallery.json"></siamese-digits>`);
      await answered;
      assert.equal(fetched, asked + 1);
      await statusOf(page, 'again', new RegExp(`^Restored ${kept.length} references in your gallery\\. `));
      await page.waitForTimeout(1000); // time enough to add it, were it added
      await countIs(page.locator('#again'), kept.length);
      assert.deepEqual(await names(page, 'again'), kept);
    };

    // Two elements ask for the same gallery: it is added once. mode="gallery" has no studio and no map.
    const first = await fresh();
    let page = first.page;
    const element = (id) => page.locator(`#${id}`);
    await put(page, `<siamese-digits id="one" mode="gallery" backend="cpu" gallery="/post/gallery.json"></siamese-digits>
      <siamese-digits id="two" mode="gallery" backend="cpu" gallery="/post/gallery.json"></siamese-digits>
      <siamese-digits id="missing" mode="gallery" backend="cpu" gallery="/post/missing.json"></siamese-digits>`);
    for (const id of ['one', 'two']) await countIs(element(id), 3);
    await statusOf(page, 'missing', /^This page's gallery could not be loaded \(the server answered 404\); yours works as before\.$/);
    for (const id of ['one', 'two', 'missing']) await countIs(element(id), 3); // one engine, one gallery: never doubled
    assert.equal(fetched, 1);
    assert.equal(await page.locator('#one >> [data-testid=train]').count(), 0);
    assert.equal(await page.locator('#one >> canvas.map').count(), 0);
    const m = await drawAndMatch(page, within(element('one')), 'b', strokes(0, 2));
    assert.equal(m.label, 'ring', JSON.stringify(m));
    // mode="gallery" saves the visitor's gallery; once it holds something, the page's is not added again.
    await element('one').locator('.references li').first().locator('button[data-action=gallery-remove]').click();
    await countIs(element('one'), 2);
    await saved(page);
    await notAddedAgain(page, 'gallery', ['ring', 'zig']);

    // A bad file is reported, and nothing is added.
    ({ page } = await fresh());
    await put(page, '<siamese-digits id="bad" mode="gallery" backend="cpu" gallery="/post/bad.json"></siamese-digits>');
    await statusOf(page, 'bad', /^This page's gallery could not be added: not a gallery file: /);
    await countIs(element('bad'), 0);

    // So does mode="full".
    ({ page } = await fresh());
    await put(page, '<siamese-digits id="full" mode="full" backend="cpu" gallery="/post/gallery.json"></siamese-digits>');
    await countIs(element('full'), 3);
    await page.locator('#full >> .references li').first().locator('button[data-action=gallery-remove]').click();
    await countIs(element('full'), 2);
    await saved(page);
    await notAddedAgain(page, 'full', ['ring', 'zig']);
    // The 404 is the only console error expected.
    assert.deepEqual(problems.flat().filter((p) => !/status of 404/.test(p)), []);
  } finally {
    await browser.close();
  }
});

test('matching stays live with 100 references: while drawing, at most one stray main-thread task over 50 ms (cpu)', { timeout: 300_000 }, async () => {
  const browser = await launch('cpu');
  try {
    const { page, problems } = await openPage(browser, origin, '/www/index.html?backend=cpu&testing');
    await page.setViewportSize({ width: 900, height: 1400 });
    await ready(page);
    const ui = within(page);
    // 100 references: digits and other shapes, each at 4 sizes and places.
    const shapes = [
      ...[0, 1, 4, 7, 9].flatMap((d) => [0, 1, 2].map((v) => [`${d}.${v}`, strokes(d, v)])),
      ['zig', ZIGZAG], ...Object.entries(UNLIKE),
    ];
    const moved = (lines, k) => lines.map((line) => line.map(([x, y]) => [140 + (x - 140) * (0.7 + 0.1 * k) + 8 * k, 140 + (y - 140) * (0.7 + 0.1 * k) - 5 * k]));
    const references = shapes.flatMap(([name, lines]) => [0, 1, 2, 3].map((k) => [`${name}-${k}`, moved(lines, k)]));
    assert.equal(references.length, 100);
    await ui.testid('gallery-open').setInputFiles({ name: 'hundred.json', mimeType: 'application/json', buffer: Buffer.from(galleryFile(references)) });
    await countIs(page.locator('siamese-digits'), 100);
    await matchShown(ui, 'a'); // settled: the thumbnails are drawn

    await page.evaluate(() => {
      window.longTasks = [];
      new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map((e) => Math.round(e.duration)))).observe({ type: 'longtask' });
      window.updates = 0;
      document.addEventListener('siamese-match', () => window.updates++);
    });
    // Each drawing has copies in the gallery (a pad's drawing is the same at any size and place): one of them is the match.
    const drawings = [['a', strokes(0, 2), '0.2'], ['b', strokes(7, 1), '7.1'], ['a', ZIGZAG, 'zig'], ['b', UNLIKE.star, 'star']];
    for (const [id, lines, name] of [...drawings, ...drawings]) {
      const m = await drawAndMatch(page, ui, id, lines);
      assert.ok(m.label.startsWith(`${name}-`), `${name}: ${JSON.stringify(m)}`);
    }
    // A long task is wall time: on 2 shared cores the main thread can be descheduled
    // while the worker and the compositor run (one CI run saw a single 72 ms task;
    // here the heaviest update, under two busy loops, spent 14 ms in the page's code).
    // Work that grew with the gallery would be in every update, so one stray task is
    // let pass, two are not.
    const { longTasks, updates } = await page.evaluate(() => ({ longTasks: window.longTasks, updates: window.updates }));
    assert.ok(updates >= 8, `${updates} updates of the matches while drawing (each drawing changes its pad's)`);
    assert.ok(longTasks.length <= 1 && longTasks.every((d) => d < 100), `main-thread tasks over 50 ms in ${updates} updates while drawing: ${longTasks}`);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
