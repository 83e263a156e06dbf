/** Loopback ports for tests that must name one before a process listens on it. */
import net from 'node:net';

/** A port that was free a moment ago (the kernel picks it; we release it for the child, or to be refused). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
