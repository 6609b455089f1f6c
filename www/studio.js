// The fine-tuning studio's UI (mode="full"): label what a pad shows or mark a pair,
// train, compare scores before and after, save, reset, download and upload weights.
// The training set is the page's (one engine per page): every studio shows it the
// same. The engine does the work (worker-client.js); storage.js keeps it.

import { nextFrame } from './worker-client.js';
import { drawDigit, drawLoss } from './charts.js';
import { savedExamples, savedModel } from './storage.js';

/** Buttons that break things on purpose, shown only where the URL asks (`?testing`). */
const TESTING = new URLSearchParams(location.search).has('testing');

const percent = (x) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '–');

export function studioTemplate() {
  const digits = (pad) => Array.from({ length: 10 }, (_, d) =>
    `<button type="button" data-label="${pad}" data-digit="${d}" aria-label="Pad ${pad.toUpperCase()} shows ${d}">${d}</button>`).join('');
  return `
      <section class="studio">
        <h3>Teach it your handwriting</h3>
        <p class="hint">Label what a pad shows, or mark the pair, then train. Your examples are mixed with MNIST digits so the rest is not forgotten.</p>
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
          <button type="button" data-action="keep-earlier" data-testid="keep-earlier" hidden>Use my earlier fine-tuned model</button>
          <button type="button" data-action="download">Download weights</button>
          <label class="upload">Upload weights <input type="file" data-action="upload" accept=".bin,application/octet-stream"></label>
        </div>
        ${TESTING ? `<div class="row testing">
          <span>Testing aids:</span>
          <button type="button" data-action="lose-gpu" title="Destroys the WebGPU device, as a driver reset would">Simulate GPU loss</button>
          <button type="button" data-action="crash" title="The engine panics, as a bug in it would">Simulate an engine crash</button>
        </div>` : ''}
      </section>`;
}

let restoring = null; // the page restores what was saved once, for every studio

export class Studio {
  /** `host`: the <siamese-digits> element (its pads, images, status line, map). */
  constructor(host) {
    this.host = host;
    this.$ = host.$;
    this.training = false;
    drawLoss(this.$('.loss'), []); // the empty chart's frame
    this.$('[data-action=upload]').addEventListener('change', (e) => this.upload(e.target.files[0]));
  }

  get client() {
    return this.host.client;
  }

  /** Handle a click on one of the studio's buttons. */
  click(b) {
    const action = b.dataset.action;
    if (b.dataset.label) this.addExample(b.dataset.label, Number(b.dataset.digit));
    else if (action === 'pair') this.addPair(b.dataset.same === 'true');
    else if (action === 'remove') this.removeItem(Number(b.dataset.index));
    else if (action === 'train') this.train();
    else if (action === 'stop') this.stopping = true;
    else if (action === 'reset') this.reset();
    else if (action === 'keep-earlier') this.keepEarlier();
    else if (action === 'download') this.download();
    else if (action === 'lose-gpu') this.client?.loseGpu().then(() => this.host.live.request(), (e) => this.host.status(e.message));
    else if (action === 'crash') this.client?.crash().catch(() => {}); // the restart's note says what happened
  }

  /** Bring back what was saved in this browser (once per page); resolves to a note. */
  async restore() {
    this.client.addEventListener('items', () => this.renderItems(), { signal: this.host.events.signal });
    this.renderItems();
    restoring ??= this.restoreSaved();
    return restoring;
  }

  async restoreSaved() {
    const notes = [];
    try {
      const saved = await savedModel.load();
      if (saved?.release === this.client.info.release) {
        await this.client.importWeights(new Uint8Array(saved.bytes));
        notes.push('Restored your fine-tuned model.');
      } else if (saved) {
        // Tuned from other shipped weights: the visitor chooses, nothing is dropped.
        this.earlier = saved.bytes;
        this.$('[data-action=keep-earlier]').hidden = false;
        notes.push('The shipped model has been updated since you fine-tuned yours, so the new one is in use ("Use my earlier fine-tuned model" brings yours back).');
      }
    } catch (e) {
      await savedModel.clear().catch(() => {});
      notes.push(`Your saved model could not be restored (${e.message ?? e}); using the shipped one.`);
    }
    const items = await savedExamples.load().catch(() => undefined);
    if (Array.isArray(items) && items.length) {
      // An item the engine rejects (say, saved by an older version) is dropped, not fatal.
      const dropped = await this.client.setItems(items);
      const n = this.client.items.length;
      if (n) notes.push(`Restored ${n} training example${n === 1 ? '' : 's'}.`);
      if (dropped) {
        notes.push(`${dropped} saved example${dropped === 1 ? ' was' : 's were'} unreadable and dropped.`);
        this.saveItems();
      }
    }
    return notes.join(' ');
  }

  saveItems() {
    savedExamples.save(this.client.items).catch((e) => this.host.status(`The training set could not be saved in this browser: ${e.message ?? e}`));
  }

  async addItem(item) {
    try {
      await this.client.addItem(item);
      this.saveItems();
      return true;
    } catch (e) {
      this.host.status(e.message ?? String(e));
      return false;
    }
  }

