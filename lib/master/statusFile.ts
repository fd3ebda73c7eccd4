/**
 * DIR/buildmaster.status.json: how a `start --nodaemon` process talks back to the commands that
 * signal it. A signal carries no answer, so the master writes here — atomically (tmp + rename), the
 * whole record each time — what `stop` and `reconfig` need to say how it went:
 *   - pid and the shutdown bound (so `stop` knows how long to wait),
 *   - the result of each reconfig, numbered (so `reconfig` can tell its own answer from an old one),
 *   - how the last stop ended (so `stop` can exit with the matching status).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** How a stop ended: every build finished (or none ran), builds outlasted the bound, or a second signal. */
export type StopOutcome = 'clean' | 'bound' | 'forced';

export interface ReconfigReport {
  /** 1, 2, …: one per reconfig this process ran. */
  seq: number;
  ok: boolean;
  /** The config's problems, one per line, when rejected. */
  errors?: string[];
  /** What changed, by kind ("builders added: x, y"), when applied. */
  changes?: string[];
  /** Settings that changed but take effect only at the next start. */
  restartNeeded?: string[];
}

export interface MasterStatus {
  pid: number;
  state: 'running' | 'stopping' | 'stopped';
  /** Seconds a stop lets builds finish (config shutdown.buildBound). */
  buildBoundS: number;
  reconfig?: ReconfigReport;
  stop?: { outcome: StopOutcome; retried: number[] };
}

export function readStatus(file: string): MasterStatus | undefined {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as MasterStatus;
    return typeof s.pid === 'number' ? s : undefined;
  } catch {
    return undefined;
  }
}

export function writeStatus(file: string, status: MasterStatus): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(status, null, 2)}\n`);
  renameSync(tmp, file);
}
