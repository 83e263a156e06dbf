/** Loopback ports for tests that must name one before a process listens on it. */
import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Ports below this are left alone (well-known and registered services, this machine's own). */
const LOWEST = 10_000;

/**
 * The first port of the kernel's ephemeral range: every outgoing connection takes its local port
 * from that range, so a port picked there and released can be taken by any client socket before
 * the child binds it (seen: Patroni's REST port, under a loaded suite). Ports below it are only
 * ever taken by listeners that name them.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > LOWEST + 1_000) return low;
  } catch {
    // not Linux: fall through to the IANA default start of the range
  }
  return 49_152;
}

async function bindable(port: number): Promise<boolean> {
  const server = net.createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (bound) await new Promise<void>((resolve) => server.close(() => resolve()));
  return bound;
}

/** A port that was free a moment ago, outside the ephemeral range (we release it for the child, or to be refused). */
export async function freePort(): Promise<number> {
  const high = ephemeralLow();
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (high - LOWEST));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port found between ${LOWEST} and ${high}`);
}
