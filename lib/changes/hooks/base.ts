import { changeSpecProblem, type ChangeSpec } from '../../db/changes.js';
import { HookError } from './hookError.js';
import type { HookRequest, HookResult } from './hookRequest.js';

/**
 * Buildbot's base hook (www/hooks/base.py): one change from form fields — author (or who),
 * committer, comments, revision, when_timestamp (or when), branch, category, revlink, repository,
 * project, codebase, files (a JSON list) and properties (a JSON object) — sent urlencoded or in the
 * query string. Our addition: an application/json body with the same fields (files and properties
 * as JSON values), or a list of such objects for a push of several changes on one branch; and a
 * `src` field (git, hg, …) that links the author to a user, which `buildmaster sendchange --vc` sets.
 */

type Fields = Record<string, unknown>;

function formFields(req: HookRequest): Fields {
  const out: Fields = {};
  // As Twisted's request.args: query arguments first, and the first value of a field wins.
  const sources = [req.query];
  if (req.body.length > 0) sources.push(new URLSearchParams(req.body.toString('utf8')));
  for (const params of sources) for (const [k, v] of params) if (!(k in out)) out[k] = v;
  return out;
}

function parseJsonField(value: unknown, name: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new HookError(400, `${name}: invalid JSON: ${(err as Error).message}`);
  }
}

function optionalString(f: Fields, name: string): string | undefined {
  const v = f[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new HookError(400, `${name} must be a string`);
  return v;
}

function toChange(f: Fields, where: string): ChangeSpec {
  const files = f.files === undefined || f.files === '' ? [] : parseJsonField(f.files, `${where}files`);
  if (!Array.isArray(files) || files.some((x) => typeof x !== 'string')) throw new HookError(400, `${where}files must be a JSON list of file names`);
  const properties = f.properties === undefined || f.properties === '' ? {} : parseJsonField(f.properties, `${where}properties`);
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) throw new HookError(400, `${where}properties must be a JSON object`);
  const whenRaw = f.when_timestamp ?? f.when;
  let when: number | undefined;
  if (whenRaw !== undefined && whenRaw !== null && whenRaw !== '') {
    when = typeof whenRaw === 'number' ? whenRaw : Number(whenRaw);
    if (!Number.isFinite(when)) throw new HookError(400, `${where}when_timestamp must be a number of seconds, got ${JSON.stringify(whenRaw)}`);
  }
  const author = optionalString(f, 'author') || optionalString(f, 'who');
  if (!author) throw new HookError(400, `${where}author (or who) is required`);
  const change: ChangeSpec = {
    author,
    committer: optionalString(f, 'committer') ?? null,
    comments: optionalString(f, 'comments') ?? '',
    revision: optionalString(f, 'revision') ?? null,
    when_timestamp: when ?? null,
    branch: optionalString(f, 'branch') ?? null,
    category: optionalString(f, 'category') ?? null,
    revlink: optionalString(f, 'revlink') ?? '',
    repository: optionalString(f, 'repository') ?? '',
    project: optionalString(f, 'project') ?? '',
    codebase: optionalString(f, 'codebase') ?? '',
    files: files as string[],
    properties: properties as Record<string, unknown>,
    src: optionalString(f, 'src') ?? null,
  };
  const problem = changeSpecProblem(change);
  if (problem) throw new HookError(400, `${where}${problem}`);
  return change;
}

export function parseBaseHook(req: HookRequest): HookResult {
  let items: Fields[];
  if (req.contentType === 'application/json') {
    let data: unknown;
    try {
      data = JSON.parse(req.body.toString('utf8'));
    } catch (err) {
      throw new HookError(400, `invalid JSON body: ${(err as Error).message}`);
    }
    items = Array.isArray(data) ? (data as Fields[]) : [data as Fields];
    if (items.length === 0) throw new HookError(400, 'the JSON body lists no change');
    if (items.some((x) => x === null || typeof x !== 'object' || Array.isArray(x))) throw new HookError(400, 'the JSON body must be a change object or a list of them');
  } else if (req.contentType === '' || req.contentType === 'application/x-www-form-urlencoded') {
    items = [formFields(req)];
  } else {
    throw new HookError(400, `unsupported content type ${req.contentType} (use application/x-www-form-urlencoded or application/json)`);
  }
  const changes = items.map((f, i) => toChange(f, items.length > 1 ? `change ${i}: ` : ''));
  const first = changes[0]!;
  if (changes.some((c) => c.repository !== first.repository || (c.branch ?? null) !== (first.branch ?? null))) {
    throw new HookError(400, 'the changes of one payload must be on one repository and branch (one push)');
  }
  const last = changes[changes.length - 1]!;
  return { push: { repository: first.repository ?? '', branch: first.branch ?? null, author: last.author, pushed_at: req.now, source: 'base', changes } };
}
