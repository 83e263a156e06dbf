// Proves the web console works in a real browser (Debian's chromium, driven by playwright-core)
// against a real server, and with it that @spacekv/client runs inside a browser engine: every page
// talks to the server through the client over the browser's own WebSocket. Each test does what a
// user does (type, click, read the screen) and checks the answer against the server through a
// second client, which also plays the "other user" whose changes must show up or be respected.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { type SpacekvClient, connect } from '@spacekv/client';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { createToken, startAuthServer } from '../helpers/auth.js';
import { type PageDocument, type TestBrowser, browserMissing, launchBrowser } from '../helpers/browser.js';

// What the functions run inside the page see; this package compiles without the DOM library.
declare const document: PageDocument;
interface Canvas { toDataURL(): string }

const missing = browserMissing();
if (missing) console.log(`# ${missing}`);
/** Every wait for the page ends; past this the test fails saying what did not appear. */
const WAIT_MS = 15_000;

let server: TestServer;
let browser: TestBrowser;
let db: SpacekvClient;

before(async () => {
  if (missing) return;
  server = await startTestServer('console', { inMemory: true });
  db = await connect(server.url);
  browser = await launchBrowser();
});

after(async () => {
  if (missing) return;
  await browser.close();
  await db.close();
  await server.stop();
});

async function open(hash: string): Promise<Page> {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  (page as Page & { problems?: string[] }).problems = problems;
  await page.goto(`${server.url}/console${hash}`);
  return page;
}

/** Script errors and CSP violations the page reported (a CSP violation is logged as a console error). */
function problemsOf(page: Page): string[] {
  return (page as Page & { problems?: string[] }).problems ?? [];
}

test('the page and its assets are served with caching headers, a strict CSP, and under the JavaScript budget', { skip: missing }, async (t) => {
  const page = await fetch(`${server.url}/console`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('cache-control'), 'no-cache');
  const csp = page.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/, 'no inline or foreign script');
  const html = await page.text();
  const scripts = [...html.matchAll(/\/console\/assets\/([\w-]+\.(?:js|css))/g)].map((m) => m[1] as string);
  assert.equal(scripts.length, 2, 'one script and one stylesheet, named by their hash');
  let scriptGzipBytes = 0;
  for (const name of scripts) {
    const asset = await fetch(`${server.url}/console/assets/${name}`);
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const etag = asset.headers.get('etag') as string;
    const body = Buffer.from(await asset.arrayBuffer());
    if (name.endsWith('.js')) scriptGzipBytes += gzipSync(body).length;
    const again = await fetch(`${server.url}/console/assets/${name}`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304, 'a browser holding the asset is told to keep it');
  }
  t.diagnostic(`console JavaScript: ${(scriptGzipBytes / 1024).toFixed(1)} KB gzip`);
  assert.ok(scriptGzipBytes < 200 * 1024, `the page costs ${scriptGzipBytes} bytes of JavaScript (gzip); the budget is 200 KB`);
  assert.equal((await fetch(`${server.url}/console/assets/nothing-here.js`)).status, 404);
});

test('create a space from DSL; a DSL error shows under the text, pointing at its line and column', { skip: missing }, async () => {
  const page = await open('#/spaces');
  await page.locator('#schema').fill('space people key username\nattributes string name, strng team, int age');
  await page.getByRole('button', { name: 'Create' }).click();
  const problem = page.locator('#schema-problem .error');
  await problem.waitFor();
  const text = (await problem.textContent()) ?? '';
  assert.match(text, /invalid_schema/);
  assert.match(text, /line 2, column 25/, 'the parser names where the mistake is');
  assert.equal(await page.locator('#schema-problem pre.caret').textContent(), 'attributes string name, strng team, int age\n                        ^', 'the caret sits under the mistake');
  assert.equal((await db.listSpaces()).some((s) => s.name === 'people'), false, 'nothing was created');

  await page.locator('#schema').fill('space people key username\nattributes string name, string team, int age index age');
  await page.getByRole('button', { name: 'Create' }).click();
  const card = page.locator('section[aria-label="space people"]');
  await card.waitFor();
  assert.match((await card.locator('pre.dsl').textContent()) ?? '', /space people key string username attributes string name, string team, int age index age/);
  await page.waitForFunction(() => document.querySelector('[data-space="people"]')?.textContent === '0');
  assert.equal(await page.locator('#schema-problem .error').count(), 0, 'the old error is gone');
  assert.deepEqual((await db.describeSpace('people')).indexes, ['age']);
  assert.deepEqual(problemsOf(page), []);
  await page.close();
});

