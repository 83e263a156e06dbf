/**
 * `node bench/dist/profile.js <file.cpuprofile> [top]`: where a profiled process spent its CPU, by
 * module and by function (self time, idle left out). The bench's report does the same for the
 * spacekv server's per-workload profiles (--server-cpu-prof); this reads any one by hand.
 */
import { printColumns } from './lib/report.js';
import { summariseProfile } from './lib/profile.js';

const [path, topRaw] = process.argv.slice(2);
if (path === undefined) {
  console.error('usage: node bench/dist/profile.js <file.cpuprofile> [top]');
  process.exit(2);
}
const top = topRaw === undefined ? 15 : Number(topRaw);
const summary = summariseProfile(path, top);
console.log(`${path}: ${(summary.busyMs / 1000).toFixed(2)} s of CPU (idle left out)\n`);
printColumns([['module (self time)', 'ms', 'share'], ...summary.modules.map((m) => [m.name, m.selfMs.toFixed(0), `${m.percent.toFixed(1)}%`])]);
console.log();
printColumns([['function (self time)', 'ms', 'share'], ...summary.functions.map((f) => [f.name, f.selfMs.toFixed(0), `${f.percent.toFixed(1)}%`])]);
