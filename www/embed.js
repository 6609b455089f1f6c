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
// after the visitor's saved session is restored, and only to an empty gallery),
// model (default | seed: our network, or the reference post's 2-D one, whose
// weights are downloaded only then; the chooser in the top bar does the same).
// mode="gallery" and "full" keep the visitor's session in this browser. Changing
// mode, backend or model later takes effect at once; a removed element lets go of its
// listeners, observers and pending frame. theme (auto | light | dark) and the
// --siamese-* properties (embed.css) colour it; lang, or the page's, picks its
// words (i18n.js). It tells the page what happens with events: siamese-ready,
// siamese-distance, siamese-trained, siamese-error, siamese-match (README).
// The engine runs in one worker per page (worker-client.js), started when the first
// element scrolls into view; this file only draws and shows what the engine answers.
// The fine-tuning studio's UI is studio.js, the gallery's gallery.js; saved.js keeps
// the visitor's session (gallery included) in this browser.

import { Coalescer, getClient } from './worker-client.js';
import { Pad } from './pad.js';
import { drawDigit, drawMap, redraw } from './charts.js';
import { Studio, studioTemplate } from './studio.js';
import { Gallery, galleryTemplate } from './gallery.js';
import { failed, failure, languageOf, localize, msg, translator, why, words } from './i18n.js';

const HERE = new URL('.', import.meta.url);
const MODES = ['compare', 'gallery', 'full'];
const BACKENDS = ['auto', 'webgpu', 'cpu'];
const NETWORKS = ['default', 'seed'];
/** Testing aids (buttons that break things on purpose) answer only where the URL asks: `?testing`. */
const TESTING = new URLSearchParams(location.search).has('testing');

// Resolves once the first element's engine has answered (a stable hook for tests).
let announceReady;
window.siameseReady ??= new Promise((resolve) => { announceReady = resolve; });

/** The element's markup; its words are filled by localize() (i18n.js). */
function template(mode) {
  const full = mode === 'full';
  const pad = (id) => {
    const name = { pad: id.toUpperCase() };
    return `
    <figure class="pad">
      <canvas data-testid="pad-${id}" part="pad pad-${id}" class="draw" tabindex="0"${words(null, { 'aria-label': 'padLabel' }, name)}></canvas>
      <figcaption>
        <span class="pad-name">${id.toUpperCase()}</span>
        <span class="pad-note" data-testid="note-${id}"></span>
        <button type="button" data-testid="clear-${id}" data-action="clear" data-pad="${id}"${words('clear')}></button>
        <button type="button" data-action="undo" data-pad="${id}"${words('undo')}></button>
        <canvas class="seen" data-seen="${id}"${words(null, { title: 'seenTitle', 'aria-label': 'seenLabel' }, name)}></canvas>
      </figcaption>
    </figure>`;
  };
  return `
    <link rel="stylesheet" href="${new URL('embed.css', HERE)}">
    <div class="app ${mode}">
      <div class="top">
        <span class="badge" data-testid="backend" title=""${words('badge-loading')}></span>
        <label class="model-choice"><span${words('network')}></span>
          <select data-testid="model" data-action="model" data-model="default">${NETWORKS.map((n) => `<option value="${n}"${words(`network-${n}`)}></option>`).join('')}</select>
        </label>
        <label class="backend-choice"><span${words('backend')}></span>
          <select data-action="backend">${BACKENDS.map((b) => `<option value="${b}"${words(`backend-${b}`)}></option>`).join('')}</select>
        </label>
      </div>
      <p class="status" role="status" aria-live="polite"><span class="status-text"></span> <progress class="loading" max="1" hidden></progress> <button type="button" data-action="retry" data-testid="retry" hidden${words('tryAgain')}></button></p>
      <div class="pads" part="pads">${pad('a')}${pad('b')}</div>
      <div class="result">
        <div><span${words('distance')}></span> <output data-testid="distance" part="distance" data-value="" aria-busy="false">–</output></div>
        <div class="verdict" data-testid="verdict" part="verdict"${words('drawBoth')}></div>
        <div class="bar" role="meter" aria-valuemin="0" aria-valuemax="2" aria-valuenow="0"${words(null, { 'aria-label': 'distance', 'aria-valuetext': 'noDistance' })}><div class="fill"></div><div class="mark"${words(null, { title: 'threshold' })}></div></div>
        <div class="scale"><span${words('scaleIdentical')}></span><span class="threshold-label"></span><span${words('scaleFar')}></span></div>
      </div>
      ${mode === 'compare' ? '' : galleryTemplate()}
      ${full ? `
      <section class="map-section">
        <h3${words('mapTitle')}></h3>
        <p class="hint"${words('mapHint')}></p>
        <canvas class="map" part="map" aria-describedby="map-summary"${words(null, { 'aria-label': 'mapLabel' })}></canvas>
        <p class="map-summary" id="map-summary" data-testid="map-summary" aria-live="polite"></p>
        <ul class="legend"${words(null, { 'aria-label': 'legendLabel' })}>${Array.from({ length: 10 }, (_, d) => `<li><i></i>${d}</li>`).join('')}</ul>
      </section>
      ${studioTemplate(TESTING)}` : ''}
    </div>`;
}

