/**
 * `node bench/dist/codec.js [--tiny]`: only the codec microbenchmark of `npm run bench` (step 7),
 * the measurement docs/protocol.md cites for choosing JSON text frames.
 */
import { tmpdir } from 'node:os';
import { printCodec, runCodec } from './lib/codec.js';
import { parseOptions } from './lib/options.js';
import { out, printMachine } from './lib/report.js';

const { codec } = parseOptions(process.argv.slice(2), process.env);
printMachine(tmpdir());
out();
printCodec(runCodec(codec), codec, 'JSON text frames vs msgpackr');
