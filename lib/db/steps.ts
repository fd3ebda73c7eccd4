import type { Transaction } from 'sequelize';
import type { Database } from './connection.js';
import type { StepRow } from './model/index.js';
import { epochSeconds, insert, isUniqueViolation, select, selectOne, update } from './query.js';

export type { StepRow } from './model/index.js';

/** steps.name is VARCHAR(50). */
export const MAX_STEP_NAME = 50;
const MAX_ATTEMPTS = 10;

function cut(s: string, n: number): string {
  const cps = Array.from(s);
  return cps.length <= n ? s : cps.slice(0, n).join('');
}

/** `name`, or `name_1`, `name_2`… (cut to fit 50 characters) — the first not in `taken`, as Buildbot does. */
export function uniqueStepName(name: string, taken: ReadonlySet<string>): string {
  const base = cut(name, MAX_STEP_NAME);
  if (!taken.has(base)) return base;
  for (let n = 1; ; n++) {
    const suffix = `_${n}`;
    const candidate = cut(name, MAX_STEP_NAME - suffix.length) + suffix;
    if (!taken.has(candidate)) return candidate;
  }
}

/** What the caller knows of a build's steps: the numbers used so far and the names taken. */
export interface KnownSteps {
  count: number;
  names: Set<string>;
}

export interface AddStepOptions {
  /** Insert the step already started at this time (epoch seconds): startStep folded into the INSERT. */
  startedAt?: number;
  /**
   * The build's steps as its master tracks them (only the build's own master adds its steps), so
   * no read precedes the INSERT; updated with the step added. Should it be stale anyway, the
   * unique indexes reject the INSERT and the steps are read from the table as without it.
   */
  known?: KnownSteps;
}

/**
 * Adds the build's next step (numbers from 0), state 'pending'. A name already used in the build
 * gets `_1`, `_2`… Only the build's own master adds its steps, but should two adds race anyway,
 * the unique (buildid, number) and (buildid, name) indexes reject one, which reads again and retries.
 */
export async function addStep(db: Database, buildid: number, name: string, t?: Transaction, opts: AddStepOptions = {}): Promise<{ stepid: number; number: number; name: string }> {
  const known = opts.known;
  for (let attempt = 0; ; attempt++) {
    let number: number;
    let taken: ReadonlySet<string>;
    if (known && attempt === 0) {
      number = known.count;
      taken = known.names;
    } else {
      const lock = attempt > 0 && t && db.caps.rowLocks ? ' FOR UPDATE' : ''; // see findOrCreateId
      const existing = await select<{ number: number; name: string }>(db, `SELECT number, name FROM steps WHERE buildid = ?${lock}`, [buildid], t);
      number = existing.reduce((max, s) => Math.max(max, Number(s.number)), -1) + 1;
      taken = new Set(existing.map((s) => s.name));
    }
    const unique = uniqueStepName(name, taken);
    try {
      const { insertId } = await insert(
        db,
        `INSERT INTO steps (number, name, buildid, started_at, complete_at, state_string, results, urls_json, hidden)
         VALUES (?, ?, ?, ?, NULL, 'pending', NULL, '[]', 0)`,
        [number, unique, buildid, opts.startedAt ?? null],
        t,
      );
      if (known) {
        known.count = Math.max(known.count, number + 1);
        known.names.add(unique);
      }
      return { stepid: insertId, number, name: unique };
    } catch (err) {
      if (!isUniqueViolation(err) || attempt + 1 >= MAX_ATTEMPTS) throw err;
    }
  }
}

export async function startStep(db: Database, stepid: number, now = epochSeconds(), t?: Transaction): Promise<void> {
  await update(db, 'UPDATE steps SET started_at = ? WHERE id = ?', [now, stepid], t);
}

export async function setStepStateString(db: Database, stepid: number, text: string, t?: Transaction): Promise<void> {
  await update(db, 'UPDATE steps SET state_string = ? WHERE id = ?', [text, stepid], t);
}

export async function finishStep(db: Database, stepid: number, results: number, now = epochSeconds(), hidden = false, t?: Transaction): Promise<void> {
  await update(db, 'UPDATE steps SET complete_at = ?, results = ?, hidden = ? WHERE id = ?', [now, results, hidden ? 1 : 0, stepid], t);
}

/** finishStep and setStepStateString in one statement: the step's final row. */
export async function completeStep(
  db: Database,
  stepid: number,
  done: { results: number; completeAt: number; hidden: boolean; stateString: string },
  t?: Transaction,
): Promise<void> {
  await update(
    db,
    'UPDATE steps SET state_string = ?, complete_at = ?, results = ?, hidden = ? WHERE id = ?',
    [done.stateString, done.completeAt, done.results, done.hidden ? 1 : 0, stepid],
    t,
  );
}

/**
 * Appends {name, url} to the step's urls_json unless that exact pair is there (Buildbot's addURL).
 * A read-modify-write, so it runs in a transaction that holds the row (FOR UPDATE where rows
 * lock; sqlite's write transaction locks the file): concurrent adds to one step all land.
 */
export async function addStepUrl(db: Database, stepid: number, name: string, url: string, t?: Transaction): Promise<void> {
  if (!t) return db.transaction((tx) => addStepUrl(db, stepid, name, url, tx), { driverOnly: true });
  const lock = db.caps.rowLocks ? ' FOR UPDATE' : '';
  const row = await selectOne<{ urls_json: string }>(db, `SELECT urls_json FROM steps WHERE id = ?${lock}`, [stepid], t);
  if (!row) return;
  const urls = JSON.parse(row.urls_json || '[]') as { name: string; url: string }[];
  if (urls.some((u) => u.name === name && u.url === url)) return;
  urls.push({ name, url });
  await update(db, 'UPDATE steps SET urls_json = ? WHERE id = ?', [JSON.stringify(urls), stepid], t);
}

const STEP_COLUMNS = 'id, number, name, buildid, started_at, complete_at, state_string, results, urls_json, hidden';

export function getStep(db: Database, stepid: number, t?: Transaction): Promise<StepRow | undefined> {
  return selectOne<StepRow>(db, `SELECT ${STEP_COLUMNS} FROM steps WHERE id = ?`, [stepid], t);
}

/** The build's steps in order. */
export function getSteps(db: Database, buildid: number, t?: Transaction): Promise<StepRow[]> {
  return select<StepRow>(db, `SELECT ${STEP_COLUMNS} FROM steps WHERE buildid = ? ORDER BY number`, [buildid], t);
}
