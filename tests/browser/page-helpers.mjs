// Helpers for the tests that drive the demo page: synthetic stroke digits drawn with
// real mouse events, waiting for the distance the page settles on, what the page
// keeps in IndexedDB, what its first view downloads, and crafted weights and session files.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { crc32, gzipSync } from 'node:zlib';

const ROOT = new URL('../../', import.meta.url);

/** The shipped weights file, and the release (its checksum) a build carrying it reports. */
export const SHIPPED = readFileSync(new URL('../../weights/default.bin', import.meta.url));
export const RELEASE = crc32(SHIPPED.subarray(0, -4)).toString(16).padStart(8, '0');

// Synthetic stroke digits in a unit box: polylines, varied per drawing.
const ellipse = (cx, cy, rx, ry, n = 24) => Array.from({ length: n + 1 }, (_, i) => [cx + rx * Math.sin((2 * Math.PI * i) / n), cy - ry * Math.cos((2 * Math.PI * i) / n)]);
const SHAPES = {
  0: [ellipse(0.5, 0.5, 0.32, 0.42)],
  1: [[[0.42, 0.2], [0.55, 0.08], [0.55, 0.92]]],
  4: [[[0.45, 0.08], [0.18, 0.62], [0.82, 0.62]], [[0.64, 0.3], [0.64, 0.92]]],
  7: [[[0.2, 0.1], [0.8, 0.1], [0.42, 0.92]]],
  9: [ellipse(0.48, 0.3, 0.22, 0.2), [[0.7, 0.3], [0.62, 0.92]]],
};

/** A digit as strokes in pad pixels (0‥280), scaled, shifted and sheared by `variant`. */
export function strokes(digit, variant) {
  const [scale, dx, dy, shear] = [[1, 0, 0, 0], [0.8, 20, 10, 0.12], [0.9, -15, -5, -0.1]][variant];
  return SHAPES[digit].map((line) => line.map(([x, y]) => [
    40 + dx + 200 * scale * (x + shear * (0.5 - y)),
    40 + dy + 200 * scale * y,
  ]));
}

const sessions = new WeakMap(); // page → its CDP session, for input

/**
 * Draw strokes on a pad canvas with real mouse (pointer) events, through CDP. A
 * stroke's events go out without waiting for each other (Chromium delivers them in
 * order; the pad reads every coalesced point): the same strokes, without a frame per
 * point.
 */
export async function draw(page, pad, lines) {
  await pad.scrollIntoViewIfNeeded();
  const box = await pad.boundingBox();
  if (!sessions.has(page)) sessions.set(page, await page.context().newCDPSession(page));
  const cdp = sessions.get(page);
  const at = ([x, y]) => ({ x: box.x + (x / 280) * box.width, y: box.y + (y / 280) * box.height });
  for (const line of lines) {
    const mouse = (type, point, buttons) => cdp.send('Input.dispatchMouseEvent', { type, ...at(point), button: 'left', buttons, clickCount: type === 'mouseMoved' ? 0 : 1 });
    const sent = [cdp.send('Input.dispatchMouseEvent', { type: 'mouseMoved', ...at(line[0]) }), mouse('mousePressed', line[0], 1)];
    for (let i = 1; i < line.length; i++) {
      // Several moves per segment, like a real hand.
      const [a, b] = [line[i - 1], line[i]];
      for (let t = 1; t <= 4; t++) sent.push(mouse('mouseMoved', [a[0] + ((b[0] - a[0]) * t) / 4, a[1] + ((b[1] - a[1]) * t) / 4], 1));
    }
    sent.push(mouse('mouseReleased', line[line.length - 1], 0));
    await Promise.all(sent);
  }
}

export const within = (root) => ({
  pad: (id) => root.locator(`[data-testid=pad-${id}]`),
  testid: (id) => root.locator(`[data-testid=${id}]`),
});

/** Clear both pads, draw two digits, wait for the distance of exactly this pair. */
export async function compare(page, ui, a, b) {
  await ui.testid('clear-a').click();
  await ui.testid('clear-b').click();
  await assertEmpty(ui);
  await draw(page, ui.pad('a'), a);
  await draw(page, ui.pad('b'), b);
  // Wait until the shown distance is the one for the final strokes, however slow the backend.
  await ui.testid('distance').evaluate((el) => new Promise((resolve) => {
    const check = () => (el.getAttribute('aria-busy') === 'false' ? resolve() : requestAnimationFrame(check));
    check();
  }));
  const value = await ui.testid('distance').getAttribute('data-value');
  assert.notEqual(value, '', 'a distance once both pads hold ink');
  return { d: Number(value), verdict: await ui.testid('verdict').textContent() };
}

/** Cleared pads empty the distance (its data-value) rather than showing a stale one. */
export async function assertEmpty(ui) {
  await ui.testid('distance').evaluate((el) => new Promise((resolve, reject) => {
    const deadline = Date.now() + 5000;
    const check = () => (el.dataset.value === '' ? resolve() : Date.now() > deadline ? reject(new Error(`distance still ${el.dataset.value}`)) : requestAnimationFrame(check));
    check();
  }));
}

/** Wait until the (first) element runs on `backend`. */
export async function onBackend(page, backend) {
  await page.waitForFunction((b) => document.querySelector('siamese-digits').shadowRoot.querySelector('[data-testid=backend]').dataset.backend === b, backend, { timeout: 120_000 });
}

