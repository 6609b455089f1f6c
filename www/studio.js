// The fine-tuning studio's UI (mode="full"): label what a pad shows or mark a pair,
// set the fine-tuning options, train, compare scores before and after, restore a
// saved model, reset, download and upload weights or the whole session. The session
// (training set, options, weights, steps) is the engine's, one per page: every studio
// shows the client's last snapshot of it. saved.js keeps it in this browser, and
// the saved models.

import { nextFrame } from './worker-client.js';
import { drawDigit, drawLoss } from './charts.js';
import { savedModels } from './storage.js';
import { keepModel, models, restoreSession, sessionSaved, storageProblem, whenSaved } from './saved.js';

const percent = (x) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '–');
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
/** A saved model in words, for the status line. */
const describe = (model) => (model.date == null ? 'the model saved by an earlier version of this page' : `the model saved ${new Date(model.date).toLocaleString()}`);

export function studioTemplate(testing) {
  const digits = (pad) => Array.from({ length: 10 }, (_, d) =>
    `<button type="button" data-label="${pad}" data-digit="${d}" aria-label="Pad ${pad.toUpperCase()} shows ${d}">${d}</button>`).join('');
  // The settings' choices, bounds and values come from the engine once it runs.
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
          <label>Loss <select data-setting="loss"></select></label>
          <label>Steps <input data-setting="steps" type="number"></label>
          <label>Learning rate <input data-setting="lr" type="number" step="any"></label>
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
        <h4>Saved models</h4>
        <p class="hint">Every model you train or upload is kept in this browser, newest first; so is yours when a new shipped model replaces it.</p>
        <ol class="history" data-testid="history" aria-label="Saved models"></ol>
        <div class="row">
          <button type="button" data-action="reset">Reset to the shipped model</button>
          <button type="button" data-action="download">Download weights</button>
          <label class="upload">Upload weights <input type="file" data-action="upload" accept=".bin,application/octet-stream"></label>
        </div>
        <div class="row">
          <button type="button" data-action="download-session">Download my session</button>
          <label class="upload">Open a session <input type="file" data-action="open-session" accept=".bin,application/octet-stream"></label>
        </div>
        ${testing ? `<div class="row testing">
          <span>Testing aids:</span>
          <button type="button" data-action="lose-gpu" title="Destroys the WebGPU device, as a driver reset would">Simulate GPU loss</button>
          <button type="button" data-action="crash" title="The engine panics, as a bug in it would">Simulate an engine crash</button>
        </div>` : ''}
      </section>`;
}

export class Studio {
  /** `host`: the <siamese-digits> element (its pads, images, status line, map). */
  constructor(host) {
    this.host = host;
    this.$ = host.$;
    this.training = false;
    this.models = []; // the saved models as listed
    drawLoss(this.$('.loss'), []); // the empty chart's frame
    this.$('[data-action=upload]').addEventListener('change', (e) => this.upload(e.target.files[0]));
    this.$('[data-action=open-session]').addEventListener('change', (e) => this.openSession(e.target.files[0]));
    for (const setting of ['loss', 'steps', 'lr']) this.$(`[data-setting=${setting}]`).addEventListener('change', () => this.changeOptions());
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
    else if (action === 'restore-model') this.restoreModel(Number(b.dataset.index));
    else if (action === 'download') this.download();
    else if (action === 'download-session') this.downloadSession();
    else if (action === 'lose-gpu') this.client?.loseGpu().then(() => this.host.live.request(), (e) => this.host.status(e.message));
    else if (action === 'crash') this.client?.crash().catch(() => {}); // the restart's note says what happened
  }

  /** Show the session and the saved models, bringing back what was saved (once per page); resolves to a note. */
  async restore() {
    const { signal } = this.host.events;
    this.client.addEventListener('session', () => this.renderSession(), { signal });
    this.client.addEventListener('restarted', () => this.renderSession(), { signal });
    models.addEventListener('change', () => this.renderHistory(), { signal });
    this.setUpOptions();
    this.renderSession();
    const note = await restoreSession(this.client);
    await this.renderHistory();
    return note;
  }

  /** The settings' choices and bounds, as the engine defines them (never restated here). */
  setUpOptions() {
    const { loss, learningRate, steps } = this.client.info.fineTuning;
    this.$('[data-setting=loss]').replaceChildren(...loss.choices.map((choice) => new Option(choice, choice)));
    for (const [setting, bounds] of [['steps', steps], ['lr', learningRate]]) {
      const input = this.$(`[data-setting=${setting}]`);
      input.min = String(bounds.min);
      input.max = String(bounds.max);
      input.defaultValue = String(bounds.default);
    }
  }

  /** What the settings say now; the engine checks them. */
  readOptions() {
    const value = (setting) => this.$(`[data-setting=${setting}]`).value;
    return { loss: value('loss'), steps: Number(value('steps')), learningRate: Number(value('lr')) };
  }

  async changeOptions() {
    try {
      await this.client.setOptions(this.readOptions());
    } catch (e) {
      this.host.status(e.message ?? String(e)); // the bound it broke; the setting keeps what was typed
    }
  }

  renderSession() {
    const snapshot = this.client.snapshot;
    if (!snapshot) return;
    const { loss, steps, learningRate } = snapshot.options;
    this.$('[data-setting=loss]').value = loss;
    this.$('[data-setting=steps]').value = String(steps);
    this.$('[data-setting=lr]').value = String(learningRate);
    this.renderItems(snapshot.items);
  }

  async addItem(item) {
    try {
      await this.client.addItem(item);
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
    } catch (e) {
      this.host.status(e.message ?? String(e));
    }
  }

  renderItems(items) {
    this.$('.thumbs').replaceChildren(...items.map((item, index) => {
      const li = document.createElement('li');
      const images = item.kind === 'example' ? [item.image] : [item.a, item.b];
      for (const image of images) {
        const c = document.createElement('canvas');
        drawDigit(c, image);
        li.append(c);
      }
      const caption = document.createElement('span');
      caption.textContent = item.kind === 'example' ? String(item.label) : item.same ? '=' : '≠';
      li.append(caption, this.host.listButton('remove', index, '×', `Remove ${item.kind === 'example' ? `example ${item.label}` : 'pair'}`));
      return li;
    }));
  }

  /** The saved models, newest first, each with a button that brings it back. */
  async renderHistory() {
    try {
      this.models = await savedModels.load();
    } catch (e) {
      this.host.status(`Your saved models could not be read: ${storageProblem(e)}.`);
      return;
    }
    const current = this.client.info.release;
    this.$('.history').replaceChildren(...this.models.map((model, index) => {
      const li = document.createElement('li');
      const field = (name, text) => Object.assign(document.createElement('span'), { className: name, textContent: text });
      const release = model.release == null ? 'an earlier release' : `release ${model.release}${model.release === current ? ' (current)' : ''}`;
      const restore = this.host.listButton('restore-model', index, 'Restore', `Restore ${describe(model)}`);
      li.append(
        field('when', model.date == null ? 'date unknown' : new Date(model.date).toLocaleString()),
        field('release', release),
        field('steps', model.steps == null ? 'steps unknown' : plural(model.steps, 'step')),
        field('accuracy', model.accuracy == null ? 'not scored' : `${percent(model.accuracy)} on your examples`),
        restore,
      );
      return li;
    }));
  }

  /** Pair accuracy before or after training, shown in the table; resolves to `{ user, validation }`. */
  async scores(column) {
    const scores = await this.client.scores();
    this.$(`[data-score=user-${column}]`).textContent = percent(scores.user);
    this.$(`[data-score=val-${column}]`).textContent = percent(scores.validation);
    return scores;
  }

  /** Add the model in use to the saved models, and let the session's save end; resolves to a storage problem in words, or ''. */
  async keepCurrent(accuracy) {
    const bytes = await this.client.exportWeights();
    const { steps, info } = this.client.snapshot;
    try {
      await keepModel({ bytes, release: info.release, date: Date.now(), steps, accuracy: Number.isFinite(accuracy) ? accuracy : null });
      await sessionSaved();
      return '';
    } catch (e) {
      return storageProblem(e);
    }
  }

  /** Train for the session's number of steps; the page keeps drawing meanwhile (the work is in the worker). */
  async train() {
    if (!this.client || this.host.busy) return;
    this.training = true;
    this.stopping = false;
    this.host.setBusy(true);
    const losses = [];
    const bar = this.$('.train-progress');
    try {
      let options;
      try {
        ({ options } = await this.client.setOptions(this.readOptions()));
      } catch (e) {
        this.host.status(`Not trained: ${e.message ?? e}`);
        return;
      }
      this.host.status('Scoring the model before training…', true);
      await this.scores('before');
      for (let step = 1; step <= options.steps && !this.stopping; step++) {
        losses.push(await this.client.trainStep());
        bar.value = step / options.steps;
        this.host.status(`Training: step ${step} of ${options.steps}, loss ${losses.at(-1).toFixed(4)}`, true);
        drawLoss(this.$('.loss'), losses);
        this.$('.loss').dataset.losses = losses.join(',');
        await nextFrame(); // paint the progress; pads keep drawing and scoring in between
      }
      await this.client.refreshSnapshot(); // its steps and weights; saved like every change
      const { user } = await this.scores('after');
      await this.host.refreshMap();
      const ended = `${this.stopping ? 'Stopped' : 'Done'} after ${losses.length} steps`;
      const problem = losses.length ? await this.keepCurrent(user) : '';
      if (problem) this.host.status(`${ended}, but the model could not be saved in this browser: ${problem}. What was saved before is kept.`);
      else this.host.status(`${ended}; the fine-tuned model is saved in this browser.`);
    } catch (e) {
      this.host.status(`Training stopped: ${e.message ?? e}`);
    } finally {
      this.training = false;
      this.host.setBusy(false);
      bar.value = 0;
      this.host.live.request();
    }
  }

  /** Bring back a saved model; a failure says so, and the current model and the list stay. */
  async restoreModel(index) {
    const model = this.models[index];
    if (!model) return;
    await this.host.whileBusy(`Restoring ${describe(model)}…`, async () => {
      try {
        await this.client.importWeights(new Uint8Array(model.bytes));
        await this.host.refreshMap();
        this.host.status(await whenSaved(`Restored ${describe(model)}.`));
      } catch (e) {
        this.host.status(`Could not restore ${describe(model)}: ${e.message ?? e}. The current model stays.`);
      }
    });
  }

  reset() {
    return this.host.whileBusy('Resetting…', async () => {
      try {
        await this.client.reset();
        await this.host.refreshMap();
        const kept = `your ${plural(this.client.items.length, 'training example')} and ${plural(this.models.length, 'saved model')}`;
        this.host.status(await whenSaved(`Back to the shipped model. Kept: ${kept}.`));
      } catch (e) {
        this.host.status(`Could not reset: ${e.message ?? e}`);
      }
    });
  }

  async download() {
    try {
      this.host.offer(await this.client.exportWeights(), 'siamese-digits-weights.bin');
    } catch (e) {
      this.host.status(`Could not export the weights: ${e.message ?? e}`);
    }
  }

  async downloadSession() {
    try {
      this.host.offer((await this.client.refreshSnapshot()).bytes, 'siamese-digits-session.bin');
    } catch (e) {
      this.host.status(`Could not export the session: ${e.message ?? e}`);
    }
  }

  async upload(file) {
    if (!file) return;
    await this.host.whileBusy(`Loading ${file.name}…`, async () => {
      try {
        await this.client.importWeights(new Uint8Array(await file.arrayBuffer()));
      } catch (e) {
        this.host.status(`${file.name} was not loaded: ${e.message ?? e}. The current model stays.`);
        return;
      }
      try {
        await this.host.refreshMap();
        const problem = await this.keepCurrent((await this.client.scores()).user);
        this.host.status(problem ? `Loaded ${file.name}, but it could not be added to Saved models: ${problem}.` : `Loaded ${file.name}; it is kept under Saved models.`);
      } catch (e) {
        this.host.status(`Loaded ${file.name}, but: ${e.message ?? e}`);
      }
    });
    this.$('[data-action=upload]').value = '';
  }

  /** Replace the whole session with a downloaded one; a bad file is refused and the session stays. */
  async openSession(file) {
    if (!file) return;
    await this.host.whileBusy(`Opening ${file.name}…`, async () => {
      let setAside;
      try {
        setAside = await this.client.openSession(new Uint8Array(await file.arrayBuffer()));
      } catch (e) {
        this.host.status(`${file.name} was not opened: ${e.message ?? e}. Your session stays.`);
        return;
      }
      const { items, steps } = this.client.snapshot;
      const notes = [`Opened ${file.name}: ${plural(items.length, 'training example')}, a model after ${plural(steps, 'fine-tuning step')}.`];
      if (setAside) {
        // Saved under another release: the file has no date for it.
        try {
          await keepModel({ bytes: setAside.weights, release: setAside.release, date: Date.now(), steps: setAside.steps, accuracy: null });
          notes.push('The shipped model was updated since that session was fine-tuned; its model is kept under Saved models.');
        } catch (e) {
          notes.push(`The shipped model was updated since that session was fine-tuned, and its model could not be added to Saved models (${storageProblem(e)}); the file still has it.`);
        }
      }
      try {
        await this.host.refreshMap();
      } catch (e) {
        notes.push(`The map could not be redrawn: ${e.message ?? e}`);
      }
      this.host.status(await whenSaved(notes.join(' ')));
    });
    this.$('[data-action=open-session]').value = '';
  }
}
