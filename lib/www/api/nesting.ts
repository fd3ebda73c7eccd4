/**
 * The many ways a path names a builder, build, step or log (Buildbot's BuildNestingMixin):
 * /builders/{id|name}/builds/{number}/steps/{number|name}/logs/{slug} and the shorter forms.
 * Each returns undefined when the thing does not exist.
 */
import type { Database } from '../../db/connection.js';
import { nameHash } from '../../db/hash.js';
import { selectOne } from '../../db/query.js';
import type { PathArgs } from './types.js';

async function id(db: Database, sql: string, params: unknown[]): Promise<number | undefined> {
  const row = await selectOne<{ id: number }>(db, sql, params);
  return row ? Number(row.id) : undefined;
}

export async function builderIdOf(db: Database, args: PathArgs): Promise<number | undefined> {
  if (typeof args.builderid === 'number') return args.builderid;
  if (typeof args.buildername === 'string') return id(db, 'SELECT id FROM builders WHERE name_hash = ?', [nameHash(args.buildername)]);
  return undefined;
}

export async function buildIdOf(db: Database, args: PathArgs): Promise<number | undefined> {
  if (typeof args.buildid === 'number') return args.buildid;
  const number = args.build_number ?? args.number;
  if (typeof number !== 'number') return undefined;
  const builderid = await builderIdOf(db, args);
  if (builderid === undefined) return undefined;
  return id(db, 'SELECT id FROM builds WHERE builderid = ? AND number = ?', [builderid, number]);
}

export async function stepIdOf(db: Database, args: PathArgs): Promise<number | undefined> {
  if (typeof args.stepid === 'number') return args.stepid;
  const buildid = await buildIdOf(db, args);
  if (buildid === undefined) return undefined;
  if (typeof args.step_number === 'number') return id(db, 'SELECT id FROM steps WHERE buildid = ? AND number = ?', [buildid, args.step_number]);
  if (typeof args.step_name === 'string') return id(db, 'SELECT id FROM steps WHERE buildid = ? AND name = ?', [buildid, args.step_name]);
  return undefined;
}

export async function logIdOf(db: Database, args: PathArgs): Promise<number | undefined> {
  if (typeof args.logid === 'number') return args.logid;
  const stepid = await stepIdOf(db, args);
  if (stepid === undefined || typeof args.log_slug !== 'string') return undefined;
  return id(db, 'SELECT id FROM logs WHERE stepid = ? AND slug = ?', [stepid, args.log_slug]);
}

/** Buildbot's numbering of path forms: the same endpoint under a builder id or a builder name. */
export function withBuilderForms(...patterns: string[]): string {
  return patterns
    .flatMap((p) => (p.includes('BUILDER') ? [p.replace('BUILDER', 'n:builderid'), p.replace('BUILDER', 'i:buildername')] : [p]))
    .join('\n');
}