test('the keyboard alone creates a space: Tab reaches the schema box and the Create button, Enter submits', { skip: missing }, async () => {
  const page = await open('#/spaces');
  await page.locator('#schema').waitFor();
  const tabTo = async (isTarget: () => Promise<boolean>, what: string) => {
    for (let presses = 0; presses < 30; presses++) {
      await page.keyboard.press('Tab');
      if (await isTarget()) return;
    }
    assert.fail(`Tab never reached ${what}`);
  };
  await tabTo(() => page.evaluate(() => document.activeElement?.id === 'schema'), 'the schema box');
  await page.keyboard.type('space keyboard key k attributes string v');
  await tabTo(() => page.evaluate(() => document.activeElement?.textContent === 'Create'), 'the Create button');
  await page.keyboard.press('Enter');
  await page.locator('section[aria-label="space keyboard"]').waitFor();
  assert.equal((await db.describeSpace('keyboard')).name, 'keyboard');
  await page.close();
});

test('put and edit an object with compare-and-swap; a change by another client meanwhile is a conflict, not overwritten; delete asks first', { skip: missing }, async () => {
  await db.addSpace('space notes key id attributes string title, int stars');
  const first = await db.put('notes', 'n1', { title: 'draft', stars: 1 });
  const page = await open('#/space/notes/object/n1');
  await page.locator('.version').filter({ hasText: String(first.version) }).waitFor();
  await page.locator('#attributes').fill('{"title": "final", "stars": 5}');
  await page.getByRole('button', { name: 'Save' }).click();
  const saved = await page.getByRole('status').filter({ hasText: 'Saved as version' }).textContent();
  const now = await db.get('notes', 'n1');
  assert.deepEqual(now?.attributes, { title: 'final', stars: 5 });
  assert.equal(saved, `Saved as version ${now?.version}.`);

  // The page now holds the saved version; another client changes the object before the next save.
  await page.locator('.version').filter({ hasText: String(now?.version) }).waitFor();
  const theirs = await db.put('notes', 'n1', { title: 'theirs' });
  await page.locator('#attributes').fill('{"title": "mine", "stars": 2}');
  await page.getByRole('button', { name: 'Save' }).click();
  const conflict = page.locator('.conflict');
  await conflict.waitFor();
  assert.match((await conflict.textContent()) ?? '', new RegExp(`it is now at version ${theirs.version}.*"theirs"`, 's'));
  assert.deepEqual((await db.get('notes', 'n1'))?.attributes, { title: 'theirs', stars: 5 }, 'the other client\'s change stands');
  await page.getByRole('button', { name: /Load the current version/ }).click();
  await page.locator('.version').filter({ hasText: String(theirs.version) }).waitFor();
  assert.match(await page.locator('#attributes').inputValue(), /"theirs"/);

  await page.getByRole('button', { name: 'Delete…' }).click();
  await page.getByRole('button', { name: 'Keep it' }).click();
  assert.notEqual(await db.get('notes', 'n1'), null, 'keeping it keeps it');
  await page.getByRole('button', { name: 'Delete…' }).click();
  await page.getByRole('button', { name: 'Delete it' }).click();
  await page.waitForURL(/#\/space\/notes$/);
  assert.equal(await db.get('notes', 'n1'), null);
  assert.deepEqual(problemsOf(page), []);
  await page.close();
});

/** The keys the object browser shows once page `n` has loaded. */
async function keysOfPage(page: Page, n: number): Promise<string[]> {
  await page.waitForFunction((want) => {
    const region = document.querySelector('section[aria-label="objects"]');
    return region?.getAttribute('aria-busy') === 'false' && document.querySelector('.page-number')?.textContent === `Page ${want}`;
  }, n);
  return page.locator('table.objects td:first-child a').allTextContents();
}

test('page through 10,000 objects, one page at a time, each exactly once and in key order; a prefix narrows it', { skip: missing }, async () => {
  await db.addSpace('space many key k attributes int n');
  const total = 10_000;
  const keys = Array.from({ length: total }, (_, i) => `k${String(i).padStart(5, '0')}`);
  await Promise.all(keys.map((k, i) => db.put('many', k, { n: i })));

  const page = await open('#/space/many');
  assert.deepEqual(await keysOfPage(page, 1), keys.slice(0, 50), 'the first page, of the default size');
  await page.getByLabel('Per page').selectOption('500');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForFunction(() => document.querySelectorAll('table.objects tbody tr').length === 500);
  const seen: string[] = [];
  for (let n = 1; ; n++) {
    const shown = await keysOfPage(page, n);
    seen.push(...shown);
    const next = page.getByRole('button', { name: 'Next page' });
    if (shown.length === 0 || (await next.isDisabled())) break;
    await next.click();
  }
  assert.equal(seen.length, total, 'every object once');
  assert.deepEqual(seen, keys, 'in key order, none skipped or repeated');

  await page.getByRole('button', { name: 'Previous page' }).click();
  await page.waitForFunction(() => document.querySelector('table.objects td a')?.textContent === 'k09500');

  await page.getByLabel('Key prefix').fill('k0999');
  await page.getByRole('button', { name: 'Show' }).click();
  assert.deepEqual(await keysOfPage(page, 1), keys.slice(9_990));
  assert.equal(await page.getByRole('button', { name: 'Next page' }).isDisabled(), true);
  assert.deepEqual(problemsOf(page), []);
  await page.close();
});

test('the search builder runs a typed search and shows the plan: the index when one decides it, else a scan', { skip: missing }, async () => {
  await db.addSpace('space staff key id attributes string name, int age, string team index age');
  await Promise.all(Array.from({ length: 100 }, (_, i) => db.put('staff', `s${i}`, { name: `n${i}`, age: i % 50, team: i % 2 === 0 ? 'red' : 'blue' })));
  const page = await open('#/space/staff/search');
  await page.getByRole('button', { name: 'Add predicate' }).click();
  await page.getByLabel('attribute').selectOption('age');
  await page.getByLabel('operator').selectOption('gte');
  await page.getByLabel('value').fill('45');
  await page.getByRole('button', { name: 'Search' }).click();
  const plan = page.locator('.plan');
  await plan.waitFor();
  assert.match((await plan.textContent()) ?? '', /Plan: index — index on age/);
  const found = await page.locator('table.objects td:first-child a').allTextContents();
  const expected = Array.from({ length: 100 }, (_, i) => i).filter((i) => i % 50 >= 45).map((i) => `s${i}`);
  assert.deepEqual([...found].sort(), [...expected].sort());

  await page.getByLabel('attribute').selectOption('team');
  await page.getByLabel('operator').selectOption('eq');
  await page.getByLabel('value').fill('blue');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('.plan').filter({ hasText: 'scan' }).waitFor();
  const blue = await page.locator('table.objects td:first-child a').allTextContents();
  assert.ok(blue.length > 0 && blue.every((k) => Number(k.slice(1)) % 2 === 1), 'only the blue team');
  assert.deepEqual(problemsOf(page), []);
  await page.close();
});

test('changes made by another client arrive live, filtered; after a pause the stream resumes from the last seq without a gap', { skip: missing }, async () => {
  await db.addSpace('space feed key k attributes int n');
  const page = await open('#/changes');
  await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
  const a = await db.put('feed', 'a1', { n: 1 });
  await page.locator(`tr[data-seq="${a.version}"]`).waitFor();

  // Filter: only space feed, prefix "b". The earlier write to a2 must not show when b1 does.
  await page.getByLabel('Space').selectOption('feed');
  await page.getByLabel('Key prefix').fill('b');
  await page.getByRole('button', { name: 'Watch from now' }).click();
  await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
  const a2 = await db.put('feed', 'a2', { n: 2 });
  const b1 = await db.put('feed', 'b1', { n: 3 });
  await page.locator(`tr[data-seq="${b1.version}"]`).waitFor();
  assert.equal(await page.locator(`tr[data-seq="${a2.version}"]`).count(), 0, 'filtered out by prefix');

  await page.getByRole('button', { name: 'Pause' }).click();
  assert.equal(await page.getByLabel('Resume after seq').inputValue(), String(b1.version));
  const whilePaused = [await db.put('feed', 'b2', { n: 4 }), await db.mutate('feed', 'b1', [{ add: { n: 1 } }])];
  await page.getByRole('button', { name: 'Resume' }).click();
  for (const w of whilePaused) await page.locator(`tr[data-seq="${w.version}"]`).waitFor();
  const seqs = (await page.locator('table.changes tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq')))));
  assert.deepEqual(seqs, [whilePaused[1]?.version, whilePaused[0]?.version, b1.version], 'newest first, each once, nothing missed across the pause');
  assert.deepEqual(problemsOf(page), []);
  await page.close();
});

