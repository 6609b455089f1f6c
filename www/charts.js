// Small canvas drawings: what the network sees, the loss curve, the embedding map.
// Each takes its colours from its canvas's computed `color` (ink, lines, text) and
// `background-color` (paper), which embed.css sets from the theme, and draws itself
// again when they change (keepDrawn).

/**
 * Ten colours per kind of background that stay apart for the usual colour-vision
 * deficiencies: Tol's muted scheme + grey on light paper, his light scheme + lilac on dark.
 */
const DIGIT_COLOURS = {
  light: ['#332288', '#88ccee', '#44aa99', '#117733', '#999933', '#ddcc77', '#cc6677', '#882255', '#aa4499', '#666666'],
  dark: ['#77aadd', '#99ddff', '#44bb99', '#bbcc33', '#aaaa00', '#eedd88', '#ee8866', '#ffaabb', '#cc99ee', '#dddddd'],
};

let probe = null;
const parsed = new Map();
/** A CSS colour as [r, g, b] bytes, over white (the canvas parses it, whatever its syntax). */
export function rgb(colour) {
  if (!parsed.has(colour)) {
    probe ??= document.createElement('canvas').getContext('2d', { willReadFrequently: true });
    probe.fillStyle = '#fff';
    probe.fillRect(0, 0, 1, 1);
    probe.fillStyle = colour;
    probe.fillRect(0, 0, 1, 1);
    parsed.set(colour, [...probe.getImageData(0, 0, 1, 1).data.subarray(0, 3)]);
  }
  return parsed.get(colour);
}

/** A canvas's colours as CSS colours (`ink`, `paper`) and its font family. */
function colours(canvas) {
  const style = getComputedStyle(canvas);
  return { ink: style.color, paper: style.backgroundColor, font: style.fontFamily };
}

/** Each canvas's last drawing, to draw again in new colours. */
const drawings = new WeakMap();

/**
 * Draw `canvas` again with `draw` whenever its colours change: at the end of its
 * colour transition (embed.css), and in redraw().
 */
export function keepDrawn(canvas, draw) {
  if (!drawings.has(canvas)) canvas.addEventListener('transitionend', () => drawings.get(canvas)());
  drawings.set(canvas, draw);
}

/** Draw every canvas under `root` again: its stylesheet has just loaded (a canvas drawn before it had no colours yet). */
export function redraw(root) {
  for (const canvas of root.querySelectorAll('canvas')) drawings.get(canvas)?.();
}

/**
 * A 784-value image (ink 1) on a 28×28 canvas, or a blank one, in the canvas's ink
 * on its paper (or in `inks`, for an offscreen canvas).
 */
export function drawDigit(canvas, image, inks) {
  const ctx = canvas.getContext('2d');
  canvas.width = canvas.height = 28;
  const own = inks ?? colours(canvas);
  const [ink, paper] = [rgb(own.ink), rgb(own.paper)];
  const data = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = image ? Math.max(0, image[i]) : 0;
    for (let c = 0; c < 3; c++) data.data[4 * i + c] = paper[c] + (ink[c] - paper[c]) * v;
    data.data[4 * i + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
  if (!inks) keepDrawn(canvas, () => drawDigit(canvas, image));
}

function fit(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const { width, height } = canvas.getBoundingClientRect();
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { ctx, width, height };
}

/** Loss per step as a line, y from 0 to the largest loss; `caption(max)` labels the top. */
export function drawLoss(canvas, losses, caption) {
  const { ctx, width, height } = fit(canvas);
  keepDrawn(canvas, () => drawLoss(canvas, losses, caption));
  ctx.clearRect(0, 0, width, height);
  if (losses.length < 2) return;
  const { ink, font } = colours(canvas);
  const max = Math.max(...losses) || 1;
  ctx.strokeStyle = ctx.fillStyle = ink;
  ctx.lineWidth = 2;
  ctx.beginPath();
  losses.forEach((l, i) => {
    const x = 4 + (i / (losses.length - 1)) * (width - 8);
    const y = height - 4 - (l / max) * (height - 8);
    if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
  });
  ctx.stroke();
  ctx.font = `11px ${font}`;
  ctx.fillText(caption(max), 6, 13);
}

/** Which of DIGIT_COLOURS suits a canvas's paper. */
function digitScheme(paper) {
  const [r, g, b] = rgb(paper);
  return 0.299 * r + 0.587 * g + 0.114 * b < 128 ? 'dark' : 'light';
}

/**
 * The embedding map: reference digits as coloured numerals, the drawings A and B as
 * labelled rings. `points` is [x0, y0, x1, y1, …]; `marks` is [{ label, xy }];
 * `legend` holds ten swatches, coloured to match.
 */
export function drawMap(canvas, points, labels, marks, legend) {
  const { ctx, width, height } = fit(canvas);
  keepDrawn(canvas, () => drawMap(canvas, points, labels, marks, legend));
  ctx.clearRect(0, 0, width, height);
  const { paper, font } = colours(canvas);
  const scheme = digitScheme(paper);
  const palette = DIGIT_COLOURS[scheme];
  if (legend.dataset.scheme !== scheme) {
    legend.dataset.scheme = scheme;
    legend.querySelectorAll('i').forEach((swatch, d) => { swatch.style.background = palette[d]; });
  }
  if (!points?.length) return;
  const xs = points.filter((_, i) => i % 2 === 0);
  const ys = points.filter((_, i) => i % 2 === 1);
  const all = [...xs, ...marks.map((m) => m.xy[0])];
  const allY = [...ys, ...marks.map((m) => m.xy[1])];
  const [x0, x1, y0, y1] = [Math.min(...all), Math.max(...all), Math.min(...allY), Math.max(...allY)];
  const pad = 14;
  const sx = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (width - 2 * pad);
  const sy = (y) => height - pad - ((y - y0) / (y1 - y0 || 1)) * (height - 2 * pad);
  ctx.font = `bold 11px ${font}`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  for (let i = 0; i < xs.length; i++) {
    ctx.fillStyle = palette[labels[i]];
    ctx.fillText(String(labels[i]), sx(xs[i]), sy(ys[i]));
  }
  // The drawings' rings carry their own contrast (black on yellow) on any paper.
  for (const { label, xy } of marks) {
    ctx.lineWidth = 3;
    ctx.strokeStyle = '#000';
    ctx.fillStyle = '#ffde59';
    ctx.beginPath();
    ctx.arc(sx(xy[0]), sy(xy[1]), 10, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
    ctx.fillStyle = '#000';
    ctx.fillText(label, sx(xy[0]), sy(xy[1]));
  }
  // What was plotted where (CSS pixels of the canvas), for tests and tools.
  canvas.dataset.points = String(xs.length);
  canvas.dataset.marks = marks.map(({ label, xy }) => `${label}:${sx(xy[0]).toFixed(1)},${sy(xy[1]).toFixed(1)}`).join(';');
}
