/**
 * Runs every example against an in-process server and checks what each says it verified; then runs
 * the tutorial as a script, the way its README tells a reader to.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG, type RunningServer, startServer } from 'spacekv';
import { GENERATED_LINES, WINDOW_SIZE, main as tutorial } from '../hyperdex-tutorial.js';
import { main as stockWatch } from '../stock-watch.js';
import { main as phonebookSearch } from '../phonebook-search.js';
import { main as typedFriendlists } from '../typed-friendlists.js';
import { main as wrpmeConflicts } from '../wrpme-conflicts.js';

const TUTORIAL_SCRIPT = fileURLToPath(new URL('../hyperdex-tutorial.js', import.meta.url));

interface ScriptRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a script with node, asynchronously: the server it talks to runs in this process's event loop. */
function runScript(script: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ScriptRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('examples', () => {
  let server: RunningServer;
  let dataDir: string;
  let scratch: string;
  const quiet = { log: (): void => undefined };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'spacekv-examples-data-'));
    scratch = await mkdtemp(join(tmpdir(), 'spacekv-examples-files-'));
    server = await startServer({ ...DEFAULT_CONFIG, port: 0, dataDir, logLevel: 'silent' });
  });

  after(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
  });

  it('phonebook-search: searches, a sorted search, counts from an index, an index added online, group operations', async () => {
    const summary = await phonebookSearch(server.url, quiet.log);
    assert.deepEqual(summary.johns, ['jd', 'jsmith1']);
    assert.deepEqual(summary.phoneRange, ['jd', 'jsmith1', 'wbrown']);
    assert.deepEqual(summary.smOrJn, ['bjones', 'jsmith1', 'msmith']);
    assert.equal(summary.generatedCount, 40);
    assert.deepEqual(summary.topPhones, ['msmith', 'jd', 'wbrown']);
    assert.equal(summary.smithCount, 2);
    assert.equal(summary.smithPlan, 'index on last');
    assert.equal(summary.phonePlanBefore, 'scan');
    assert.equal(summary.phonePlanAfter, 'index on phone');
    assert.deepEqual(summary.renamed, { matched: 40, changed: 40 });
    assert.deepEqual(summary.removed, { matched: 40, changed: 40 });
  });

  it('hyperdex-tutorial: friends by loop(), the window over a generated file', async () => {
    const narration: string[] = [];
    const summary = await tutorial(server.url, { log: (line) => narration.push(line) });
    assert.equal(summary.space.name, 'friendlists');
    assert.deepEqual(summary.space.key, { name: 'username', type: 'string' });
    assert.deepEqual(summary.space.attributes.map((a) => `${a.type} ${a.name}`), ['string first', 'string last', 'set(string) friends']);
    assert.deepEqual(summary.jj, { first: 'John', last: 'Jackson', friends: [] });
    assert.deepEqual(summary.jjFriends, ['jsmith1']);
    assert.deepEqual(summary.jsmith1Friends, ['bjones1', 'jd', 'jj']);
    assert.deepEqual(summary.friends, ['Brian', 'John', 'John']);
    assert.ok(narration.includes("['Brian', 'John', 'John']"), narration.join('\n'));

    const w = summary.window;
    assert.equal(w.generated, true);
    assert.equal(w.lines, GENERATED_LINES);
    assert.equal(w.completed, w.lines);
    assert.equal(w.failures, 0);
    assert.equal(w.verified, w.lines);
    assert.equal(w.nothingBeyond, true);
    assert.ok(w.maxOutstanding >= 1 && w.maxOutstanding <= WINDOW_SIZE, `max outstanding ${w.maxOutstanding}`);
  });

  it('hyperdex-tutorial: the window over a given file (empty lines, CRLF, non-ASCII, no final newline)', async () => {
    const lines = Array.from({ length: 2500 }, (_, i) => (i % 97 === 0 ? '' : `row ${i} ✓ ${'x'.repeat(i % 40)}`));
    const file = join(scratch, 'given.txt');
    await writeFile(file, lines.slice(0, 10).join('\r\n') + '\r\n' + lines.slice(10).join('\n'));
    const summary = await tutorial(server.url, { ...quiet, file });
    assert.equal(summary.window.generated, false);
    assert.equal(summary.window.file, file);
    assert.equal(summary.window.lines, lines.length);
    assert.equal(summary.window.completed, lines.length);
    assert.equal(summary.window.verified, lines.length);
    assert.equal(summary.window.nothingBeyond, true);
    assert.deepEqual(summary.friends, ['Brian', 'John', 'John']);
  });

  it('hyperdex-tutorial: runs again over its own leftovers', async () => {
    const summary = await tutorial(server.url, { ...quiet, generatedLines: 10 });
    assert.deepEqual(summary.friends, ['Brian', 'John', 'John']);
    assert.equal(summary.window.verified, 10);
  });

  it('stock-watch: a filtered watch sees low stock as it happens, and resumes from its seq without a miss', async () => {
    const s = await stockWatch(server.url, quiet);
    assert.deepEqual(s.alerts, ['apples: 2', 'apples: 1']);
    assert.deepEqual(s.resumedAlerts, ['plums: 2', 'pears: 2']);
    for (let i = 1; i < s.seqs.length; i++) assert.ok((s.seqs[i] as number) > (s.seqs[i - 1] as number), `seqs increase: ${s.seqs.join(', ')}`);
  });

  it('typed-friendlists: the same friendlists through defineSpace', async () => {
    const summary = await typedFriendlists(server.url, quiet);
    assert.deepEqual(summary.jj, { first: 'John', last: 'Jackson', friends: [] });
    assert.deepEqual(summary.jsmith1Friends, ['bjones1', 'jd', 'jj']);
    assert.deepEqual(summary.friends, ['Brian', 'John', 'John']);
    assert.equal(summary.conditionFailed, 'cmp_fail');
    assert.deepEqual(summary.jdFriends, ['bjones1', 'jsmith1']);
    assert.deepEqual(summary.partial, { first: 'John' });
    assert.match(summary.drift, /friends/);
  });

  it('wrpme-conflicts: put/update/get_update/compare_and_swap with two clients', async () => {
    const narration: string[] = [];
    const s = await wrpmeConflicts(server.url, { log: (line) => narration.push(line) });

    assert.equal(s.putIfNotExist.created, true);
    assert.equal(s.putIfNotExist.errorClass, 'ExistsError');
    assert.equal(s.putIfNotExist.errorCode, 'exists');
    assert.equal(s.putIfNotExist.value, 'roadster');
    assert.equal(s.putIfNotExist.unchangedVersion, true);

    assert.equal(s.lastWins.bothSucceeded, true);
    assert.equal(s.lastWins.aRead, 504.5);

    assert.equal(s.getAndPut.previous, 504.5);
    assert.equal(s.getAndPut.previousOfAbsent, null);
    assert.equal(s.getAndPut.concurrentChained, true, `previous values ${s.getAndPut.concurrentPrevious.join(', ')}`);

    const cas = s.compareAndSwap;
    assert.ok(cas.bVersion > cas.readVersion);
    assert.equal(cas.staleErrorClass, 'CmpFailError');
    assert.equal(cas.staleErrorCode, 'cmp_fail');
    assert.equal(cas.staleErrorVersion, cas.bVersion, 'the cmp_fail carries the current version');
    assert.equal(cas.valueAfterStale, 'sedan');
    assert.ok(cas.retryVersion > cas.bVersion);
    assert.equal(cas.finalValue, 'coupe');

    // The narration: both clients speak, in order, and every step is numbered once.
    assert.deepEqual(s.steps.map((step) => step.n), s.steps.map((_, i) => i + 1));
    assert.deepEqual([...new Set(s.steps.map((step) => step.who))].sort(), ['A', 'B']);
    assert.ok(s.steps.some((step) => step.who === 'B' && step.outcome.startsWith('fails: ExistsError')));
    assert.ok(s.steps.some((step) => step.who === 'A' && step.outcome.startsWith('fails: CmpFailError')));
    assert.equal(narration.filter((line) => /^\s*\d+\. Client [AB] /.test(line)).length, s.steps.length);
  });

  it('hyperdex-tutorial as a script: `node examples/dist/hyperdex-tutorial.js <url>`', async () => {
    const run = await runScript(TUTORIAL_SCRIPT, [server.url]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^>>> sorted\(friends\)\n\['Brian', 'John', 'John'\]$/m);
    // Without a file it needs no word list (/usr/share/dict/words is absent on a default Debian): it writes its own.
    assert.match(run.stdout, /^>>> # load \S*spacekv-tutorial-\S*lines\.txt /m);
    assert.match(run.stdout, /tutorial complete/);
  });

  it('hyperdex-tutorial as a script: the URL from $SPACEKV_URL', async () => {
    const run = await runScript(TUTORIAL_SCRIPT, [], { ...process.env, SPACEKV_URL: server.url });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /\['Brian', 'John', 'John'\]/);
  });

  // Runs last: every example above has finished on this server.
  it('every example removed the spaces it created when it finished', async () => {
    const listed = await (await fetch(`${server.url}/v1/spaces`)).json() as { spaces: readonly { name: string }[] };
    assert.deepEqual(listed.spaces.map((space) => space.name), []);
  });
});
