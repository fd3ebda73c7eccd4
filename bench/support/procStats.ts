/** Readings from /proc (Linux): a process's CPU time and memory, and the machine's busy CPU. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** USER_HZ: the unit of the CPU times in /proc (100 nearly everywhere). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of a process, in seconds; undefined when it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** VmHWM (peak RSS), VmRSS and Threads of a process, in kB (Threads: a count). */
export function processStatus(pid: number): { VmHWM?: number; VmRSS?: number; Threads?: number } {
  const out: Record<string, number> = {};
  try {
    for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
      const [key, value] = line.split(':');
      if (key === 'VmHWM' || key === 'VmRSS' || key === 'Threads') out[key] = parseInt(value.trim(), 10);
    }
  } catch {
    /* gone */
  }
  return out;
}

/** CPU-seconds the whole machine spent busy (user+nice+system+irq+softirq), from /proc/stat. */
export function machineBusySeconds(): number {
  const first = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const [user, nice, system, , , irq, softirq] = first.split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq) / ticksPerSecond();
}

/** This process's own CPU time, in seconds. */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export function machineDescription(): string {
  let model = 'unknown CPU';
  try {
    model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? model;
  } catch {
    /* not Linux */
  }
  let memGiB = '?';
  try {
    const kb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
    memGiB = (kb / 1024 / 1024).toFixed(0);
  } catch {
    /* not Linux */
  }
  let kernel = '';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    /* not Linux */
  }
  const cores = execFileSync('nproc', { encoding: 'utf8' }).trim();
  return `${cores} cores (${model}), ${memGiB} GiB RAM, kernel ${kernel}, node ${process.version}`;
}

/**
 * CPU seconds of a process's main thread (the event loop: all JS) and of its other threads by name
 * (node's libuv pool, which runs sqlite statements, zlib and fs work, and V8's GC and compiler helpers;
 * Node 20 leaves most of them named 'node', hence 'other: node').
 */
export function threadCpuSeconds(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const comm = Number(tid) === pid ? 'main thread' : `other: ${readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim()}`;
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[comm] = (out[comm] ?? 0) + (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
    } catch {
      /* the thread ended */
    }
  }
  return out;
}

/** after − before per thread name, in ms per unit (e.g. per build). */
export function threadCpuDelta(before: Record<string, number>, after: Record<string, number>, per: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, s] of Object.entries(after)) {
    const d = ((s - (before[name] ?? 0)) * 1000) / per;
    if (d > 0) out[name] = Math.round(d * 100) / 100;
  }
  return out;
}