test('the metrics charts move under load', { skip: missing }, async () => {
  await db.addSpace('space load key k attributes int n');
  const page = await open('#/metrics');
  // A first point exists once two scrapes have been made.
  await page.waitForFunction(() => !(document.querySelector('[data-metric="throughput"]')?.textContent ?? '–').startsWith('–'));
  const canvas = page.locator('figure[aria-label="Throughput"] canvas');
  const before = await canvas.evaluate((c) => (c as unknown as Canvas).toDataURL());
  // Bounded load: rounds of 500 writes until the page reports at least 100 ops/s, at most 40 rounds.
  let rounds = 0;
  const busy = async () => {
    const text = (await page.locator('[data-metric="throughput"]').textContent()) ?? '';
    return Number.parseFloat(text) >= 100;
  };
  while (rounds < 40 && !(await busy())) {
    await Promise.all(Array.from({ length: 500 }, (_, i) => db.put('load', `k${rounds}-${i}`, { n: i })));
    rounds++;
  }
  assert.ok(await busy() || (await page.waitForFunction(() => Number.parseFloat(document.querySelector('[data-metric="throughput"]')?.textContent ?? '0') >= 100).then(() => true)));
  assert.notEqual(await canvas.evaluate((c) => (c as unknown as Canvas).toDataURL()), before, 'the throughput chart was redrawn with the load');
  const batch = Number.parseFloat((await page.locator('[data-metric="batch"]').textContent()) ?? '');
  assert.ok(batch >= 1, `writes per commit shown (${batch})`);
  // "<event loop> / <writer> %": on SQLite both threads exist, so both are shown as shares of the time (the last
  // interval may fall after the load, so either may be 0), never '–' and never more than all of it.
  const [loopBusy, writerBusy] = ((await page.locator('[data-metric="busy"]').textContent()) ?? '').split('/').map((part) => Number.parseFloat(part));
  assert.ok(loopBusy !== undefined && loopBusy >= 0 && loopBusy <= 100, `event loop busy shown (${loopBusy} %)`);
  assert.ok(writerBusy !== undefined && writerBusy >= 0 && writerBusy <= 100, `writer busy shown (${writerBusy} %)`);
  assert.deepEqual(problemsOf(page), []);
  await page.close();
});

