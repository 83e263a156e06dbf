// Proves each bound of authentication (packages/core/src/limits.ts) holds with its coded outcome:
// tokensMax (records a store holds), tokenLengthMax (a token's characters), authFailuresPerMinuteMax
// (failed attempts per address, then `rate_limited` even for a valid new token), and, on the
// authenticator itself, tokenCacheEntriesMax and authFailureAddressesMax (memory a stream of
// distinct tokens or addresses may take), with every token still verified correctly past them, and
// a revocation still reaching a token the cache evicted;
// clientRequestsPerSecondMax per token on every front when rate limiting is on (and nothing when
// it is off, the loopback default: the negative control), and rateLimitedClientsMax.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeLimits } from '@spacekv/core';
import { Authenticator, accessRefusal } from '../../src/auth/authenticator.js';
import { RateLimiter } from '../../src/front/rate-limiter.js';
import { mintToken } from '../../src/auth/token-format.js';
import type { TokenRecord, TokenRegistry } from '../../src/auth/token-registry.js';
import { call, expectError, expectOk } from '../helpers/http.js';
import { ROOT_SECRET, WsPeer, bearer, createToken, startAuthServer } from '../helpers/auth.js';
import type { TestServer } from '../helpers/server.js';

const servers: TestServer[] = [];
after(async () => {
  for (const server of servers) await server.stop();
});

async function server(name: string, limits: Record<string, number>, rateLimit: 'on' | 'off' | 'auto' = 'auto'): Promise<TestServer> {
  const started = await startAuthServer(name, { limits: makeLimits(limits), config: { rateLimit } });
  servers.push(started);
  return started;
}

test('a token record past tokensMax is refused 503 overloaded naming the limit, and the records already there keep working', async () => {
  const srv = await server('auth-tokens-max', { tokensMax: 3 });
  const made = [];
  for (let i = 0; i < 3; i++) made.push(await createToken(srv.url, { ops: ['read'] }));
  const refused = expectError(await call(srv.url, 'POST', '/v1/tokens', { body: {}, headers: bearer(ROOT_SECRET) }), 503, 'overloaded');
  assert.equal(refused.limit, 'tokensMax');
  for (const { token } of made) expectOk(await call(srv.url, 'GET', '/v1/spaces', { headers: bearer(token) }), 200);
});

test('a token past tokenLengthMax is refused 401 before it is parsed', async () => {
  const srv = await server('auth-length', { tokenLengthMax: 200 });
  const refused = expectError(await call(srv.url, 'GET', '/v1/spaces', { headers: bearer(`skv1_${'A'.repeat(300)}`) }), 401, 'unauthenticated');
  assert.equal(refused.limit, 'tokenLengthMax');
});

test('failed authentications past authFailuresPerMinuteMax from one address get 429 rate_limited, even with a valid new token', async () => {
  const srv = await server('auth-failures', { authFailuresPerMinuteMax: 3 });
  const valid = (await createToken(srv.url, { ops: ['read'] })).token; // made before the failures, used after them
  for (let i = 0; i < 3; i++) expectError(await call(srv.url, 'GET', '/v1/spaces', { headers: bearer(`skv1_guess${i}`) }), 401, 'unauthenticated');
  const limited = expectError(await call(srv.url, 'GET', '/v1/spaces', { headers: bearer(`skv1_guess9`) }), 429, 'rate_limited');
  assert.equal(limited.limit, 'authFailuresPerMinuteMax');
  expectError(await call(srv.url, 'GET', '/v1/spaces', { headers: bearer(valid) }), 429, 'rate_limited');
});

/** An in-memory registry holding `records`, for the authenticator alone. */
function registryOf(records: readonly TokenRecord[]): TokenRegistry {
  const byId = new Map(records.map((r) => [r.id, r]));
  return { get: (id: string) => byId.get(id), onChange: () => {} } as unknown as TokenRegistry;
}

function record(id: string): TokenRecord {
  return { id, rootKey: Buffer.alloc(32, id.length), label: id, createdAtMs: 0, caveats: [], revoked: false };
}

test('the verified-token cache stays within tokenCacheEntriesMax, and tokens evicted from it still verify (and forged ones still fail)', () => {
  const records = Array.from({ length: 10 }, (_, i) => record(`r${'x'.repeat(i)}`));
  const auth = new Authenticator(registryOf(records), makeLimits({ tokenCacheEntriesMax: 3 }));
  for (let round = 0; round < 3; round++) {
    for (const r of records) {
      assert.equal(auth.authenticate(mintToken(r.id, r.rootKey, []), `10.0.0.${round}`).id, r.id);
      assert.ok(auth.cacheEntries <= 3, `${auth.cacheEntries} cached`);
    }
  }
  assert.throws(() => auth.authenticate(mintToken('r', Buffer.alloc(32, 9), []), '10.0.0.9'), /signature/);
});

