// Proves no committed change is lost on its way to AMQP or to a watcher, whatever fails: a real
// server process, with its broker connections going through a TCP proxy the test owns, takes a
// steady flow of REST writes while (1) the proxy cuts and refuses every broker connection (REST
// keeps serving, /healthz says AMQP is degraded), then lets them back (the relay catches up), and
// (2) the server is killed with SIGKILL and restarted on the same data. Afterwards every
// acknowledged write reached the events exchange at least once, each key's events in seq order
// (after dropping repeats, as consumers do by seq), and a client watcher that reconnected across
// both faults saw every change of the log exactly once, in order; SIGTERM then drains and exits 0
// with the AMQP tasks running. The shared RabbitMQ is never
// touched. Skips with one line when RabbitMQ is not there.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type ChangeEvent, connect } from '@spacekv/client';
import { BrokerProxy, TestBroker, assertPerKeyOrder, brokerMissing, uniqueNames } from '../helpers/amqp.js';
import { call, json } from '../helpers/http.js';
import { type ServerProcess, killAllChildren, spawnServer } from '../helpers/process.js';
import { makeTempDir, removeDir } from '../helpers/temp.js';
import { withTimeout } from '../helpers/timeout.js';

const missing = await brokerMissing();
const KEYS = 20;
const WRITERS = 8;

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await Promise.resolve().then(check).catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

interface Health {
  readonly parts: { readonly amqp: string };
}

describe('AMQP and watch delivery through broker cuts and kill -9', { skip: missing }, () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch(() => {});
    await killAllChildren();
  });

  it('every acknowledged write reaches the exchange, per key in seq order; the watcher misses nothing', async () => {
    const names = uniqueNames('faults');
    const dataDir = makeTempDir('amqp-faults');
    cleanups.push(() => removeDir(dataDir));
    const broker = await TestBroker.open(names);
    cleanups.push(() => broker.close());
    const proxy = await BrokerProxy.start();
    cleanups.push(() => proxy.close());
    const args = (port: number) => ['--port', String(port), '--data', dataDir, '--amqp', proxy.url, '--amqp-rpc-queue', names.queue, '--amqp-exchange', names.exchange];
    let server: ServerProcess = await spawnServer(args(0));
    cleanups.push(() => server.kill());
    const port = Number(new URL(server.url).port);
    const url = server.url;
    await until('AMQP to be up', async () => json<Health>(await call(url, 'GET', '/healthz')).parts.amqp === 'ok');
    await call(url, 'POST', '/v1/spaces', { body: { schema: 'space s key k attributes int n' } });

    const db = await connect(url, { reconnectDelayMs: 20, reconnectDelayMaxMs: 200, connectTimeoutMs: 30_000 });
    cleanups.push(() => db.close());
    const watched: ChangeEvent[] = [];
    const watch = db.watch({ space: 's', ops: ['put'] });
    const watching = (async () => {
      for await (const event of watch) watched.push(event);
    })();

    // Writers: each acknowledged PUT's version is the seq its change was logged at.
    const acknowledged: { key: string; seq: number }[] = [];
    let writing = true;
    let count = 0;
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; writing; i++) {
        const key = `k${(w * 7 + i) % KEYS}`;
        try {
          const reply = await call(url, 'PUT', `/v1/spaces/s/objects/${key}`, { body: { n: i } });
          if (reply.status < 300) acknowledged.push({ key, seq: json<{ version: number }>(reply).version });
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 20)); // the server is down: keep trying
        }
        count++;
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));

    await until('writes before the cut', () => acknowledged.length >= 150);
    proxy.cut();
    await until('/healthz to say AMQP is degraded', async () => json<Health>(await call(url, 'GET', '/healthz')).parts.amqp === 'degraded');
    const duringCut = acknowledged.length;
    await until('REST to keep serving during the cut', () => acknowledged.length >= duringCut + 100);
    proxy.accept();
    await until('AMQP to recover', async () => json<Health>(await call(url, 'GET', '/healthz')).parts.amqp === 'ok');
    await until('writes before the kill', () => acknowledged.length >= duringCut + 250);
    await server.kill();
    const atKill = count;
    server = await spawnServer(args(port));
    await until('writes after the restart', () => count >= atKill + 200);
    writing = false;
    await Promise.all(writers);
    const last = json<{ version: number }>(await call(url, 'PUT', '/v1/spaces/s/objects/last', { body: { n: 0 } })).version;

    await until('the exchange to have every event', () => broker.events.some((e) => e.body.seq === last), 30_000);
    await until('the watcher to have every event', () => watched.some((e) => e.seq === last), 30_000);
    await watch.return();
    await withTimeout(watching, 5_000, 'the watch loop to end');

    // At least once: every acknowledged write was published.
    const published = new Set(broker.events.map((e) => e.body.seq));
    const lost = acknowledged.filter((a) => !published.has(a.seq));
    assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged writes never reached the exchange`);
    // In seq order per key, once repeats are dropped by seq.
    const distinct = assertPerKeyOrder(broker.events);
    // The watcher: each change once, in order, and the same changes the relay published.
    for (let i = 1; i < watched.length; i++) assert.ok((watched[i] as ChangeEvent).seq > (watched[i - 1] as ChangeEvent).seq, `watcher order at ${i}`);
    const putSeqs = [...new Set(broker.events.filter((e) => e.body.op === 'put').map((e) => e.body.seq))].sort((a, b) => a - b);
    assert.deepEqual(watched.map((e) => e.seq), putSeqs, 'the watcher saw exactly the logged puts');
    // SIGTERM with the AMQP front up drains and exits cleanly.
    server.signal('SIGTERM');
    assert.deepEqual(await withTimeout(server.exited, 15_000, 'the server to exit on SIGTERM'), { code: 0, signal: null });
    const repeats = broker.events.length - distinct.length;
    console.log(`# ${acknowledged.length} acknowledged writes, ${broker.events.length} events published (${repeats} repeats after the faults), ${watched.length} watched`);
  });
});
