// Helpers for the gallery's tests: shapes that are not digits, gallery files, and
// waiting for the match a pad shows.
import { draw } from './page-helpers.mjs';

// Drawings that are not digits, in pad pixels (0‥280).
export const ZIGZAG = [[[50, 70], [230, 70], [50, 140], [230, 140], [50, 210], [230, 210]]];
const spiral = Array.from({ length: 41 }, (_, i) => [140 + (10 + 2.2 * i) * Math.cos(i * 0.3), 140 + (10 + 2.2 * i) * Math.sin(i * 0.3)]);
/** Shapes to try against one, ring and zig: the test takes the one farthest from all three. */
export const UNLIKE = {
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
export const flat = (lines) => ({ xy: lines.flat(2), ends: lines.map((_, k) => lines.slice(0, k + 1).flat().length) });

/** A gallery file (src/gallery.rs documents it) of `[name, strokes]` pairs. */
export const galleryFile = (named) => JSON.stringify({ kind: 'siamese-digits gallery', version: 1, references: named.map(([name, lines]) => ({ name, ...flat(lines) })) });

/** What `page`'s (first) element's gallery count says, once it says `n`. */
export const countIs = (root, n) => root.locator(`[data-testid=gallery-count][data-value="${n}"]`).waitFor({ timeout: 30_000 });

/** Pad `id`'s match once it shows the answer for the pads' latest ink: `{ label, nearest, distance (null: none), text }`. */
export function matchShown(ui, id) {
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
export async function drawAndMatch(page, ui, id, lines) {
  await ui.testid(`clear-${id}`).click();
  await draw(page, ui.pad(id), lines);
  return matchShown(ui, id);
}
