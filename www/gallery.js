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
import { failure, msg, why, words } from './i18n.js';

/** The galleries pages ship (the `gallery` attribute) asked for so far, by URL: each is added once. */
const asked = new Set();
/** One page gallery at a time, so that each sees what the one before added. */
let posting = Promise.resolve();

/** The gallery's markup; its words are filled by localize() (i18n.js). */
export function galleryTemplate() {
  const match = (id) => `<p class="match" data-testid="match-${id}" data-label="" data-nearest="" data-distance="" aria-live="polite" aria-busy="false"></p>`;
  const add = (id) => `<button type="button" data-action="gallery-add" data-pad="${id}" data-testid="gallery-add-${id}"${words('addPad', {}, { pad: id.toUpperCase() })}></button>`;
  return `
      <section class="gallery" part="gallery">
        <h3${words('galleryTitle')}></h3>
        <p class="hint"${words('galleryHint')}></p>
        <div class="matches">${match('a')}${match('b')}</div>
        <div class="row">
          <label><span${words('name')}></span> <input type="text" data-testid="gallery-name" autocomplete="off" spellcheck="false"></label>
          ${add('a')}
          ${add('b')}
        </div>
        <p class="gallery-count" data-testid="gallery-count" data-value="0"></p>
        <ul class="references"${words(null, { 'aria-label': 'galleryLabel' })}></ul>
        <div class="row">
          <button type="button" data-action="gallery-download" data-testid="gallery-download"${words('galleryDownload')}></button>
          <label class="upload"><span${words('galleryOpen')}></span><input type="file" data-action="gallery-open" data-testid="gallery-open" accept=".json,application/json"></label>
          <button type="button" data-action="gallery-clear" data-testid="gallery-clear"${words('galleryClear')}></button>
        </div>
      </section>`;
}

/** siamese-match's detail for a pad without a match (empty, or an empty gallery), as compared. */
const unmatched = (pad) => JSON.stringify({ pad, label: null, nearest: null, distance: null });

export class Gallery {
  /** `host`: the <siamese-digits> element; `testing` (?testing): clearing asks for no confirmation. */
  constructor(host, testing) {
    this.host = host;
    this.$ = host.$;
    this.testing = testing;
    this.adding = false;
    this.match = null; // the engine's last matches, as shown
    this.told = { a: unmatched('a'), b: unmatched('b') }; // what siamese-match said last, per pad
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

  /** After a change of language: the list and the matches in the new words. */
  speak() {
    this.render();
    this.show(this.match);
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
      if (!response.ok) {
        this.host.status(failure('pageGalleryNotLoaded', { error: msg('serverAnswered', { status: response.status }) }));
        return;
      }
      text = await response.text();
    } catch (e) {
      this.host.status(failure('pageGalleryNotLoaded', { error: why(e) }));
      return;
    }
    const adding = posting.then(async () => {
      // After the restore: a saved gallery is the visitor's, and it would overwrite this one.
      await restoreSession(client);
      if (client.gallery.length) return; // the visitor's own, restored or drawn meanwhile
      try {
        await client.importGallery(text);
        this.host.status(msg('pageGalleryAdded', { n: client.gallery.length }));
      } catch (e) {
        this.host.status(failure('pageGalleryNotAdded', { error: why(e) }));
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
      this.host.status(msg('referenceAdded', { pad: id.toUpperCase(), name: this.client.gallery.at(-1).name }));
      this.name.value = '';
    } catch (e) {
      this.host.status(failure('referenceNotAdded', { error: why(e) }));
    } finally {
      this.adding = false;
    }
  }

  async remove(index) {
    const name = this.client?.gallery[index]?.name;
    await this.host.whileBusy(msg('removing', { name }), async () => {
      try {
        await this.client.removeReference(index);
        this.host.status(msg('removed', { name }));
      } catch (e) {
        this.host.status(failure('couldNotRemove', { name, error: why(e) }));
      }
    });
  }

  async clear() {
    const n = this.client?.gallery.length ?? 0;
    if (n && !this.testing && !confirm(this.host.t('confirmClear', { n }))) return;
    await this.host.whileBusy(msg('clearing'), async () => {
      try {
        await this.client.clearGallery();
        this.host.status(msg('galleryEmpty'));
      } catch (e) {
        this.host.status(failure('couldNotClear', { error: why(e) }));
      }
    });
  }

  async download() {
    try {
      this.host.offer(await this.client.exportGallery(), 'siamese-digits-gallery.json', 'application/json');
    } catch (e) {
      this.host.status(failure('couldNotExportGallery', { error: why(e) }));
    }
  }

  /** Add a gallery file's references after the visitor's; a bad file is refused whole, and the gallery stays. */
  async open(file) {
    if (!file) return;
    await this.host.whileBusy(msg('opening', { file: file.name }), async () => {
      const before = this.client.gallery.length;
      try {
        await this.client.importGallery(await file.text());
      } catch (e) {
        this.host.status(failure('galleryNotOpened', { file: file.name, error: why(e) }));
        return;
      }
      this.host.status(msg('galleryOpened', { file: file.name, n: this.client.gallery.length - before }));
    });
    this.$('[data-action=gallery-open]').value = '';
  }

  /** The gallery as the client's last snapshot has it: each reference's thumbnail, name and remove button. */
  render() {
    const t = this.host.t;
    const gallery = this.client?.gallery ?? [];
    const count = this.$('[data-testid=gallery-count]');
    count.dataset.value = String(gallery.length);
    count.textContent = gallery.length ? t('galleryCount', { n: gallery.length }) : t('galleryEmpty');
    const list = this.$('.references');
    list.replaceChildren(...gallery.map(({ name }, index) => {
      const li = document.createElement('li');
      const caption = Object.assign(document.createElement('span'), { textContent: name });
      li.append(document.createElement('canvas'), caption, this.host.listButton('gallery-remove', index, '×', t('removeReference', { name })));
      return li;
    }));
    // Drawn in place: the thumbnails take the theme's colours from there.
    list.querySelectorAll('canvas').forEach((thumb, index) => drawDigit(thumb, gallery[index].image));
  }

  /**
   * Each pad's match, as the engine answered it with the distance (`{ a, b }`, each
   * `{ label, nearest }` or null), in words and in the test hooks' data attributes;
   * a changed match is told to the page (siamese-match).
   */
  show(match) {
    this.match = match;
    const t = this.host.t;
    const empty = !this.client?.gallery.length;
    for (const id of ['a', 'b']) {
      const out = this.$(`[data-testid=match-${id}]`);
      const { label = null, nearest: [best, ...next] = [] } = match?.[id] ?? {};
      out.dataset.label = label ?? '';
      out.dataset.nearest = best?.name ?? '';
      out.dataset.distance = best ? String(best.distance) : '';
      const pad = id.toUpperCase();
      const text = !best ? t(empty ? 'matchEmpty' : 'matchDraw', { pad }) : t(label == null ? 'matchNone' : 'matchFound', { pad, best, next });
      if (out.textContent !== text) out.textContent = text; // unchanged words are not announced again
      const detail = { pad: id, label, nearest: best?.name ?? null, distance: best?.distance ?? null };
      const key = JSON.stringify(detail);
      if (key !== this.told[id]) {
        this.told[id] = key;
        this.host.emit('siamese-match', detail);
      }
    }
  }
}
