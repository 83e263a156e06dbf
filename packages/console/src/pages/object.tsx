/**
 * One object: its attributes as JSON, saved with compare-and-swap on the version that was opened,
 * so an edit never overwrites a change someone else made meanwhile: that is shown as a conflict,
 * with the object as it is now. Deleting asks first, and is conditional on the version too.
 */
import { type Json, DEFAULT_LIMITS, defaultValue, parseSchemaJson } from '@spacekv/core';
import { CmpFailError, NotFoundError, type SpaceDescription, type SpaceObject } from '@spacekv/client';
import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { hrefOf } from '../route.js';
import { useSpace } from '../space-hook.js';
import { Empty, ErrorLine, useLoad } from '../ui.js';
import { attributesText, parseAttributes, parseKey } from '../values.js';

export function ObjectPage({ session, space, keyText }: { readonly session: Session; readonly space: string; readonly keyText: string }) {
  const description = useSpace(session, space);
  return (
    <>
      <h1><a href="#/spaces">Spaces</a> / <a href={hrefOf({ page: 'objects', space })}>{space}</a> / {keyText}</h1>
      <ErrorLine error={description.error} />
      {description.value && <Editor session={session} description={description.value} keyText={keyText} />}
    </>
  );
}

/** Every attribute of the schema, the ones the text leaves out at their type's default: saving writes the object as shown. */
function wholeObject(description: SpaceDescription, edited: Record<string, Json>): Record<string, Json> {
  const schema = parseSchemaJson(description, DEFAULT_LIMITS);
  const whole: Record<string, Json> = {};
  for (const a of schema.attributes) whole[a.name] = a.name in edited ? (edited[a.name] as Json) : (defaultValue(a.type) as Json);
  return { ...edited, ...whole };
}

type Outcome =
  | { readonly kind: 'saved'; readonly version: number }
  | { readonly kind: 'conflict'; readonly current: SpaceObject | null }
  | { readonly kind: 'failed'; readonly error: unknown };

function Editor({ session, description, keyText }: { readonly session: Session; readonly description: SpaceDescription; readonly keyText: string }) {
  const space = description.name;
  const key = parseKey(description, keyText);
  const object = useLoad(() => session.db.get(space, key), [session, space, keyText]);
  // The user's edit belongs to the object it was made on: once another version loads (after a save,
  // or 'Load the current version'), the text is that version's, in the same render as its version
  // number. (Set from an effect, the text lagged one paint behind the number shown, and a Save in
  // between sent the discarded edit on the new version.)
  const [edit, setEdit] = useState<{ readonly of: SpaceObject; readonly text: string } | undefined>();
  const [outcome, setOutcome] = useState<Outcome | undefined>();
  const [confirming, setConfirming] = useState(false);

  if (object.error) return <ErrorLine error={object.error} />;
  if (object.loading && !object.value) return <p>Loading…</p>;
  const opened = object.value;
  if (!opened) return <Empty>No object with key {keyText} in {space}. It may have been deleted; create it from <a href={hrefOf({ page: 'objects', space })}>the browser</a>.</Empty>;
  const text = edit?.of === opened ? edit.text : attributesText(opened.attributes);

  const conflictOr = async (run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      if (error instanceof CmpFailError || error instanceof NotFoundError) setOutcome({ kind: 'conflict', current: await session.db.get(space, key) });
      else setOutcome({ kind: 'failed', error });
    }
  };
  const save = (e: Event) => {
    e.preventDefault();
    void conflictOr(async () => {
      const written = await session.db.compareAndSwap(space, key, opened.version, wholeObject(description, parseAttributes(text)));
      setOutcome({ kind: 'saved', version: written.version });
      object.reload();
    });
  };
  const remove = () => conflictOr(async () => {
    await session.db.del(space, key, { version: opened.version });
    location.hash = hrefOf({ page: 'objects', space });
  });

  return (
    <form class="card" onSubmit={save} aria-label="edit object">
      <p>Version <strong class="version">{opened.version}</strong>. Saving succeeds only if nobody changed the object since this version.</p>
      <label for="attributes">Attributes (JSON)</label>
      <textarea id="attributes" rows={12} spellcheck={false} value={text} onInput={(e) => setEdit({ of: opened, text: e.currentTarget.value })} />
      <OutcomeLine outcome={outcome} onReload={() => { setOutcome(undefined); object.reload(); }} />
      <p class="actions">
        <button type="submit">Save</button>
        {!confirming && <button type="button" class="danger" onClick={() => setConfirming(true)}>Delete…</button>}
      </p>
      {confirming && (
        <div class="confirm" role="alertdialog" aria-label="confirm deletion">
          <p>Delete <strong>{keyText}</strong> (version {opened.version}) from {space}? This cannot be undone.</p>
          <button type="button" class="danger" onClick={() => void remove()}>Delete it</button>
          <button type="button" onClick={() => setConfirming(false)} autofocus>Keep it</button>
        </div>
      )}
    </form>
  );
}

function OutcomeLine({ outcome, onReload }: { readonly outcome: Outcome | undefined; readonly onReload: () => void }) {
  if (!outcome) return null;
  if (outcome.kind === 'saved') return <p class="ok" role="status">Saved as version {outcome.version}.</p>;
  if (outcome.kind === 'failed') return <ErrorLine error={outcome.error} />;
  const { current } = outcome;
  return (
    <div class="error conflict" role="alert">
      <p>Conflict: {current ? `someone else changed this object meanwhile; it is now at version ${current.version}` : 'someone else deleted this object meanwhile'}. Nothing was written.</p>
      {current && <pre>{attributesText(current.attributes)}</pre>}
      <button type="button" onClick={onReload}>Load the current version (discards your edit)</button>
    </div>
  );
}
