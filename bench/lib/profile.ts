/**
 * Where a profiled process spent its CPU: a V8 .cpuprofile (node --cpu-prof) summarised by self
 * time, per function and per module (a spacekv source file, an npm package, node's internals, or
 * V8's own pseudo-frames such as the garbage collector). Idle time is left out: the shares are of
 * the time the thread was not idle. The profiler samples a thread whether it computes or waits in a
 * system call, so a thread blocked in fsync shows that time in the function that called it.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface Share {
  readonly name: string;
  readonly selfMs: number;
  /** Percent of the non-idle time. */
  readonly percent: number;
}

export interface ProfileSummary {
  readonly busyMs: number;
  readonly functions: readonly Share[];
  readonly modules: readonly Share[];
}

export function summariseProfile(path: string, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  let busyUs = 0;
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id);
    // A sample's time is the delta to the next sample (the last one has none).
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (frame === undefined || frame.functionName === '(idle)') return;
    busyUs += us;
    const where = moduleOf(frame.url);
    const fn = `${frame.functionName || '(anonymous)'} ${where === frame.functionName ? '' : where}${frame.url ? `:${frame.lineNumber + 1}` : ''}`.trim();
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byModule.set(where, (byModule.get(where) ?? 0) + us);
  });
  const shares = (m: Map<string, number>): Share[] => [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, selfMs: us / 1000, percent: busyUs === 0 ? 0 : (us / busyUs) * 100 }));
  return { busyMs: busyUs / 1000, functions: shares(byFunction), modules: shares(byModule) };
}

/** A short module name: `server/src/engine/session.js`, an npm package name, `node:internal/...`, or V8's pseudo-frame. */
function moduleOf(url: string): string {
  if (url === '') return '(native code, GC, V8)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  const ours = /packages\/([^/]+)\/dist\/(.+)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  if (url.startsWith('node:')) return url.replace(/^node:internal\/(deps\/)?/, 'node:').split('/').slice(0, 2).join('/');
  return url.replace(/^file:\/\//, '');
}
