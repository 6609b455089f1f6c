// The visitor's session kept in this browser (storage.js): restored once per page,
// whatever the number and modes of elements, and saved after every change — the
// gallery's references as much as the studio's training set and model. A model
// fine-tuned under an earlier release is set aside into the saved models, which
// the studio lists. No DOM here: callers show the notes, which are messages (i18n.js).

import { legacyExamples, savedModels, savedSession } from './storage.js';
import { failure, msg, why } from './i18n.js';

/** A storage failure (a full disk, say), as a message. */
export const storageProblem = (e) => msg('storageRefused', { name: e?.name ?? 'Error', message: why(e) });

/** Fires `change` when a model is added to the saved models: every studio shows the list. */
export const models = new EventTarget();

/** Add `model` to the saved models; rejects with what the storage refused. */
export async function keepModel(model) {
  await savedModels.add(model);
  models.dispatchEvent(new Event('change'));
}

let sessionWrites = Promise.resolve(); // settles with the newest write asked for
let newest = null; // the newest snapshot asked to be saved
/** Save a snapshot of the session: one write at a time, skipping to the newest. */
function saveSession(snapshot) {
  if (snapshot !== newest) {
    newest = snapshot;
    sessionWrites = sessionWrites.catch(() => {}).then(() =>
      (newest === snapshot ? savedSession.save({ bytes: snapshot.bytes, release: snapshot.info.release }) : undefined));
  }
  return sessionWrites;
}

/** Settles once the session's writes so far have ended; rejects with what the storage refused, if it did. */
export const sessionSaved = () => sessionWrites;

/** `done` (a message), once the session's writes so far have ended; with what the storage refused, if it did. */
export async function whenSaved(done) {
  try {
    await sessionWrites;
    return done;
  } catch (e) {
    return [done, failure('notSavedHere', { problem: storageProblem(e) })];
  }
}

let restoring = null; // one restore per page, for every element
/**
 * Bring back what was saved into `client` (the page's engine), once per page, then
 * save the session after every change. Resolves to notes for the status line (a list
 * of messages); an element shows the session only after it, so nothing it adds is
 * overwritten.
 */
export function restoreSession(client) {
  restoring ??= restoreSaved(client);
  return restoring;
}

/** The restore itself: the session, then a training set a version-2 page saved. */
async function restoreSaved(client) {
  const notes = [];
  let changed = false; // the session now differs from the saved one
  let keepSaving = true;
  let saved;
  try {
    saved = await savedSession.load();
  } catch (e) {
    notes.push(failure('sessionUnreadable', { problem: storageProblem(e) }));
  }
  if (saved) {
    try {
      const setAside = await client.openSession(new Uint8Array(saved.bytes));
      if (setAside) {
        changed = true;
        try {
          await keepModel({ bytes: setAside.weights, release: setAside.release, date: Date.now(), steps: setAside.steps, accuracy: null });
          notes.push(msg('shippedUpdatedKept'));
        } catch (e) {
          // The saved session still holds it: leave that as it is for the next visit.
          keepSaving = false;
          notes.push(failure('shippedUpdatedNotKept', { problem: storageProblem(e) }));
        }
      } else if (client.snapshot.steps > 0) notes.push(msg('restoredTuned'));
    } catch (e) {
      notes.push(failure('savedSessionNotOpened', { error: why(e) }));
    }
  }
  // A training set a version-2 page saved moves into the session, once.
  const legacy = await legacyExamples.load().catch(() => undefined);
  let dropped = 0;
  if (Array.isArray(legacy)) {
    for (const item of legacy) {
      try {
        await client.addItem(item);
      } catch {
        dropped++; // say, saved by an older version in a shape the engine refuses
      }
    }
    changed = true;
  }
  const n = client.items.length;
  if (n) notes.push(msg('restoredExamples', { n }));
  const references = client.gallery.length;
  if (references) notes.push(msg('restoredReferences', { n: references }));
  if (dropped) notes.push(failure('examplesDropped', { n: dropped }));
  if (!keepSaving) return notes;
  const failed = (e) => failure('sessionNotSaved', { problem: storageProblem(e) });
  client.addEventListener('session', ({ detail }) => saveSession(detail).catch((e) => client.emit('note', failed(e))));
  if (changed) {
    try {
      await saveSession(client.snapshot);
      if (Array.isArray(legacy)) await legacyExamples.clear();
    } catch (e) {
      notes.push(failed(e));
    }
  }
  return notes;
}
