// The visitor's session in a real Chromium: the engine owns it (weights, training
// set, options, steps), the page keeps snapshots of it and a list of saved models in
// IndexedDB. Nothing fine-tuned is lost — not to a new release, a corrupt saved
// model or a full disk —, a session file goes out and comes back whole, a bad one is
// refused with the engine's reason, and no stale distance shows while the engine
// moves to WebGPU.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, launch, openPage } from './harness.mjs';
import {
  SHIPPED, RELEASE, strokes, draw, within, onBackend, distanceOf, statusText, waitForStatus, savedValue, saveValue, sessionFields, sessionFile,
} from './page-helpers.mjs';

let server, origin;
before(async () => ({ server, origin } = await startServer()));
after(() => server.close());

const ready = (page) => page.evaluate(() => window.siameseReady);
const history = (page) => page.locator('siamese-digits >> [data-testid=history] li');
const thumbs = (page) => page.locator('siamese-digits >> .thumbs li');
/** A 7 and a 1: where fine-tuning shows. */
const probe = (page) => distanceOf(page, strokes(7, 2), strokes(1, 1));

/** Add bundled samples of `digits` to the training set, through the page's engine client. */
function teach(page, digits) {
  return page.evaluate(async (digits) => {
    const { client } = document.querySelector('siamese-digits');
    for (const [i, digit] of digits.entries()) await client.addItem({ kind: 'example', image: await client.sample(digit, i), label: digit });
  }, digits);
}

/** Train `steps` steps with the studio's button; resolves to the final status. */
async function train(page, steps) {
  await page.locator('siamese-digits >> [data-setting=steps]').fill(String(steps));
  // A blank status first: the last run's "Done after" must not be taken for this one's.
  await page.evaluate(() => document.querySelector('siamese-digits').status(''));
  await page.locator('siamese-digits >> [data-testid=train]').click();
  return waitForStatus(page, /^(Done|Stopped) after|^Training stopped|^Not trained/, 300_000);
}

