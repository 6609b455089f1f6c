// The demo page and the blog embed in a real Chromium, on both backends: pointer
// strokes on the pads, live distance and verdict, fine-tuning end to end, reload,
// two embeds (one from another origin), offline reload. Screenshots of the main
// states go to target/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launch, openPage, problemsOf } from './harness.mjs';
import {
  SHIPPED, RELEASE, strokes, draw, within, compare, assertEmpty, onBackend, statusText, waitForStatus, savedValue, saveValue, withHeader, firstView,
} from './page-helpers.mjs';

const SHOTS = new URL('../../target/screenshots/', import.meta.url);
mkdirSync(SHOTS, { recursive: true });

let server, origin, other;
before(async () => {
  ({ server, origin } = await startServer());
  other = await startServer(); // a second origin, for the cross-host embed
});
after(() => { server.close(); other.server.close(); });

/** `[file name, bytes, the reason the page must give]` for each crafted file. */
function craftedWeights() {
  return [
    ['stride-0.bin', withHeader((h) => { h.config.stages[0].stride = 0; }), /stride 0/],
    ['pool-stride-0.bin', withHeader((h) => { h.config.stages[1].pool_stride = 0; }), /pool stride 0/],
    ['kernel-40.bin', withHeader((h) => { h.config.stages[0].kernel = 40; }), /40-px kernel/],
    // 65,536² weights: 2³² wraps to 0 in wasm32's usize unless every size is checked.
    ['kernel-65536.bin', withHeader((h) => { h.config.stages[0] = { channels: 1, kernel: 65536, stride: 1, padding: 65535, lrn: null, pool: 1, pool_stride: 1 }; }), /stage 1's sizes overflow/],
    ['channels-1e8.bin', withHeader((h) => { h.config.stages[0].channels = 1e8; }), /100000000 channels/],
    ['embedding-0.bin', withHeader((h) => { h.config.embedding = 0; }), /layer 0 wide/],
    ['hidden-1e9.bin', withHeader((h) => { h.config.hidden = [1e9]; }), /layer 1000000000 wide/],
    ['negative-threshold.bin', withHeader((h) => { h.threshold = -0.5; }), /threshold -0.5 is not a positive number/],
    ['version-99.bin', withHeader((h) => { h.version = 99; }), /version 99 is not supported/],
    ['truncated.bin', SHIPPED.subarray(0, 1000), /truncated/],
    ['random.bin', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)), /not a siamese-digits weights file/],
  ];
}

