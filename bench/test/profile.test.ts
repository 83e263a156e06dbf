// Proves the profile summary the report's closing note rests on: self time is the time to the next
// sample, idle time is left out of the shares, and functions are grouped by module (a spacekv
// source file, an npm package, node's internals, V8's pseudo-frames).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summariseProfile } from '../lib/profile.js';

const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber, scriptId: '0', columnNumber: 0 });

test('shares are of the non-idle time, by function and by module', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spacekv-profile-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', '') },
      { id: 2, callFrame: frame('(idle)', '') },
      { id: 3, callFrame: frame('run', 'file:///repo/packages/server/dist/src/store/sqlite/batch-executor.js', 55) },
      { id: 4, callFrame: frame('(garbage collector)', '') },
      { id: 5, callFrame: frame('sendFrame', 'file:///repo/node_modules/ws/lib/sender.js', 9) },
    ],
    // Each sample's time is the delta that follows it: run 600 µs, idle 5000 µs, GC 200 µs, ws 200 µs.
    samples: [3, 2, 4, 5, 3],
    timeDeltas: [0, 600, 5_000, 200, 200, 0],
  };
  const path = join(dir, 'x.cpuprofile');
  writeFileSync(path, JSON.stringify(profile));
  const s = summariseProfile(path);
  assert.equal(s.busyMs, 1);
  assert.deepEqual(s.functions.map((f) => [f.name, Math.round(f.percent)]), [
    ['run server/src/store/sqlite/batch-executor.js:56', 60],
    ['(garbage collector) (native code, GC, V8)', 20],
    ['sendFrame ws:10', 20],
  ]);
  assert.deepEqual(s.modules.map((m) => m.name), ['server/src/store/sqlite/batch-executor.js', '(native code, GC, V8)', 'ws']);
  assert.ok(!s.functions.some((f) => f.name.startsWith('(idle)')), 'idle time counted as work');
});
