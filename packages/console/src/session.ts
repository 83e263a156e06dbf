/**
 * The console's one connection to the server it was served from: the pipelined client over the
 * WebSocket for operations, `fetch` for the plain HTTP endpoints (`/metrics`, `/healthz`). The token,
 * when the server requires one, lives in sessionStorage only: it goes when the tab closes, and
 * nothing else the console knows is stored in the browser.
 */
import { type ClientOptions, type SpacekvClient, connect } from '@spacekv/client';

const TOKEN_KEY = 'spacekv.console.token';

export interface Session {
  readonly db: SpacekvClient;
  /** GET a plain HTTP endpoint of the server, with the session's token. */
  get(path: string): Promise<{ readonly status: number; readonly text: string }>;
  /** `get`, failing with the server's error message unless the status is 2xx. */
  fetchText(path: string): Promise<string>;
  close(): Promise<void>;
}

export function storedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Connects to this page's own origin; rejects (code `unauthenticated`) when the server wants a token it did not get. */
export async function openSession(token: string | undefined): Promise<Session> {
  const options: ClientOptions & { readonly token?: string } = { connectTimeoutMs: 5_000, ...(token ? { token } : {}) };
  const db = await connect(location.origin, options);
  try {
    // A server that requires a token lets a connection without one open, and refuses its first
    // request: ask one now, so the user meets the login form rather than an error on every page.
    // A token that may not list every space is still a login (`forbidden` is its scope speaking).
    await db.listSpaces().catch((error: unknown) => {
      if ((error as { code?: unknown }).code !== 'forbidden') throw error;
    });
  } catch (error) {
    await db.close();
    throw error;
  }
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const get = async (path: string) => {
    const response = await fetch(path, { headers, cache: 'no-store' });
    return { status: response.status, text: await response.text() };
  };
  return {
    db,
    get,
    async fetchText(path) {
      const { status, text } = await get(path);
      if (status < 200 || status > 299) throw new Error(`${path} answered ${status}: ${errorMessageOf(text)}`);
      return text;
    },
    close: () => db.close(),
  };
}

function errorMessageOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } };
    return parsed.error?.message ?? body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}
