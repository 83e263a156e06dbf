// Proves authentication survives garbage: fast-check sends random and malformed tokens (random
// text, `skv1_` with random bytes, random JSON shaped like a macaroon, a valid token truncated or
// with a character changed, huge ones, odd Authorization headers) to every kind of endpoint of a
// server that requires tokens, over REST and in WebSocket hellos. Every answer is a catalogue error
// (401: the failure bound is raised so none is rate limited), never a success, never a 5xx; the
// server keeps running and a canary object is untouched. The seed is printed on failure;
// SPACEKV_SEED replays it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { importMacaroon } from 'macaroon';
import { makeLimits } from '@spacekv/core';
import { ROOT_SECRET, WsPeer, bearer, createToken, startAuthServer } from '../helpers/auth.js';
import { call, expectOk, json } from '../helpers/http.js';
import type { TestServer } from '../helpers/server.js';
import { errorBodyProblem, fuzzParameters } from './harness/fuzz.js';
import { runSeed, scaled } from './harness/seed.js';

const SEED = runSeed();
const REQUESTS = scaled(400, 20_000);
let srv: TestServer;
let valid = '';

before(async () => {
  // Every failure counts against 127.0.0.1; the bound is raised so each sample reaches verification.
  srv = await startAuthServer('fuzz-auth', { limits: makeLimits({ authFailuresPerMinuteMax: 1_000_000_000 }) });
  expectOk(await call(srv.url, 'POST', '/v1/spaces', { body: { schema: 'space canary key k attributes int n' }, headers: bearer(ROOT_SECRET) }), 201);
  expectOk(await call(srv.url, 'PUT', '/v1/spaces/canary/objects/c', { body: { n: 42 }, headers: bearer(ROOT_SECRET) }), 201);
  valid = (await createToken(srv.url, { ops: ['read', 'write', 'admin'], spaces: ['canary'] })).token;
});
after(async () => {
  await srv?.stop();
});

const b64 = (text: string | Uint8Array): string => Buffer.from(text).toString('base64url');

/** A token that must not verify: random text, random bytes or JSON after the prefix, a macaroon-shaped JSON of random fields. */
const tokenArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => `skv1_${b64(bytes)}`),
  fc.json({ maxDepth: 3 }).map((text) => `skv1_${b64(text)}`),
  fc.record({
    v: fc.oneof(fc.constant(2), fc.integer()), i: fc.string({ maxLength: 30 }), l: fc.string({ maxLength: 10 }),
    c: fc.array(fc.record({ i: fc.string({ maxLength: 40 }) }), { maxLength: 5 }), s64: fc.uint8Array({ minLength: 0, maxLength: 40 }).map(b64),
  }, { requiredKeys: [] }).map((m) => `skv1_${b64(JSON.stringify(m))}`),
  fc.constantFrom('skv1_', 'skv1_=', 'Bearer', `skv1_${'A'.repeat(5000)}`, 'skv1_e30', 'skv1_W10', 'skv1_bnVsbA'),
  // The binary form: random bytes, and bytes that start as a v2 macaroon does (version 2, a field type, a length).
  fc.uint8Array({ maxLength: 300 }).map((bytes) => `skv2_${b64(bytes)}`),
  fc.tuple(fc.constantFrom(0, 1, 2, 4, 6, 7, 0x80, 0xff), fc.uint8Array({ maxLength: 200 })).map(([field, rest]) => `skv2_${b64(Uint8Array.from([2, field, ...rest]))}`),
  fc.constantFrom('skv2_', 'skv2_=', `skv2_${'A'.repeat(5000)}`, 'skv2_Ag', 'skv2_AgI', 'skv2_AgL_____Dw', 'skv2_AgIAAAY'),
);

/** A valid token changed at one place, or cut short. */
const corruptedArb = fc.tuple(fc.nat(), fc.constantFrom(...'ABCxyz019-_=.'.split('')), fc.boolean()).map(([at, ch, cut]) => ({ at, ch, cut }));

