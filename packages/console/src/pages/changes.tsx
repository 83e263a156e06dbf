/**
 * The live change stream: committed changes as they happen, filtered by space, key prefix and
 * operation; pause and resume from a seq (the last one shown, or any other still in the log), so
 * nothing is missed across a pause. Only the newest changes stay on screen.
 */
import { type ChangeEvent, type Watch, type WatchOptions } from '@spacekv/client';
import { CONSOLE_LIMITS } from '@spacekv/core';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { Empty, ErrorLine, useLoad } from '../ui.js';
import { preview } from '../values.js';

interface Filters { readonly space: string; readonly prefix: string; readonly ops: string }

function watchOptions(filters: Filters, since: number | undefined): WatchOptions {
  const ops = filters.ops.split(',').map((o) => o.trim()).filter((o) => o !== '');
  return {
    ...(filters.space ? { space: filters.space } : {}),
    ...(filters.space && filters.prefix ? { prefix: filters.prefix } : {}),
    ...(ops.length > 0 ? { ops } : {}),
    ...(since !== undefined ? { since } : {}),
  };
}

export function ChangesPage({ session }: { readonly session: Session }) {
  const spaces = useLoad(() => session.db.listSpaces(), [session]);
  const [filters, setFilters] = useState<Filters>({ space: '', prefix: '', ops: '' });
  const [changes, setChanges] = useState<readonly ChangeEvent[]>([]);
  const [running, setRunning] = useState(false);
  // Live once the server has the watch: a change committed before then is not "from now".
  const [live, setLive] = useState(false);
  const [error, setError] = useState<unknown>();
  const [resumeAt, setResumeAt] = useState('');
  const watch = useRef<Watch | undefined>(undefined);
  const lastSeq = useRef<number | undefined>(undefined);

  const stop = () => {
    void watch.current?.return();
    watch.current = undefined;
    setRunning(false);
    setLive(false);
    if (lastSeq.current !== undefined) setResumeAt(String(lastSeq.current));
  };
  const start = (since: number | undefined) => {
    stop();
    const w = session.db.watch(watchOptions(filters, since));
    watch.current = w;
    setRunning(true);
    setError(undefined);
    w.started.then(() => { if (watch.current === w) setLive(true); }, () => {});
    void consume(w);
  };
  const consume = async (w: Watch) => {
    let pending: ChangeEvent[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const draw = () => {
      timer = undefined;
      const arrived = pending;
      pending = [];
      setChanges((shown) => [...arrived.reverse(), ...shown].slice(0, CONSOLE_LIMITS.changesShownMax));
    };
    try {
      for await (const change of w) {
        if (watch.current !== w) break;
        lastSeq.current = change.seq;
        pending.push(change);
        timer ??= setTimeout(draw, CONSOLE_LIMITS.changesDrawIntervalMs);
      }
    } catch (err) {
      if (watch.current === w) { setError(err); setRunning(false); }
    }
  };
  useEffect(() => { start(undefined); return () => { void watch.current?.return(); watch.current = undefined; }; }, [session]);

  const apply = (e: Event) => { e.preventDefault(); setChanges([]); start(undefined); };
  const resume = () => {
    const seq = resumeAt.trim() === '' ? lastSeq.current : Number(resumeAt);
    if (seq !== undefined && !Number.isSafeInteger(seq)) return setError(new Error(`'${resumeAt}' is not a seq`));
    start(seq);
  };

  return (
    <>
      <h1>Changes</h1>
      <form class="toolbar" onSubmit={apply} aria-label="change filters">
        <label>Space <select value={filters.space} onChange={(e) => setFilters({ ...filters, space: e.currentTarget.value })}>
          <option value="">every space</option>
          {spaces.value?.map((s) => <option value={s.name}>{s.name}</option>)}
        </select></label>
        <label>Key prefix <input value={filters.prefix} disabled={!filters.space} onInput={(e) => setFilters({ ...filters, prefix: e.currentTarget.value })} /></label>
        <label>Operations <input value={filters.ops} placeholder="put, mutate, del" onInput={(e) => setFilters({ ...filters, ops: e.currentTarget.value })} /></label>
        <button type="submit">Watch from now</button>
      </form>
      <div class="toolbar" aria-label="stream">
        <span class="status" role="status">{running ? (live ? 'Live' : 'Starting') : 'Paused'}{lastSeq.current !== undefined && ` · last seq ${lastSeq.current}`}</span>
        {running ? <button onClick={stop}>Pause</button> : (
          <>
            <label>Resume after seq <input name="resume-seq" inputMode="numeric" value={resumeAt} onInput={(e) => setResumeAt(e.currentTarget.value)} /></label>
            <button onClick={resume}>Resume</button>
          </>
        )}
      </div>
      <ErrorLine error={error} />
      {changes.length === 0 ? <Empty>No changes yet{running ? '; they appear here as they are committed' : ''}.</Empty> : (
        <div class="table-wrap">
          <table class="changes">
            <thead><tr><th scope="col">seq</th><th scope="col">time</th><th scope="col">space</th><th scope="col">op</th><th scope="col">key</th><th scope="col">attributes</th></tr></thead>
            <tbody>{changes.map((c) => (
              <tr data-seq={c.seq}>
                <td>{c.seq}</td><td>{new Date(c.committed_at).toLocaleTimeString()}</td><td>{c.space}</td><td>{c.op}</td><td>{String(c.key)}</td>
                <td class="preview">{c.attributes === null ? '—' : preview(c.attributes)}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}
    </>
  );
}