test('health shows the server can commit and its background tasks', { skip: missing }, async () => {
  const page = await open('#/health');
  await page.locator('[data-health="ok"]').waitFor();
  const expected = (await (await fetch(`${server.url}/healthz`)).json()) as { parts?: Record<string, unknown> };
  const shown = await page.locator('section.card h2').allTextContents();
  assert.deepEqual(shown, Object.keys(expected.parts ?? {}));
  assert.deepEqual(problemsOf(page), []);
  await page.close();
});

test('with tokens required, the console shows nothing without a token, refuses a wrong one, and with one sees only what it grants', { skip: missing }, async () => {
  const guarded = await startAuthServer('console-auth', { inMemory: true });
  const admin = await connect(guarded.url, { token: (await createToken(guarded.url, {})).token });
  const page = await browser.context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  try {
    await admin.addSpace('space vault key k attributes string v');
    await admin.put('vault', 'a', { v: 'hidden-value' });
    assert.equal((await fetch(`${guarded.url}/console`)).status, 200, 'the page itself holds no data: served without a token');
    await page.goto(`${guarded.url}/console#/space/vault/object/a`);
    await page.getByLabel('Token').waitFor();
    assert.doesNotMatch(await page.content(), /hidden-value|vault/, 'nothing of the data before logging in');

    await page.getByLabel('Token').fill('not-a-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    assert.match((await page.getByRole('alert').textContent()) ?? '', /unauthenticated/);

    const readOnly = await createToken(guarded.url, { ops: ['read'], spaces: ['vault'] });
    await page.getByLabel('Token').fill(readOnly.token);
    await page.getByRole('button', { name: 'Log in' }).click();
    // The editor is drawn before the object arrives: wait for its text, then check it.
    await page.locator('#attributes').waitFor();
    await page.waitForFunction(() => (document.querySelector('#attributes') as unknown as { value: string } | null)?.value.includes('hidden-value')).catch(() => {});
    assert.match(await page.locator('#attributes').inputValue(), /hidden-value/, 'the token reads the space');
    await page.locator('#attributes').fill('{"v": "changed"}');
    await page.getByRole('button', { name: 'Save' }).click();
    assert.match((await page.getByRole('alert').textContent()) ?? '', /forbidden/, 'a read-only token cannot write');
    assert.equal((await admin.get('vault', 'a'))?.attributes['v'], 'hidden-value');
  } finally {
    await page.close();
    await admin.close();
    await guarded.stop();
  }
});
