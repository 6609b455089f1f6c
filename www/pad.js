// A drawing pad: pointer events (mouse, touch, pen), strokes kept as centre lines
// (for undo, and for the engine, which inks them at one width whatever the size).
// Fires 'input' while a stroke is drawn and 'change' when the drawing changes. The
// pad shows its canvas's computed `color` (ink) on its `background-color` (paper),
// the theme's; what the engine is sent never depends on them.

import { drawDigit, keepDrawn } from './charts.js';

const SIZE = 280; // canvas pixels; the network sees a 28×28 rendering of it
const PEN = 18; // stroke width on screen only: the engine inks the centre lines itself

export class Pad extends EventTarget {
  constructor(canvas) {
    super();
    this.canvas = canvas;
    canvas.width = SIZE;
    canvas.height = SIZE;
    this.ctx = canvas.getContext('2d');
    this.strokes = [];
    this.current = null;
    this.pointer = null; // the pointerId drawing `current`
    this.sample = null; // `{ image, label }`: a typed digit's bundled sample, shown instead of strokes
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', (e) => this.up(e));
    canvas.addEventListener('pointercancel', (e) => this.up(e));
    keepDrawn(canvas, () => this.redraw()); // in new colours, when they change
    this.redraw();
  }

  get empty() {
    return this.strokes.length === 0 && !this.current && !this.sample;
  }

  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * SIZE, ((e.clientY - r.top) / r.height) * SIZE];
  }

  down(e) {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    // One pointer draws a stroke: a second finger or a palm neither takes it over nor ends it.
    if (this.current) return;
    this.pointer = e.pointerId;
    if (this.sample) { // drawing replaces a typed sample
      this.sample = null;
      this.redraw();
    }
    try {
      this.canvas.setPointerCapture(e.pointerId);
    } catch {
      // A pointer that is already gone cannot be captured; its stroke still counts.
    }
    this.current = [this.point(e)];
    this.dot(this.current[0]);
    this.dispatchEvent(new Event('input'));
  }

  move(e) {
    if (!this.current || e.pointerId !== this.pointer) return;
    // Coalesced events give the full path on fast pens and touch screens.
    const events = e.getCoalescedEvents?.() ?? [e];
    for (const ev of events.length ? events : [e]) {
      const p = this.point(ev);
      this.segment(this.current[this.current.length - 1], p);
      this.current.push(p);
    }
    this.dispatchEvent(new Event('input'));
  }

  up(e) {
    if (!this.current || e.pointerId !== this.pointer) return;
    this.strokes.push(this.current);
    this.current = null;
    this.dispatchEvent(new Event('change'));
  }

  clear() {
    this.strokes = [];
    this.current = null;
    this.sample = null;
    this.redraw();
    this.dispatchEvent(new Event('change'));
  }

  undo() {
    if (!this.strokes.length && !this.sample) return;
    if (this.sample) this.sample = null;
    else this.strokes.pop();
    this.redraw();
    this.dispatchEvent(new Event('change'));
  }

  /** Replace the drawing with strokes (arrays of [x, y] in 0‥280), e.g. in tests. */
  setStrokes(strokes) {
    this.sample = null;
    this.strokes = strokes.map((s) => s.map(([x, y]) => [x, y]));
    this.redraw();
    this.dispatchEvent(new Event('change'));
  }

  /** Show a bundled sample of digit `label` (784 values, ink 1) instead of a drawing: the keyboard's way in. */
  setSample(image, label) {
    this.strokes = [];
    this.current = null;
    this.sample = { image, label };
    this.redraw();
    this.dispatchEvent(new Event('change'));
  }

  /**
   * The drawing as the engine worker takes it, or null when empty: a sample as
   * pixels (`{ rgba, width, height }`, preprocessed like any raster: grey ink on white
   * paper, 10 pixels a cell, whatever the pad's colours), else the strokes' centre
   * lines (`xy` = x0, y0, x1, y1, …; `ends` = points up to each stroke's end), so the
   * engine inks them the same at any size. The buffers can be transferred.
   */
  transferable() {
    if (this.sample) {
      const rgba = new Uint8ClampedArray(4 * SIZE * SIZE);
      const cell = SIZE / 28;
      for (let y = 0; y < SIZE; y++) {
        for (let x = 0; x < SIZE; x++) {
          const v = this.sample.image[Math.floor(y / cell) * 28 + Math.floor(x / cell)];
          const at = 4 * (y * SIZE + x);
          rgba[at] = rgba[at + 1] = rgba[at + 2] = v > 0 ? Math.round(255 * (1 - v)) : 255;
          rgba[at + 3] = 255;
        }
      }
      return { rgba: rgba.buffer, width: SIZE, height: SIZE };
    }
    const strokes = this.current ? [...this.strokes, this.current] : this.strokes;
    if (!strokes.length) return null;
    const xy = new Float32Array(2 * strokes.reduce((n, s) => n + s.length, 0));
    const ends = new Uint32Array(strokes.length);
    let n = 0;
    strokes.forEach((stroke, k) => {
      for (const [x, y] of stroke) xy.set([x, y], 2 * n++);
      ends[k] = n;
    });
    return { xy: xy.buffer, ends: ends.buffer };
  }

  style() {
    const c = this.ctx;
    c.strokeStyle = c.fillStyle = this.ink;
    c.lineWidth = PEN;
    c.lineCap = c.lineJoin = 'round';
  }

  dot([x, y]) {
    this.style();
    this.ctx.beginPath();
    this.ctx.arc(x, y, PEN / 2, 0, 2 * Math.PI);
    this.ctx.fill();
  }

  segment([x0, y0], [x1, y1]) {
    this.style();
    this.ctx.beginPath();
    this.ctx.moveTo(x0, y0);
    this.ctx.lineTo(x1, y1);
    this.ctx.stroke();
  }

  redraw() {
    const { color, backgroundColor } = getComputedStyle(this.canvas);
    this.ink = color;
    this.ctx.clearRect(0, 0, SIZE, SIZE);
    this.ctx.fillStyle = backgroundColor;
    this.ctx.fillRect(0, 0, SIZE, SIZE);
    if (this.sample) {
      this.cells ??= document.createElement('canvas');
      drawDigit(this.cells, this.sample.image, { ink: color, paper: backgroundColor });
      this.ctx.imageSmoothingEnabled = false;
      this.ctx.drawImage(this.cells, 0, 0, SIZE, SIZE);
    }
    for (const stroke of this.current ? [...this.strokes, this.current] : this.strokes) {
      this.dot(stroke[0]);
      for (let i = 1; i < stroke.length; i++) this.segment(stroke[i - 1], stroke[i]);
    }
  }
}
