// The one-shot gallery's UI (mode="gallery" and mode="full"): draw anything, name it
// and keep it as a reference; from then on each pad's drawing is matched against the
// references, live — the nearest names with their distances, or "none of these" when
// even the nearest lies beyond the model's "same" threshold. The gallery is part of
// the engine's session (references are strokes, which the engine embeds again when
// the model changes), kept in this browser with the rest of it (saved.js): this file
// shows the client's last snapshot of it, and the matches the engine answers along
// with each distance. What a name may be and where "none of these" begins are the
// engine's rules: a refusal shows its reason.

import { drawDigit } from './charts.js';
import { restoreSession } from './saved.js';

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The galleries pages ship (the `gallery` attribute) asked for so far, by URL: each is added once. */
const asked = new Set();
/** One page gallery at a time, so that each sees what the one before added. */
let posting = Promise.resolve();

export function galleryTemplate() {
  const match = (id) => `<p class="match" data-testid="match-${id}" data-label="" data-nearest="" data-distance="" aria-live="polite" aria-busy="false"></p>`;
  return `
      <section class="gallery">
        <h3>Name your own drawings</h3>
        <p class="hint">Draw anything — a letter, a symbol, your initials —, name it and add it: one drawing is enough.
          Each pad is then matched against the gallery, or called none of these when nothing in it is close. Enter in the name adds pad A.</p>
        <div class="matches">${match('a')}${match('b')}</div>
        <div class="row">
          <label>Name <input type="text" data-testid="gallery-name" autocomplete="off" spellcheck="false"></label>
          <button type="button" data-action="gallery-add" data-pad="a" data-testid="gallery-add-a">Add pad A</button>
          <button type="button" data-action="gallery-add" data-pad="b" data-testid="gallery-add-b">Add pad B</button>
        </div>
        <p class="gallery-count" data-testid="gallery-count" data-value="0"></p>
        <ul class="references" aria-label="Gallery"></ul>
        <div class="row">
          <button type="button" data-action="gallery-download" data-testid="gallery-download">Download gallery</button>
          <label class="upload">Open a gallery <input type="file" data-action="gallery-open" data-testid="gallery-open" accept=".json,application/json"></label>
          <button type="button" data-action="gallery-clear" data-testid="gallery-clear">Clear gallery</button>
        </div>
      </section>`;
}

/** A name and its distance, in words. */
const named = ({ name, distance }) => `“${name}” (${distance.toFixed(3)})`;

/** Pad `pad`'s match in words: `best` and `next` are the nearest names, `label` the match, if any. */
function matchText(pad, label, best, next, empty) {
  if (!best) return empty ? `Pad ${pad}: the gallery is empty; add a drawing to match against.` : `Pad ${pad}: draw something to match it.`;
  const then = next.length ? ` Next: ${next.map(named).join(', ')}.` : '';
  return label == null
    ? `Pad ${pad}: none of these (nearest: “${best.name}”, ${best.distance.toFixed(3)}).${then}`
    : `Pad ${pad}: ${named(best)}.${then}`;
}

