// Small canvas drawings: what the network sees, the loss curve, the embedding map.

/** Ten colours that stay apart for the usual colour-vision deficiencies (Tol's muted + 1). */
export const DIGIT_COLOURS = ['#332288', '#88ccee', '#44aa99', '#117733', '#999933', '#ddcc77', '#cc6677', '#882255', '#aa4499', '#666666'];

/** A 784-value image (ink 1) on a small canvas, or a blank one. */
export function drawDigit(canvas, image) {
  const ctx = canvas.getContext('2d');
  canvas.width = canvas.height = 28;
  const data = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = image ? 255 - Math.round(255 * image[i]) : 255;
    data.data.set([v, v, v, 255], i * 4);
  }
  ctx.putImageData(data, 0, 0);
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

/** Loss per step as a line, y from 0 to the largest loss. */
export function drawLoss(canvas, losses) {
  const { ctx, width, height } = fit(canvas);
  ctx.clearRect(0, 0, width, height);
  ctx.strokeStyle = '#ccc';
  ctx.strokeRect(0.5, 0.5, width - 1, height - 1);
  if (losses.length < 2) return;
  const max = Math.max(...losses) || 1;
  ctx.strokeStyle = '#c33';
  ctx.lineWidth = 2;
  ctx.beginPath();
  losses.forEach((l, i) => {
    const x = 4 + (i / (losses.length - 1)) * (width - 8);
    const y = height - 4 - (l / max) * (height - 8);
    if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = '#555';
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillText(`max ${max.toFixed(3)}`, 6, 13);
}

/**
 * The embedding map: reference digits as coloured numerals, the drawings A and B as
 * labelled rings. `points` is [x0, y0, x1, y1, …]; `marks` is [{ label, xy }].
 */
export function drawMap(canvas, points, labels, marks) {
  const { ctx, width, height } = fit(canvas);
  ctx.clearRect(0, 0, width, height);
  if (!points?.length) return;
  const xs = points.filter((_, i) => i % 2 === 0);
  const ys = points.filter((_, i) => i % 2 === 1);
  const all = [...xs, ...marks.map((m) => m.xy[0])];
  const allY = [...ys, ...marks.map((m) => m.xy[1])];
  const [x0, x1, y0, y1] = [Math.min(...all), Math.max(...all), Math.min(...allY), Math.max(...allY)];
  const pad = 14;
  const sx = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (width - 2 * pad);
  const sy = (y) => height - pad - ((y - y0) / (y1 - y0 || 1)) * (height - 2 * pad);
  ctx.font = 'bold 11px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  for (let i = 0; i < xs.length; i++) {
    ctx.fillStyle = DIGIT_COLOURS[labels[i]];
    ctx.fillText(String(labels[i]), sx(xs[i]), sy(ys[i]));
  }
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
}
