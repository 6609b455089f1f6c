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
import { failure, msg, why, words } from './i18n.js';

const percent = (x) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '–');

/** The studio's markup; its words are filled by localize() (i18n.js). */
export function studioTemplate(testing) {
  const digits = (pad) => Array.from({ length: 10 }, (_, d) =>
    `<button type="button" data-label="${pad}" data-digit="${d}"${words(null, { 'aria-label': 'padShows' }, { pad: pad.toUpperCase(), digit: d })}>${d}</button>`).join('');
  // The settings' choices, bounds and values come from the engine once it runs.
  return `
      <section class="studio" part="studio">
        <h3${words('studioTitle')}></h3>
        <p class="hint"${words('studioHint')}></p>
        <div class="labels"><span${words('padIs', {}, { pad: 'A' })}></span> ${digits('a')}</div>
        <div class="labels"><span${words('padIs', {}, { pad: 'B' })}></span> ${digits('b')}</div>
        <div class="row">
          <button type="button" data-action="pair" data-same="true"${words('pairSame')}></button>
          <button type="button" data-action="pair" data-same="false"${words('pairDifferent')}></button>
        </div>
        <ul class="thumbs"${words(null, { 'aria-label': 'trainingSet' })}></ul>
        <div class="row settings">
          <label><span${words('loss')}></span> <select data-setting="loss"></select></label>
          <label><span${words('steps')}></span> <input data-setting="steps" type="number"></label>
          <label><span${words('learningRate')}></span> <input data-setting="lr" type="number" step="any"></label>
        </div>
        <div class="row">
          <button type="button" data-action="train" data-testid="train"${words('train')}></button>
          <button type="button" data-action="stop" disabled${words('stop')}></button>
          <progress class="train-progress" max="1" value="0"></progress>
        </div>
        <canvas class="loss"${words(null, { 'aria-label': 'lossChart' })}></canvas>
        <table class="scores">
          <thead><tr><th${words('pairAccuracy')}></th><th${words('before')}></th><th${words('after')}></th></tr></thead>
          <tbody>
            <tr><td${words('yourExamples')}></td><td data-score="user-before">–</td><td data-score="user-after" data-testid="user-after">–</td></tr>
            <tr><td${words('validationSample')}></td><td data-score="val-before">–</td><td data-score="val-after">–</td></tr>
          </tbody>
        </table>
        <h4${words('savedModels')}></h4>
        <p class="hint"${words('savedHint')}></p>
        <ol class="history" data-testid="history"${words(null, { 'aria-label': 'savedModels' })}></ol>
        <div class="row">
          <button type="button" data-action="reset"${words('reset')}></button>
          <button type="button" data-action="download"${words('downloadWeights')}></button>
          <label class="upload"><span${words('uploadWeights')}></span><input type="file" data-action="upload" accept=".bin,application/octet-stream"></label>
        </div>
        <div class="row">
          <button type="button" data-action="download-session"${words('downloadSession')}></button>
          <label class="upload"><span${words('openSession')}></span><input type="file" data-action="open-session" accept=".bin,application/octet-stream"></label>
        </div>
        ${testing ? `<div class="row testing">
          <span${words('testingAids')}></span>
          <button type="button" data-action="lose-gpu"${words('loseGpu', { title: 'loseGpuTitle' })}></button>
          <button type="button" data-action="crash"${words('crash', { title: 'crashTitle' })}></button>
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
    this.losses = []; // the last run's, as the chart shows them
    this.drawLosses();
    this.$('[data-action=upload]').addEventListener('change', (e) => this.upload(e.target.files[0]));
    this.$('[data-action=open-session]').addEventListener('change', (e) => this.openSession(e.target.files[0]));
    for (const setting of ['loss', 'steps', 'lr']) this.$(`[data-setting=${setting}]`).addEventListener('change', () => this.changeOptions());
  }

  get client() {
    return this.host.client;
  }

  /** A saved model in words, for the status line. */
  describe(model) {
    return model.date == null ? msg('modelEarlier') : msg('modelSaved', { date: new Date(model.date).toLocaleString(this.host.locale) });
  }

  drawLosses() {
    drawLoss(this.$('.loss'), this.losses, (max) => this.host.t('lossMax', { value: max.toFixed(3) }));
  }

  /** After a change of language: the lists and the chart in the new words (the rest is the template's). */
  speak() {
    this.renderSession();
    if (this.client) this.drawHistory(); // from the list already loaded: the new words at once
    this.drawLosses();
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
    else if (action === 'lose-gpu') this.client?.loseGpu().then(() => this.host.live.request(), (e) => this.host.status(failure('engineSays', { error: why(e) })));
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
    const t = this.host.t;
    this.$('[data-setting=loss]').replaceChildren(...loss.choices.map((choice) => {
      // A loss this page has no words for is shown by the engine's name for it.
      const option = new Option(t.has(`loss-${choice}`) ? t(`loss-${choice}`) : choice, choice);
      if (t.has(`loss-${choice}`)) option.dataset.t = `loss-${choice}`;
      return option;
    }));
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
      this.host.status(failure('engineSays', { error: why(e) })); // the bound it broke; the setting keeps what was typed
    }
  }

  renderSession() {
    const snapshot = this.client?.snapshot;
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
      this.host.status(failure('engineSays', { error: why(e) }));
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
      if (!image) this.host.status(msg('padEmpty', { pad: id.toUpperCase(), label }));
      else added = await this.addItem({ kind: 'example', image, label });
    } catch (e) {
      this.host.status(failure('engineSays', { error: why(e) }));
    }
    if (added) this.host.status(msg('exampleAdded', { pad: id.toUpperCase(), label }));
    else if (pad.empty) pad.setStrokes(strokes);
  }

  async addPair(same) {
    if (!this.client || this.host.busy) return;
    try {
      const [a, b] = await Promise.all(['a', 'b'].map((id) => this.client.preprocess(this.host.pads[id].transferable())));
      if (!a || !b) { this.host.status(msg('drawBothForPair')); return; }
      if (await this.addItem({ kind: 'pair', a, b, same })) this.host.status(msg(same ? 'pairAddedSame' : 'pairAddedDifferent'));
    } catch (e) {
      this.host.status(failure('engineSays', { error: why(e) }));
    }
  }

  async removeItem(index) {
    try {
      await this.client.removeItem(index);
    } catch (e) {
      this.host.status(failure('engineSays', { error: why(e) }));
    }
  }

  renderItems(items) {
    const t = this.host.t;
    const thumbs = []; // drawn once in place: they take the theme's colours from there
    this.$('.thumbs').replaceChildren(...items.map((item, index) => {
      const li = document.createElement('li');
      const images = item.kind === 'example' ? [item.image] : [item.a, item.b];
      for (const image of images) {
        const c = document.createElement('canvas');
        thumbs.push([c, image]);
        li.append(c);
      }
      const caption = document.createElement('span');
      caption.textContent = item.kind === 'example' ? String(item.label) : item.same ? '=' : '≠';
      li.append(caption, this.host.listButton('remove', index, '×', item.kind === 'example' ? t('removeExample', { label: item.label }) : t('removePair')));
      return li;
    }));
    for (const [canvas, image] of thumbs) drawDigit(canvas, image);
  }

  /** Load the saved models and list them. */
  async renderHistory() {
    try {
      this.models = await savedModels.load();
    } catch (e) {
      this.host.status(failure('modelsUnreadable', { problem: storageProblem(e) }));
      return;
    }
    this.drawHistory();
  }

  /** The saved models, newest first, each with a button that brings it back. */
  drawHistory() {
    const current = this.client.info.release;
    const t = this.host.t;
    this.$('.history').replaceChildren(...this.models.map((model, index) => {
      const li = document.createElement('li');
      const field = (name, text) => Object.assign(document.createElement('span'), { className: name, textContent: text });
      const release = model.release == null ? t('releaseEarlier') : t(model.release === current ? 'releaseCurrent' : 'release', { release: model.release });
      const restore = this.host.listButton('restore-model', index, t('restore'), t('restoreModel', { model: this.describe(model) }));
      li.append(
        field('when', model.date == null ? t('dateUnknown') : new Date(model.date).toLocaleString(this.host.locale)),
        field('release', release),
        field('steps', model.steps == null ? t('stepsUnknown') : t('stepCount', { n: model.steps })),
        field('accuracy', model.accuracy == null ? t('notScored') : t('accuracyOnYours', { percent: percent(model.accuracy) })),
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

  /** Add the model in use to the saved models, and let the session's save end; resolves to a storage problem (a message), or ''. */
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

  /**
   * Train for the session's number of steps; the page keeps drawing meanwhile (the
   * work is in the worker). Each step is told to the page (siamese-trained).
   */
  async train() {
    if (!this.client || this.host.busy) return;
    this.training = true;
    this.stopping = false;
    this.host.setBusy(true);
    const losses = (this.losses = []);
    const bar = this.$('.train-progress');
    try {
      let options;
      try {
        ({ options } = await this.client.setOptions(this.readOptions()));
      } catch (e) {
        this.host.status(failure('notTrained', { error: why(e) }));
        return;
      }
      this.host.status(msg('scoringBefore'), true);
      await this.scores('before');
      for (let step = 1; step <= options.steps && !this.stopping; step++) {
        const loss = await this.client.trainStep();
        losses.push(loss);
        bar.value = step / options.steps;
        this.host.status(msg('trainingStep', { step, steps: options.steps, loss: loss.toFixed(4) }), true);
        this.drawLosses();
        this.$('.loss').dataset.losses = losses.join(',');
        this.host.emit('siamese-trained', { step, steps: options.steps, loss });
        await nextFrame(); // paint the progress; pads keep drawing and scoring in between
      }
      await this.client.refreshSnapshot(); // its steps and weights; saved like every change
      const { user } = await this.scores('after');
      await this.host.refreshMap();
      const ended = msg(this.stopping ? 'stoppedAfter' : 'doneAfter', { n: losses.length });
      const problem = losses.length ? await this.keepCurrent(user) : '';
      if (problem) this.host.status(failure('trainedNotSaved', { ended, problem }));
      else this.host.status(msg('trainedSaved', { ended }));
    } catch (e) {
      this.host.status(failure('trainingStopped', { error: why(e) }));
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
    const described = this.describe(model);
    await this.host.whileBusy(msg('restoring', { model: described }), async () => {
      try {
        await this.client.importWeights(new Uint8Array(model.bytes));
        await this.host.refreshMap();
        this.host.status(await whenSaved(msg('restored', { model: described })));
      } catch (e) {
        this.host.status(failure('couldNotRestore', { model: described, error: why(e) }));
      }
    });
  }

  reset() {
    return this.host.whileBusy(msg('resetting'), async () => {
      try {
        await this.client.reset();
        await this.host.refreshMap();
        this.host.status(await whenSaved(msg('backToShipped', { examples: this.client.items.length, models: this.models.length })));
      } catch (e) {
        this.host.status(failure('couldNotReset', { error: why(e) }));
      }
    });
  }

  async download() {
    try {
      this.host.offer(await this.client.exportWeights(), 'siamese-digits-weights.bin');
    } catch (e) {
      this.host.status(failure('couldNotExportWeights', { error: why(e) }));
    }
  }

  async downloadSession() {
    try {
      this.host.offer((await this.client.refreshSnapshot()).bytes, 'siamese-digits-session.bin');
    } catch (e) {
      this.host.status(failure('couldNotExportSession', { error: why(e) }));
    }
  }

  async upload(file) {
    if (!file) return;
    await this.host.whileBusy(msg('loadingFile', { file: file.name }), async () => {
      try {
        await this.client.importWeights(new Uint8Array(await file.arrayBuffer()));
      } catch (e) {
        this.host.status(failure('weightsNotLoaded', { file: file.name, error: why(e) }));
        return;
      }
      try {
        await this.host.refreshMap();
        const problem = await this.keepCurrent((await this.client.scores()).user);
        this.host.status(problem ? failure('loadedNotKept', { file: file.name, problem }) : msg('loadedKept', { file: file.name }));
      } catch (e) {
        this.host.status(failure('loadedBut', { file: file.name, error: why(e) }));
      }
    });
    this.$('[data-action=upload]').value = '';
  }

  /** Replace the whole session with a downloaded one; a bad file is refused and the session stays. */
  async openSession(file) {
    if (!file) return;
    await this.host.whileBusy(msg('opening', { file: file.name }), async () => {
      let setAside;
      try {
        setAside = await this.client.openSession(new Uint8Array(await file.arrayBuffer()));
      } catch (e) {
        this.host.status(failure('sessionNotOpened', { file: file.name, error: why(e) }));
        return;
      }
      const { items, steps } = this.client.snapshot;
      const notes = [msg('sessionOpened', { file: file.name, examples: items.length, steps })];
      if (setAside) {
        // Saved under another release: the file has no date for it.
        try {
          await keepModel({ bytes: setAside.weights, release: setAside.release, date: Date.now(), steps: setAside.steps, accuracy: null });
          notes.push(msg('setAsideKept'));
        } catch (e) {
          notes.push(failure('setAsideNotKept', { problem: storageProblem(e) }));
        }
      }
      try {
        await this.host.refreshMap();
      } catch (e) {
        notes.push(failure('mapNotRedrawn', { error: why(e) }));
      }
      this.host.status(await whenSaved(notes));
    });
    this.$('[data-action=open-session]').value = '';
  }
}
