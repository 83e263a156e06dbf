/**
 * The ceiling of any Node HTTP service on this machine: node:http answering every request with a
 * fixed 100-byte JSON body, no routing, no parsing. Run as its own process by the benchmark; it
 * announces its URL with a JSON line the way the spacekv server's pino logger does.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export const BARE_BODY_BYTES = 100;

function fixedBody(): Buffer {
  // Shaped like a spacekv object read, padded to exactly BARE_BODY_BYTES.
  const shell = JSON.stringify({ ok: true, key: 'k0000001', version: 1, attributes: { field0: '' } });
  const padding = 'x'.repeat(BARE_BODY_BYTES - Buffer.byteLength(shell));
  return Buffer.from(JSON.stringify({ ok: true, key: 'k0000001', version: 1, attributes: { field0: padding } }));
}

const body = fixedBody();
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };

const server = createServer((request: IncomingMessage, response: ServerResponse) => {
  request.resume(); // drain any request body so keep-alive can go on
  response.writeHead(200, headers);
  response.end(body);
});
// The same keep-alive timeout as spacekv's fastify front, so neither side closes connections the other keeps.
server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: 'bare serving', url: `http://127.0.0.1:${port}` })}\n`);
});
