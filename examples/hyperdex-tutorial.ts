/**
 * HyperDex's "Asynchronous Operations" tutorial, end to end, against a spacekv server.
 *
 * Every HyperDex `async_*` call is an ordinary spacekv call whose promise is not awaited at once;
 * `d.wait()` is `await d`; `c.loop()` is `client.loop()`; the 1024-wide window is `client.window`.
 *
 *     npm run build
 *     npx spacekv serve --data /tmp/spacekv-data        # in another terminal
 *     node examples/dist/hyperdex-tutorial.js [url] [file-of-lines]
 *
 * The URL defaults to $SPACEKV_URL, then http://127.0.0.1:7640. Without a file of lines, the window
 * part writes a few thousand generated lines to a temporary directory and loads those.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type SpaceDescription, type SpacekvClient, connect } from '@spacekv/client';
import { dropSpace, isSpaceObject, objectOf, pyList, runIfMain, serverUrl, stringOf, stringsOf } from './common.js';

/** The space of the tutorial, in the tutorial's own DSL text. */
export const FRIENDLISTS_DSL = `
space friendlists
key username
attributes
   string first,
   string last,
   set(string) friends
`;

/** Where the window pattern loads the file: one object per line, keyed by line number. */
export const LINES_DSL = `
space tutorial_lines
key int lineno
attributes
   string text
`;

export const WINDOW_SIZE = 1024;
export const GENERATED_LINES = 5000;

export interface TutorialOptions {
  /** A file of lines for the window pattern; default: a generated one in a temporary directory. */
  readonly file?: string;
  /** How many lines to generate when no file is given. */
  readonly generatedLines?: number;
  /** Where the narration goes; default console.log. */
  readonly log?: (line: string) => void;
}

export interface WindowSummary {
  readonly file: string;
  readonly generated: boolean;
  /** Lines read from the file. */
  readonly lines: number;
  /** Puts that the window saw succeed. */
  readonly completed: number;
  readonly failures: number;
  /** The most operations the client had in flight while loading: at most WINDOW_SIZE. */
  readonly maxOutstanding: number;
  /** Lines read back (with a hand-written loop() window, as the tutorial writes it) holding their text. */
  readonly verified: number;
  /** Whether the key after the last line is absent, i.e. nothing beyond the file was stored. */
  readonly nothingBeyond: boolean;
}

export interface TutorialSummary {
  readonly url: string;
  readonly space: SpaceDescription;
  /** jj as the asynchronous get saw it: `{ first: 'John', last: 'Jackson', friends: [] }`. */
  readonly jj: Readonly<Record<string, unknown>>;
  /** jj's friends after the first bidirectional set_add. */
  readonly jjFriends: readonly string[];
  /** jsmith1's friends after all the set_adds, sorted. */
  readonly jsmith1Friends: readonly string[];
  /** The friends' first names fetched with loop(), sorted: `['Brian', 'John', 'John']`. */
  readonly friends: readonly string[];
  readonly window: WindowSummary;
}

