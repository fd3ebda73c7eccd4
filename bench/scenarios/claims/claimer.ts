/**
 * One benchmark "master" (a process of its own): a masters row and the real Distributor — its
 * pending-request reads, chooser and unique-insert claims — whose builds are replaced by immediate
 * completion (completeRequests SUCCESS). No SSH, no steps, no web server.
 *
 *   node --import tsx bench/scenarios/claims/claimer.ts '<json: { url, basedir, name, builders, workers }>'
 *
 * Prints READY once set up, starts on a line GO on stdin, and when no request is left incomplete
 * prints one JSON line: the requests it won, its claim latencies, and its first/last times (epoch ms).
 */
import { createInterface } from 'node:readline';
import type { ResolvedBuilder } from '../../../lib/config/resolved.js';
import { completeRequests } from '../../../lib/db/buildrequests.js';
import { findOrCreateMaster, markMasterActive } from '../../../lib/db/masters.js';
import { select } from '../../../lib/db/query.js';
import { MessageBus } from '../../../lib/master/bus.js';
import { Distributor, type DistributorBuilder } from '../../../lib/process/distributor.js';
import { workerHandle } from '../../../lib/process/handles.js';
import { SUCCESS } from '../../../lib/process/results.js';
import { silentLogger } from '../../../lib/util/log.js';
import { openBenchDb } from './seed.js';

interface ClaimerArgs {
  url: string;
  basedir: string;
  name: string;
  builders: { builderid: number; name: string }[];
  /** Fake workers per builder: each pass of a builder claims up to this many requests. */
  workers: number;
}

export interface ClaimerResult {
  name: string;
  masterid: number;
  won: number[];
  lost: number;
  /** Every claim attempt's duration, ms. */
  latencies: number[];
  goAt: number;
  firstClaimAt: number | null;
  lastCompleteAt: number | null;
  passes: number;
}

const args = JSON.parse(process.argv[2]!) as ClaimerArgs;
const db = await openBenchDb(args.url, args.basedir);
const masterid = await findOrCreateMaster(db, args.name);
await markMasterActive(db, masterid, Math.floor(Date.now() / 1000));
const workerNames = Array.from({ length: args.workers }, (_, i) => `f${i}`);
const workerConfigs = new Map(workerNames.map((name) => [name, { name, maxBuilds: 1_000_000, properties: {} } as never]));
const builders: DistributorBuilder[] = args.builders.map((b) => ({
  builderid: b.builderid,
  name: b.name,
  config: { name: b.name, workernames: workerNames } as unknown as ResolvedBuilder,
}));

const result: ClaimerResult = { name: args.name, masterid, won: [], lost: 0, latencies: [], goAt: 0, firstClaimAt: null, lastCompleteAt: null, passes: 0 };
const distributor: Distributor = new Distributor({
  db,
  bus: new MessageBus(),
  logger: silentLogger(),
  masterid,
  builders,
  fenceClaims: true,
  pollIntervalMs: 200,
  workers: { isAvailable: () => true, handle: (name) => workerHandle(workerConfigs.get(name)!, 0) },
  onClaim: (_brid, won, ms) => {
    result.latencies.push(ms);
    if (won) result.firstClaimAt ??= Date.now();
    else result.lost++;
  },
  startBuild: async (_b, _w, requests) => {
    // The "build": done as soon as it starts.
    const done = await completeRequests(db, requests.map((r) => r.id), SUCCESS, Math.floor(Date.now() / 1000), masterid);
    result.won.push(...done);
    result.lastCompleteAt = Date.now();
    distributor.wake(); // as a finished build does
    return true;
  },
});

process.stdout.write('READY\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line.trim() === 'GO') break;
lines.close();
result.goAt = Date.now();
distributor.start();
for (;;) {
  await new Promise((r) => setTimeout(r, 100));
  const [row] = await select<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM buildrequests WHERE complete = 0');
  if (Number(row!.n) === 0) break;
}
await distributor.stop();
result.passes = distributor.passes;
await db.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