class SiameseDigits extends HTMLElement {
  static observedAttributes = ['mode', 'backend', 'lang', 'model'];

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
    } else if (name === 'lang') this.relocalize();
    else if (name === 'model') this.switchNetwork(now);
    else if (this.client) this.switchBackend(this.initialBackend());
  }

  /** Let go of the shared client's events, the observers and any pending frame. */
  detach() {
    this.events?.abort(); // every listener this element put on the shared client
    this.events = null;
    this.seen?.disconnect();
    this.languages?.disconnect();
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
    this.$('link').addEventListener('load', () => redraw(this.root), { signal: this.events.signal });
    this.t = null;
    this.setLanguage();
    // A `lang` changed above the element (the page's, say) changes its words too.
    this.languages = new MutationObserver(() => this.relocalize());
    this.languages.observe(document.documentElement, { attributes: true, attributeFilter: ['lang'], subtree: true });
    this.pads = { a: new Pad(this.$('[data-testid=pad-a]')), b: new Pad(this.$('[data-testid=pad-b]')) };
    this.images = { a: null, b: null }; // what the network sees of each pad, from the last update
    this.result = undefined; // the engine's last answer for the pads (undefined: none asked yet)
    this.backendInfo = null; // what the badge shows
    this.touched = null; // the pad changed since the last update
    this.told = { distance: null, same: null }; // what siamese-distance said last
    // aria-busy on what the engine answers for the pads (the distance, the gallery's
    // matches) says whether it still lags behind the ink on them.
    this.live = new Coalescer(() => this.update(), (busy) => {
      for (const el of this.$$('[aria-busy]')) el.setAttribute('aria-busy', String(busy));
    });
    this.studio = this.full ? new Studio(this) : null;
    this.gallery = mode === 'compare' ? null : new Gallery(this, TESTING);
    this.bind();
    this.status(msg('waiting'));
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

  /** Speak the language `lang` asks for now (i18n.js); false if it already does. */
  setLanguage() {
    const { code, locale } = languageOf(this);
    if (this.t && code === this.language && locale === this.locale) return false;
    this.language = code;
    this.locale = locale; // for dates
    this.t = translator(code);
    this.$('.app').lang = this.t.tag;
    localize(this.root, this.t);
    return true;
  }

  /** After a change of language: everything in words again, from what is shown now. */
  relocalize() {
    if (!this.events || !this.setLanguage()) return;
    this.show(...this.said);
    if (this.backendInfo) this.showBackend(this.backendInfo);
    for (const id of ['a', 'b']) this.showNote(id);
    this.showResult();
    this.gallery?.speak();
    this.studio?.speak();
  }

  /** This build's version (Cargo.toml's, as the release bundle names it), once the engine has started; else null. */
  get version() {
    return this.client?.info.version ?? null;
  }

  /** A bubbling, composed event for the page (README: "Theming, languages and events"). */
  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  initialBackend() {
    const wanted = new URLSearchParams(location.search).get('backend') ?? this.getAttribute('backend') ?? 'auto';
    return BACKENDS.includes(wanted) ? wanted : 'auto';
  }

  /**
   * Show `message` in the status line: a message (i18n.js), an engine's own words, or
   * a list of them. One that reports a failure is told to the page (siamese-error),
   * once while it stays shown.
   */
  status(message, busy = false) {
    this.show(message, busy);
    const failure = failed(message);
    const text = this.t.text(message);
    if (failure && text !== this.failure) this.emit('siamese-error', { message: text, recovered: failure.recovered });
    this.failure = failure ? text : null;
  }

  show(message, busy = false) {
    this.said = [message, busy];
    this.$('.status-text').textContent = this.t.text(message);
    this.$('.app').classList.toggle('busy', busy);
  }

  /** A typed digit is a bundled sample, not a drawing: say so beside the pad. */
  showNote(id) {
    const sample = this.pads[id].sample;
    this.$(`[data-testid=note-${id}]`).textContent = sample ? this.t('typedNote', { digit: sample.label }) : '';
  }

  bind() {
    for (const [id, pad] of Object.entries(this.pads)) {
      pad.addEventListener('input', () => {
        this.touched = id;
        this.live.request();
      });
      pad.addEventListener('change', () => {
        this.touched = id;
        this.showNote(id);
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
    this.$('[data-action=model]').addEventListener('change', (e) => this.switchNetwork(e.target.value));
  }

  pkgUrl() {
    return new URL(this.getAttribute('pkg') ?? '../pkg/', HERE);
  }

  /** Join the page's engine (starting it if this is the first element). */
  async start() {
    const client = getClient(this.pkgUrl(), this.initialBackend(), TESTING);
    this.setBusy(true);
    const progress = this.$('.loading');
    this.status(msg('loadingModel'), true);
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
        // The map's projection lives in the engine, and is the network's: a move or another network needs a new one.
        if (this.full && this.client && (detail.backend !== this.mapBackend || detail.network !== this.mapNetwork)) this.refreshMap().catch(() => {});
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
      const [notes] = await Promise.all([this.gallery?.restore(), this.studio?.restore()]);
      if (this.full) await this.refreshMap();
      this.status([notes?.length ? notes : msg('ready'), msg('drawBoth')]);
      this.gallery?.addPageGallery(); // its note follows this one
      announceReady?.(info);
      this.emit('siamese-ready', { backend: client.info.backend, threshold: client.info.threshold });
      this.live.request();
    } catch (e) {
      progress.hidden = true;
      this.status(failure('couldNotStart', { error: why(e) }, false));
      this.$('[data-action=retry]').hidden = false; // a failed download is not final
    } finally {
      this.setBusy(false);
    }
    // model="seed" from the start: once not busy, as a visitor's choice would be.
    if (this.client) this.switchNetwork(this.getAttribute('model'));
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
    this.status(msg('switching', { backend: msg(`backend-${backend}`) }), true);
    try {
      const info = await this.client.setBackend(backend);
      this.status(info.backend === 'cpu' && info.reason ? msg('onCpu', { reason: info.reason }) : msg('runningOn', { backend: msg(`backend-${info.backend}`) }));
    } catch (e) {
      this.status(failure('couldNotSwitch', { error: why(e) }));
    } finally {
      this.setBusy(false);
    }
  }

  /** Let another network answer (`model`; every element on the page shares the engine, so all switch). */
  async switchNetwork(network) {
    if (this.client && NETWORKS.includes(network) && network !== this.client.info.network) {
      const name = msg(`network-${network}`);
      await this.whileBusy(msg('switchingNetwork', { network: name }), async () => {
        try {
          await this.client.useNetwork(network);
          this.status(msg('networkNow', { network: name }));
        } catch (e) {
          this.status(failure('couldNotSwitchNetwork', { error: why(e) }));
        }
      });
    }
    if (this.backendInfo) this.showBackend(this.client?.info ?? this.backendInfo); // the chooser says what answers
  }

  showBackend(info) {
    this.backendInfo = info;
    const chooser = this.$('[data-testid=model]');
    chooser.value = info.network;
    chooser.dataset.model = info.network;
    const hint = this.$('.map-section .hint');
    if (hint) {
      hint.dataset.t = info.embeddingSize === 2 ? 'mapHintPlane' : 'mapHint';
      hint.textContent = this.t(hint.dataset.t);
    }
    const badge = this.$('[data-testid=backend]');
    // The reason is the engine's, in its words (English): marked so.
    const reason = info.reason ? [' · ', Object.assign(document.createElement('span'), { lang: 'en', textContent: info.reason })] : [];
    badge.replaceChildren(this.t(`badge-${info.backend}`), ...reason);
    badge.title = info.reason ?? '';
    badge.dataset.backend = info.backend;
    badge.setAttribute('aria-label', this.t(info.reason ? 'runningOnLabelWhy' : 'runningOnLabel', { backend: msg(`backend-${info.backend}`), reason: info.reason }));
    this.$('[data-action=backend]').value = info.wanted;
    this.$('.threshold-label').textContent = this.t('thresholdValue', { value: info.threshold.toFixed(2) });
    this.$('.mark').style.left = `${this.barPosition(info.threshold)}%`;
  }

  setBusy(busy) {
    this.busy = busy;
    for (const el of this.$$('button, select, input')) {
      if (el.dataset.action === 'stop') el.disabled = !this.studio?.training;
      else if (!['clear', 'undo'].includes(el.dataset.action)) el.disabled = busy;
    }
  }

  /** Run `work` with the controls disabled and `message` in the status line; nothing while other work runs. */
  async whileBusy(message, work) {
    if (!this.client || this.busy) return;
    this.setBusy(true);
    this.status(message, true);
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

  /** Where distance `d` sits on the bar: the threshold at 40 %, whatever the network's scale. */
  barPosition(d) {
    return Math.min(100, (d / (2.5 * this.backendInfo.threshold)) * 100);
  }

  /** Send both pads to the engine; show its answer, and tell the page when the distance changed. */
  async update() {
    const pad = this.touched;
    this.touched = null;
    const pixels = { a: this.pads.a.transferable(), b: this.pads.b.transferable() };
    let result = null;
    if (this.client && (pixels.a || pixels.b)) {
      try {
        result = await this.client.compare(pixels.a, pixels.b);
      } catch (e) {
        this.status(failure('couldNotCompute', { error: why(e) }));
      }
    }
    this.result = result;
    this.showResult();
    const distance = result?.distance ?? null;
    const same = distance == null ? null : distance < this.client.info.threshold;
    if (distance !== this.told.distance || same !== this.told.same) {
      this.told = { distance, same };
      this.emit('siamese-distance', { distance, same, pad });
    }
  }

  /** The engine's last answer for the pads: what the network sees, the distance and verdict, the map, the matches. */
  showResult() {
    const result = this.result;
    if (result === undefined) return; // the template's hint stands
    const out = this.$('[data-testid=distance]');
    const verdict = this.$('[data-testid=verdict]');
    this.images = { a: result?.images.a ?? null, b: result?.images.b ?? null };
    for (const id of ['a', 'b']) drawDigit(this.$(`[data-seen=${id}]`), this.images[id]);
    const { a, b } = this.images;
    if (result?.distance == null) {
      out.textContent = '–';
      out.dataset.value = '';
      verdict.textContent = this.t(!this.client ? 'modelLoading' : !a && !b ? 'drawBoth' : 'drawOther', { pad: a ? 'B' : 'A' });
      verdict.className = 'verdict';
      this.$('.fill').style.width = '0';
      this.setMeter(null, verdict.textContent);
    } else {
      const d = result.distance;
      const same = d < this.client.info.threshold;
      out.textContent = d.toFixed(3);
      out.dataset.value = String(d);
      verdict.textContent = this.t(same ? 'same' : 'different');
      verdict.className = `verdict ${same ? 'same' : 'different'}`;
      const fill = this.$('.fill');
      fill.style.width = `${this.barPosition(d)}%`;
      fill.classList.toggle('far', !same);
      this.setMeter(d, this.t('meterText', { distance: d.toFixed(3), verdict: verdict.textContent }));
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
      this.status(failure('couldNotPlace', { error: why(e) }));
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
    const parts = ['a', 'b'].filter((id) => nearest?.[id]).map((id) => this.t('mapPad', { pad: id.toUpperCase(), digits: nearest[id] }));
    summary.textContent = parts.length ? this.t('mapSummary', { parts }) : '';
  }

  async refreshMap() {
    this.mapBackend = this.client.info.backend;
    this.mapNetwork = this.client.info.network;
    const { points, labels } = await this.client.map();
    this.mapPoints = points;
    this.mapLabels = labels;
    this.drawMap();
  }

  drawMap() {
    if (!this.full || !this.mapPoints) return;
    drawMap(this.$('.map'), this.mapPoints, this.mapLabels, this.marks ?? [], this.$('.legend'));
  }
}

customElements.get('siamese-digits') ?? customElements.define('siamese-digits', SiameseDigits);
