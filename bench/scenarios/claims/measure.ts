/**
 * The claims benchmark's two measurements.
 *
 * runClaims: M claimer processes (claimer.ts: the real Distributor, builds replaced by immediate
 * completion) on one database holding N pending requests over 4 builders, started together; it
 * ends when no request is left incomplete. Claims/s = requests / (last completion − GO).
 *
 * runStartup: a real `node bin/buildmaster.js start --nodaemon` (from dist/) on a database holding
 * N pending requests, one slave host on the benchmark sshd: seconds from spawn to the first row
 * in buildrequest_claims (polled every 10 ms).
 */
import { spawn, type ChildProcess, execFile } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Database } from '../../../lib/db/connection.js';
import { select } from '../../../lib/db/query.js';
import { knownHostsLine } from '../../../lib/workers/knownHosts.js';
import { startBenchSshd, type Sshd } from '../../support/sshd.js';
import { percentile, round } from '../../support/stats.js';
import type { ClaimerResult } from './claimer.js';
import { createBenchDb, openBenchDb, seedPending } from './seed.js';

const run = promisify(execFile);
const CLAIMER = fileURLToPath(new URL('./claimer.ts', import.meta.url));
export const BUILDERS = ['b0', 'b1', 'b2', 'b3'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Dialect = 'sqlite' | 'mysql';

export interface ClaimsFigures {
  dialect: Dialect;
  masters: number;
  n: number;
  claims_per_s: number;
  p50_claim_ms: number;
  p99_claim_ms: number;
  /** Claim attempts lost to another master. */
  lost: number;
  /** Requests completed by more than one master (must be 0). */
  duplicates: number;
  /** Requests left incomplete or without exactly one claim (must be 0). */
  stranded: number;
  seconds: number;
  /** Requests won per master. */
  per_master: number[];
}

function lineReader(child: ChildProcess): () => Promise<string> {
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else lines.push(l);
  });
  return () => {
    const l = lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((resolve, reject) => {
      waiters.push(resolve);
      child.once('exit', (code) => reject(new Error(`claimer exited (${code})`)));
    });
  };
}