  async addExample(id, label) {
    if (!this.client || this.host.busy) return;
    // What the pad shows now (the last distance may lag on a slow GPU). The pad is
    // cleared at once, so a drawing started meanwhile is kept; it comes back on failure.
    const pad = this.host.pads[id];
    const pixels = pad.transferable();
    const strokes = pad.strokes;
    pad.clear();
    let added = false;
    try {
      const image = await this.client.preprocess(pixels);
      if (!image) this.host.status(`Pad ${id.toUpperCase()} is empty: draw a ${label} first.`);
      else added = await this.addItem({ kind: 'example', image, label });
    } catch (e) {
      this.host.status(e.message ?? String(e));
    }
    if (added) this.host.status(`Added pad ${id.toUpperCase()} as a ${label}.`);
    else if (pad.empty) pad.setStrokes(strokes);
  }

  async addPair(same) {
    if (!this.client || this.host.busy) return;
    try {
      const [a, b] = await Promise.all(['a', 'b'].map((id) => this.client.preprocess(this.host.pads[id].transferable())));
      if (!a || !b) { this.host.status('Draw on both pads to mark a pair.'); return; }
      if (await this.addItem({ kind: 'pair', a, b, same })) this.host.status(`Added the pair as ${same ? 'the same digit' : 'different digits'}.`);
    } catch (e) {
      this.host.status(e.message ?? String(e));
    }
  }

  async removeItem(index) {
    try {
      await this.client.removeItem(index);
      this.saveItems();
    } catch (e) {
      this.host.status(e.message ?? String(e));
    }
  }

  renderItems() {
    const list = this.$('.thumbs');
    list.replaceChildren(...this.client.items.map((item, index) => {
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
      remove.disabled = this.host.busy;
      remove.setAttribute('aria-label', `Remove ${item.kind === 'example' ? `example ${item.label}` : 'pair'}`);
      li.append(caption, remove);
      return li;
    }));
  }

  async scores(column) {
    const { user, validation } = await this.client.scores();
    this.$(`[data-score=user-${column}]`).textContent = percent(user);
    this.$(`[data-score=val-${column}]`).textContent = percent(validation);
  }

  /** Train for the chosen number of steps; the page keeps drawing meanwhile (the work is in the worker). */
  async train() {
    if (!this.client || this.host.busy) return;
    const setting = (name) => this.$(`[data-setting=${name}]`).value;
    const steps = Math.max(1, Math.min(1000, Math.round(Number(setting('steps')))));
    const options = { loss: setting('loss'), learningRate: Number(setting('lr')), batchSize: 32 };
    this.training = true;
    this.stopping = false;
    this.host.setBusy(true);
    const losses = [];
    const bar = this.$('.train-progress');
    try {
      this.host.status('Scoring the model before training…', true);
      await this.scores('before');
      for (let step = 1; step <= steps && !this.stopping; step++) {
        losses.push(await this.client.trainStep(options));
        bar.value = step / steps;
        this.host.status(`Training: step ${step} of ${steps}, loss ${losses.at(-1).toFixed(4)}`, true);
        drawLoss(this.$('.loss'), losses);
        this.$('.loss').dataset.losses = losses.join(',');
        await nextFrame(); // paint the progress; pads keep drawing and scoring in between
      }
      await this.scores('after');
      await this.saveModel();
      await this.host.refreshMap();
      this.host.status(`${this.stopping ? 'Stopped' : 'Done'} after ${losses.length} steps; the fine-tuned model is saved in this browser.`);
    } catch (e) {
      this.host.status(`Training stopped: ${e.message ?? e}`);
    } finally {
      this.training = false;
      this.host.setBusy(false);
      bar.value = 0;
      this.host.live.request();
    }
  }

  /** Keep the fine-tuned weights in this browser, tagged with the release they build on. */
  async saveModel() {
    await savedModel.save({ bytes: await this.client.exportWeights(), release: this.client.info.release });
  }

  /** The visitor's choice after a new release: their model tuned from the earlier one. */
  async keepEarlier() {
    try {
      await this.client.importWeights(new Uint8Array(this.earlier));
      await this.saveModel();
      this.$('[data-action=keep-earlier]').hidden = true;
      await this.host.refreshMap();
      this.host.status('Restored your earlier fine-tuned model.');
    } catch (e) {
      this.host.status(`Your earlier model could not be restored: ${e.message ?? e}. The current model stays.`);
    }
    this.host.live.request();
  }

  async reset() {
    try {
      await this.client.reset();
      await savedModel.clear();
      this.$('[data-action=keep-earlier]').hidden = true;
      await this.host.refreshMap();
      this.host.status('Back to the shipped model.');
    } catch (e) {
      this.host.status(`Could not reset: ${e.message ?? e}`);
    }
    this.host.live.request();
  }

  async download() {
    try {
      const bytes = await this.client.exportWeights();
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
      const a = Object.assign(document.createElement('a'), { href: url, download: 'siamese-digits-weights.bin' });
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (e) {
      this.host.status(`Could not export the weights: ${e.message ?? e}`);
    }
  }

  async upload(file) {
    if (!file) return;
    try {
      await this.client.importWeights(new Uint8Array(await file.arrayBuffer()));
      await this.saveModel();
      await this.host.refreshMap();
      this.host.status(`Loaded ${file.name}.`);
      this.host.live.request();
    } catch (e) {
      this.host.status(`${file.name} was not loaded: ${e.message ?? e}. The current model stays.`);
    } finally {
      this.$('[data-action=upload]').value = '';
    }
  }
}