for (const backend of ['webgpu', 'cpu']) {
  test(`demo page on ${backend}`, { timeout: 600_000 }, async (t) => {
    const browser = await launch(backend);
    const { context, page, problems } = await openPage(browser, origin);
    await page.setViewportSize({ width: 900, height: 1400 });
    try {
      // ?testing shows the testing aids (simulated GPU loss and engine crash).
      await page.goto(`${origin}/www/index.html?testing`);
      await page.evaluate(() => window.siameseReady);
      const ui = within(page);

      await t.test('the CPU module answers first; where there is an adapter, the engine then moves to WebGPU', async () => {
        // siameseReady resolves on the CPU module's first answer; the WebGPU module follows.
        const expected = backend === 'webgpu' ? '^webgpu' : '^cpu.*no WebGPU adapter';
        await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('siamese-digits').shadowRoot.querySelector('[data-testid=backend]').textContent), expected, { timeout: 120_000 });
      });

      await t.test('an empty pad shows a hint, not a distance', async () => {
        assert.equal(await ui.testid('distance').getAttribute('data-value'), '');
        assert.match(await ui.testid('verdict').textContent(), /Draw a digit/);
        await draw(page, ui.pad('a'), strokes(1, 0));
        await page.waitForFunction(() => /pad B/.test(document.querySelector('siamese-digits').shadowRoot.querySelector('[data-testid=verdict]').textContent));
      });

      await t.test('strokes of the same digit come out closer than strokes of different digits', async () => {
        const results = {};
        for (const [x, y] of [[0, 0], [1, 1], [7, 7], [0, 1], [1, 7], [7, 0], [0, 7]]) {
          results[`${x}${y}`] = await compare(page, ui, strokes(x, 1), strokes(y, 2));
        }
        await page.screenshot({ path: new URL(`page-${backend}-compare.png`, SHOTS).pathname, fullPage: true });
        const same = ['00', '11', '77'].map((k) => results[k].d);
        const different = ['01', '17', '70', '07'].map((k) => results[k].d);
        assert.ok(Math.max(...same) < Math.min(...different), `same ${same} vs different ${different}`);
        for (const k of ['00', '11', '77']) assert.match(results[k].verdict, /same/, `${k}: ${results[k].verdict}`);
        for (const k of ['01', '70', '07']) assert.match(results[k].verdict, /different/, `${k}: ${results[k].verdict}`);
      });

      await t.test('fine-tuning runs end to end, lowers the loss, and survives a reload', async () => {
        // Teach two digits from the pads, via the label buttons (by pointer and by keyboard).
        for (const [digit, variant] of [[0, 0], [0, 1], [1, 0], [1, 2], [7, 0], [7, 1]]) {
          await ui.testid('clear-a').click();
          await draw(page, ui.pad('a'), strokes(digit, variant));
          await page.waitForTimeout(100);
          const label = page.locator(`siamese-digits >> button[data-label=a][data-digit="${digit}"]`);
          if (variant === 1) { await label.focus(); await page.keyboard.press('Enter'); }
          else await label.click();
        }
        // And a lesson the shipped model has not learnt: these 7s and 1s are "the same".
        for (const variant of [0, 1, 2]) {
          await compare(page, ui, strokes(7, variant), strokes(1, variant));
          await page.locator('siamese-digits >> button[data-action=pair][data-same=true]').click();
        }
        // Items reach the list once the engine (in its worker) has taken them.
        await page.locator('siamese-digits >> .thumbs li').nth(8).waitFor({ timeout: 10_000 });
        assert.equal(await page.locator('siamese-digits >> .thumbs li').count(), 9);
        const before = await compare(page, ui, strokes(7, 2), strokes(1, 1));
        await page.locator('siamese-digits >> [data-setting=steps]').fill('30');
        await page.locator('siamese-digits >> [data-setting=lr]').fill('0.001');
        await ui.testid('train').click();
        await page.waitForFunction(() => /Done after/.test(document.querySelector('siamese-digits').shadowRoot.querySelector('.status').textContent), null, { timeout: 400_000 });
        await page.screenshot({ path: new URL(`page-${backend}-trained.png`, SHOTS).pathname, fullPage: true });
        const losses = (await page.locator('siamese-digits >> canvas.loss').getAttribute('data-losses')).split(',').map(Number);
        assert.equal(losses.length, 30);
        const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
        assert.ok(mean(losses.slice(-10)) < 0.7 * mean(losses.slice(0, 10)), `losses ${losses}`);
        assert.match(await ui.testid('user-after').textContent(), /%/);
        const tuned = await compare(page, ui, strokes(7, 2), strokes(1, 1));
        assert.ok(tuned.d < before.d, `7–1 distance ${before.d} → ${tuned.d}`);

        // The session (weights, training set, options) is saved, and the model is listed.
        const history = page.locator('siamese-digits >> [data-testid=history] li');
        assert.equal(await history.count(), 1);
        assert.match(await history.first().textContent(), /30 steps/);
        await page.reload();
        await page.evaluate(() => window.siameseReady);
        await onBackend(page, backend); // the first answers come from the CPU module; compare like with like
        assert.match(await statusText(page), /^Restored your fine-tuned model\. Restored 9 training examples\./);
        assert.equal(await page.locator('siamese-digits >> .thumbs li').count(), 9);
        assert.equal(await page.locator('siamese-digits >> [data-setting=steps]').inputValue(), '30');
        const reloaded = await compare(page, ui, strokes(7, 2), strokes(1, 1));
        // Within float rounding: after a reload the same strokes land a fraction of a pixel apart.
        assert.ok(Math.abs(reloaded.d - tuned.d) <= 1e-5 * tuned.d, `the fine-tuned model is restored after a reload: ${reloaded.d} vs ${tuned.d}`);

        // A corrupt saved session is reported clearly; the saved models stay. A second
        // page of the site opens it, so this one goes on with its engine (on WebGPU a
        // reload costs SwiftShader 15 s), and the good session goes back for what follows.
        const session = await savedValue(page, 'session');
        assert.equal(session.release, RELEASE);
        const corrupt = [...session.bytes];
        corrupt[40] ^= 0xff;
        await saveValue(page, 'session', { bytes: corrupt, release: session.release });
        const second = await context.newPage();
        const secondProblems = problemsOf(second, origin);
        await second.goto(`${origin}/www/index.html?testing`);
        await second.evaluate(() => window.siameseReady);
        assert.match(await statusText(second), /Your saved session could not be opened \(the session file is corrupt.*\); the shipped model is in use\. Your saved models are kept\./);
        assert.equal(await second.locator('siamese-digits >> .thumbs li').count(), 0);
        assert.equal(await second.locator('siamese-digits >> [data-testid=history] li').count(), 1);
        await second.close();
        assert.deepEqual(secondProblems, []);
        await saveValue(page, 'session', session);

        // Reset keeps the training set and the saved models.
        await page.locator('siamese-digits >> button[data-action=reset]').click();
        assert.match(await waitForStatus(page, /^Back to the shipped model/), /^Back to the shipped model\. Kept: your 9 training examples and 1 saved model\.$/);
        assert.equal(await history.count(), 1);
        const reset = await compare(page, ui, strokes(7, 2), strokes(1, 1));
        assert.equal(reset.d, before.d);
      });

      await t.test('drawing gets a distance while training runs (the engine is off the main thread)', async () => {
        await page.locator('siamese-digits >> [data-setting=steps]').fill('1000');
        await ui.testid('train').click();
        const status = page.locator('siamese-digits >> .status');
        await page.waitForFunction(() => /Training: step/.test(document.querySelector('siamese-digits').shadowRoot.querySelector('.status').textContent), null, { timeout: 120_000 });
        const during = await compare(page, ui, strokes(0, 1), strokes(7, 2));
        const stillTraining = await status.textContent();
        assert.match(stillTraining, /Training: step/, 'the distance came while training ran');
        assert.match(during.verdict, /different/);
        await page.locator('siamese-digits >> button[data-action=stop]').click();
        await page.waitForFunction(() => /Stopped after/.test(document.querySelector('siamese-digits').shadowRoot.querySelector('.status').textContent), null, { timeout: 120_000 });
        await page.locator('siamese-digits >> button[data-action=reset]').click();
        await page.waitForFunction(() => /shipped model/.test(document.querySelector('siamese-digits').shadowRoot.querySelector('.status').textContent));
      });

      await t.test('the bar is a meter of the distance, and the map says where the drawings land', async () => {
        const { d } = await compare(page, ui, strokes(7, 0), strokes(1, 1));
        const bar = page.locator('siamese-digits >> .bar');
        assert.equal(await bar.getAttribute('role'), 'meter');
        assert.equal(Number(await bar.getAttribute('aria-valuenow')), d);
        assert.match(await bar.getAttribute('aria-valuetext'), new RegExp(`^${d.toFixed(3)}, (same digit|different digits)$`));
        const summary = await ui.testid('map-summary').textContent();
        assert.match(summary, /^Nearest held-out digits, closest first: pad A lands among \d(, \d){4}; pad B lands among \d(, \d){4}\.$/);
        // A clear "1" sits among ones.
        assert.match(summary, /pad B lands among 1, 1/);
      });

      await t.test('typing a digit on a focused pad places a labelled sample of it', async () => {
        await ui.testid('clear-a').click();
        await ui.testid('clear-b').click();
        await assertEmpty(ui);
        await ui.pad('a').focus();
        await page.keyboard.press('4');
        await ui.pad('b').focus();
        await page.keyboard.press('4');
        // The samples arrive from the worker; then the distance of the pair settles.
        await page.waitForFunction(() => {
          const root = document.querySelector('siamese-digits').shadowRoot;
          const out = root.querySelector('[data-testid=distance]');
          return root.querySelector('[data-testid=note-b]').textContent !== '' && out.getAttribute('aria-busy') === 'false' && out.dataset.value !== '';
        });
        assert.equal(await ui.testid('note-a').textContent(), 'typed 4: an MNIST sample');
        assert.match(await ui.testid('verdict').textContent(), /same digit/); // two different bundled 4s
        // Pad B now shows a 7. (Not a 9: the first bundled 9 lies 0.618 from the first 4,
        // within the shipped model's threshold of 0.645 — one of 8 such 4/9 pairs in 900.
        // This test is about typing; accuracy has its own floors.)
        await page.keyboard.press('7');
        await page.waitForFunction(() => /different/.test(document.querySelector('siamese-digits').shadowRoot.querySelector('[data-testid=verdict]').textContent));
        assert.equal(await ui.testid('note-b').textContent(), 'typed 7: an MNIST sample');
        await draw(page, ui.pad('b'), strokes(1, 0)); // drawing replaces the sample
        assert.equal(await ui.testid('note-b').textContent(), '');
      });

      await t.test('crafted weights files are refused with a reason, and the distance goes on', async () => {
        const upload = page.locator('siamese-digits >> input[data-action=upload]');
        const status = page.locator('siamese-digits >> .status');
        const before = await compare(page, ui, strokes(0, 0), strokes(7, 1));
        for (const [name, bytes, reason] of craftedWeights()) {
          await upload.setInputFiles({ name, mimeType: 'application/octet-stream', buffer: bytes });
          await page.waitForFunction((n) => document.querySelector('siamese-digits').shadowRoot.querySelector('.status').textContent.includes(`${n} was not loaded`), name);
          assert.match(await status.textContent(), reason, name);
        }
        // A file that got in, even in part, would stay: one comparison after all of them shows it.
        const after = await compare(page, ui, strokes(0, 0), strokes(7, 1));
        assert.ok(Math.abs(after.d - before.d) <= 1e-4 * before.d, `${before.d} before the crafted files, ${after.d} after`);
      });

      await t.test('the backend can be switched, and a lost GPU is survived', async () => {
        const select = page.locator('siamese-digits >> select[data-action=backend]');
        await select.selectOption('cpu');
        await page.waitForFunction(() => document.querySelector('siamese-digits').shadowRoot.querySelector('[data-testid=backend]').dataset.backend === 'cpu');
        const onCpu = await compare(page, ui, strokes(0, 0), strokes(0, 2));
        await select.selectOption('auto');
        await page.waitForFunction((b) => document.querySelector('siamese-digits').shadowRoot.querySelector('[data-testid=backend]').dataset.backend === b, backend);
        const onAuto = await compare(page, ui, strokes(0, 0), strokes(0, 2));
        assert.ok(Math.abs(onAuto.d - onCpu.d) <= 1e-4 * onCpu.d, `${onAuto.d} vs ${onCpu.d}`);
        if (backend === 'webgpu') {
          await page.locator('siamese-digits >> button[data-action=lose-gpu]').click();
          await page.waitForFunction(() => document.querySelector('siamese-digits').shadowRoot.querySelector('[data-testid=backend]').dataset.backend === 'cpu', null, { timeout: 60_000 });
          assert.match(await page.locator('siamese-digits >> .status').textContent(), /Moved to the CPU/);
          const after = await compare(page, ui, strokes(0, 0), strokes(0, 2));
          assert.ok(Math.abs(after.d - onCpu.d) <= 1e-4 * onCpu.d);
          await page.screenshot({ path: new URL('page-webgpu-lost.png', SHOTS).pathname });
        }
      });

      await t.test('a crashed engine is restarted and goes on', async () => {
        const before = await compare(page, ui, strokes(0, 0), strokes(7, 1));
        await page.locator('siamese-digits >> button[data-action=crash]').click();
        // A real panic: its message reaches the status line, and the engine comes back.
        await page.waitForFunction(() => /panicked.*a test panic.*restarted/.test(document.querySelector('siamese-digits').shadowRoot.querySelector('.status').textContent), null, { timeout: 120_000 });
        // The panic hook logs it once, on the console; it is the only console error expected.
        const logged = problems.filter((p) => p.includes('a test panic'));
        assert.equal(logged.length, 1, problems.join('\n'));
        problems.splice(problems.indexOf(logged[0]), 1);
        const after = await compare(page, ui, strokes(0, 0), strokes(7, 1));
        assert.ok(Math.abs(after.d - before.d) <= 1e-4 * before.d, `${before.d} before the crash, ${after.d} after`);
      });

      await t.test('usable at 360 px wide', async () => {
        await page.setViewportSize({ width: 360, height: 800 });
        await page.waitForTimeout(200);
        const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth);
        await page.screenshot({ path: new URL(`page-${backend}-360.png`, SHOTS).pathname, fullPage: true });
        assert.ok(overflow <= 360, `page is ${overflow} px wide`);
      });

      await t.test('after one visit the page loads and computes offline', async () => {
        await page.evaluate(async () => { await navigator.serviceWorker.ready; });
        await page.reload();
        await page.evaluate(() => window.siameseReady);
        await context.setOffline(true);
        await page.reload();
        await page.evaluate(() => window.siameseReady);
        const offline = await compare(page, ui, strokes(1, 0), strokes(1, 2));
        assert.ok(Number.isFinite(offline.d));
        await context.setOffline(false);
      });

      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
}

