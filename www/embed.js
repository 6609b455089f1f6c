// <siamese-digits>: the whole demo as one custom element, for this site and for
// any blog post. One <script type="module" src=".../embed.js"> and one tag:
//
//   <siamese-digits mode="compare"></siamese-digits>   two pads and the distance
//   <siamese-digits mode="full"></siamese-digits>      + embedding map and fine-tuning studio
//
// Attributes: mode (compare | full), backend (auto | webgpu | cpu; the page's
// ?backend= wins), pkg (URL of the wasm package; default: ../pkg/ next to this file).
// The engine and its weights load once per page, when the first element scrolls into view.

import { Coalescer, destroyGpuDevice, getEngine, nextFrame, onFallback, savedExamples, savedWeights } from './engine.js';
import { Pad } from './pad.js';
import { DIGIT_COLOURS, drawDigit, drawLoss, drawMap } from './charts.js';

const HERE = new URL('.', import.meta.url);
const BACKENDS = ['auto', 'webgpu', 'cpu'];

// Resolves once the first element's engine has answered (a stable hook for tests).
let announceReady;
window.siameseReady ??= new Promise((resolve) => { announceReady = resolve; });

function template(full) {
  const digits = (pad) => Array.from({ length: 10 }, (_, d) =>
    `<button type="button" data-label="${pad}" data-digit="${d}" aria-label="Pad ${pad.toUpperCase()} shows ${d}">${d}</button>`).join('');
  const pad = (id) => `
    <figure class="pad">
      <canvas data-testid="pad-${id}" class="draw" tabindex="0" aria-label="Drawing pad ${id.toUpperCase()}: draw a digit; Ctrl+Z undoes, Delete clears${full ? ', a digit key adds it to the training set' : ''}"></canvas>
      <figcaption>
        <span class="pad-name">${id.toUpperCase()}</span>
        <button type="button" data-testid="clear-${id}" data-action="clear" data-pad="${id}">Clear</button>
        <button type="button" data-action="undo" data-pad="${id}">Undo</button>
        <canvas class="seen" data-seen="${id}" title="What the network sees (28×28)" aria-label="What the network sees of pad ${id.toUpperCase()}"></canvas>
      </figcaption>
    </figure>`;
  return `
    <link rel="stylesheet" href="${new URL('embed.css', HERE)}">
    <div class="app ${full ? 'full' : 'compare'}">
      <div class="top">
        <span class="badge" data-testid="backend" title="">loading…</span>
        <label class="backend-choice">Backend
          <select data-action="backend">${BACKENDS.map((b) => `<option value="${b}">${b}</option>`).join('')}</select>
        </label>
      </div>
      <p class="status" role="status" aria-live="polite"><span class="status-text">Waiting to load…</span> <progress class="loading" max="1" hidden></progress></p>
      <div class="pads">${pad('a')}${pad('b')}</div>
      <div class="result">
        <div>Distance <output data-testid="distance" data-value="" aria-busy="false">–</output></div>
        <div class="verdict" data-testid="verdict">Draw a digit on each pad.</div>
        <div class="bar" role="img" aria-label="distance bar"><div class="fill"></div><div class="mark" title="threshold"></div></div>
        <div class="scale"><span>0 · identical</span><span class="threshold-label"></span><span>far apart</span></div>
      </div>
      ${full ? `
      <section class="map-section">
        <h3>Where the drawings land</h3>
        <p class="hint">Held-out MNIST digits, placed by the network's embedding (first two principal components). A and B are your drawings.</p>
        <canvas class="map" aria-label="Embedding map"></canvas>
        <p class="legend">${DIGIT_COLOURS.map((c, d) => `<span style="color:${c}">${d}</span>`).join(' ')}</p>
      </section>
      <section class="studio">
        <h3>Teach it your handwriting</h3>
        <p class="hint">Label what a pad shows (buttons, or a digit key on a focused pad), or mark the pair, then train. Your examples are mixed with MNIST digits so the rest is not forgotten.</p>
        <div class="labels"><span>A is</span> ${digits('a')}</div>
        <div class="labels"><span>B is</span> ${digits('b')}</div>
        <div class="row">
          <button type="button" data-action="pair" data-same="true">A and B: same digit</button>
          <button type="button" data-action="pair" data-same="false">A and B: different digits</button>
        </div>
        <ul class="thumbs" aria-label="Training set"></ul>
        <div class="row settings">
          <label>Loss <select data-setting="loss"><option value="contrastive">contrastive</option><option value="triplet">triplet</option></select></label>
          <label>Steps <input data-setting="steps" type="number" min="1" max="1000" value="40"></label>
          <label>Learning rate <input data-setting="lr" type="number" min="0.000001" max="1" step="0.0001" value="0.001"></label>
        </div>
        <div class="row">
          <button type="button" data-action="train" data-testid="train">Train</button>
          <button type="button" data-action="stop" disabled>Stop</button>
          <progress class="train-progress" max="1" value="0"></progress>
        </div>
        <canvas class="loss" aria-label="Loss per training step"></canvas>
        <table class="scores">
          <thead><tr><th>Pair accuracy</th><th>before</th><th>after</th></tr></thead>
          <tbody>
            <tr><td>your examples</td><td data-score="user-before">–</td><td data-score="user-after" data-testid="user-after">–</td></tr>
            <tr><td>MNIST validation sample</td><td data-score="val-before">–</td><td data-score="val-after">–</td></tr>
          </tbody>
        </table>
        <div class="row">
          <button type="button" data-action="reset">Reset to the shipped model</button>
          <button type="button" data-action="download">Download weights</button>
          <label class="upload">Upload weights <input type="file" data-action="upload" accept=".bin,application/octet-stream"></label>
          <button type="button" data-action="lose-gpu" title="Destroys the WebGPU device, as a driver reset would">Simulate GPU loss</button>
        </div>
      </section>` : ''}
    </div>`;
}

