// <siamese-digits>: the whole demo as one custom element, for this site and for
// any blog post. One <script type="module" src=".../embed.js"> and one tag:
//
//   <siamese-digits mode="compare"></siamese-digits>   two pads and the distance
//   <siamese-digits mode="gallery"></siamese-digits>   + a gallery of named drawings, each pad matched against it
//   <siamese-digits mode="full"></siamese-digits>      + the gallery, the embedding map and the fine-tuning studio
//
// Attributes: mode (compare | gallery | full), backend (auto | webgpu | cpu; the
// page's ?backend= wins), pkg (URL of the wasm package; default: ../pkg/ next to
// this file, read when the engine starts), gallery (URL of a gallery file the page
// ships, e.g. one saved with "Download gallery", relative to the page: added once,
// after the visitor's saved session is restored, and only to an empty gallery).
// mode="gallery" and "full" keep the visitor's session in this browser. Changing
// mode or backend later takes effect at once; a removed element lets go of its
// listeners, observer and pending frame.
// The engine runs in one worker per page (worker-client.js), started when the first
// element scrolls into view; this file only draws and shows what the engine answers.
// The fine-tuning studio's UI is studio.js, the gallery's gallery.js; saved.js keeps
// the visitor's session (gallery included) in this browser.

import { Coalescer, getClient } from './worker-client.js';
import { Pad } from './pad.js';
import { DIGIT_COLOURS, drawDigit, drawMap } from './charts.js';
import { Studio, studioTemplate } from './studio.js';
import { Gallery, galleryTemplate } from './gallery.js';

const HERE = new URL('.', import.meta.url);
const MODES = ['compare', 'gallery', 'full'];
const BACKENDS = ['auto', 'webgpu', 'cpu'];
/** Testing aids (buttons that break things on purpose) answer only where the URL asks: `?testing`. */
const TESTING = new URLSearchParams(location.search).has('testing');

// Resolves once the first element's engine has answered (a stable hook for tests).
let announceReady;
window.siameseReady ??= new Promise((resolve) => { announceReady = resolve; });

function template(mode) {
  const full = mode === 'full';
  const pad = (id) => `
    <figure class="pad">
      <canvas data-testid="pad-${id}" class="draw" tabindex="0" aria-label="Drawing pad ${id.toUpperCase()}: draw a digit, or type one to place a sample of it; Ctrl+Z undoes, Delete clears"></canvas>
      <figcaption>
        <span class="pad-name">${id.toUpperCase()}</span>
        <span class="pad-note" data-testid="note-${id}"></span>
        <button type="button" data-testid="clear-${id}" data-action="clear" data-pad="${id}">Clear</button>
        <button type="button" data-action="undo" data-pad="${id}">Undo</button>
        <canvas class="seen" data-seen="${id}" title="What the network sees (28×28)" aria-label="What the network sees of pad ${id.toUpperCase()}"></canvas>
      </figcaption>
    </figure>`;
  return `
    <link rel="stylesheet" href="${new URL('embed.css', HERE)}">
    <div class="app ${mode}">
      <div class="top">
        <span class="badge" data-testid="backend" title="">loading…</span>
        <label class="backend-choice">Backend
          <select data-action="backend">${BACKENDS.map((b) => `<option value="${b}">${b}</option>`).join('')}</select>
        </label>
      </div>
      <p class="status" role="status" aria-live="polite"><span class="status-text">Waiting to load…</span> <progress class="loading" max="1" hidden></progress> <button type="button" data-action="retry" data-testid="retry" hidden>Try again</button></p>
      <div class="pads">${pad('a')}${pad('b')}</div>
      <div class="result">
        <div>Distance <output data-testid="distance" data-value="" aria-busy="false">–</output></div>
        <div class="verdict" data-testid="verdict">Draw a digit on each pad.</div>
        <div class="bar" role="meter" aria-label="Distance" aria-valuemin="0" aria-valuemax="2" aria-valuenow="0" aria-valuetext="no distance yet"><div class="fill"></div><div class="mark" title="threshold"></div></div>
        <div class="scale"><span>0 · identical</span><span class="threshold-label"></span><span>far apart</span></div>
      </div>
      ${mode === 'compare' ? '' : galleryTemplate()}
      ${full ? `
      <section class="map-section">
        <h3>Where the drawings land</h3>
        <p class="hint">Held-out MNIST digits, placed by the network's embedding (first two principal components). A and B are your drawings.</p>
        <canvas class="map" aria-label="Embedding map" aria-describedby="map-summary"></canvas>
        <p class="map-summary" id="map-summary" data-testid="map-summary" aria-live="polite"></p>
        <p class="legend">${DIGIT_COLOURS.map((c, d) => `<span style="color:${c}">${d}</span>`).join(' ')}</p>
      </section>
      ${studioTemplate(TESTING)}` : ''}
    </div>`;
}