export async function main(url: string, options: TutorialOptions = {}): Promise<TutorialSummary> {
  const log = options.log ?? ((line: string) => console.log(line));
  const c = await connect(url);
  try {
    // ---- Setup ------------------------------------------------------------------------------
    if (await dropSpace(c, 'friendlists')) log('(removed the friendlists space left by an earlier run)');
    const space = await c.addSpace(FRIENDLISTS_DSL);
    log(`>>> c.add_space('space friendlists ...')`);
    log(`space ${space.name}, key ${space.key.name}, attributes ${space.attributes.map((a) => `${a.type} ${a.name}`).join(', ')}`);

    log(`>>> c.put('friendlists', 'jsmith1', {'first': 'John', 'last': 'Smith'})`);
    log(String((await c.put('friendlists', 'jsmith1', { first: 'John', last: 'Smith' })).created));
    log(`>>> c.put('friendlists', 'jd', {'first': 'John', 'last': 'Doe'})`);
    log(String((await c.put('friendlists', 'jd', { first: 'John', last: 'Doe' })).created));
    log(`>>> c.put('friendlists', 'bjones1', {'first': 'Brian', 'last': 'Jones'})`);
    log(String((await c.put('friendlists', 'bjones1', { first: 'Brian', last: 'Jones' })).created));

    // ---- Asynchronous operations: issue now, wait later -----------------------------------------
    log(`>>> d = c.async_put('friendlists', 'jj', {'first': 'John', 'last': 'Jackson'})`);
    const d = c.put('friendlists', 'jj', { first: 'John', last: 'Jackson' });
    log(`>>> # do some work (${c.outstanding} operation outstanding meanwhile)`);
    const work = doSomeWork();
    log(`>>> d.wait()`);
    log(String((await d).created));
    log(`>>> d = c.async_get('friendlists', 'jj')`);
    const g = c.get('friendlists', 'jj');
    log(`>>> d.wait()`);
    const jj = objectOf(await g, 'jj').attributes;
    log(JSON.stringify(jj));
    log(`(the client computed ${work} while the put was outstanding)`);

    // Bidirectional friendship between John Smith and John Jackson: two operations in flight at once.
    log(`>>> d1 = c.async_set_add('friendlists', 'jj', {'friends': 'jsmith1'})`);
    const d1 = c.setAdd('friendlists', 'jj', { friends: 'jsmith1' });
    log(`>>> d2 = c.async_set_add('friendlists', 'jsmith1', {'friends': 'jj'})`);
    const d2 = c.setAdd('friendlists', 'jsmith1', { friends: 'jj' });
    log(`>>> d1.wait(); d2.wait()`);
    const jjFriends = stringsOf((await d1).attributes['friends'], "jj's friends");
    await d2;
    log(`jj's friends: ${pyList(jjFriends)}`);

    // Four more at once; the order of the waits does not matter, so wait in reverse.
    log(`>>> d1..d4 = async_set_add x4 (jsmith1 <-> bjones1, jsmith1 <-> jd); waited d4, d3, d2, d1`);
    const e1 = c.setAdd('friendlists', 'jsmith1', { friends: 'bjones1' });
    const e2 = c.setAdd('friendlists', 'bjones1', { friends: 'jsmith1' });
    const e3 = c.setAdd('friendlists', 'jsmith1', { friends: 'jd' });
    const e4 = c.setAdd('friendlists', 'jd', { friends: 'jsmith1' });
    for (const e of [e4, e3, e2, e1]) await e;

    // ---- loop(): wait for whichever operation completes next -----------------------------------
    log(`>>> friends_usernames = c.get('friendlists', 'jsmith1')['friends']`);
    const friendsUsernames = stringsOf(objectOf(await c.get('friendlists', 'jsmith1'), 'jsmith1').attributes['friends'], "jsmith1's friends");
    log(pyList(friendsUsernames));
    const outstanding = new Set<Promise<unknown>>();
    for (const username of friendsUsernames) {
      outstanding.add(c.get('friendlists', username));
    }
    const friends: string[] = [];
    while (outstanding.size > 0) {
      const done = await c.loop();
      if (!outstanding.delete(done.handle)) throw new Error('loop() handed out an operation this loop did not issue');
      if (!done.ok) throw done.error; // d.wait() raises the operation's error
      const friend = stringOf(objectOf(done.value, 'a friend').attributes['first'], "a friend's first name");
      friends.push(friend);
    }
    friends.sort();
    log(`>>> sorted(friends)`);
    log(pyList(friends));

    // ---- A common window pattern -------------------------------------------------------------------
    const windowSummary = await loadFile(c, options, log);

    // The tutorial's closing "hack to clean up": remove what it created.
    await c.rmSpace('friendlists');
    await c.rmSpace('tutorial_lines');

    return { url, space, jj, jjFriends, jsmith1Friends: [...friendsUsernames].sort(), friends, window: windowSummary };
  } finally {
    await c.close();
  }
}