test('a fine-tuned model is never lost: a new release, reloads, a failed restore (cpu)', { timeout: 600_000 }, async () => {
  const browser = await launch('cpu');
  try {
    const { page, problems } = await openPage(browser, origin, '/www/index.html?backend=cpu');
    await ready(page);
    const shipped = await probe(page);
    await teach(page, [0, 1, 7, 0, 1, 7]);
    assert.match(await train(page, 5), /^Done after 5 steps; the fine-tuned model is saved in this browser\.$/);
    const first = await probe(page);
    assert.notEqual(first, shipped);
    assert.equal(await history(page).count(), 1);

    // The session as a release with other shipped weights would have saved it.
    const saved = await savedValue(page, 'session');
    const fields = sessionFields(saved.bytes);
    assert.equal(saved.release, RELEASE);
    assert.equal(fields.release, RELEASE);
    assert.equal(fields.steps, 5);
    assert.ok(fields.weights.length > 0, 'the session holds the fine-tuned weights');
    await saveValue(page, 'session', { bytes: [...sessionFile({ ...fields, release: 'deadbeef' })], release: 'deadbeef' });
    await page.reload();
    await ready(page);
    assert.match(await statusText(page), /^The shipped model was updated since you fine-tuned yours; yours is kept under Saved models\. Restored 6 training examples\./);
    assert.equal(await history(page).count(), 2);
    assert.match(await history(page).nth(0).textContent(), /release deadbeef/);
    assert.match(await history(page).nth(1).textContent(), new RegExp(`release ${RELEASE} \\(current\\).*5 steps`));
    assert.equal(await probe(page), shipped, 'the shipped weights are in use');
    // Saved again under this release: the next visit sets nothing aside a second time.
    assert.equal((await savedValue(page, 'session')).release, RELEASE);

    // Training now adds a model; the earlier ones stay.
    assert.match(await train(page, 3), /^Done after 3 steps; the fine-tuned model is saved in this browser\.$/);
    const second = await probe(page);
    assert.equal(await history(page).count(), 3);
    assert.match(await history(page).nth(0).textContent(), /3 steps/);
    assert.match(await history(page).nth(1).textContent(), /release deadbeef/);
    assert.match(await history(page).nth(2).textContent(), /5 steps/);

    // A reload brings the session and the list back as they were.
    await page.reload();
    await ready(page);
    assert.match(await statusText(page), /^Restored your fine-tuned model\. Restored 6 training examples\./);
    assert.equal(await history(page).count(), 3);
    assert.equal(await thumbs(page).count(), 6);
    assert.equal(await probe(page), second);

    // A saved model whose bytes broke: restoring it says so; the model in use and the list stay.
    const list = await savedValue(page, 'history');
    list[1].bytes = list[1].bytes.slice(0, 1000);
    await saveValue(page, 'history', list);
    await page.reload();
    await ready(page);
    await history(page).nth(1).locator('button[data-action=restore-model]').click();
    assert.match(await waitForStatus(page, /^Could not restore/), /^Could not restore the model saved .*truncated.*\. The current model stays\.$/);
    assert.equal(await probe(page), second);
    assert.equal(await history(page).count(), 3);
    // A good one comes back.
    await history(page).nth(2).locator('button[data-action=restore-model]').click();
    await waitForStatus(page, /^Restored the model saved /);
    assert.equal(await probe(page), first);
    assert.equal(await history(page).count(), 3);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('a full storage is reported, and nothing saved before is dropped (cpu)', { timeout: 600_000 }, async () => {
  const browser = await launch('cpu');
  try {
    const { page, problems } = await openPage(browser, origin);
    // A disk that fills up on demand: every IndexedDB write then fails as a full one does.
    await page.addInitScript(() => {
      const put = IDBObjectStore.prototype.put;
      IDBObjectStore.prototype.put = function (...args) {
        if (window.storageFull) throw new DOMException('quota', 'QuotaExceededError');
        return put.apply(this, args);
      };
    });
    await page.goto(`${origin}/www/index.html?backend=cpu`);
    await ready(page);
    await teach(page, [0, 1, 7, 0, 1, 7]);
    assert.match(await train(page, 3), /^Done after 3 steps; the fine-tuned model is saved in this browser\.$/);
    const tuned = await probe(page);

    await page.evaluate(() => { window.storageFull = true; });
    assert.match(await train(page, 4), /^Done after 4 steps, but the model could not be saved in this browser: this browser's storage refused it \(QuotaExceededError: quota\)\. What was saved before is kept\.$/);
    assert.notEqual(await probe(page), tuned, 'the page goes on with the model it trained');
    assert.equal(await history(page).count(), 1);

    // The flag does not survive a reload: what was saved before the disk filled comes back.
    await page.reload();
    await ready(page);
    assert.match(await statusText(page), /^Restored your fine-tuned model\. Restored 6 training examples\./);
    assert.equal(await history(page).count(), 1);
    assert.match(await history(page).nth(0).textContent(), /3 steps/);
    assert.equal(sessionFields((await savedValue(page, 'session')).bytes).steps, 3);
    assert.equal(await probe(page), tuned);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

/** `[file name, bytes, the reason the page must give]` for each crafted session file. */
function craftedSessions(good) {
  const fields = sessionFields(good);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 10] ^= 0xff;
  return [
    ['random.bin', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)), /not a siamese-digits session file/],
    ['weights.bin', SHIPPED, /not a siamese-digits session file/],
    ['truncated.bin', good.subarray(0, 100), /truncated/],
    ['flipped.bin', flipped, /corrupt/],
    ['version-99.bin', sessionFile({ ...fields, version: 99 }), /session version 99 is not supported/],
    ['loss-7.bin', sessionFile({ ...fields, loss: 7 }), /loss 7 is unknown/],
    ['rate-5.bin', sessionFile({ ...fields, learningRate: 5 }), /learning rate must be between .* got 5/],
    ['junk-weights.bin', sessionFile({ ...fields, weights: Buffer.from('not weights at all') }), /weights are unusable/],
  ];
}

test('Download my session → Open a session brings all of it back; bad files are refused (cpu)', { timeout: 600_000 }, async () => {
  const browser = await launch('cpu');
  try {
    const { page, problems } = await openPage(browser, origin, '/www/index.html?backend=cpu');
    await ready(page);
    const shipped = await probe(page);
    await teach(page, [0, 1, 7, 1]);
    assert.match(await train(page, 3), /^Done after 3 steps/);
    const tuned = await probe(page);

    const downloading = page.waitForEvent('download');
    await page.locator('siamese-digits >> button[data-action=download-session]').click();
    const download = await downloading;
    assert.equal(download.suggestedFilename(), 'siamese-digits-session.bin');
    const bytes = readFileSync(await download.path());
    assert.equal(sessionFields(bytes).steps, 3);

    // Something else in the page: the shipped model, one example fewer.
    await page.locator('siamese-digits >> button[data-action=reset]').click();
    await waitForStatus(page, /^Back to the shipped model/);
    await thumbs(page).first().locator('button[data-action=remove]').click();
    await page.waitForFunction(() => document.querySelector('siamese-digits').shadowRoot.querySelectorAll('.thumbs li').length === 3);
    assert.equal(await probe(page), shipped);

    const open = page.locator('siamese-digits >> input[data-action=open-session]');
    await open.setInputFiles({ name: 'mine.bin', mimeType: 'application/octet-stream', buffer: bytes });
    assert.match(await waitForStatus(page, /^Opened mine\.bin/), /^Opened mine\.bin: 4 training examples, a model after 3 fine-tuning steps\.$/);
    assert.equal(await thumbs(page).count(), 4);
    assert.equal(await probe(page), tuned);

    for (const [name, file, reason] of craftedSessions(bytes)) {
      await open.setInputFiles({ name, mimeType: 'application/octet-stream', buffer: file });
      const text = await waitForStatus(page, new RegExp(`^${name.replace('.', '\\.')} was not opened`));
      assert.match(text, reason, name);
      assert.match(text, /\. Your session stays\.$/, name);
      assert.equal(await thumbs(page).count(), 4, name);
      assert.equal(await probe(page), tuned, name);
    }
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('testing aids answer only on a page opened with ?testing (cpu)', { timeout: 300_000 }, async () => {
  const browser = await launch('cpu');
  try {
    const { page, problems } = await openPage(browser, origin, '/www/index.html?backend=cpu');
    await ready(page);
    assert.equal(await page.locator('siamese-digits >> button[data-action=crash]').count(), 0);
    for (const op of ['crash', 'loseGpu', 'memory']) {
      const answer = await page.evaluate((op) => document.querySelector('siamese-digits').client[op]().then(() => 'answered', (e) => e.message), op);
      assert.match(answer, /^testing aids need \?testing in the page URL$/, op);
    }
    await page.goto(`${origin}/www/index.html?backend=cpu&testing`);
    await ready(page);
    const memory = await page.evaluate(() => document.querySelector('siamese-digits').client.memory());
    assert.ok(memory.cpu > 0, JSON.stringify(memory));
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('a session trained on WebGPU is the same on the CPU and after a reload', { timeout: 600_000 }, async () => {
  const browser = await launch('webgpu');
  try {
    const { page, problems } = await openPage(browser, origin, '/www/index.html');
    await ready(page);
    await onBackend(page, 'webgpu');
    await teach(page, [0, 1, 7, 1]);
    assert.match(await train(page, 3), /^Done after 3 steps/);
    const onGpu = await probe(page);
    await page.locator('siamese-digits >> select[data-action=backend]').selectOption('cpu');
    await onBackend(page, 'cpu');
    const onCpu = await probe(page);
    assert.ok(Math.abs(onCpu - onGpu) <= 1e-4 * onGpu, `${onGpu} on WebGPU, ${onCpu} on the CPU`);
    await page.goto(`${origin}/www/index.html?backend=cpu`);
    await ready(page);
    assert.match(await statusText(page), /^Restored your fine-tuned model\. Restored 4 training examples\./);
    assert.equal(await probe(page), onCpu);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('no stale answer while the engine moves to WebGPU', { timeout: 300_000 }, async () => {
  const browser = await launch('webgpu');
  try {
    const { context, page, problems } = await openPage(browser, origin, null, { serviceWorkers: 'block' });
    // The WebGPU module arrives late: the drawing is answered by the CPU module while
    // the engine gets ready to move, and the move comes after the last stroke.
    await context.route('**/pkg/gpu/siamese_digits_bg.wasm', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 6000));
      await route.continue();
    });
    await page.goto(`${origin}/www/index.html`);
    await ready(page);
    const ui = within(page);
    assert.equal(await ui.testid('backend').getAttribute('data-backend'), 'cpu');
    // Every distance the element settles on, and when each stroke ended (page clock).
    await page.evaluate(() => {
      const root = document.querySelector('siamese-digits').shadowRoot;
      const out = root.querySelector('[data-testid=distance]');
      window.settled = [];
      new MutationObserver(() => {
        if (out.getAttribute('aria-busy') === 'false' && out.dataset.value !== '') {
          window.settled.push({ t: performance.now(), d: Number(out.dataset.value), backend: root.querySelector('[data-testid=backend]').dataset.backend });
        }
      }).observe(out, { attributes: true, attributeFilter: ['aria-busy', 'data-value'] });
      // When the page handled each stroke's end: an event's timeStamp is when the browser
      // took it in, which can come before an answer the page settled while it waited.
      window.strokeEnds = [];
      for (const id of ['a', 'b']) root.querySelector(`[data-testid=pad-${id}]`).addEventListener('pointerup', () => window.strokeEnds.push(performance.now()));
    });
    await draw(page, ui.pad('a'), strokes(4, 0));
    await draw(page, ui.pad('b'), strokes(9, 0));
    const end = await page.evaluate(() => Math.max(...window.strokeEnds));
    await onBackend(page, 'webgpu');
    await page.waitForTimeout(3000);
    // The finished drawing's distance, asked directly of the engine now on WebGPU.
    const expected = await page.evaluate(async () => {
      const { client, pads } = document.querySelector('siamese-digits');
      return (await client.compare(pads.a.transferable(), pads.b.transferable())).distance;
    });
    const settled = await page.evaluate(() => window.settled);
    const right = (s) => Math.abs(s.d - expected) <= 1e-4 * expected;
    const after = settled.filter((s) => s.t >= end);
    const log = JSON.stringify(settled.map((s) => ({ ...s, t: Math.round(s.t - end) })));
    assert.ok(['cpu', 'webgpu'].every((b) => settled.some((s) => s.backend === b)), `distances came from both modules: ${log}`);
    assert.ok(after.every(right), `after the last stroke every settled distance is ${expected}: ${log}`);
    const shown = settled.filter((s) => s.t <= end + 500).at(-1);
    assert.ok(shown && right(shown), `within 500 ms of the last stroke the right distance is shown: ${log}`);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