class SiameseDigits extends HTMLElement {
  static observedAttributes = ['mode', 'backend'];

  connectedCallback() {
    this.root ??= this.attachShadow({ mode: 'open' });
    this.render();
  }

  /** Removed from the page: let go of everything this element holds (the engine is the page's). */
  disconnectedCallback() {
    this.detach();
  }

  attributeChangedCallback(name, before, now) {
    if (!this.events || before === now) return; // not rendered yet: connecting reads them
    if (name === 'mode') {
      this.detach();
      this.render();
    } else if (this.client) this.switchBackend(this.initialBackend());
  }

  /** Let go of the shared client's events, the observer and any pending frame. */
  detach() {
    this.events?.abort(); // every listener this element put on the shared client
    this.events = null;
    this.seen?.disconnect();
    this.live?.cancel();
    if (this.studio) this.studio.stopping = true;
    this.client = null;
  }

  render() {
    this.events = new AbortController();
    const mode = MODES.includes(this.getAttribute('mode')) ? this.getAttribute('mode') : 'compare';
    this.full = mode === 'full';
    this.root.innerHTML = template(mode);
    this.$ = (s) => this.root.querySelector(s);
    this.$$ = (s) => [...this.root.querySelectorAll(s)];
    this.pads = { a: new Pad(this.$('[data-testid=pad-a]')), b: new Pad(this.$('[data-testid=pad-b]')) };
    this.images = { a: null, b: null }; // what the network sees of each pad, from the last update
    // aria-busy on what the engine answers for the pads (the distance, the gallery's
    // matches) says whether it still lags behind the ink on them.
    this.live = new Coalescer(() => this.update(), (busy) => {
      for (const el of this.$$('[aria-busy]')) el.setAttribute('aria-busy', String(busy));
    });
    this.studio = this.full ? new Studio(this) : null;
    this.gallery = mode === 'compare' ? null : new Gallery(this, TESTING);
    this.bind();
    drawDigit(this.$('[data-seen=a]'), null);
    drawDigit(this.$('[data-seen=b]'), null);
    // Load when first visible: a blog post far down the page costs nothing until read.
    if ('IntersectionObserver' in window) {
      this.seen = new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) { this.seen.disconnect(); this.start(); }
      });
      this.seen.observe(this);
    } else this.start();
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
      pad.addEventListener('change', () => {
        // A typed digit is a bundled sample, not a drawing: say so beside the pad.
        this.$(`[data-testid=note-${id}]`).textContent = pad.sample ? `typed ${pad.sample.label}: an MNIST sample` : '';
        this.live.request();
      });
      pad.canvas.addEventListener('keydown', (e) => {
        if ((e.ctrlKey || e.metaKey) && e.key === 'z') { pad.undo(); e.preventDefault(); }
        else if (e.key === 'Delete' || e.key === 'Backspace') { pad.clear(); e.preventDefault(); }
        else if (/^[0-9]$/.test(e.key) && !e.ctrlKey && !e.metaKey && !e.altKey) { this.typeDigit(id, Number(e.key)); e.preventDefault(); }
      });
    }
    this.root.addEventListener('click', (e) => {
      const b = e.target.closest('button');
      if (!b || b.disabled) return;
      if (b.dataset.action === 'clear') this.pads[b.dataset.pad].clear();
      else if (b.dataset.action === 'retry') this.retry();
      else if (b.dataset.action === 'undo') this.pads[b.dataset.pad].undo();
      else if (b.closest('.gallery')) this.gallery.click(b);
      else this.studio?.click(b);
    });
    this.$('[data-action=backend]').addEventListener('change', (e) => this.switchBackend(e.target.value));
  }

  pkgUrl() {
    return new URL(this.getAttribute('pkg') ?? '../pkg/', HERE);
  }

  /** Join the page's engine (starting it if this is the first element). */
  async start() {
    const client = getClient(this.pkgUrl(), this.initialBackend(), TESTING);
    this.setBusy(true);
    const progress = this.$('.loading');
    this.status('Loading the model…', true);
    const events = this.events;
    if (!events.listening) {
      events.listening = true;
      const { signal } = events;
      client.addEventListener('progress', ({ detail }) => {
        progress.hidden = detail.fraction >= 1;
        progress.value = detail.fraction;
      }, { signal });
      client.addEventListener('backend', ({ detail }) => {
        this.showBackend(detail);
        // The map's projection lives in the engine: a move needs a new one.
        if (this.full && this.client && detail.backend !== this.mapBackend) this.refreshMap().catch(() => {});
        this.live.request();
      }, { signal });
      client.addEventListener('note', ({ detail }) => this.status(detail), { signal });
      client.addEventListener('restarted', ({ detail }) => {
        if (!this.client) { this.start(); return; } // it died before this element joined
        this.showBackend(detail);
        if (this.full) this.refreshMap().catch(() => {}); // a new worker has no map yet
        this.live.request();
      }, { signal });
    }
    try {
      const info = await client.ready;
      if (events !== this.events) return; // removed or re-rendered meanwhile
      this.client = client;
      progress.hidden = true;
      this.showBackend(info);
      // The gallery and the studio show the visitor's session once it is restored
      // (saved.js: once per page, one note for both; mode="compare" has neither).
      const [note] = await Promise.all([this.gallery?.restore(), this.studio?.restore()]);
      if (this.full) await this.refreshMap();
      this.status(`${note || 'Ready.'} Draw a digit on each pad.`);
      this.gallery?.addPageGallery(); // its note follows this one
      announceReady?.(info);
      this.live.request();
    } catch (e) {
      progress.hidden = true;
      this.status(`Could not start the model: ${e.message ?? e}`);
      this.$('[data-action=retry]').hidden = false; // a failed download is not final
    } finally {
      this.setBusy(false);
    }
  }

  /** After a failed start: a new worker, which downloads the module again. */
  retry() {
    this.$('[data-action=retry]').hidden = true;
    getClient(this.pkgUrl(), this.initialBackend(), TESTING).retry().catch(() => {}); // start() reports it
    this.start();
  }

  /** Move the page's engine (every element shares it) to another backend. */
  async switchBackend(backend) {
    if (!this.client) return;
    this.setBusy(true);
    this.status(`Switching to ${backend}…`, true);
    try {
      const info = await this.client.setBackend(backend);
      this.status(info.backend === 'cpu' && info.reason ? `On the CPU: ${info.reason}` : `Running on ${info.backend}.`);
    } catch (e) {
      this.status(`Could not switch: ${e.message ?? e}`);
    } finally {
      this.setBusy(false);
    }
  }

  showBackend(info) {
    const badge = this.$('[data-testid=backend]');
    badge.textContent = info.backend === 'webgpu' ? 'webgpu (GPU)' : 'cpu';
    badge.title = info.reason ?? '';
    badge.dataset.backend = info.backend;
    const why = info.reason ? ` — ${info.reason}` : '';
    badge.setAttribute('aria-label', `Running on ${info.backend}${why}`);
    if (info.reason) badge.textContent += ` · ${info.reason}`;
    this.$('[data-action=backend]').value = info.wanted;
    this.$('.threshold-label').textContent = `threshold ${info.threshold.toFixed(2)}`;
    this.$('.mark').style.left = `${this.barPosition(info.threshold)}%`;
  }

  setBusy(busy) {
    this.busy = busy;
    for (const el of this.$$('button, select, input')) {
      if (el.dataset.action === 'stop') el.disabled = !this.studio?.training;
      else if (!['clear', 'undo'].includes(el.dataset.action)) el.disabled = busy;
    }
  }

  /** Run `work` with the controls disabled and `text` in the status line; nothing while other work runs. */
  async whileBusy(text, work) {
    if (!this.client || this.busy) return;
    this.setBusy(true);
    this.status(text, true);
    try {
      await work();
    } finally {
      this.setBusy(false);
      this.live.request();
    }
  }

  /** A list entry's button (the studio's and the gallery's lists): `action` on entry `index`, disabled while work runs. */
  listButton(action, index, text, label) {
    const button = Object.assign(document.createElement('button'), { type: 'button', textContent: text, disabled: this.busy });
    Object.assign(button.dataset, { action, index: String(index) });
    button.setAttribute('aria-label', label);
    return button;
  }

  /** Offer `data` (bytes or text) as a download named `name`. */
  offer(data, name, type = 'application/octet-stream') {
    const url = URL.createObjectURL(new Blob([data], { type }));
    Object.assign(document.createElement('a'), { href: url, download: name }).click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  barPosition(d) {
    return Math.min(100, (d / 1.6) * 100); // unit-norm embeddings: distances lie in [0, 2]
  }

  /** Send both pads to the engine; show what the network sees and the distance. */
  async update() {
    const out = this.$('[data-testid=distance]');
    const verdict = this.$('[data-testid=verdict]');
    const pixels = { a: this.pads.a.transferable(), b: this.pads.b.transferable() };
    let result = null;
    if (this.client && (pixels.a || pixels.b)) {
      try {
        result = await this.client.compare(pixels.a, pixels.b);
      } catch (e) {
        this.status(`Could not compute the distance: ${e.message ?? e}`);
      }
    }
    this.images = { a: result?.images.a ?? null, b: result?.images.b ?? null };
    for (const id of ['a', 'b']) drawDigit(this.$(`[data-seen=${id}]`), this.images[id]);
    const { a, b } = this.images;
    if (result?.distance == null) {
      out.textContent = '–';
      out.dataset.value = '';
      verdict.textContent = !this.client ? 'The model is loading…' : !a && !b ? 'Draw a digit on each pad.' : `Now draw a digit on pad ${a ? 'B' : 'A'}.`;
      verdict.className = 'verdict';
      this.$('.fill').style.width = '0';
      this.setMeter(null, verdict.textContent);
    } else {
      const d = result.distance;
      const same = d < this.client.info.threshold;
      out.textContent = d.toFixed(3);
      out.dataset.value = String(d);
      verdict.textContent = same ? 'same digit' : 'different digits';
      verdict.className = `verdict ${same ? 'same' : 'different'}`;
      const fill = this.$('.fill');
      fill.style.width = `${this.barPosition(d)}%`;
      fill.classList.toggle('far', !same);
      this.setMeter(d, `${d.toFixed(3)}, ${verdict.textContent}`);
    }
    this.marks = ['a', 'b'].filter((id) => result?.xy[id]).map((id) => ({ label: id.toUpperCase(), xy: result.xy[id] }));
    this.summariseMap(result?.nearest);
    this.gallery?.show(result?.match);
    this.drawMap();
  }

  /** Put a bundled sample of `digit` on a pad (a new one each time the digit is typed). */
  async typeDigit(id, digit) {
    if (!this.client) return;
    this.typed ??= Array(10).fill(0);
    try {
      this.pads[id].setSample(await this.client.sample(digit, this.typed[digit]++), digit);
    } catch (e) {
      this.status(`Could not place a sample: ${e.message ?? e}`);
    }
  }

  /** The bar is a meter: the distance is its value, for assistive technology too. */
  setMeter(d, text) {
    const bar = this.$('.bar');
    bar.setAttribute('aria-valuenow', String(d ?? 0));
    bar.setAttribute('aria-valuetext', text);
  }

  /** The map in words: the labels of the held-out digits nearest each drawing. */
  summariseMap(nearest) {
    const summary = this.$('.map-summary');
    if (!summary) return;
    const parts = ['a', 'b'].filter((id) => nearest?.[id]).map((id) => `pad ${id.toUpperCase()} lands among ${nearest[id].join(', ')}`);
    summary.textContent = parts.length ? `Nearest held-out digits, closest first: ${parts.join('; ')}.` : '';
  }

  async refreshMap() {
    this.mapBackend = this.client.info.backend;
    const { points, labels } = await this.client.map();
    this.mapPoints = points;
    this.mapLabels = labels;
    this.drawMap();
  }

  drawMap() {
    if (!this.full || !this.mapPoints) return;
    drawMap(this.$('.map'), this.mapPoints, this.mapLabels, this.marks ?? []);
  }
}

customElements.get('siamese-digits') ?? customElements.define('siamese-digits', SiameseDigits);
