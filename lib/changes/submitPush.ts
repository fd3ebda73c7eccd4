import type { DbTransaction as Transaction } from '../db/connection.js';
import { getChanges } from '../db/changes.js';
import type { Database } from '../db/connection.js';
import { addPush, type PushSpec } from '../db/pushes.js';
import { epochSeconds } from '../db/query.js';
import { getSourcestamps } from '../db/sourcestamps.js';
import type { MessageBus } from '../master/bus.js';
import { silentLogger, type Logger } from '../util/log.js';
import { changeResource, pushResource } from './changeResource.js';

/** Where change sources and hooks deliver pushes. */
export interface ChangeSink {
  db: Database;
  bus: MessageBus;
  logger?: Logger;
}

export interface SubmitOptions {
  /**
   * More work for the push's transaction, run after the push is written: a poller checks it still
   * holds its change source and advances its state there. Throwing rolls the push back.
   */
  inTransaction?: (t: Transaction) => Promise<void>;
}

/**
 * Stores a push with its changes in one transaction, then announces them: ['changes', id, 'new']
 * for each change (the change as REST shows it, oldest first) and ['pushes', id, 'new'].
 * Nothing is published unless everything was stored.
 */
export async function submitPush(sink: ChangeSink, spec: PushSpec, opts: SubmitOptions = {}): Promise<{ pushid: number; changeids: number[] }> {
  const now = epochSeconds();
  const result = await sink.db.transaction(async (t) => {
    const r = await addPush(sink.db, spec, t, now);
    if (opts.inTransaction) await opts.inTransaction(t);
    return r;
  });
  const logger = sink.logger ?? silentLogger();
  try {
    const changes = await getChanges(sink.db, result.changeids);
    const stamps = new Map((await getSourcestamps(sink.db, changes.map((c) => c.sourcestampid))).map((s) => [s.id, s]));
    for (const c of changes) sink.bus.publish(['changes', String(c.changeid), 'new'], changeResource(c, stamps.get(c.sourcestampid)));
    const row = { id: result.pushid, repository: spec.repository, branch: spec.branch, author: spec.author, pushed_at: Math.floor(spec.pushed_at ?? now), source: spec.source };
    sink.bus.publish(['pushes', String(result.pushid), 'new'], pushResource(row, result.changeids));
  } catch (err) {
    // Stored is stored: schedulers also poll the changes table, so a lost event delays nothing for long.
    logger.error({ event: 'changes.publishFailed', pushid: result.pushid, err: (err as Error).message }, 'announcing a stored push failed');
  }
  logger.info(
    { event: 'changes.push', pushid: result.pushid, source: spec.source, repository: spec.repository, branch: spec.branch, changes: result.changeids.length },
    `push ${result.pushid}: ${result.changeids.length} change(s) on ${spec.branch ?? '(default branch)'} of ${spec.repository || '(no repository)'} from ${spec.source}`,
  );
  return result;
}
