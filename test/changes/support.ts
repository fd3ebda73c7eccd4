/** Real git and hg repositories, a real database and a poller's dependencies for the change-source tests. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { ResolvedGitPoller, ResolvedHgPoller } from '../../lib/config/resolved.js';
import type { Database } from '../../lib/db/connection.js';
import { findOrCreateMaster, markMasterActive } from '../../lib/db/masters.js';
import { epochSeconds, select } from '../../lib/db/query.js';
import { MessageBus } from '../../lib/master/bus.js';
import type { PollerDeps } from '../../lib/changes/pollerBase.js';
import type { Logger } from '../../lib/util/log.js';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: tmpdir(), GIT_AUTHOR_NAME: 'Ann Author', GIT_AUTHOR_EMAIL: 'ann@example.org', GIT_COMMITTER_NAME: 'Carl Committer', GIT_COMMITTER_EMAIL: 'carl@example.org' };

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();
}

export function hg(cwd: string, ...args: string[]): string {
  return execFileSync('hg', args, { cwd, env: { ...process.env, HGPLAIN: '1', HGUSER: 'Hanna Hg <hanna@example.org>', HGENCODING: 'utf-8' }, encoding: 'utf8' }).trim();
}

function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
}

/** A non-bare git repository with one commit on master. */
export function makeGitRepo(root: string, name = 'repo'): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'master');
  gitCommit(dir, { 'README': 'hello\n' }, 'initial commit');
  return dir;
}

/** Commits `files` with `message`; returns the new sha. `when` is the author/commit time (epoch s). */
export function gitCommit(dir: string, files: Record<string, string>, message: string, opts: { author?: string; when?: number } = {}): string {
  writeFiles(dir, files);
  git(dir, 'add', '-A');
  const args = ['commit', '-q', '-m', message];
  if (opts.author) args.push(`--author=${opts.author}`);
  if (opts.when) args.push(`--date=${opts.when} +0000`);
  execFileSync('git', args, { cwd: dir, env: { ...GIT_ENV, ...(opts.when ? { GIT_COMMITTER_DATE: `${opts.when} +0000` } : {}) } });
  return git(dir, 'rev-parse', 'HEAD');
}

/** An hg repository with one changeset on default. */
export function makeHgRepo(root: string, name = 'hgrepo'): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  hg(dir, 'init');
  hgCommit(dir, { README: 'hello\n' }, 'initial commit');
  return dir;
}

export function hgCommit(dir: string, files: Record<string, string>, message: string, opts: { user?: string; when?: number } = {}): string {
  writeFiles(dir, files);
  const args = ['commit', '-q', '-A', '-m', message];
  if (opts.user) args.push('-u', opts.user);
  if (opts.when) args.push('-d', `${opts.when} 0`);
  hg(dir, ...args);
  return hg(dir, 'log', '-r', '.', '-T', '{node}');
}

/** A pino logger whose records land in `records` (for asserting what was logged). */
export function captureLogger(): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) records.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), records };
}

/** A master row, active now, and the dependencies a poller needs on it. */
export async function pollerDeps(db: Database, basedir: string, name: string, logger?: Logger): Promise<PollerDeps & { bus: MessageBus }> {
  const masterid = await findOrCreateMaster(db, name);
  await markMasterActive(db, masterid, epochSeconds());
  return { db, bus: new MessageBus(), logger: logger ?? captureLogger().logger, masterid, basedir, deadMasterTimeout: 60, retryBaseMs: 50 };
}

const POLLER_FIELDS = { pollInterval: 3600, pollAtLaunch: false, pollRandomDelayMin: 0, pollRandomDelayMax: 0, project: 'proj', usetimestamps: true, encoding: 'utf-8' };

export function gitPollerConfig(repourl: string, workdir: string, extra: Partial<ResolvedGitPoller> = {}): ResolvedGitPoller {
  return { kind: 'GitPoller', name: repourl, repourl, workdir, ...POLLER_FIELDS, branches: ['master'], only_tags: false, buildPushesWithNoCommits: false, gitbin: 'git', ...extra };
}

export function hgPollerConfig(repourl: string, workdir: string, extra: Partial<ResolvedHgPoller> = {}): ResolvedHgPoller {
  return { kind: 'HgPoller', name: repourl, repourl, workdir, ...POLLER_FIELDS, branches: ['default'], bookmarks: [], hgbin: 'hg', ...extra };
}

/** Row counts of every table (to prove that nothing was stored). */
export async function countRows(db: Database): Promise<Record<string, number>> {
  const tables = ((await db.sequelize.getQueryInterface().showAllTables()) as unknown[]).map((t) => (typeof t === 'string' ? t : (t as { tableName: string }).tableName)).sort();
  const out: Record<string, number> = {};
  for (const t of tables) out[t] = Number((await select<{ n: number }>(db, `SELECT COUNT(*) AS n FROM ${t}`))[0]!.n);
  return out;
}