export class Gallery {
  /** `host`: the <siamese-digits> element; `testing` (?testing): clearing asks for no confirmation. */
  constructor(host, testing) {
    this.host = host;
    this.$ = host.$;
    this.testing = testing;
    this.adding = false;
    this.name = this.$('[data-testid=gallery-name]');
    this.name.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.isComposing) { e.preventDefault(); this.add('a'); }
    });
    this.$('[data-action=gallery-open]').addEventListener('change', (e) => this.open(e.target.files[0]));
    this.render();
    this.show(null);
  }

  get client() {
    return this.host.client;
  }

  /** Handle a click on one of the gallery's buttons. */
  click(b) {
    const action = b.dataset.action;
    if (action === 'gallery-add') this.add(b.dataset.pad);
    else if (action === 'gallery-remove') this.remove(Number(b.dataset.index));
    else if (action === 'gallery-clear') this.clear();
    else if (action === 'gallery-download') this.download();
  }

  /**
   * Follow the gallery's changes (whichever element makes them) and show it once the
   * visitor's saved session is restored (once per page); resolves to the restore's note.
   */
  async restore() {
    const { signal } = this.host.events;
    this.client.addEventListener('session', () => {
      this.render();
      this.host.live.request(); // the matches follow the gallery and the model
    }, { signal });
    this.client.addEventListener('restarted', () => this.render(), { signal });
    const note = await restoreSession(this.client);
    this.render();
    return note;
  }

  /**
   * Add the gallery the page ships (the `gallery` attribute; a blog post's, say), once
   * per page and only to an empty gallery: what the visitor made is never replaced or
   * doubled. A failure is reported; nothing else changes.
   */
  async addPageGallery() {
    const address = this.host.getAttribute('gallery');
    if (!address) return;
    const client = this.client;
    let text;
    try {
      const url = new URL(address, document.baseURI);
      if (asked.has(url.href)) return;
      asked.add(url.href);
      const response = await fetch(url);
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      text = await response.text();
    } catch (e) {
      this.host.status(`This page's gallery could not be loaded (${e.message ?? e}); yours works as before.`);
      return;
    }
    const adding = posting.then(async () => {
      // After the restore: a saved gallery is the visitor's, and it would overwrite this one.
      await restoreSession(client);
      if (client.gallery.length) return; // the visitor's own, restored or drawn meanwhile
      try {
        await client.importGallery(text);
        this.host.status(`Added this page's gallery: ${plural(client.gallery.length, 'reference')}.`);
      } catch (e) {
        this.host.status(`This page's gallery could not be added: ${e.message ?? e}.`);
      }
    });
    posting = adding;
    await adding;
  }

  /** Keep what pad `id` shows under the name typed; the engine says why if it cannot. */
  async add(id) {
    // Not through host.whileBusy: disabling the name field would take the keyboard's focus from it.
    if (!this.client || this.host.busy || this.adding) return;
    this.adding = true;
    try {
      await this.client.addReference(this.name.value, this.host.pads[id].transferable());
      this.host.status(`Added pad ${id.toUpperCase()} to the gallery as “${this.client.gallery.at(-1).name}”.`);
      this.name.value = '';
    } catch (e) {
      this.host.status(`Not added: ${e.message ?? e}.`);
    } finally {
      this.adding = false;
    }
  }

  async remove(index) {
    const name = this.client?.gallery[index]?.name;
    await this.host.whileBusy(`Removing “${name}”…`, async () => {
      try {
        await this.client.removeReference(index);
        this.host.status(`Removed “${name}” from the gallery.`);
      } catch (e) {
        this.host.status(`Could not remove “${name}”: ${e.message ?? e}`);
      }
    });
  }

  async clear() {
    const n = this.client?.gallery.length ?? 0;
    if (n && !this.testing && !confirm(`Remove all ${plural(n, 'reference')} from the gallery? Download it first to keep a copy.`)) return;
    await this.host.whileBusy('Clearing the gallery…', async () => {
      try {
        await this.client.clearGallery();
        this.host.status('The gallery is empty.');
      } catch (e) {
        this.host.status(`Could not clear the gallery: ${e.message ?? e}`);
      }
    });
  }

  async download() {
    try {
      this.host.offer(await this.client.exportGallery(), 'siamese-digits-gallery.json', 'application/json');
    } catch (e) {
      this.host.status(`Could not export the gallery: ${e.message ?? e}`);
    }
  }

  /** Add a gallery file's references after the visitor's; a bad file is refused whole, and the gallery stays. */
  async open(file) {
    if (!file) return;
    await this.host.whileBusy(`Opening ${file.name}…`, async () => {
      const before = this.client.gallery.length;
      try {
        await this.client.importGallery(await file.text());
      } catch (e) {
        this.host.status(`${file.name} was not opened: ${e.message ?? e}. Your gallery stays.`);
        return;
      }
      this.host.status(`Opened ${file.name}: ${plural(this.client.gallery.length - before, 'reference')} added.`);
    });
    this.$('[data-action=gallery-open]').value = '';
  }

  /** The gallery as the client's last snapshot has it: each reference's thumbnail, name and remove button. */
  render() {
    const gallery = this.client?.gallery ?? [];
    const count = this.$('[data-testid=gallery-count]');
    count.dataset.value = String(gallery.length);
    count.textContent = gallery.length ? `${plural(gallery.length, 'reference')} in the gallery.` : 'The gallery is empty.';
    this.$('.references').replaceChildren(...gallery.map(({ name, image }, index) => {
      const li = document.createElement('li');
      const thumb = document.createElement('canvas');
      drawDigit(thumb, image);
      const caption = Object.assign(document.createElement('span'), { textContent: name });
      li.append(thumb, caption, this.host.listButton('gallery-remove', index, '×', `Remove “${name}”`));
      return li;
    }));
  }

  /**
   * Each pad's match, as the engine answered it with the distance (`{ a, b }`, each
   * `{ label, nearest }` or null), in words and in the test hooks' data attributes.
   */
  show(match) {
    const empty = !this.client?.gallery.length;
    for (const id of ['a', 'b']) {
      const out = this.$(`[data-testid=match-${id}]`);
      const { label = null, nearest: [best, ...next] = [] } = match?.[id] ?? {};
      out.dataset.label = label ?? '';
      out.dataset.nearest = best?.name ?? '';
      out.dataset.distance = best ? String(best.distance) : '';
      const text = matchText(id.toUpperCase(), label, best, next, empty);
      if (out.textContent !== text) out.textContent = text; // unchanged words are not announced again
    }
  }
}
