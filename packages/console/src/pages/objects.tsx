/**
 * The object browser of one space: pages of objects in key order from a start key or within a
 * prefix, forward by the server's cursor and back by the cursors already seen, so a space of any
 * size is read one page at a time and never whole. Also: open a key, and create an object.
 */
import { CONSOLE_LIMITS } from '@spacekv/core';
import type { SearchPage as Page, SpaceDescription } from '@spacekv/client';
import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { hrefOf } from '../route.js';
import { useSpace } from '../space-hook.js';
import { ObjectTable } from '../object-table.js';
import { Empty, ErrorLine, useLoad } from '../ui.js';
import { keyText, parseAttributes, parseKey } from '../values.js';

/** Objects per page the user may choose: a screenful by default, more to move through a big space faster. */
const PAGE_SIZES = CONSOLE_LIMITS.browserPageObjectsChoices;

interface Query { readonly prefix: string; readonly start: string; readonly limit: number }

export function ObjectsPage({ session, space }: { readonly session: Session; readonly space: string }) {
  const description = useSpace(session, space);
  return (
    <>
      <h1><a href="#/spaces">Spaces</a> / {space}</h1>
      <ErrorLine error={description.error} />
      {description.value && <Browser session={session} description={description.value} />}
    </>
  );
}

function Browser({ session, description }: { readonly session: Session; readonly description: SpaceDescription }) {
  const space = description.name;
  const [query, setQuery] = useState<Query>({ prefix: '', start: '', limit: PAGE_SIZES[0] as number });
  const [draft, setDraft] = useState<Query>(query);
  /** Cursors of the pages before the one shown (undefined: the first page). */
  const [trail, setTrail] = useState<readonly (string | undefined)[]>([]);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const page = useLoad<Page>(async () => {
    const start = query.start === '' ? undefined : parseKey(description, query.start);
    return session.db.listPage(space, { limit: query.limit, ...(query.prefix ? { prefix: query.prefix } : {}), ...(start !== undefined ? { start } : {}), ...(cursor ? { cursor } : {}) });
  }, [session, description, query, cursor]);

  const apply = (e: Event) => {
    e.preventDefault();
    setTrail([]);
    setCursor(undefined);
    setQuery(draft);
  };
  const next = () => {
    setTrail([...trail, cursor]);
    setCursor(page.value?.cursor);
  };
  const previous = () => {
    setCursor(trail[trail.length - 1]);
    setTrail(trail.slice(0, -1));
  };

  return (
    <>
      <p class="actions"><a class="button" href={hrefOf({ page: 'search', space })}>Search {space}</a></p>
      <form class="toolbar" onSubmit={apply} aria-label="filter objects">
        <label>Key prefix <input name="prefix" value={draft.prefix} onInput={(e) => setDraft({ ...draft, prefix: e.currentTarget.value })} /></label>
        <label>From key <input name="start" value={draft.start} onInput={(e) => setDraft({ ...draft, start: e.currentTarget.value })} /></label>
        <label>Per page <select name="limit" value={draft.limit} onChange={(e) => setDraft({ ...draft, limit: Number(e.currentTarget.value) })}>
          {PAGE_SIZES.map((n) => <option value={n}>{n}</option>)}
        </select></label>
        <button type="submit">Show</button>
      </form>
      <section aria-label="objects" aria-busy={page.loading}>
        <ErrorLine error={page.error} />
        {page.value && page.value.objects.length === 0 && !page.loading && <Empty>No objects {query.prefix || query.start ? 'match these bounds' : 'in this space yet'}.</Empty>}
        {page.value && page.value.objects.length > 0 && <ObjectTable space={space} objects={page.value.objects} />}
        <nav class="pager" aria-label="pages">
          <button onClick={previous} disabled={trail.length === 0 || page.loading}>Previous page</button>
          <span class="page-number">Page {trail.length + 1}</span>
          <button onClick={next} disabled={!page.value?.cursor || page.loading}>Next page</button>
        </nav>
      </section>
      <NewObject session={session} description={description} onOpen={(key) => { location.hash = hrefOf({ page: 'object', space, key }); }} />
    </>
  );
}

function NewObject({ session, description, onOpen }: { readonly session: Session; readonly description: SpaceDescription; readonly onOpen: (key: string) => void }) {
  const space = description.name;
  const [key, setKey] = useState('');
  const [text, setText] = useState('{}');
  const [error, setError] = useState<unknown>();
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const written = await session.db.putIfNotExist(space, parseKey(description, key), parseAttributes(text));
      onOpen(keyText(written.key));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="card" onSubmit={create} aria-label="new object">
      <h2>Open or create an object</h2>
      <label>Key <input name="new-key" value={key} onInput={(e) => setKey(e.currentTarget.value)} /></label>
      <p><a class="button" href={key ? hrefOf({ page: 'object', space, key }) : undefined} aria-disabled={key === ''}>Open</a></p>
      <label for="new-attributes">Attributes (JSON)</label>
      <textarea id="new-attributes" rows={4} spellcheck={false} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <ErrorLine error={error} />
      <button type="submit" disabled={key === ''}>Create (fails if the key exists)</button>
    </form>
  );
}