/** Stand-in for "do some work": computed while the put is outstanding (it leaves when this tick ends). */
function doSomeWork(): number {
  let sum = 0;
  for (let i = 1; i <= 1000; i++) sum += i * i;
  return sum;
}

/** Load a file of lines with at most WINDOW_SIZE puts in flight, then read every line back. */
async function loadFile(c: SpacekvClient, options: TutorialOptions, log: (line: string) => void): Promise<WindowSummary> {
  await dropSpace(c, 'tutorial_lines');
  await c.addSpace(LINES_DSL);
  let tempDir: string | undefined;
  let file = options.file;
  if (file === undefined) {
    tempDir = await mkdtemp(join(tmpdir(), 'spacekv-tutorial-'));
    file = join(tempDir, 'lines.txt');
    await writeFile(file, generateLines(options.generatedLines ?? GENERATED_LINES));
  }
  try {
    log(`>>> # load ${file} with a window of ${WINDOW_SIZE} outstanding puts`);
    let lines = 0;
    let maxOutstanding = 0;
    // `for line in file: ... parse line and issue put`; client.window does the outstanding bookkeeping.
    const result = await c.window(readLines(file), WINDOW_SIZE, (line, index) => {
      lines++;
      const put = c.put('tutorial_lines', index + 1, { text: line });
      maxOutstanding = Math.max(maxOutstanding, c.outstanding);
      return put;
    });
    log(`loaded ${result.completed} of ${lines} lines, ${result.failures.length} failures, at most ${maxOutstanding} in flight`);

    const verified = await verifyFile(c, file);
    const nothingBeyond = (await c.get('tutorial_lines', lines + 1)) === null;
    log(`read back ${verified} of ${lines} lines intact; nothing stored past line ${lines}: ${nothingBeyond}`);
    return { file, generated: tempDir !== undefined, lines, completed: result.completed, failures: result.failures.length, maxOutstanding, verified, nothingBeyond };
  } finally {
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
  }
}

/**
 * Read every line back with the tutorial's window written out by hand: at most WINDOW_SIZE gets
 * outstanding, each completion taken from `loop()` and checked against the line it asked for.
 */
async function verifyFile(c: SpacekvClient, file: string): Promise<number> {
  const expected = new Map<Promise<unknown>, string>();
  let outstanding = 0;
  let verified = 0;
  const waitOne = async (): Promise<void> => {
    const d = await c.loop();
    const text = expected.get(d.handle);
    if (text === undefined) throw new Error('loop() handed out an operation the verification did not issue');
    expected.delete(d.handle);
    outstanding -= 1;
    if (!d.ok) throw d.error;
    if (isSpaceObject(d.value) && d.value.attributes['text'] === text) verified++;
  };
  let lineno = 0;
  for await (const line of readLines(file)) {
    while (outstanding >= WINDOW_SIZE) await waitOne();
    lineno++;
    expected.set(c.get('tutorial_lines', lineno), line);
    outstanding += 1;
  }
  // flush remaining
  while (outstanding > 0) await waitOne();
  return verified;
}

function readLines(file: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
}

/** Lines of varied shape: plain text, non-ASCII, and the odd empty line. */
export function generateLines(count: number): string {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'épsilon', 'ζήτα', 'eta', '🐝 theta'];
  const lines: string[] = [];
  for (let i = 1; i <= count; i++) {
    lines.push(i % 1000 === 0 ? '' : `line ${i}: ${words[i % words.length]} ${(i * 7919) % 10007}`);
  }
  return `${lines.join('\n')}\n`;
}

runIfMain(import.meta.url, async () => {
  const summary = await main(serverUrl(), { ...(process.argv[3] === undefined ? {} : { file: process.argv[3] }) });
  const ok = summary.window.verified === summary.window.lines && summary.window.nothingBeyond;
  console.log(ok ? 'tutorial complete' : 'tutorial finished, but the loaded file did not read back intact');
  if (!ok) process.exitCode = 1;
});