// The README's "first view ≤ 1.0 MB gzip", in the KiB its figures are given in.
const FIRST_VIEW_GZIP = 1000 * 1024;

test('?backend=cpu picks the CPU although WebGPU is there, and its first view stays within 1,000 KiB gzip', { timeout: 120_000 }, async (t) => {
  const browser = await launch('webgpu');
  const { page, problems } = await openPage(browser, origin);
  try {
    const view = await firstView(page, `${origin}/www/index.html?backend=cpu`);
    t.diagnostic(`first view: ${view.files.length} files, ${view.raw} bytes raw, ${view.gz} bytes gzip -9`);
    assert.equal(view.gpuModule, false, `the CPU path fetched the WebGPU module: ${view.files.join(', ')}`);
    assert.ok(view.files.some((p) => p.endsWith('/pkg/siamese_digits_bg.wasm')), `no CPU module among ${view.files.join(', ')}`);
    assert.ok(view.gz <= FIRST_VIEW_GZIP, `first view ${view.gz} bytes gzip -9 (> ${FIRST_VIEW_GZIP}): ${view.files.join(', ')}`);
    const badge = page.locator('siamese-digits [data-testid=backend]');
    assert.equal(await badge.getAttribute('data-backend'), 'cpu');
    assert.equal(await page.locator('siamese-digits select[data-action=backend]').inputValue(), 'cpu');
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('blog embed: two elements, one served from another origin', { timeout: 300_000 }, async () => {
  const browser = await launch('cpu');
  const { page, problems } = await openPage(browser, origin);
  try {
    await page.setViewportSize({ width: 800, height: 900 });
    await page.goto(`${origin}/www/blog.html`);
    const elements = page.locator('siamese-digits');
    assert.equal(await elements.count(), 2);
    for (let i = 0; i < 2; i++) {
      const el = elements.nth(i);
      await el.scrollIntoViewIfNeeded();
      await el.locator('[data-testid=backend][data-backend]').waitFor({ timeout: 120_000 });
      const r = await compare(page, within(el), strokes(0, 0), strokes(1, 1));
      assert.match(r.verdict, /different/);
    }
    await page.screenshot({ path: new URL('blog.png', SHOTS).pathname, fullPage: true });
    assert.deepEqual(problems, []);

    // The same snippet on a page whose HTML comes from another origin.
    const foreign = await openPage(browser, origin);
    const { page: host } = foreign;
    await host.goto(`${origin}/tests/browser/blank.html`);
    await host.evaluate((src) => {
      const script = Object.assign(document.createElement('script'), { type: 'module', src });
      document.head.append(script);
      document.body.innerHTML = '<siamese-digits mode="compare" backend="cpu"></siamese-digits>';
    }, `${other.origin}/www/embed.js`);
    const el = host.locator('siamese-digits');
    await el.locator('[data-testid=backend][data-backend=cpu]').waitFor({ timeout: 120_000 });
    const r = await compare(host, within(el), strokes(7, 0), strokes(7, 1));
    assert.match(r.verdict, /same/);
    // Its requests to the embed's host are the point; any console error still fails the test.
    assert.deepEqual(foreign.problems.filter((p) => !p.startsWith(`request to another host: ${other.origin}/`)), []);
  } finally {
    await browser.close();
  }
});

test('a version-2 database is upgraded: its model joins the saved models, its examples the training set', { timeout: 300_000 }, async () => {
  const browser = await launch('cpu');
  try {
    const { page, problems } = await openPage(browser, origin, '/tests/browser/blank.html');
    // What the previous version left: database version 2, a model tuned from other
    // shipped weights (here the shipped numbers under another note: other bytes), and
    // one labelled example (a bundled 3, as the engine preprocessed it then).
    const model = withHeader((h) => { h.note = 'fine-tuned under an earlier release'; });
    await page.goto(`${origin}/www/index.html?backend=cpu`);
    await page.evaluate(() => window.siameseReady);
    const three = await page.evaluate(async () => [...await document.querySelector('siamese-digits').client.sample(3, 0)]);
    await page.goto(`${origin}/tests/browser/blank.html`);
    await page.evaluate(() => new Promise((resolve, reject) => {
      const gone = indexedDB.deleteDatabase('siamese-digits');
      gone.onsuccess = resolve;
      gone.onerror = () => reject(gone.error);
    }));
    await page.evaluate(([bytes, image]) => new Promise((resolve, reject) => {
      const open = indexedDB.open('siamese-digits', 2);
      open.onupgradeneeded = () => open.result.createObjectStore('weights');
      open.onsuccess = () => {
        const tx = open.result.transaction('weights', 'readwrite');
        tx.objectStore('weights').put({ bytes: new Uint8Array(bytes), release: 'deadbeef' }, 'model');
        tx.objectStore('weights').put([{ kind: 'example', image: new Float32Array(image), label: 3 }], 'examples');
        tx.oncomplete = () => { open.result.close(); resolve(); };
        tx.onerror = () => reject(tx.error);
      };
      open.onerror = () => reject(open.error);
    }), [[...model], three]);

    await page.goto(`${origin}/www/index.html?backend=cpu`);
    await page.evaluate(() => window.siameseReady);
    assert.match(await statusText(page), /^Restored 1 training example\./);
    assert.equal(await page.locator('siamese-digits >> .thumbs li').count(), 1);
    assert.equal(await page.locator('siamese-digits >> .thumbs li span').textContent(), '3');
    const history = page.locator('siamese-digits >> [data-testid=history] li');
    assert.equal(await history.count(), 1);
    assert.match(await history.first().textContent(), /date unknown.*release deadbeef.*steps unknown.*not scored/);
    // Moved once: the session holds the example now, the old keys are gone.
    assert.equal(await savedValue(page, 'examples'), undefined);
    assert.equal(await savedValue(page, 'model'), undefined);
    assert.equal((await savedValue(page, 'history'))[0].bytes.length, model.length);

    await history.first().locator('button[data-action=restore-model]').click();
    await waitForStatus(page, /^Restored the model saved by an earlier version of this page\.$/);
    assert.equal(await history.count(), 1);
    // The session now holds that model, and comes back with it.
    await page.reload();
    await page.evaluate(() => window.siameseReady);
    assert.match(await statusText(page), /Restored 1 training example\./);
    assert.equal(await history.count(), 1);
    assert.equal(await page.evaluate(async () => {
      const bytes = await document.querySelector('siamese-digits').client.exportWeights();
      return bytes.length;
    }), model.length);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('elements follow their attributes after creation, and a removed one lets go of the shared engine', { timeout: 300_000 }, async () => {
  const browser = await launch('cpu');
  try {
    const { page, problems } = await openPage(browser, origin, '/tests/browser/blank.html');
    await page.evaluate(async () => {
      await import('/www/embed.js');
      document.body.innerHTML = '<siamese-digits id="one" mode="compare"></siamese-digits><siamese-digits id="two" mode="compare"></siamese-digits>';
      await window.siameseReady;
    });
    const badge = (id) => page.evaluate((id) => document.getElementById(id).shadowRoot.querySelector('[data-testid=backend]').dataset.backend, id);
    const studio = (id) => page.evaluate((id) => !!document.getElementById(id).shadowRoot.querySelector('[data-testid=train]'), id);
    await page.waitForFunction(() => ['one', 'two'].every((id) => document.getElementById(id).shadowRoot.querySelector('[data-testid=backend]').dataset.backend === 'cpu'));

    // mode, set after creation, takes effect: the studio appears.
    assert.equal(await studio('one'), false);
    await page.evaluate(() => document.getElementById('one').setAttribute('mode', 'full'));
    await page.waitForFunction(() => /Draw a digit on each pad/.test(document.getElementById('one').shadowRoot.querySelector('.status-text').textContent));
    assert.equal(await studio('one'), true);

    // A removed element hears nothing more from the shared engine; the other one does.
    const removed = await page.evaluateHandle(() => { const el = document.getElementById('two'); el.remove(); return el; });
    const shown = (el) => el.shadowRoot.querySelector('.status-text').textContent + ' | ' + el.shadowRoot.querySelector('[data-testid=backend]').textContent;
    const beforeText = await removed.evaluate(shown);
    await page.evaluate(() => document.getElementById('one').client.emit('note', 'a note for every element'));
    assert.match(await page.evaluate(() => document.getElementById('one').shadowRoot.querySelector('.status-text').textContent), /a note for every element/);
    assert.equal(await removed.evaluate(shown), beforeText);
    // backend, set after creation, takes effect (here: no adapter, so the CPU says why).
    await page.evaluate(() => document.getElementById('one').setAttribute('backend', 'webgpu'));
    await page.waitForFunction(() => /On the CPU: no WebGPU adapter/.test(document.getElementById('one').shadowRoot.querySelector('.status-text').textContent));
    assert.equal(await badge('one'), 'cpu');

    // Put back (and scrolled to: elements start when seen), it works again.
    await removed.evaluate((el) => { document.body.append(el); el.scrollIntoView(); });
    await page.evaluate(() => document.getElementById('two').pads.a.setStrokes([[[140, 30], [140, 250]]]));
    await page.evaluate(() => document.getElementById('two').pads.b.setStrokes([[[140, 30], [140, 250]]]));
    await page.waitForFunction(() => document.getElementById('two').shadowRoot.querySelector('[data-testid=distance]').dataset.value !== '');
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('the service worker replaces only its own old caches: the host\'s stay', { timeout: 300_000 }, async () => {
  const browser = await launch('cpu');
  try {
    const { page, problems } = await openPage(browser, origin, '/tests/browser/blank.html');
    // The host's offline cache, and a cache an earlier release of the demo left.
    await page.evaluate(async () => {
      await (await caches.open('host-blog-v1')).put('/host/post.html', new Response('a post'));
      await (await caches.open('siamese-digits-pkg-0000000000000000')).put('/old', new Response('old'));
    });
    await page.goto(`${origin}/www/index.html?backend=cpu`);
    await page.evaluate(() => window.siameseReady);
    const names = await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready; // installed and activated
      await new Promise((resolve) => (registration.active.state === 'activated' ? resolve() : registration.active.addEventListener('statechange', resolve)));
      return caches.keys();
    });
    assert.ok(names.includes('host-blog-v1'), names.join(', '));
    assert.equal(await page.evaluate(async () => (await (await caches.open('host-blog-v1')).match('/host/post.html'))?.text()), 'a post');
    assert.ok(!names.includes('siamese-digits-pkg-0000000000000000'), names.join(', '));
    assert.equal(names.filter((n) => n.startsWith('siamese-digits-')).length, 1, names.join(', '));
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('a failed download is not final: "Try again" starts the engine', { timeout: 300_000 }, async () => {
  const browser = await launch('cpu');
  try {
    const { context, page, problems } = await openPage(browser, origin);
    let broken = 1; // the first download of the CPU module breaks off
    await context.route('**/pkg/siamese_digits_bg.wasm', (route) => (broken-- > 0 ? route.abort('connectionreset') : route.continue()));
    await page.goto(`${origin}/www/index.html?backend=cpu`);
    const retry = page.locator('siamese-digits >> [data-testid=retry]');
    await retry.waitFor({ state: 'visible', timeout: 60_000 });
    assert.match(await page.locator('siamese-digits >> .status-text').textContent(), /Could not start the model/);
    await retry.click();
    await page.evaluate(() => window.siameseReady);
    assert.ok(!(await retry.isVisible()));
    const ui = within(page);
    const { d } = await compare(page, ui, strokes(1, 0), strokes(1, 2));
    assert.ok(Number.isFinite(d));
    // The aborted request is the only console error expected.
    assert.deepEqual(problems.filter((p) => !/siamese_digits_bg\.wasm|Failed to load resource|ERR_CONNECTION_RESET/.test(p)), []);
  } finally {
    await browser.close();
  }
});

test('a pad draws with one pointer at a time: a second finger neither takes over nor ends the stroke', { timeout: 120_000 }, async () => {
  const browser = await launch('cpu');
  try {
    const { page, problems } = await openPage(browser, origin, '/tests/browser/blank.html');
    const result = await page.evaluate(async () => {
      const { Pad } = await import('/www/pad.js');
      const canvas = document.createElement('canvas');
      canvas.style.cssText = 'width: 280px; height: 280px; position: absolute; left: 0; top: 0';
      document.body.append(canvas);
      const pad = new Pad(canvas);
      const at = (type, pointerId, x, y) => canvas.dispatchEvent(new PointerEvent(type, { pointerId, pointerType: 'touch', isPrimary: pointerId === 1, clientX: x, clientY: y, button: type === 'pointermove' ? -1 : 0, buttons: type === 'pointerup' ? 0 : 1, bubbles: true }));
      at('pointerdown', 1, 20, 20);
      at('pointermove', 1, 100, 20);
      at('pointerdown', 2, 200, 200); // a second finger lands …
      at('pointermove', 2, 250, 250);
      at('pointerup', 2, 250, 250); // … and lifts, mid-stroke
      at('pointermove', 1, 100, 120);
      const during = pad.strokes.length;
      at('pointerup', 1, 100, 120);
      return { during, strokes: pad.strokes };
    });
    assert.equal(result.during, 0, 'the first stroke is still being drawn');
    assert.deepEqual(result.strokes, [[[20, 20], [100, 20], [100, 120]]]);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('the blog embed works under a strict Content-Security-Policy (worker and modules included)', { timeout: 300_000 }, async () => {
  const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self'";
  const strict = await startServer({ 'content-security-policy': csp });
  const browser = await launch('webgpu');
  const { page, problems } = await openPage(browser, strict.origin);
  try {
    await page.addInitScript(() => {
      window.violations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.violations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    await page.goto(`${strict.origin}/www/blog.html`);
    const el = page.locator('siamese-digits').first();
    await el.scrollIntoViewIfNeeded();
    await el.locator('[data-testid=backend][data-backend=webgpu]').waitFor({ timeout: 120_000 });
    const r = await compare(page, within(el), strokes(0, 0), strokes(1, 1));
    assert.match(r.verdict, /different/);
    assert.deepEqual(await page.evaluate(() => window.violations), []);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    strict.server.close();
  }
});
