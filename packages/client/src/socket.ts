/**
 * The one place the client touches a WebSocket implementation: the platform's own where there is
 * one (browsers, Deno, Node >= 22), the `ws` package on Node 20. Both speak the standard
 * WebSocket API, which is all the client uses.
 */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** Options only the `ws` package takes (a platform WebSocket has none). */
export interface NodeSocketOptions {
  readonly ca?: string | Uint8Array;
}

type WebSocketConstructor = new (url: string, protocols: string[], options?: NodeSocketOptions) => WebSocketLike;

let implementation: Promise<WebSocketConstructor> | undefined;

function load(): Promise<WebSocketConstructor> {
  const native = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (native) return Promise.resolve(native);
  // `ws` is mapped to false for browser bundlers in package.json; here we are on Node.
  return import('ws').then((module) => module.WebSocket as unknown as WebSocketConstructor);
}

export async function openWebSocket(url: string, protocols: string[], options: NodeSocketOptions = {}): Promise<WebSocketLike> {
  implementation ??= load();
  const WebSocket = await implementation;
  return options.ca === undefined ? new WebSocket(url, protocols) : new WebSocket(url, protocols, options);
}
