/**
 * Spaces: each with its schema in the DSL, its indexes (and how far the latest online build of each
 * has come), its object count, and links to browse and search it; and a box to create a space from
 * DSL text, where the parser's error appears under the text, pointing at the line and column.
 */
import { DEFAULT_LIMITS, parseSchemaJson, schemaToDsl } from '@spacekv/core';
import type { SpaceDescription } from '@spacekv/client';
import { useEffect, useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { hrefOf } from '../route.js';
import { Empty, ErrorLine, describeError, useLoad } from '../ui.js';
import { parseMetrics } from '../prometheus.js';

export function SpacesPage({ session }: { readonly session: Session }) {
  const spaces = useLoad(() => session.db.listSpaces(), [session]);
  const progress = useLoad(() => indexProgress(session), [session, spaces.value]);
  return (
    <>
      <h1>Spaces</h1>
      <ErrorLine error={spaces.error} />
      <OpenSpace />
      {spaces.value?.length === 0 && <Empty>No spaces yet. Create the first one below.</Empty>}
      <div class="cards">
        {spaces.value?.map((space) => <SpaceCard session={session} space={space} progress={progress.value} />)}
      </div>
      <CreateSpace session={session} onCreated={spaces.reload} />
    </>
  );
}

/** Objects indexed so far by the latest build of each index, by `space/attribute`; absent when /metrics is not readable. */
async function indexProgress(session: Session): Promise<ReadonlyMap<string, number>> {
  try {
    const samples = parseMetrics(await session.fetchText('/metrics'));
    return new Map(samples.filter((s) => s.name === 'spacekv_index_build_objects').map((s) => [`${s.labels.space}/${s.labels.attribute}`, s.value]));
  } catch {
    return new Map();
  }
}

function SpaceCard({ session, space, progress }: { readonly session: Session; readonly space: SpaceDescription; readonly progress: ReadonlyMap<string, number> | undefined }) {
  const [count, setCount] = useState<string>('counting…');
  useEffect(() => {
    let current = true;
    session.db.count(space.name).then((n) => current && setCount(n.toLocaleString('en'))).catch((e: unknown) => current && setCount(describeError(e)));
    return () => { current = false; };
  }, [session, space.name]);
  const dsl = schemaToDsl(parseSchemaJson(space, DEFAULT_LIMITS));
  return (
    <section class="card space" aria-label={`space ${space.name}`}>
      <h2>{space.name}</h2>
      <p><span class="count" data-space={space.name}>{count}</span> objects</p>
      <pre class="dsl">{dsl}</pre>
      <p>Indexes: {(space.indexes ?? []).length === 0 ? 'none' : (space.indexes ?? []).map((a) => {
        const built = progress?.get(`${space.name}/${a}`);
        return <span class="tag">{a}{built !== undefined && ` (${built.toLocaleString('en')} indexed by the latest build)`}</span>;
      })}</p>
      <p class="actions">
        <a class="button" href={hrefOf({ page: 'objects', space: space.name })}>Browse</a>
        <a class="button" href={hrefOf({ page: 'search', space: space.name })}>Search</a>
      </p>
    </section>
  );
}

/** Go to a space by name: quicker than the list among many spaces, and the way in with a token that may not list them all. */
function OpenSpace() {
  const [name, setName] = useState('');
  return (
    <form class="toolbar" aria-label="open a space" onSubmit={(e) => { e.preventDefault(); if (name.trim()) location.hash = hrefOf({ page: 'objects', space: name.trim() }); }}>
      <label>Space name <input name="space-name" value={name} onInput={(e) => setName(e.currentTarget.value)} /></label>
      <button type="submit" disabled={name.trim() === ''}>Open</button>
    </form>
  );
}

interface Position { readonly line: number; readonly column: number }

function CreateSpace({ session, onCreated }: { readonly session: Session; readonly onCreated: () => void }) {
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<{ message: string; position?: Position } | undefined>();
  const [busy, setBusy] = useState(false);
  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await session.db.addSpace(text);
      setProblem(undefined);
      setText('');
      onCreated();
    } catch (error) {
      const position = (error as { details?: { position?: Position } }).details?.position;
      setProblem({ message: describeError(error), ...(position ? { position } : {}) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card" onSubmit={create} aria-label="create a space">
      <h2>Create a space</h2>
      <label for="schema">Schema (DSL)</label>
      <textarea id="schema" rows={3} spellcheck={false} placeholder="space people key username attributes string name, int age index age"
        value={text} onInput={(e) => setText(e.currentTarget.value)} aria-describedby="schema-problem" />
      <div id="schema-problem" class="schema-problem" aria-live="polite">
        {problem && <SchemaProblem text={text} problem={problem} />}
      </div>
      <button type="submit" disabled={busy || text.trim() === ''}>Create</button>
    </form>
  );
}

/** The error, and the offending line with a caret under the column the parser names. */
function SchemaProblem({ text, problem }: { readonly text: string; readonly problem: { message: string; position?: Position } }) {
  const { position } = problem;
  const line = position ? text.split('\n')[position.line - 1] : undefined;
  return (
    <div class="error" role="alert">
      {line !== undefined && position && <pre class="caret">{line}{'\n'}{' '.repeat(Math.max(position.column - 1, 0))}^</pre>}
      <p>{problem.message}</p>
    </div>
  );
}
