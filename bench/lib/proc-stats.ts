/**
 * CPU time and memory of a process, read from Linux's /proc (the same figures `top` shows), so the
 * benchmark can watch a child server from outside without instrumenting it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { median } from './stats.js';

let ticksPerSecond: number | undefined;

/** USER_HZ, the unit of /proc/<pid>/stat CPU times; 100 on nearly every Linux. */
function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds the process (all its threads) has used. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses, so count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]); // field 14
  const stime = Number(fields[12]); // field 15
  return (utime + stime) / clockTicksPerSecond();
}

/** Whether /proc shows the process: a server in another container or VM answers on its port but is not visible here. */
export function visible(pid: number): boolean {
  try {
    cpuSeconds(pid);
    return true;
  } catch {
    return false;
  }
}

/** CPU seconds every core of the machine has spent busy (not idle, not waiting for I/O), from /proc/stat. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [, ...ticks] = line.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal; guest time is already counted in user.
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
  return (user + nice + system + irq + softirq + steal) / clockTicksPerSecond();
}

export interface Memory {
  /** Resident set size now. */
  readonly rssMb: number;
  /** Peak resident set size since the process started. */
  readonly peakRssMb: number;
}

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssMb: statusKb(status, 'VmRSS') / 1024, peakRssMb: statusKb(status, 'VmHWM') / 1024 };
}

function statusKb(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`/proc status has no ${field}`);
  return Number(match[1]);
}

/**
 * CPU use over an interval, as a percentage of one core (200% = two cores busy): of one process,
 * or with no pid of the whole machine.
 */
export class CpuMeter {
  private readonly startCpu: number;
  private readonly startWall = performance.now();

  constructor(private readonly pid?: number) {
    this.startCpu = this.read();
  }

  percent(): number {
    const wallSeconds = (performance.now() - this.startWall) / 1000;
    return (this.seconds() / wallSeconds) * 100;
  }

  /** CPU seconds used since the meter started. */
  seconds(): number {
    return this.read() - this.startCpu;
  }

  private read(): number {
    return this.pid === undefined ? machineBusySeconds() : cpuSeconds(this.pid);
  }
}

export interface IdleSample {
  readonly seconds: number;
  readonly cpuPercent: number;
  /** Median of the RSS readings over the interval. */
  readonly rssMb: number;
  readonly peakRssMb: number;
  /** One clock tick of CPU over the interval: CPU figures below it cannot be told apart from zero. */
  readonly cpuResolutionPercent: number;
}

/** Watch a process that is left alone for `seconds`: its CPU over the whole interval, its RSS every 250 ms. */
export async function sampleIdle(pid: number, seconds: number): Promise<IdleSample> {
  const meter = new CpuMeter(pid);
  const readings: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    readings.push(memory(pid).rssMb);
    await sleep(Math.min(250, Math.max(0, deadline - performance.now())));
  }
  const last = memory(pid);
  readings.push(last.rssMb);
  const cpuResolutionPercent = 100 / (clockTicksPerSecond() * seconds);
  return { seconds, cpuPercent: meter.percent(), rssMb: median(readings), peakRssMb: last.peakRssMb, cpuResolutionPercent };
}

/**
 * The local TCP ports of the sockets process `pid` holds open, from /proc (its fds name socket
 * inodes; /proc/<pid>/net/tcp{,6} map inodes to addresses), so its PostgreSQL backends can be found
 * by `client_port` in pg_stat_activity on a PostgreSQL that other clients share.
 */
export function localTcpPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1] as string);
    } catch {
      // closed between the listing and the read
    }
  }
  const ports: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue; // no IPv6 here
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (local && inodes.has(fields[9] ?? '')) ports.push(parseInt(local.slice(local.lastIndexOf(':') + 1), 16));
    }
  }
  return ports;
}