test('a revocation reaches an Access the cache has evicted (one a connection still holds)', () => {
  const records = [record('a'), record('bb')];
  let changed = (_record: TokenRecord): void => {};
  const registry = { ...registryOf(records), onChange: (listener: (r: TokenRecord) => void) => (changed = listener) } as unknown as TokenRegistry;
  const auth = new Authenticator(registry, makeLimits({ tokenCacheEntriesMax: 1 }));
  const [a, b] = records as [TokenRecord, TokenRecord];
  const held = auth.authenticate(mintToken(a.id, a.rootKey, []), '10.0.0.1');
  auth.authenticate(mintToken(b.id, b.rootKey, []), '10.0.0.1'); // evicts a's token from the cache
  assert.equal(accessRefusal(held), undefined);
  changed({ ...a, revoked: true });
  assert.equal(accessRefusal(held)?.message, 'the token was revoked');
});

test('failure counters stay within authFailureAddressesMax: the oldest address is forgotten first', () => {
  const auth = new Authenticator(registryOf([]), makeLimits({ authFailureAddressesMax: 4, authFailuresPerMinuteMax: 2 }));
  for (let i = 0; i < 50; i++) {
    assert.throws(() => auth.authenticate('skv1_nope', `10.1.0.${i}`), /token/);
    assert.ok(auth.failureAddresses <= 4, `${auth.failureAddresses} addresses counted`);
  }
  // The last addresses are still counted: a second failure reaches the bound, the third is rate limited.
  assert.throws(() => auth.authenticate('skv1_nope', '10.1.0.49'), /token/);
  assert.throws(() => auth.authenticate('skv1_nope', '10.1.0.49'), /failed authentications/);
});

test('requests past clientRequestsPerSecondMax from one token get 429 rate_limited on REST and the WebSocket; another token is not slowed; off, nothing is refused', async () => {
  const RATE = 5;
  const limited = await server('auth-rate', { clientRequestsPerSecondMax: RATE }, 'on');
  const [a, b] = [await createToken(limited.url, { ops: ['read'] }), await createToken(limited.url, { ops: ['read'] })];
  // A burst of 40 seconds' worth: served at most one burst plus what the bucket refilled meanwhile.
  // The other token's request goes out behind it, while the first token's bucket is empty. (The
  // refusals are the burst's own: a request sent after the burst finds a token refilled whenever
  // 1/RATE s passed in between, as it can on a loaded machine.)
  const started = performance.now();
  const burst = Promise.all(Array.from({ length: RATE * 40 }, () => call(limited.url, 'GET', '/v1/spaces', { headers: bearer(a.token) })));
  const other = call(limited.url, 'GET', '/v1/spaces', { headers: bearer(b.token) });
  const replies = await burst;
  const refilled = Math.ceil(((performance.now() - started) / 1000) * RATE);
  const statuses = replies.map((r) => r.status);
  assert.ok(statuses.filter((s) => s === 200).length <= RATE + refilled + 1, `served ${statuses.filter((s) => s === 200).length} of ${statuses.length}, refill ${refilled}`);
  assert.deepEqual([...new Set(statuses)].sort(), [200, 429]);
  for (const reply of replies.filter((r) => r.status === 429)) assert.equal(expectError(reply, 429, 'rate_limited').limit, 'clientRequestsPerSecondMax');
  expectOk(await other, 200);
  const peer = await WsPeer.open(limited.url, a.token); // the same token's budget, another front
  try {
    const outcomes = await Promise.all(Array.from({ length: RATE * 40 }, () => peer.request({ op: 'list_spaces' }).then(WsPeer.outcome)));
    assert.ok(outcomes.every((o) => o === 'ok' || o === 'rate_limited'), outcomes.join(','));
    assert.ok(outcomes.includes('rate_limited'), `a burst on the WebSocket is limited too: ${outcomes.join(',')}`);
  } finally {
    peer.close();
  }
  const unlimited = await server('auth-norate', { clientRequestsPerSecondMax: RATE }, 'off');
  const token = (await createToken(unlimited.url, { ops: ['read'] })).token;
  const all = await Promise.all(Array.from({ length: RATE * 40 }, () => call(unlimited.url, 'GET', '/v1/spaces', { headers: bearer(token) }).then((r) => r.status)));
  assert.deepEqual([...new Set(all)], [200], 'negative control: with rate limiting off the same burst is served');
});

test('the rate table stays within rateLimitedClientsMax: the least recently seen client is forgotten first', () => {
  const limiter = new RateLimiter(makeLimits({ rateLimitedClientsMax: 5, clientRequestsPerSecondMax: 2 }));
  for (let i = 0; i < 100; i++) {
    limiter.take(`client ${i}`);
    assert.ok(limiter.clients <= 5, `${limiter.clients} clients tracked`);
  }
  limiter.take('client 99');
  assert.throws(() => limiter.take('client 99'), /requests per second/, 'a client still tracked keeps its count');
});
