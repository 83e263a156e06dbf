/**
 * TEST-ONLY entry: a server process over the real store (SQLite in --data, or PostgreSQL with
 * --store postgres://…) wrapped in a deliberately broken store (broken-stores.ts), started through
 * the server's exported startServer, for negative controls that need a real process to kill.
 * Usage: node broken-server.js --breakage <name> --data <dir> [--store <url>] [--port 0].
 * It logs `spacekv serving` like `spacekv serve`, so the process helpers can start it.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { DEFAULT_CONFIG } from '../../../src/config.js';
import { openStore, startServer } from '../../../src/server.js';
import { BREAKAGES, type Breakage, breakStore } from './broken-stores.js';

const { values } = parseArgs({
  options: { breakage: { type: 'string' }, data: { type: 'string' }, port: { type: 'string', default: '0' }, 'log-level': { type: 'string', default: 'info' }, store: { type: 'string', default: 'sqlite' } },
});
const breakage = values.breakage as Breakage;
if (!BREAKAGES.includes(breakage) || !values.data) {
  console.error(`usage: broken-server.js --breakage <${BREAKAGES.join('|')}> --data <dir> [--store <url>] [--port n]`);
  process.exit(2);
}
const config = { ...DEFAULT_CONFIG, port: Number(values.port), dataDir: values.data, logLevel: values['log-level'], store: values.store };
await startServer(config, pino({ level: config.logLevel }), breakStore(openStore(config), breakage));
