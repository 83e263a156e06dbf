/**
 * The register operations of the linearizability runs, over each front, with each answer turned
 * into a history completion. The three outcomes come from what the front says, never guessed:
 * - a reply (success or failed condition) is `ok`;
 * - `unavailable`, `overloaded`, `shutting_down`, a refused connection (nothing was applied), and any
 *   error of a read, are `fail`;
 * - `outcome_unknown`, a dropped connection after a write left, a timeout, a 5xx outside those, are `info`.
 */
import http from 'node:http';
import { connect, type SpacekvClient, SpacekvError } from '@spacekv/client';
import type { RegisterInput, RegisterOutput } from '../checker/register-model.js';
import { withTimeout } from '../../helpers/timeout.js';

export type Completion =
  | { readonly outcome: 'ok'; readonly output: RegisterOutput }
  | { readonly outcome: 'fail' | 'info'; readonly error: string };

export interface RegisterClient {
  readonly front: 'ws' | 'rest';
  run(space: string, key: string, input: RegisterInput): Promise<Completion>;
  close(): Promise<void>;
}

const NOTHING_APPLIED = new Set(['unavailable', 'overloaded', 'shutting_down', 'storage_full']);
const CONDITION_CODES = new Set(['not_found', 'cmp_fail', 'exists']);
/** A request that takes longer has an unknown outcome (a paused server answers well within it). */
const REQUEST_TIMEOUT_MS = 20_000;

function failure(input: RegisterInput, code: string, error: string): Completion {
  if (input.f === 'get' || NOTHING_APPLIED.has(code)) return { outcome: 'fail', error: `${code}: ${error}` };
  return { outcome: 'info', error: `${code}: ${error}` };
}

function valueOf(attributes: Readonly<Record<string, unknown>> | undefined): number {
  return Number(attributes?.v ?? 0);
}

/** Over the WebSocket protocol with the real client. */
export async function wsRegisterClient(url: string): Promise<RegisterClient> {
  const db: SpacekvClient = await connect(url, { reconnectDelayMs: 20, reconnectDelayMaxMs: 200, connectTimeoutMs: 15_000 });
  const attempt = async (space: string, key: string, input: RegisterInput): Promise<RegisterOutput> => {
    switch (input.f) {
      case 'get': {
        const object = await db.get(space, key);
        return object ? { ok: true, value: valueOf(object.attributes), version: object.version } : { ok: false, code: 'not_found' };
      }
      case 'put':
        return { ok: true, version: (await db.put(space, key, { v: input.value })).version };
      case 'put_if_not_exist':
        return { ok: true, version: (await db.putIfNotExist(space, key, { v: input.value })).version };
      case 'cas':
        return { ok: true, version: (await db.compareAndSwap(space, key, input.version, { v: input.value })).version };
      case 'add': {
        const mutated = await db.atomicAdd(space, key, { v: input.delta });
        return { ok: true, value: valueOf(mutated.attributes), version: mutated.version };
      }
      case 'del':
        return { ok: true, version: (await db.del(space, key)).version };
    }
  };
  return {
    front: 'ws',
    async run(space, key, input) {
      try {
        return { outcome: 'ok', output: await withTimeout(attempt(space, key, input), REQUEST_TIMEOUT_MS, `${input.f} of ${key}`) };
      } catch (err) {
        if (!(err instanceof SpacekvError)) return failure(input, 'timeout', String(err));
        const version = (err as SpacekvError & { version?: number }).version;
        if (CONDITION_CODES.has(err.code)) {
          return { outcome: 'ok', output: { ok: false, code: err.code as 'not_found', ...(version === undefined ? {} : { version }) } };
        }
        return failure(input, err.code, err.message);
      }
    },
    async close() {
      db.close().catch(() => undefined);
    },
  };
}

/** Over REST, one keep-alive pool per client, with node:http (no retries behind our back). */
export function restRegisterClient(url: string): RegisterClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  return {
    front: 'rest',
    async run(space, key, input) {
      const path = `/v1/spaces/${space}/objects/${encodeURIComponent(key)}`;
      const [method, body, headers] = restRequest(input);
      let reply: { status: number; json: Record<string, unknown> };
      try {
        reply = await request(url + path, method, body, headers, agent);
      } catch (err) {
        // A refused connection sent nothing; any other socket error may have come after the request left.
        const refused = (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
        return failure(input, refused ? 'unavailable' : 'connection', (err as Error).message);
      }
      const error = reply.json.error as { code?: string; message?: string; version?: number } | undefined;
      if (reply.status < 300) {
        const value = input.f === 'get' || input.f === 'add' ? { value: valueOf(reply.json.attributes as Record<string, unknown>) } : {};
        return { outcome: 'ok', output: { ok: true, version: reply.json.version as number, ...value } };
      }
      if (error?.code && CONDITION_CODES.has(error.code)) {
        return { outcome: 'ok', output: { ok: false, code: error.code as 'not_found', ...(error.version === undefined ? {} : { version: error.version }) } };
      }
      return failure(input, error?.code ?? `http_${reply.status}`, error?.message ?? '');
    },
    async close() {
      agent.destroy();
    },
  };
}

function restRequest(input: RegisterInput): [string, unknown, Record<string, string>] {
  switch (input.f) {
    case 'get': return ['GET', undefined, {}];
    case 'put': return ['PUT', { v: input.value }, {}];
    case 'put_if_not_exist': return ['PUT', { v: input.value }, { 'if-none-match': '*' }];
    case 'cas': return ['PUT', { v: input.value }, { 'if-match': `"${input.version}"` }];
    case 'add': return ['PATCH', { mutations: [{ add: { v: input.delta } }] }, {}];
    case 'del': return ['DELETE', undefined, {}];
  }
}

function request(url: string, method: string, body: unknown, headers: Record<string, string>, agent: http.Agent): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(url, {
      method, agent, timeout: REQUEST_TIMEOUT_MS,
      headers: { ...headers, ...(text === undefined ? {} : { 'content-type': 'application/json' }) },
    }, (res) => {
      let data = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (data += chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, json: data === '' ? {} : JSON.parse(data) as Record<string, unknown> });
        } catch (err) {
          reject(err as Error);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(text);
  });
}
