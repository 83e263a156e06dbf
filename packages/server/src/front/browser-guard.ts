/**
 * What keeps web pages off the server (docs/architecture.md §4.9; docs/security.md), shared by the REST,
 * server-sent events and WebSocket fronts:
 *
 * - **Host**: only Host names the server is configured for are answered: loopback names and the
 *   listen address by default (every local interface address when it listens on all of them), plus
 *   `--allowed-host`. A page that rebinds its own DNS name to 127.0.0.1 sends its own name as Host,
 *   so DNS rebinding reaches nothing.
 * - **Origin**: a request or WebSocket upgrade carrying a browser `Origin` is served only when that
 *   origin is the server's own (same host and port as the Host header) or listed in
 *   `--cors-origin`. Browsers always send Origin on WebSocket upgrades and cross-origin writes, and
 *   no page can forge it; clients outside a browser send none.
 * - **CORS**: listed origins get the headers browsers need (preflights are answered here).
 */
import { networkInterfaces } from 'node:os';
import { SpacekvError } from '@spacekv/core';

export interface BrowserPolicy {
  /** The address the server listens on. */
  readonly listenHost: string;
  /** Extra Host names answered (`*`: any, for a proxy that checks Host itself). */
  readonly allowedHosts: readonly string[];
  /** Web origins (`https://app.example.com`) allowed besides the server's own (`*`: any). */
  readonly corsOrigins: readonly string[];
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/** Whether `host` (a listen address) is reachable only from this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The name part of a Host header value: `[::1]:7640` → `::1`, `Example.com:80` → `example.com`. */
function hostName(host: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d+)?$/.exec(host);
  if (bracketed) return (bracketed[1] as string).toLowerCase();
  const colon = host.lastIndexOf(':');
  return (colon >= 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host).toLowerCase();
}

/** Headers for a CORS preflight from an allowed origin. */
const PREFLIGHT_HEADERS = {
  'access-control-allow-methods': 'GET, PUT, PATCH, POST, DELETE',
  'access-control-allow-headers': 'authorization, content-type, if-match, if-none-match, last-event-id',
  'access-control-max-age': '600',
} as const;

export class BrowserGuard {
  private readonly hosts: ReadonlySet<string> | 'any';
  private readonly origins: ReadonlySet<string> | 'any';
  /** The Host header last found allowed: a client sends the same one on every request, so most checks end at one comparison. */
  private allowedHost: string | undefined;

  constructor(policy: BrowserPolicy) {
    if (policy.allowedHosts.includes('*')) this.hosts = 'any';
    else {
      const hosts = new Set([...LOOPBACK_NAMES, ...policy.allowedHosts.map((h) => h.toLowerCase())]);
      if (WILDCARD_HOSTS.has(policy.listenHost)) {
        for (const addresses of Object.values(networkInterfaces())) for (const a of addresses ?? []) hosts.add(a.address.toLowerCase());
      } else {
        hosts.add(policy.listenHost.toLowerCase());
      }
      this.hosts = hosts;
    }
    this.origins = policy.corsOrigins.includes('*') ? 'any' : new Set(policy.corsOrigins.map((o) => o.replace(/\/$/, '').toLowerCase()));
  }

  /**
   * Throws `forbidden_host` unless the Host header names this server. A request without one is not
   * a browser's (browsers always send it): it is left to the HTTP front's own Host rule.
   */
  checkHost(host: string | undefined): void {
    if (this.hosts === 'any' || host === undefined || host === this.allowedHost) return;
    if (!this.hosts.has(hostName(host))) {
      throw new SpacekvError('forbidden_host', `this server does not answer for Host '${String(host).slice(0, 100)}'; add it with --allowed-host if it is yours`);
    }
    this.allowedHost = host;
  }

  /** Throws `forbidden_origin` unless `origin` (absent outside browsers) is the server's own or an allowed one. */
  checkOrigin(origin: string | undefined, host: string | undefined): void {
    if (origin === undefined || this.corsAllowed(origin)) return;
    if (host !== undefined && /^https?:\/\//i.test(origin) && origin.replace(/^https?:\/\//i, '').toLowerCase() === host.toLowerCase()) return;
    throw new SpacekvError('forbidden_origin', `requests from the web origin '${origin.slice(0, 100)}' are not allowed; add it with --cors-origin if it is yours`);
  }

  /** Whether `origin` is listed (`--cors-origin`): it gets CORS headers. */
  corsAllowed(origin: string): boolean {
    return this.origins === 'any' || this.origins.has(origin.toLowerCase());
  }

  /** CORS headers for a response to `origin`, when listed; `preflight` adds the preflight's. */
  corsHeaders(origin: string | undefined, preflight: boolean): Record<string, string> | undefined {
    if (origin === undefined || !this.corsAllowed(origin)) return undefined;
    const headers: Record<string, string> = { 'access-control-allow-origin': origin, vary: 'Origin', 'access-control-expose-headers': 'etag, www-authenticate' };
    return preflight ? { ...headers, ...PREFLIGHT_HEADERS } : headers;
  }
}