const percent = (x) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '–');

class SiameseDigits extends HTMLElement {
  connectedCallback() {
    if (this.root) return;
    this.root = this.attachShadow({ mode: 'open' });
    this.full = this.getAttribute('mode') === 'full';
    this.root.innerHTML = template(this.full);
    this.$ = (s) => this.root.querySelector(s);
    this.$$ = (s) => [...this.root.querySelectorAll(s)];
    this.pads = { a: new Pad(this.$('[data-testid=pad-a]')), b: new Pad(this.$('[data-testid=pad-b]')) };
    this.images = { a: null, b: null };
    this.items = []; // the training set as shown: { kind: 'example', image, label } | { kind: 'pair', a, b, same }
    // aria-busy on the distance says whether it still lags behind the ink on the pads.
    this.live = new Coalescer(() => this.update(), (busy) => this.$('[data-testid=distance]').setAttribute('aria-busy', String(busy)));
    this.bind();
    drawDigit(this.$('[data-seen=a]'), null);
    drawDigit(this.$('[data-seen=b]'), null);
    if (this.full) drawLoss(this.$('.loss'), []); // the empty chart's frame
    const start = () => this.start(this.initialBackend());
    // Load when first visible: a blog post far down the page costs nothing until read.
    if ('IntersectionObserver' in window) {
      const seen = new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) { seen.disconnect(); start(); }
      });
      seen.observe(this);
    } else start();
  }

  initialBackend() {
    const wanted = new URLSearchParams(location.search).get('backend') ?? this.getAttribute('backend') ?? 'auto';
    return BACKENDS.includes(wanted) ? wanted : 'auto';
  }

  status(text, busy = false) {
    this.$('.status-text').textContent = text;
    this.root.querySelector('.app').classList.toggle('busy', busy);
  }

  bind() {
    for (const [id, pad] of Object.entries(this.pads)) {
      pad.addEventListener('input', () => this.live.request());
      pad.addEventListener('change', () => this.live.request());
      pad.canvas.addEventListener('keydown', (e) => {
        if ((e.ctrlKey || e.metaKey) && e.key === 'z') { pad.undo(); e.preventDefault(); }
        else if (e.key === 'Delete' || e.key === 'Backspace') { pad.clear(); e.preventDefault(); }
        else if (this.full && /^[0-9]$/.test(e.key)) { this.addExample(id, Number(e.key)); e.preventDefault(); }
      });
    }
    this.root.addEventListener('click', (e) => {
      const b = e.target.closest('button');
      if (!b || b.disabled) return;
      const action = b.dataset.action;
      if (action === 'clear') this.pads[b.dataset.pad].clear();
      else if (action === 'undo') this.pads[b.dataset.pad].undo();
      else if (b.dataset.label) this.addExample(b.dataset.label, Number(b.dataset.digit));
      else if (action === 'pair') this.addPair(b.dataset.same === 'true');
      else if (action === 'remove') this.removeItem(Number(b.dataset.index));
      else if (action === 'train') this.train();
      else if (action === 'stop') this.stopping = true;
      else if (action === 'reset') this.reset();
      else if (action === 'download') this.download();
      else if (action === 'lose-gpu') destroyGpuDevice().then(() => this.live.request());
    });
    this.$('[data-action=backend]').addEventListener('change', (e) => this.start(e.target.value));
    this.$('[data-action=upload]')?.addEventListener('change', (e) => this.upload(e.target.files[0]));
  }

  pkgUrl() {
    return new URL(this.getAttribute('pkg') ?? '../pkg/', HERE);
  }

  /** (Re)start on a backend, carrying the current weights and examples over. */
  async start(backend) {
    const previous = this.engine;
    this.engine = null;
    this.$('[data-action=backend]').value = backend;
    this.setBusy(true);
    const progress = this.$('.loading');
    this.status('Loading the model…', true);
    try {
      const engine = await getEngine(this.pkgUrl(), backend, (f) => { progress.hidden = false; progress.value = f; });
      progress.hidden = true;
      if (previous && previous !== engine) {
        engine.importWeights(previous.exportWeights());
        engine.clearExamples();
        for (const item of this.items) this.pushItem(engine, item);
      }
      const note = this.restored ? '' : await this.restoreSaved(engine);
      this.fallbackListener ??= (reason, from) => {
        if (from !== this.engine) return; // an engine this element has switched away from
        this.showBackend(from);
        this.status(`Moved to the CPU: ${reason}`);
        this.live.request();
      };
      onFallback(engine, this.fallbackListener);
      this.engine = engine;
      this.showBackend(engine);
      this.$('.threshold-label').textContent = `threshold ${engine.threshold.toFixed(2)}`;
      this.$('.mark').style.left = `${this.barPosition(engine.threshold)}%`;
      if (this.full) await this.refreshMap();
      this.status(`${note || 'Ready.'} Draw a digit on each pad.`);
      announceReady?.(engine);
      this.live.request();
    } catch (e) {
      progress.hidden = true;
      this.status(`Could not start the model: ${e.message ?? e}`);
    } finally {
      this.setBusy(false);
    }
  }

  /** Bring back what the studio saved in this browser; resolves to a note for the status line. */
  async restoreSaved(engine) {
    this.restored = true;
    if (!this.full) return '';
    const notes = [];
    try {
      const saved = await savedWeights.load();
      if (saved) {
        engine.importWeights(new Uint8Array(saved));
        notes.push('Restored your fine-tuned model.');
      }
    } catch (e) {
      await savedWeights.clear().catch(() => {});
      notes.push(`Your saved model could not be restored (${e.message ?? e}); using the shipped one.`);
    }
    // Another studio on this page may have restored them into the shared engine already.
    const items = await savedExamples.load().catch(() => undefined);
    if (engine.exampleCount === 0 && engine.pairCount === 0 && Array.isArray(items) && items.length) {
      // An item the engine rejects (say, saved by an older version) is dropped, not fatal.
      for (const item of items) {
        try { this.pushItem(engine, item); this.items.push(item); } catch { /* counted below */ }
      }
      this.renderItems();
      const dropped = items.length - this.items.length;
      const n = this.items.length;
      if (n) notes.push(`Restored ${n} training example${n === 1 ? '' : 's'}.`);
      if (dropped) {
        notes.push(`${dropped} saved example${dropped === 1 ? ' was' : 's were'} unreadable and dropped.`);
        this.saveItems();
      }
    }
    return notes.join(' ');
  }

  /** Keep the training set across reloads (the studio only). */
  saveItems() {
    savedExamples.save(this.items).catch((e) => this.status(`The training set could not be saved in this browser: ${e.message ?? e}`));
  }

  showBackend(engine) {
    const badge = this.$('[data-testid=backend]');
    badge.textContent = engine.backend === 'webgpu' ? 'webgpu (GPU)' : 'cpu';
    badge.title = engine.fallbackReason ?? '';
    badge.dataset.backend = engine.backend;
    const why = engine.fallbackReason ? ` — ${engine.fallbackReason}` : '';
    badge.setAttribute('aria-label', `Running on ${engine.backend}${why}`);
    if (engine.fallbackReason) badge.textContent += ` · ${engine.fallbackReason}`;
  }

  setBusy(busy) {
    this.busy = busy;
    for (const el of this.$$('button, select, input')) {
      if (el.dataset.action === 'stop') el.disabled = !this.training;
      else if (!['clear', 'undo'].includes(el.dataset.action)) el.disabled = busy;
    }
  }

  barPosition(d) {
    return Math.min(100, (d / 1.6) * 100); // unit-norm embeddings: distances lie in [0, 2]
  }

  /** Preprocess both pads, show what the network sees, compute the distance. */
  async update() {
    const engine = this.engine;
    for (const id of ['a', 'b']) {
      const pad = this.pads[id];
      let image = null;
      if (!pad.empty && engine) {
        const { data, width, height } = pad.pixels();
        try { image = engine.preprocess(data, width, height); } catch { image = null; } // a stray dot of no ink
      }
      this.images[id] = image;
      drawDigit(this.$(`[data-seen=${id}]`), image);
    }
    const out = this.$('[data-testid=distance]');
    const verdict = this.$('[data-testid=verdict]');
    const { a, b } = this.images;
    if (!engine || !a || !b) {
      out.textContent = '–';
      out.dataset.value = '';
      verdict.textContent = !engine ? 'The model is loading…' : !a && !b ? 'Draw a digit on each pad.' : `Now draw a digit on pad ${a ? 'B' : 'A'}.`;
      verdict.className = 'verdict';
      this.$('.fill').style.width = '0';
      if (this.full && engine) this.drawMap();
      return;
    }
    try {
      const { distance: d, a: ea, b: eb } = await engine.compare(a, b);
      const same = d < engine.threshold;
      out.textContent = d.toFixed(3);
      out.dataset.value = String(d);
      verdict.textContent = same ? 'same digit' : 'different digits';
      verdict.className = `verdict ${same ? 'same' : 'different'}`;
      const fill = this.$('.fill');
      fill.style.width = `${this.barPosition(d)}%`;
      fill.classList.toggle('far', !same);
      if (this.full) this.drawMap(ea, eb);
    } catch (e) {
      this.status(`Could not compute the distance: ${e.message ?? e}`);
    }
  }

  async refreshMap() {
    this.mapPoints = await this.engine.referenceMap();
    this.mapLabels = this.mapLabels ?? this.engine.validationLabels();
    this.drawMap();
  }

  drawMap(ea, eb) {
    if (!this.full || !this.mapPoints) return;
    const marks = [];
    if (ea) marks.push({ label: 'A', xy: this.engine.project(ea) });
    if (eb) marks.push({ label: 'B', xy: this.engine.project(eb) });
    drawMap(this.$('.map'), this.mapPoints, this.mapLabels, marks);
  }

  // ---- fine-tuning studio -------------------------------------------------

  pushItem(engine, item) {
    if (item.kind === 'example') engine.addExample(item.image, item.label);
    else engine.addPair(item.a, item.b, item.same);
  }

  addItem(item) {
    try {
      this.pushItem(this.engine, item);
      this.items.push(item);
      this.renderItems();
      this.saveItems();
      return true;
    } catch (e) {
      this.status(e.message ?? String(e));
      return false;
    }
  }

  addExample(id, label) {
    if (!this.engine || this.busy) return;
    const image = this.images[id];
    if (!image) { this.status(`Pad ${id.toUpperCase()} is empty: draw a ${label} first.`); return; }
    if (this.addItem({ kind: 'example', image, label })) {
      this.status(`Added pad ${id.toUpperCase()} as a ${label}.`);
      this.pads[id].clear();
    }
  }

  addPair(same) {
    if (!this.engine || this.busy) return;
    const { a, b } = this.images;
    if (!a || !b) { this.status('Draw on both pads to mark a pair.'); return; }
    if (this.addItem({ kind: 'pair', a, b, same })) this.status(`Added the pair as ${same ? 'the same digit' : 'different digits'}.`);
  }

  removeItem(index) {
    const item = this.items[index];
    const sameKind = this.items.slice(0, index).filter((i) => i.kind === item.kind).length;
    try {
      if (item.kind === 'example') this.engine.removeExample(sameKind);
      else this.engine.removePair(sameKind);
      this.items.splice(index, 1);
      this.renderItems();
      this.saveItems();
    } catch (e) {
      this.status(e.message ?? String(e));
    }
  }

  renderItems() {
    const list = this.$('.thumbs');
    list.replaceChildren(...this.items.map((item, index) => {
      const li = document.createElement('li');
      const images = item.kind === 'example' ? [item.image] : [item.a, item.b];
      for (const image of images) {
        const c = document.createElement('canvas');
        drawDigit(c, image);
        li.append(c);
      }
      const caption = document.createElement('span');
      caption.textContent = item.kind === 'example' ? String(item.label) : item.same ? '=' : '≠';
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.dataset.action = 'remove';
      remove.dataset.index = String(index);
      remove.textContent = '×';
      remove.setAttribute('aria-label', `Remove ${item.kind === 'example' ? `example ${item.label}` : 'pair'}`);
      li.append(caption, remove);
      return li;
    }));
  }

  async scores(column) {
    this.$(`[data-score=user-${column}]`).textContent = percent(await this.engine.userAccuracy());
    this.$(`[data-score=val-${column}]`).textContent = percent(await this.engine.validationAccuracy());
  }

  async train() {
    const engine = this.engine;
    if (!engine || this.busy) return;
    const setting = (name) => this.$(`[data-setting=${name}]`).value;
    const steps = Math.max(1, Math.min(1000, Math.round(Number(setting('steps')))));
    const options = { loss: setting('loss'), learningRate: Number(setting('lr')), batchSize: 32 };
    this.training = true;
    this.stopping = false;
    this.setBusy(true);
    const losses = [];
    const bar = this.$('.train-progress');
    try {
      this.status('Scoring the model before training…', true);
      await this.scores('before');
      for (let step = 1; step <= steps && !this.stopping; step++) {
        losses.push(await engine.trainStep(options));
        bar.value = step / steps;
        this.status(`Training: step ${step} of ${steps}, loss ${losses.at(-1).toFixed(4)}`, true);
        drawLoss(this.$('.loss'), losses);
        this.$('.loss').dataset.losses = losses.join(',');
        await nextFrame(); // let the page paint and respond between steps
      }
      await this.scores('after');
      await savedWeights.save(engine.exportWeights());
      await this.refreshMap();
      this.status(`${this.stopping ? 'Stopped' : 'Done'} after ${losses.length} steps; the fine-tuned model is saved in this browser.`);
    } catch (e) {
      this.status(`Training stopped: ${e.message ?? e}`);
    } finally {
      this.training = false;
      this.setBusy(false);
      bar.value = 0;
      this.live.request();
    }
  }

  async reset() {
    this.engine.reset();
    await savedWeights.clear();
    await this.refreshMap();
    this.status('Back to the shipped model.');
    this.live.request();
  }

  download() {
    const url = URL.createObjectURL(new Blob([this.engine.exportWeights()], { type: 'application/octet-stream' }));
    const a = Object.assign(document.createElement('a'), { href: url, download: 'siamese-digits-weights.bin' });
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  async upload(file) {
    if (!file) return;
    try {
      this.engine.importWeights(new Uint8Array(await file.arrayBuffer()));
      await savedWeights.save(this.engine.exportWeights());
      await this.refreshMap();
      this.status(`Loaded ${file.name}.`);
      this.live.request();
    } catch (e) {
      this.status(`${file.name} was not loaded: ${e.message ?? e}. The current model stays.`);
    } finally {
      this.$('[data-action=upload]').value = '';
    }
  }
}

customElements.get('siamese-digits') ?? customElements.define('siamese-digits', SiameseDigits);
