/**
 * Sends one `tx` (docs/transactions.md) over the WebSocket client or REST `POST /v1/tx` and says
 * which of the three outcomes it had: committed (with its results), definitely not applied
 * (`tx_failed`, `unavailable`, `overloaded`, `shutting_down`, a refused connection), or unknown.
 */
import http from 'node:http';
import { connect, type SpacekvClient, SpacekvError, type TxCheckInput } from '@spacekv/client';
import { withTimeout } from '../../helpers/timeout.js';

export type TxRequest = {
  readonly checks?: readonly TxCheckInput[];
  readonly ops: readonly Readonly<Record<string, unknown>>[];
};

export type TxCompletion =
  | { readonly outcome: 'ok'; readonly results: readonly Readonly<Record<string, unknown>>[] }
  | { readonly outcome: 'fail' | 'info'; readonly error: string };

export interface TxClient {
  readonly front: 'ws' | 'rest';
  tx(request: TxRequest): Promise<TxCompletion>;
  close(): Promise<void>;
}

const NOTHING_APPLIED = new Set(['tx_failed', 'unavailable', 'overloaded', 'shutting_down', 'storage_full']);
const TIMEOUT_MS = 20_000;

function classify(code: string, message: string): TxCompletion {
  return { outcome: NOTHING_APPLIED.has(code) ? 'fail' : 'info', error: `${code}: ${message}` };
}

export async function wsTxClient(url: string): Promise<TxClient> {
  const db: SpacekvClient = await connect(url, { reconnectDelayMs: 20, reconnectDelayMaxMs: 200, connectTimeoutMs: 15_000 });
  return {
    front: 'ws',
    async tx(request) {
      try {
        const outcome = await withTimeout(db.tx(request), TIMEOUT_MS, 'a tx');
        return { outcome: 'ok', results: outcome.results };
      } catch (err) {
        if (err instanceof SpacekvError) return classify(err.code, err.message);
        return classify('timeout', String(err));
      }
    },
    async close() {
      db.close().catch(() => undefined);
    },
  };
}

export function restTxClient(url: string): TxClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  return {
    front: 'rest',
    tx(request) {
      return new Promise<TxCompletion>((resolve) => {
        const req = http.request(`${url}/v1/tx`, { method: 'POST', agent, timeout: TIMEOUT_MS, headers: { 'content-type': 'application/json' } }, (res) => {
          let data = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (data += chunk));
          res.on('error', (err) => resolve(classify('connection', err.message)));
          res.on('end', () => {
            let body: { results?: Record<string, unknown>[]; error?: { code?: string; message?: string } };
            try {
              body = JSON.parse(data) as typeof body;
            } catch {
              return resolve(classify('connection', `a cut reply: ${data.slice(0, 80)}`));
            }
            if ((res.statusCode ?? 0) < 300) return resolve({ outcome: 'ok', results: body.results ?? [] });
            resolve(classify(body.error?.code ?? `http_${res.statusCode}`, body.error?.message ?? ''));
          });
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (err: NodeJS.ErrnoException) => resolve(classify(err.code === 'ECONNREFUSED' ? 'unavailable' : 'connection', err.message)));
        req.end(JSON.stringify(request));
      });
    },
    async close() {
      agent.destroy();
    },
  };
}
