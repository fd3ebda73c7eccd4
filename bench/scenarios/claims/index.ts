/**
 * `npm run bench -- claims`: how fast several masters drain one queue, and how fast a master with a
 * deep queue starts claiming (Buildbot issue 3395: 25,000 pending requests made its start take
 * about 8 minutes). See measure.ts for what each figure is.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { machineDescription } from '../../support/procStats.js';
import { sshdUnavailable } from '../../support/sshd.js';
import { intOption } from '../options.js';
import type { BenchScenario } from '../types.js';
import { runClaims, runStartup, type ClaimsFigures, type Dialect, type StartupFigures } from './measure.js';
import { benchMysqlUrl } from './seed.js';

const START_TARGET_S = 5;

function listOption(name: string, v: string | undefined, dflt: string[], allowed?: string[]): string[] {
  const items = v === undefined ? dflt : v.split(',').map((x) => x.trim()).filter(Boolean);
  for (const x of items) if (allowed && !allowed.includes(x)) throw new Error(`--${name}: ${x} is not one of ${allowed.join(', ')}`);
  return items;
}

function claimsTable(rows: ClaimsFigures[]): string {
  const head = '| dialect | masters | requests | claims/s | p50 claim ms | p99 claim ms | lost races | duplicates | stranded | seconds | won per master |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|';
  return [head, ...rows.map((r) => `| ${r.dialect} | ${r.masters} | ${r.n} | ${r.claims_per_s} | ${r.p50_claim_ms} | ${r.p99_claim_ms} | ${r.lost} | ${r.duplicates} | ${r.stranded} | ${r.seconds} | ${r.per_master.join(' / ')} |`)].join('\n');
}

function startTable(rows: StartupFigures[]): string {
  const head = `| dialect | pending requests | start → first claim (s) | target < ${START_TARGET_S} s |\n|---|---:|---:|---|`;
  return [head, ...rows.map((r) => `| ${r.dialect} | ${r.pending} | ${r.start_to_first_claim_s} | ${r.start_to_first_claim_s < START_TARGET_S ? 'met' : 'MISSED'} |`)].join('\n');
}

export const scenario: BenchScenario = {
  name: 'claims',
  usage: `claims: M claimer processes (the real Distributor; builds replaced by immediate completion) draining N pending
    requests over 4 builders from one database: claims/s, p50/p99 claim latency, lost races, duplicates (must be 0);
    then a real \`buildmaster start\` on a database with --start-n pending requests: seconds from spawn to the first
    claim (target < ${START_TARGET_S} s; needs root for the sshd slave host). MariaDB: BUILDMASTER_BENCH_DB_URL, else
    BUILDMASTER_TEST_DB_URL, else the dev server. Options: --masters 1,2,4  --n 10000  --workers 4 (fake workers per
    builder)  --dialects sqlite,mysql  --start-n 25000  --skip-start  --skip-claims`,
  byDefault: true,
  async run(ctx) {
    const { values } = parseArgs({
      args: ctx.argv,
      options: {
        masters: { type: 'string' },
        n: { type: 'string' },
        workers: { type: 'string' },
        dialects: { type: 'string' },
        'start-n': { type: 'string' },
        'skip-start': { type: 'boolean', default: false },
        'skip-claims': { type: 'boolean', default: false },
      },
      strict: true,
    });
    const masters = listOption('masters', values.masters, ['1', '2', '4']).map((m) => intOption('masters', m, 1, 1));
    const n = intOption('n', values.n, 10_000, 1);
    const workers = intOption('workers', values.workers, 4, 1);
    const dialects = listOption('dialects', values.dialects, ['sqlite', 'mysql'], ['sqlite', 'mysql']) as Dialect[];
    const startN = intOption('start-n', values['start-n'], 25_000, 1);
    const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    ctx.log(`claims: ${machineDescription()}; MariaDB ${new URL(benchMysqlUrl()).host}`);

    let ok = true;
    const claimRows: ClaimsFigures[] = [];
    if (!values['skip-claims']) {
      for (const dialect of dialects) {
        for (const m of masters) {
          try {
            const r = await runClaims({ repoRoot: ctx.repoRoot, dialect, masters: m, n, workers, log: ctx.log });
            ctx.log(`claims: ${dialect} x${m}: ${r.claims_per_s} claims/s, p99 ${r.p99_claim_ms} ms, duplicates ${r.duplicates}, stranded ${r.stranded}`);
            claimRows.push(r);
            if (r.duplicates !== 0 || r.stranded !== 0) ok = false;
          } catch (err) {
            ctx.log(`claims: ${dialect} x${m} failed: ${(err as Error).stack ?? String(err)}`);
            ok = false;
          }
        }
      }
    }
    const startRows: StartupFigures[] = [];
    if (!values['skip-start']) {
      const cannot = sshdUnavailable();
      if (cannot) {
        ctx.log(`claims: start measure skipped: ${cannot}`);
      } else {
        for (const dialect of dialects) {
          try {
            const r = await runStartup({ repoRoot: ctx.repoRoot, dialect, n: startN, log: ctx.log });
            ctx.log(`claims: start with ${startN} pending (${dialect}): first claim after ${r.start_to_first_claim_s} s`);
            startRows.push(r);
          } catch (err) {
            ctx.log(`claims: start measure (${dialect}) failed: ${(err as Error).stack ?? String(err)}`);
            ok = false;
          }
        }
      }
    }
    await mkdir(dirname(ctx.out), { recursive: true });
    for (const r of claimRows) await appendFile(ctx.out, `${JSON.stringify({ scenario: 'claims', date, measure: 'claims', workers, ...r })}\n`);
    for (const r of startRows) await appendFile(ctx.out, `${JSON.stringify({ scenario: 'claims', date, measure: 'startup', ...r })}\n`);
    if (claimRows.length) ctx.print(`claims: ${n} pending requests, 4 builders, ${workers} fake workers per builder, builds complete at once\n\n${claimsTable(claimRows)}\n`);
    if (startRows.length) ctx.print(`claims: real \`buildmaster start\`, spawn → first claim row\n\n${startTable(startRows)}\n`);
    return ok;
  },
};
