/**
 * Concurrency scenarios shared by the in-process and the real-process concurrency tests: parallel
 * clients over loopback through a node:http Agent (keep-alive, up to 64 sockets). Each scenario
 * uses its own key in a space `counters key name attributes int n, string owner`.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { type ErrorBody, type ObjectBody, type WrittenBody, objectPath, rawRequest } from './http.js';

export const COUNTERS_SCHEMA = 'space counters key name attributes int n, string owner';

export class Scenarios {
  constructor(private readonly base: string, private readonly agent: http.Agent) {}

  async createSpace(): Promise<void> {
    const created = await rawRequest(`${this.base}/v1/spaces`, { method: 'POST', agent: this.agent, body: { schema: COUNTERS_SCHEMA } });
    assert.equal(created.status, 201, created.text);
  }

  private url(key: string): string {
    return `${this.base}${objectPath('counters', key)}`;
  }

  private async readCounter(key: string): Promise<ObjectBody> {
    const reply = await rawRequest(this.url(key), { method: 'GET', agent: this.agent });
    assert.equal(reply.status, 200, reply.text);
    return JSON.parse(reply.text) as ObjectBody;
  }

  /** 200 concurrent PATCH add 1 on one counter end at exactly 200. */
  async concurrentAdds(): Promise<void> {
    const { agent } = this;
    const url = (key: string): string => this.url(key);
    const created = await rawRequest(url('hits'), { method: 'PUT', agent, body: { n: 0 } });
    assert.equal(created.status, 201, created.text);
    const replies = await Promise.all(
      Array.from({ length: 200 }, () => rawRequest(url('hits'), { method: 'PATCH', agent, body: { mutations: [{ add: { n: 1 } }] } })),
    );
    assert.deepEqual(replies.filter((r) => r.status !== 200).map((r) => r.text), [], 'every add is answered 200');
    // Each add saw a different state: the answered values are exactly 1..200, each at its own version.
    const values = replies.map((r) => (JSON.parse(r.text) as WrittenBody).attributes?.n as number).sort((a, b) => a - b);
    assert.deepEqual(values, Array.from({ length: 200 }, (_, i) => i + 1));
    const versions = new Set(replies.map((r) => (JSON.parse(r.text) as WrittenBody).version));
    assert.equal(versions.size, 200);
    assert.equal((await this.readCounter('hits')).attributes.n, 200);
    const sockets = Object.values(agent.freeSockets).reduce((sum, list) => sum + (list?.length ?? 0), 0);
    assert.ok(sockets > 1 && sockets <= 64, `the load ran over a pool of at most 64 sockets (${sockets} kept alive)`);
  }

  /** 50 concurrent put_if_not_exist on one key: exactly one 201, 49 × 412 exists. */
  async concurrentCreates(): Promise<void> {
    const { agent } = this;
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        rawRequest(this.url('claimed'), { method: 'PUT', agent, headers: { 'if-none-match': '*' }, body: { owner: `client-${i}`, n: i } })),
    );
    const winners = replies.flatMap((r, i) => (r.status === 201 ? [i] : []));
    assert.equal(winners.length, 1, `one winner: ${replies.map((r) => r.status).join(',')}`);
    const losers = replies.filter((r) => r.status !== 201);
    assert.equal(losers.length, 49);
    const winner = winners[0] as number;
    const winnerVersion = (JSON.parse((replies[winner] as { text: string }).text) as WrittenBody).version;
    for (const loser of losers) {
      assert.equal(loser.status, 412, loser.text);
      const error = (JSON.parse(loser.text) as ErrorBody).error;
      assert.equal(error.code, 'exists');
      assert.equal(error.version, winnerVersion, 'every loser is told the winner\'s version');
    }
    const stored = await this.readCounter('claimed');
    assert.deepEqual(stored.attributes, { owner: `client-${winner}`, n: winner });
    assert.equal(stored.version, winnerVersion);
  }

  /**
   * 8 clients × 25 compare-and-swap increments (read ETag, PUT If-Match, retry on 412) lose none.
   * Returns how many swaps lost a race and were retried (scheduling-dependent: reported, not asserted).
   */
  async casIncrements(): Promise<number> {
    const { agent } = this;
    const url = this.url('cas');
    const created = await rawRequest(url, { method: 'PUT', agent, body: { n: 0 } });
    assert.equal(created.status, 201, created.text);
    let conflicts = 0;
    const client = async (): Promise<number> => {
      let done = 0;
      for (let attempts = 0; done < 25; attempts++) {
        assert.ok(attempts < 10_000, 'a client makes progress');
        const read = await rawRequest(url, { method: 'GET', agent });
        assert.equal(read.status, 200, read.text);
        const object = JSON.parse(read.text) as ObjectBody;
        const etag = read.headers.etag;
        assert.equal(etag, `"${object.version}"`, 'GET answers the version as its ETag');
        const write = await rawRequest(url, { method: 'PUT', agent, headers: { 'if-match': etag }, body: { n: (object.attributes.n as number) + 1 } });
        if (write.status === 200) {
          done++;
          continue;
        }
        assert.equal(write.status, 412, write.text);
        assert.equal((JSON.parse(write.text) as ErrorBody).error.code, 'cmp_fail');
        conflicts++;
      }
      return done;
    };
    const done = await Promise.all(Array.from({ length: 8 }, client));
    assert.deepEqual(done, Array(8).fill(25));
    assert.equal((await this.readCounter('cas')).attributes.n, 200);
    return conflicts;
  }
}
