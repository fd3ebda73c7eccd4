/**
 * Validation of a loaded config object, once, at load: every problem is collected (wrong types,
 * missing and unknown options, bad values, duplicates, dangling references), and when there are
 * none the result is the resolved config with every default applied. Pure apart from checking that
 * secrets.dir exists; positions in the source are added by the loader.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import type { ConfigProblem } from '../errors/ConfigError.js';
import { formatPath, type PathSegment } from './configPath.js';
import { crossrefProblems } from './crossrefs.js';
import type { ResolvedChangeSource, ResolvedConfig } from './resolved.js';
import { isPlainObject } from './renderables.js';
import { changeSource } from './schemas/changeSources.js';
import { MISSING, PARSE_OPTIONS, describeValue } from './schemas/common.js';
import { builder, masterTop, resolveTop, worker } from './schemas/master.js';
import { scheduler } from './schemas/schedulers.js';

/** Where to look for a problem in the source when its path is not written literally there. */
export interface LocationHint {
  /** An unknown option: its key. */
  key?: string;
  /** A bad or dangling string value. */
  literal?: string;
  /** A missing option or an implied value: the path of the object it belongs to. */
  within?: string;
}

export type DraftProblem = ConfigProblem & { hint?: LocationHint };

export type ValidationResult = { ok: true; config: ResolvedConfig } | { ok: false; problems: DraftProblem[] };

/** `basedir` is the master directory: relative paths in the config are taken from it. */
export function validateConfig(raw: unknown, basedir: string): ValidationResult {
  if (!isPlainObject(raw)) {
    return {
      ok: false,
      problems: [{ path: '', message: `the default export must be the config object (export default defineConfig({...})), got ${describeValue(raw)}` }],
    };
  }
  const problems: DraftProblem[] = [];

  function parse<T extends z.ZodType>(schema: T, value: unknown, prefix: PathSegment[]): z.output<T> | undefined {
    const r = schema.safeParse(value, PARSE_OPTIONS);
    if (r.success) return r.data;
    for (const iss of r.error.issues) {
      const segments = [...prefix, ...(iss.path as PathSegment[])];
      problems.push({ path: formatPath(segments), message: iss.message, hint: hintFor(segments, iss.message, iss.input) });
    }
    return undefined;
  }

  /** Each element on its own, so one bad element hides nothing about the others. */
  function parseList<T extends z.ZodType>(schema: T, key: string): (z.output<T> | undefined)[] {
    const list = (raw as Record<string, unknown>)[key];
    return Array.isArray(list) ? list.map((v, i) => parse(schema, v, [key, i])) : [];
  }

  const top = parse(masterTop, raw, []);
  const workers = parseList(worker, 'workers');
  const builders = parseList(builder, 'builders');
  const schedulers = parseList(scheduler, 'schedulers');
  const changeSources = parseList(changeSource, 'changeSources');

  problems.push(...crossrefProblems({ raw, changeSourceNames: changeSources.map((c) => c?.name) }));

  // From the raw value, so a missing directory is reported even when other options are wrong.
  const rawDir = (raw.secrets as { dir?: unknown } | undefined)?.dir;
  const secretsDir = typeof rawDir === 'string' && rawDir ? resolve(basedir, rawDir) : undefined;
  if (secretsDir !== undefined && !(existsSync(secretsDir) && statSync(secretsDir).isDirectory())) {
    problems.push({ path: 'secrets.dir', message: `no such directory: ${secretsDir}` });
  }

  if (problems.length > 0 || !top) return { ok: false, problems };
  const fromBasedir = (p: string) => (isAbsolute(p) ? p : resolve(basedir, p));
  const config: ResolvedConfig = {
    basedir,
    ...resolveTop(top),
    workers: workers.map((w) => (w!.privateKeyFile ? { ...w!, privateKeyFile: fromBasedir(w!.privateKeyFile) } : w!)),
    builders: builders.map((b) => b!),
    schedulers: schedulers.map((s) => s!),
    changeSources: changeSources.map((c): ResolvedChangeSource => ({ ...c!, workdir: fromBasedir(c!.workdir) })),
    secrets: { values: { ...(top.secrets?.values ?? {}) }, ...(secretsDir ? { dir: secretsDir } : {}) },
  };
  return { ok: true, config };
}

function hintFor(segments: PathSegment[], message: string, input: unknown): LocationHint | undefined {
  const last = segments[segments.length - 1];
  if (message.startsWith('unknown option') && typeof last === 'string') return { key: last };
  if (message === MISSING) return { within: formatPath(segments.slice(0, -1)) };
  if (typeof input === 'string' && input !== '') return { literal: input };
  return undefined;
}
