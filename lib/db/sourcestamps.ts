import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import { findOrCreateId } from './findOrCreate.js';
import { hashColumns } from './hash.js';
import type { PatchRow, SourcestampRow } from './model/index.js';
import { epochSeconds, insert, select, selectOne } from './query.js';

export type { PatchRow, SourcestampRow } from './model/index.js';

/** A patch to apply on top of a checkout (Buildbot's patch_body/patch_level/…). */
export interface PatchSpec {
  body: string | Buffer;
  /** `patch -p<level>` (default 1, Buildbot's force-scheduler default). */
  level?: number;
  author?: string;
  comment?: string;
  subdir?: string | null;
}

/** A sourcestamp as schedulers and force requests describe it; omitted strings are '' (Buildbot's defaults). */
export interface SourcestampSpec {
  branch?: string | null;
  revision?: string | null;
  repository?: string;
  project?: string;
  codebase?: string;
  patch?: PatchSpec | null;
}

/** A sourcestamps row with its patch, if any. */
export interface SourcestampWithPatch extends SourcestampRow {
  patch: PatchRow | null;
}

/**
 * The id of the sourcestamp `spec` describes, creating it when new. Stamps dedup on ss_hash,
 * Buildbot's hashColumns(branch, revision, repository, project, codebase, patchid); a patch always
 * gets a fresh patches row first, so patched stamps never dedup (as in Buildbot).
 */
/**
 * The ss_hash an unpatched `spec` dedups on (undefined for a patched one, which never dedups).
 * Sourcestamp rows are never changed nor deleted, so a hash → id learnt once stays true.
 */
export function sourcestampHash(spec: SourcestampSpec): string | undefined {
  if (spec.patch) return undefined;
  return hashColumns(spec.branch ?? null, spec.revision ?? null, spec.repository ?? '', spec.project ?? '', spec.codebase ?? '', null);
}

export async function findOrCreateSourcestamp(db: Database, spec: SourcestampSpec, t?: Transaction, now = epochSeconds()): Promise<number> {
  const branch = spec.branch ?? null;
  const revision = spec.revision ?? null;
  const repository = spec.repository ?? '';
  const project = spec.project ?? '';
  const codebase = spec.codebase ?? '';
  let patchid: number | null = null;
  if (spec.patch) {
    const p = spec.patch;
    const body = typeof p.body === 'string' ? Buffer.from(p.body, 'utf8') : p.body;
    ({ insertId: patchid } = await insert(
      db,
      'INSERT INTO patches (patchlevel, patch_base64, patch_author, patch_comment, subdir) VALUES (?, ?, ?, ?, ?)',
      [p.level ?? 1, body.toString('base64'), p.author ?? '', p.comment ?? '', p.subdir ?? null],
      t,
    ));
  }
  const ssHash = hashColumns(branch, revision, repository, project, codebase, patchid);
  const { id } = await findOrCreateId(
    db,
    { sql: 'SELECT id FROM sourcestamps WHERE ss_hash = ?', params: [ssHash] },
    {
      sql: 'INSERT INTO sourcestamps (ss_hash, branch, revision, patchid, repository, codebase, project, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      params: [ssHash, branch, revision, patchid, repository, codebase, project, now],
    },
    t,
  );
  return id;
}

const SS_COLUMNS = 'ss.id, ss.ss_hash, ss.branch, ss.revision, ss.patchid, ss.repository, ss.codebase, ss.project, ss.created_at';
const PATCH_COLUMNS = 'p.patchlevel, p.patch_base64, p.patch_author, p.patch_comment, p.subdir';

type JoinedRow = SourcestampRow & Omit<PatchRow, 'id'>;

export function toSourcestamp(r: JoinedRow): SourcestampWithPatch {
  const patch: PatchRow | null = r.patchid === null || r.patch_base64 === null || r.patch_base64 === undefined
    ? null
    : { id: r.patchid, patchlevel: r.patchlevel, patch_base64: r.patch_base64, patch_author: r.patch_author, patch_comment: r.patch_comment, subdir: r.subdir };
  return {
    id: r.id, ss_hash: r.ss_hash, branch: r.branch, revision: r.revision, patchid: r.patchid,
    repository: r.repository, codebase: r.codebase, project: r.project, created_at: r.created_at, patch,
  };
}

export async function getSourcestamp(db: Database, ssid: number, t?: Transaction): Promise<SourcestampWithPatch | undefined> {
  const row = await selectOne<JoinedRow>(
    db,
    `SELECT ${SS_COLUMNS}, ${PATCH_COLUMNS} FROM sourcestamps ss LEFT JOIN patches p ON p.id = ss.patchid WHERE ss.id = ?`,
    [ssid],
    t,
  );
  return row && toSourcestamp(row);
}

/** Several sourcestamps by id (missing ids are left out), in id order. */
export async function getSourcestamps(db: Database, ssids: readonly number[], t?: Transaction): Promise<SourcestampWithPatch[]> {
  if (ssids.length === 0) return [];
  const rows = await select<JoinedRow>(
    db,
    `SELECT ${SS_COLUMNS}, ${PATCH_COLUMNS} FROM sourcestamps ss LEFT JOIN patches p ON p.id = ss.patchid WHERE ss.id IN (?) ORDER BY ss.id`,
    [[...new Set(ssids)]],
    t,
  );
  return rows.map(toSourcestamp);
}

/** The sourcestamps of a buildset, in the order they were given. */
export async function getSourcestampsOfBuildset(db: Database, bsid: number, t?: Transaction): Promise<SourcestampWithPatch[]> {
  const rows = await select<JoinedRow>(
    db,
    `SELECT ${SS_COLUMNS}, ${PATCH_COLUMNS} FROM buildset_sourcestamps bss
       JOIN sourcestamps ss ON ss.id = bss.sourcestampid
       LEFT JOIN patches p ON p.id = ss.patchid
     WHERE bss.buildsetid = ? ORDER BY bss.id`,
    [bsid],
    t,
  );
  return rows.map(toSourcestamp);
}

/** The decoded body of a patch row. */
export function patchBody(patch: PatchRow): Buffer {
  return Buffer.from(patch.patch_base64, 'base64');
}