/** What a token's signature covers (identifier, caveats) and the signature, as the library reads them; undefined when it reads none. */
function macaroonOf(token: string): string | undefined {
  try {
    const bytes = Buffer.from(token.slice(5), 'base64url');
    const m = token.startsWith('skv2_') ? importMacaroon(new Uint8Array(bytes)) : importMacaroon(JSON.parse(bytes.toString('utf8')) as Record<string, unknown>);
    const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
    return JSON.stringify([hex(m.identifier), m.caveats.map((c) => hex(c.identifier)), hex(m.signature)]);
  } catch {
    return undefined;
  }
}

function corrupt(token: string, { at, ch, cut }: { at: number; ch: string; cut: boolean }): string | undefined {
  const i = 5 + (at % (token.length - 5));
  const changed = cut ? token.slice(0, i) : token.slice(0, i) + ch + token.slice(i + 1);
  // A change can leave the very same signed content (base64 ignores the low bits of a last
  // character; JSON fields the library does not need): that token rightly verifies.
  return macaroonOf(changed) !== undefined && macaroonOf(changed) === macaroonOf(token) ? undefined : changed;
}

const headerArb = fc.constantFrom((t: string) => `Bearer ${t}`, (t: string) => `bearer   ${t}`, (t: string) => `Basic ${t}`, (t: string) => t, () => 'Bearer');
const endpointArb = fc.constantFrom(
  { method: 'GET', path: '/v1/spaces/canary/objects/c' },
  { method: 'PUT', path: '/v1/spaces/canary/objects/c', body: { n: 0 } },
  { method: 'DELETE', path: '/v1/spaces/canary' },
  { method: 'POST', path: '/v1/tx', body: { ops: [{ op: 'del', space: 'canary', key: 'c' }] } },
  { method: 'GET', path: '/v1/events?space=canary' },
  { method: 'GET', path: '/metrics' },
  { method: 'POST', path: '/v1/tokens', body: {} },
);

test(`auth fuzzing: ${REQUESTS} random and malformed tokens over REST and WebSocket hellos, never a success or a 5xx (seed ${SEED})`, async () => {
  const sample = fc.record({
    token: fc.oneof(tokenArb, corruptedArb.map((c) => corrupt(valid, c) ?? 'skv1_')),
    header: headerArb,
    endpoint: endpointArb,
    viaWs: fc.nat(9).map((n) => n === 0),
  });
  const statuses = new Map<number, number>();
  await fc.assert(fc.asyncProperty(sample, async ({ token, header, endpoint, viaWs }) => {
    if (viaWs) {
      const peer = await WsPeer.open(srv.url, token);
      const reply = await peer.request({ op: 'del', space: 'canary', key: 'c' });
      peer.close();
      const outcome = WsPeer.outcome(reply);
      if (outcome !== 'unauthenticated' && outcome !== 'closed') throw new Error(`WebSocket hello with ${token.slice(0, 80)}: ${outcome}`);
      return;
    }
    const response = await fetch(`${srv.url}${endpoint.path}`, {
      method: endpoint.method,
      headers: { authorization: header(token), ...(endpoint.body ? { 'content-type': 'application/json' } : {}) },
      ...(endpoint.body ? { body: JSON.stringify(endpoint.body) } : {}),
    }).catch((err: unknown) => {
      throw new Error(`${endpoint.method} ${endpoint.path}: ${(err as Error).message}`);
    });
    const text = await response.text();
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    if (response.status < 400) throw new Error(`${endpoint.method} ${endpoint.path} with '${header(token).slice(0, 80)}' succeeded: ${response.status}`);
    const problem = errorBodyProblem(response.status, (JSON.parse(text) as { error?: unknown }).error);
    if (problem) throw new Error(`${endpoint.method} ${endpoint.path}: ${problem}`);
  }), fuzzParameters(SEED, REQUESTS));
  assert.deepEqual([...statuses.keys()].filter((s) => s !== 401), [], `only 401s: ${JSON.stringify([...statuses])}`);
  const canary = json<{ attributes: { n: number } }>(await call(srv.url, 'GET', '/v1/spaces/canary/objects/c', { headers: bearer(ROOT_SECRET) }));
  assert.equal(canary.attributes.n, 42, 'the canary is untouched');
});