/** The distance the (first) element's engine gives two stroke drawings, asked directly. */
export function distanceOf(page, a, b) {
  return page.evaluate(async ([a, b]) => {
    // As Pad.transferable() gives them: the points, and how many there are up to each stroke's end.
    const drawing = (lines) => ({ xy: new Float32Array(lines.flat(2)).buffer, ends: new Uint32Array(lines.map((_, k) => lines.slice(0, k + 1).flat().length)).buffer });
    return (await document.querySelector('siamese-digits').client.compare(drawing(a), drawing(b))).distance;
  }, [a, b]);
}

/** The (first) element's status line. */
export const statusText = (page) => page.locator('siamese-digits >> .status-text').textContent();

/** Wait until the (first) element's status line matches `re`; resolves to its text. */
export async function waitForStatus(page, re, timeout = 120_000) {
  await page.waitForFunction(([source, flags]) => new RegExp(source, flags).test(document.querySelector('siamese-digits').shadowRoot.querySelector('.status-text').textContent), [re.source, re.flags], { timeout });
  return statusText(page);
}

/**
 * What the page keeps in IndexedDB under `key`, with every typed array or buffer as a
 * plain array of numbers (undefined when nothing is saved).
 */
export function savedValue(page, key) {
  return page.evaluate((key) => new Promise((resolve, reject) => {
    const plain = (v) => (v instanceof ArrayBuffer ? [...new Uint8Array(v)] : ArrayBuffer.isView(v) ? [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)]
      : Array.isArray(v) ? v.map(plain) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v);
    const open = indexedDB.open('siamese-digits');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const get = open.result.transaction('weights').objectStore('weights').get(key);
      get.onsuccess = () => { open.result.close(); resolve(plain(get.result)); };
      get.onerror = () => reject(get.error);
    };
  }), key);
}

/** Put `value` in IndexedDB under `key`; every `bytes` field given as an array of numbers is stored as a Uint8Array. */
export function saveValue(page, key, value) {
  return page.evaluate(([key, value]) => new Promise((resolve, reject) => {
    const typed = (v) => (Array.isArray(v) ? v.map(typed) : v && typeof v === 'object'
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'bytes' && Array.isArray(x) ? new Uint8Array(x) : typed(x)])) : v);
    const open = indexedDB.open('siamese-digits');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction('weights', 'readwrite');
      tx.objectStore('weights').put(typed(value), key);
      tx.oncomplete = () => { open.result.close(); resolve(); };
      tx.onabort = () => reject(tx.error);
    };
  }), [key, value]);
}

const u32 = (n) => Buffer.from(new Uint32Array([n]).buffer);

/** The shipped weights file with its header edited (and a checksum to match). */
export function withHeader(edit) {
  const length = SHIPPED.readUInt32LE(8);
  const header = JSON.parse(SHIPPED.subarray(12, 12 + length).toString());
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const body = Buffer.concat([SHIPPED.subarray(0, 8), u32(json.length), json, SHIPPED.subarray(12 + length, SHIPPED.length - 4)]);
  return Buffer.concat([body, u32(crc32(body))]);
}

/**
 * A session file's fields (src/session.rs documents the layout): version, release,
 * weights (a weights file, or empty for the shipped ones), steps, loss (0 contrastive,
 * 1 triplet), learningRate, batchSize, runSteps, and the items' bytes (count first).
 */
export function sessionFields(file) {
  const bytes = Buffer.from(file);
  let at = 16;
  const take = (n) => bytes.subarray(at, (at += n));
  const release = take(take(1)[0]).toString();
  const weights = take(take(4).readUInt32LE(0));
  return {
    version: bytes.readUInt32LE(8),
    release,
    weights,
    steps: take(4).readUInt32LE(0),
    loss: take(1)[0],
    learningRate: take(8).readDoubleLE(0),
    batchSize: take(4).readUInt32LE(0),
    runSteps: take(4).readUInt32LE(0),
    items: bytes.subarray(at, bytes.length - 4),
  };
}

/** A session file from its fields, with a checksum to match. */
export function sessionFile(f) {
  const lr = Buffer.alloc(8);
  lr.writeDoubleLE(f.learningRate);
  const body = Buffer.concat([
    Buffer.from([f.release.length]), Buffer.from(f.release), u32(f.weights.length), f.weights,
    u32(f.steps), Buffer.from([f.loss]), lr, u32(f.batchSize), u32(f.runSteps), f.items,
  ]);
  const out = Buffer.concat([Buffer.from('SIAMSESS'), u32(f.version), u32(body.length), body]);
  return Buffer.concat([out, u32(crc32(out))]);
}

/** The first view of the page at `url`: every file of this repository the page fetched
 * before `siameseReady`, their total size raw and gzip -9, and whether the WebGPU
 * module was among them. */
export async function firstView(page, url) {
  const paths = new Set();
  const seen = (r) => paths.add(new URL(r.url()).pathname);
  page.on('response', seen);
  await page.goto(url);
  await page.evaluate(() => window.siameseReady);
  page.off('response', seen);
  const files = [...paths].filter((p) => !p.endsWith('/') && existsSync(new URL(`.${p}`, ROOT)));
  const bytes = files.map((p) => readFileSync(new URL(`.${p}`, ROOT)));
  return {
    files,
    raw: bytes.reduce((sum, b) => sum + b.length, 0),
    gz: bytes.reduce((sum, b) => sum + gzipSync(b, { level: 9 }).length, 0),
    gpuModule: files.some((p) => p.includes('/gpu/')),
  };
}