export async function runClaims(o: { repoRoot: string; dialect: Dialect; masters: number; n: number; workers: number; log: (l: string) => void }): Promise<ClaimsFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'bm-bench-claims-'));
  const bench = await createBenchDb(o.dialect, dir);
  let db: Database | undefined;
  const children: ChildProcess[] = [];
  try {
    db = await openBenchDb(bench.url, dir);
    o.log(`claims: ${o.dialect}, ${o.masters} master(s): seeding ${o.n} pending requests`);
    const builderids = await seedPending(db, BUILDERS, o.n);
    const builders = BUILDERS.map((name, i) => ({ name, builderid: builderids[i]! }));
    const readers: (() => Promise<string>)[] = [];
    for (let i = 0; i < o.masters; i++) {
      const args = { url: bench.url, basedir: dir, name: `bench:${dir}/m${i}`, builders, workers: o.workers };
      const child = spawn(process.execPath, ['--import', 'tsx', CLAIMER, JSON.stringify(args)], { cwd: o.repoRoot, stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(child);
      readers.push(lineReader(child));
    }
    for (const read of readers) if ((await read()) !== 'READY') throw new Error('a claimer did not get ready');
    for (const c of children) c.stdin!.write('GO\n');
    const results = (await Promise.all(readers.map((read) => read()))).map((l) => JSON.parse(l) as ClaimerResult);

    const seen = new Map<number, number>();
    for (const r of results) for (const brid of r.won) seen.set(brid, (seen.get(brid) ?? 0) + 1);
    const duplicates = [...seen.values()].filter((k) => k > 1).length;
    const [check] = await select<{ incomplete: number; claims: number }>(
      db,
      'SELECT (SELECT COUNT(*) FROM buildrequests WHERE complete = 0) AS incomplete, (SELECT COUNT(*) FROM buildrequest_claims) AS claims',
    );
    const stranded = Number(check!.incomplete) + Math.abs(Number(check!.claims) - o.n) + (o.n - seen.size);
    const goAt = Math.min(...results.map((r) => r.goAt));
    const endAt = Math.max(...results.map((r) => r.lastCompleteAt ?? r.goAt));
    const seconds = (endAt - goAt) / 1000;
    const latencies = results.flatMap((r) => r.latencies);
    return {
      dialect: o.dialect,
      masters: o.masters,
      n: o.n,
      claims_per_s: round(seen.size / seconds, 1),
      p50_claim_ms: round(percentile(latencies, 50), 2),
      p99_claim_ms: round(percentile(latencies, 99), 2),
      lost: results.reduce((a, r) => a + r.lost, 0),
      duplicates,
      stranded,
      seconds: round(seconds, 2),
      per_master: results.map((r) => r.won.length),
    };
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await db?.close().catch(() => {});
    await bench.drop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

export interface StartupFigures {
  dialect: Dialect;
  pending: number;
  /** Spawn of `buildmaster start` → first claim row. */
  start_to_first_claim_s: number;
}

function startupConfig(sshd: Sshd, dbUrl: string): string {
  const u = sshd.users[0]!;
  const worker = { name: 'w0', host: '127.0.0.1', port: sshd.port, user: u.name, privateKeyFile: u.privateKeyPath, basedir: join(u.home, 'worker'), maxBuilds: 1 };
  return `// generated by bench/scenarios/claims
import { defineConfig, steps, schedulers } from 'buildmaster';
const names = ${JSON.stringify(BUILDERS)};
export default defineConfig({
  title: 'bench claims',
  db: { url: ${JSON.stringify(dbUrl)} },
  www: { host: '127.0.0.1', port: 0 },
  collapseRequests: false,
  workers: [${JSON.stringify(worker)}],
  builders: names.map((name) => ({ name, workernames: ['w0'], steps: [new steps.ShellCommand({ name: 'true', command: ['true'] })] })),
  schedulers: [new schedulers.ForceScheduler({ name: 'force', builderNames: names })],
});
`;
}

export async function runStartup(o: { repoRoot: string; dialect: Dialect; n: number; log: (l: string) => void }): Promise<StartupFigures> {
  const root = await mkdtemp(join(tmpdir(), 'bm-bench-start-'));
  const masterDir = join(root, 'master');
  const bin = join(o.repoRoot, 'bin', 'buildmaster.js');
  const outFile = join(root, 'master.out');
  const bench = await createBenchDb(o.dialect, masterDir);
  let sshd: Sshd | undefined;
  let master: ChildProcess | undefined;
  let db: Database | undefined;
  try {
    sshd = await startBenchSshd(1);
    await run(process.execPath, [bin, 'create-master', '-q', masterDir], { cwd: o.repoRoot });
    const dbUrl = o.dialect === 'sqlite' ? 'sqlite:///state.sqlite' : bench.url;
    await writeFile(join(masterDir, 'master.config.ts'), startupConfig(sshd, dbUrl));
    const hostKey = Buffer.from(sshd.hostPublicKeyLine.split(' ')[1]!, 'base64');
    await writeFile(join(masterDir, 'known_hosts'), `${knownHostsLine('127.0.0.1', sshd.port, hostKey)}\n`);
    db = await openBenchDb(dbUrl, masterDir);
    o.log(`startup: ${o.dialect}: seeding ${o.n} pending requests`);
    await seedPending(db, BUILDERS, o.n);

    o.log(`startup: node bin/buildmaster.js start --nodaemon ${masterDir}`);
    const out = createWriteStream(outFile);
    const t0 = performance.now();
    master = spawn(process.execPath, [bin, 'start', '--nodaemon', masterDir], { cwd: o.repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    master.stdout!.pipe(out);
    master.stderr!.pipe(out);
    let seconds: number | undefined;
    while (performance.now() - t0 < 300_000) {
      if (master.exitCode !== null) throw new Error(`the master exited (${master.exitCode}):\n${readFileSync(outFile, 'utf8').slice(-3000)}`);
      const [row] = await select<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM buildrequest_claims');
      if (Number(row!.n) > 0) {
        seconds = (performance.now() - t0) / 1000;
        break;
      }
      await sleep(10);
    }
    if (seconds === undefined) throw new Error('no claim within 300 s');
    return { dialect: o.dialect, pending: o.n, start_to_first_claim_s: round(seconds, 2) };
  } finally {
    if (master && master.exitCode === null && master.signalCode === null) {
      const gone = new Promise((r) => master!.once('exit', r));
      master.kill('SIGTERM');
      const t = setTimeout(() => master!.kill('SIGKILL'), 60_000);
      await gone;
      clearTimeout(t);
    }
    await db?.close().catch(() => {});
    await sshd?.stop().catch(() => {});
    await bench.drop().catch(() => {});
    await rm(root, { recursive: true, force: true });
  }
}
