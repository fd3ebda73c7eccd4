/**
 * Schemas of the top level of master.config.ts, its workers and its builders. The lists of workers,
 * builders, schedulers and change sources are parsed element by element by validate.ts, so that one
 * bad element does not hide the problems (and the names) of the others.
 */
import { posix, win32 } from 'node:path';
import { z } from 'zod';
import { parseDbUrl } from '../../db/url.js';
import {
  DEFAULT_DB_URL,
  GITHUB_HOOK_DEFAULTS,
  MASTER_DEFAULTS,
  MULTI_MASTER_DEFAULTS,
  WORKER_DEFAULTS,
  WWW_DEFAULTS,
  defaultBuilddir,
  defaultBuildbotURL,
  defaultShell,
  defaultWorkerUser,
} from '../defaults.js';
import { isRenderable, type Secret } from '../renderables.js';
import type { ResolvedBuilder, ResolvedChangeHooks, ResolvedWwwAuth, ResolvedWwwAuthz, WorkerConfig } from '../resolved.js';
import type { LogLevel } from '../types.js';
import { count, describeValue, duration, fn, forward, obj, port, positiveInt, record, renderable, str, stringRecord } from './common.js';
import { lockList } from './locks.js';
import { step } from './steps.js';

const RESERVED_WORKER_NAMES = ['debug', 'change', 'status'];
// Buildbot's identifiers.ident_re.
const IDENTIFIER = /^[A-Za-z\u00a0-\uffff_-][A-Za-z0-9\u00a0-\uffff_-]*$/;

const workerName = () =>
  z.string().min(1).max(50).superRefine((name, ctx) => {
    if (RESERVED_WORKER_NAMES.includes(name)) ctx.addIssue({ code: 'custom', message: `worker name "${name}" is reserved` });
    else if (!IDENTIFIER.test(name)) {
      ctx.addIssue({ code: 'custom', message: `worker name "${name}" is not an identifier (letters, digits, '_' and '-')` });
    }
  });

function isAbsoluteOn(platform: string, dir: string): boolean {
  return platform === 'windows' ? win32.isAbsolute(dir) && /^([A-Za-z]:|\\\\)/.test(dir) : posix.isAbsolute(dir);
}

/** "SHA256:" and the base64 digest, as `ssh-keygen -lf` prints it. */
const HOST_KEY = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

export const worker = obj({
  name: workerName(),
  host: z.string().min(1),
  port: port().optional(),
  user: z.string().min(1).optional(),
  privateKeyFile: z.string().min(1).optional(),
  privateKeyPassphrase: renderable(z.string()).optional(),
  agent: z.union([z.string().min(1), z.literal(true)], {
    error: (iss) => `expected a socket path or true (for $SSH_AUTH_SOCK), got ${describeValue(iss.input)}`,
  }).optional(),
  hostKey: z.string().regex(HOST_KEY, {
    error: (iss) => `expected a fingerprint like "SHA256:…" as ssh-keygen -lf prints it, got ${describeValue(iss.input)}`,
  }).optional(),
  platform: z.enum(['posix', 'macos', 'windows']).optional(),
  shell: z.enum(['sh', 'cmd', 'powershell']).optional(),
  basedir: z.string().min(1),
  maxBuilds: positiveInt().optional(),
  env: stringRecord().optional(),
  properties: record(z.unknown()).optional(),
  keepaliveInterval: duration().optional(),
  connectTimeout: duration().optional(),
  maxSessions: positiveInt().optional(),
})
  // A superRefine that always runs, so a bad basedir is reported along with the object's other problems.
  .superRefine(
    (o, ctx) => {
      const platform = typeof o.platform === 'string' ? o.platform : WORKER_DEFAULTS.platform;
      if (typeof o.basedir === 'string' && o.basedir && !isAbsoluteOn(platform, o.basedir)) {
        ctx.addIssue({ code: 'custom', message: `must be an absolute path on the worker, got ${describeValue(o.basedir)}`, path: ['basedir'] });
      }
      if (o.shell === 'cmd' && platform !== 'windows') {
        ctx.addIssue({ code: 'custom', message: `cmd needs platform "windows" (platform is "${platform}")`, path: ['shell'] });
      }
    },
    { when: () => true },
  )
  .transform((o): WorkerConfig => {
    const platform = o.platform ?? WORKER_DEFAULTS.platform;
    const w: WorkerConfig = {
      name: o.name,
      host: o.host,
      port: o.port ?? WORKER_DEFAULTS.port,
      user: o.user ?? defaultWorkerUser(),
      platform,
      shell: o.shell ?? defaultShell(platform),
      basedir: o.basedir,
      maxBuilds: o.maxBuilds ?? WORKER_DEFAULTS.maxBuilds,
      env: { ...(o.env ?? {}) },
      properties: { ...(o.properties ?? {}) },
      keepaliveInterval: o.keepaliveInterval ?? WORKER_DEFAULTS.keepaliveInterval,
      connectTimeout: o.connectTimeout ?? WORKER_DEFAULTS.connectTimeout,
      maxSessions: o.maxSessions ?? WORKER_DEFAULTS.maxSessions,
    };
    if (o.privateKeyFile !== undefined) w.privateKeyFile = o.privateKeyFile;
    if (o.privateKeyPassphrase !== undefined) w.privateKeyPassphrase = o.privateKeyPassphrase as WorkerConfig['privateKeyPassphrase'];
    if (o.agent !== undefined) w.agent = o.agent;
    if (o.hostKey !== undefined) w.hostKey = o.hostKey;
    return w;
  });

const boolOrFn = () =>
  z.union([z.boolean(), fn()], { error: (iss) => `expected true, false or a function, got ${describeValue(iss.input)}` });

/** A worker name or a list of them (at least one), as Buildbot's workernames. */
const workernames = z.unknown().transform((v, ctx): string[] => {
  if (typeof v === 'string') return forward(z.string().min(1), v, ctx) === z.NEVER ? z.NEVER : [v];
  if (!Array.isArray(v)) {
    const message = v === undefined ? 'missing required option' : `expected a worker name or an array of worker names, got ${describeValue(v)}`;
    ctx.addIssue({ code: 'custom', message, input: v });
    return z.NEVER;
  }
  return forward(z.array(z.string().min(1)).min(1), v, ctx);
});

const tags = () =>
  z.array(z.string().min(1)).superRefine((list, ctx) => {
    list.forEach((t, i) => {
      if (list.indexOf(t) !== i) ctx.addIssue({ code: 'custom', message: `duplicate tag "${t}"`, path: [i] });
    });
  });

export const builder = obj({
  name: z.string().min(1).superRefine((name, ctx) => {
    if (name.startsWith('_')) ctx.addIssue({ code: 'custom', message: `builder names must not start with an underscore: "${name}"` });
  }),
  workernames,
  steps: z.array(step),
  builddir: z.string().min(1).optional(),
  workerbuilddir: z.string().min(1).optional(),
  tags: tags().optional(),
  description: str().optional(),
  properties: record(z.unknown()).optional(),
  defaultProperties: record(z.unknown()).optional(),
  env: record(renderable(z.string())).optional(),
  collapseRequests: boolOrFn().optional(),
  nextWorker: fn().optional(),
  nextBuild: fn().optional(),
  canStartBuild: fn().optional(),
  locks: lockList().optional(),
}).transform((o): ResolvedBuilder => {
  const builddir = o.builddir ?? defaultBuilddir(o.name);
  const b: ResolvedBuilder = {
    name: o.name,
    workernames: o.workernames,
    steps: o.steps,
    builddir,
    workerbuilddir: o.workerbuilddir ?? builddir,
    tags: o.tags ?? [],
    properties: { ...(o.properties ?? {}) },
    defaultProperties: { ...(o.defaultProperties ?? {}) },
    env: { ...(o.env ?? {}) } as ResolvedBuilder['env'],
    locks: o.locks ?? [],
  };
  if (o.description !== undefined) b.description = o.description;
  if (o.collapseRequests !== undefined) b.collapseRequests = o.collapseRequests;
  if (o.nextWorker) b.nextWorker = o.nextWorker;
  if (o.nextBuild) b.nextBuild = o.nextBuild;
  if (o.canStartBuild) b.canStartBuild = o.canStartBuild;
  return b;
});

const dbUrl = () =>
  z.string().min(1).superRefine((url, ctx) => {
    try {
      // The directory only matters for sqlite paths; here we only check the form.
      parseDbUrl(url, '/');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

const hookUser = () => obj({ username: z.string().min(1), password: z.string().min(1) });

/** A plain string or a Secret('name') (resolved when a request arrives). */
const secretValue = () =>
  z.unknown().transform((v, ctx): string | Secret => {
    if (typeof v === 'string' && v !== '') return v;
    if (isRenderable(v) && v.kind === 'Secret' && typeof v.name === 'string' && v.name) return v as Secret;
    ctx.addIssue({ code: 'custom', message: `expected a non-empty string or a Secret, got ${describeValue(v)}`, input: v });
    return z.NEVER;
  });

const changeHooks = () =>
  obj({
    base: z.union([z.literal(true), obj({ auth: hookUser().optional() })], {
      error: (iss) => `expected true or { auth: { username, password } }, got ${describeValue(iss.input)}`,
    }).optional(),
    github: obj({
      secret: secretValue().optional(),
      strict: z.boolean().optional(),
      allowSha1: z.boolean().optional(),
      codebase: z.union([z.string(), fn()], { error: (iss) => `expected a string or a function, got ${describeValue(iss.input)}` }).optional(),
      skips: z.array(z.union([z.string(), z.instanceof(RegExp)], { error: (iss) => `expected a regular expression (string or RegExp), got ${describeValue(iss.input)}` })).optional(),
      pullrequest_ref: z.string().min(1).optional(),
    }).superRefine((g, ctx) => {
      if (g.strict && g.secret === undefined) ctx.addIssue({ code: 'custom', message: 'strict needs a secret', path: ['strict'] });
      (g.skips ?? []).forEach((p, i) => {
        if (typeof p !== 'string') return;
        try {
          new RegExp(p);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: `bad regular expression: ${(err as Error).message}`, path: ['skips', i] });
        }
      });
    }).optional(),
  });

type ChangeHooksInput = z.output<ReturnType<typeof changeHooks>>;

const roleList = () => z.array(z.string().min(1));

/** www.auth: users with hashed passwords, API tokens, requireLogin (lib/www/auth.ts reads them). */
const wwwAuth = () =>
  obj({
    users: z.array(
      obj({ username: z.string().min(1), passwordHash: z.string().regex(/^(scrypt\$|sha256:)/, { error: 'expected what `buildmaster hash-password` prints (scrypt$…)' }).optional(), password: z.string().min(1).optional(), roles: roleList().optional() })
        .superRefine((u, ctx) => {
          if ((u.passwordHash === undefined) === (u.password === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of passwordHash or password' });
        }),
    ).superRefine((users, ctx) => {
      const seen = new Set<string>();
      users.forEach((u, i) => {
        if (seen.has(u.username)) ctx.addIssue({ code: 'custom', message: `duplicate user "${u.username}"`, path: [i, 'username'] });
        seen.add(u.username);
      });
    }).optional(),
    tokens: z.array(
      obj({ name: z.string().min(1), tokenHash: z.string().regex(/^(scrypt\$|sha256:)/, { error: 'expected what `buildmaster hash-password` prints (scrypt$…)' }).optional(), token: secretValue().optional(), roles: roleList().optional() })
        .superRefine((t, ctx) => {
          if ((t.tokenHash === undefined) === (t.token === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of tokenHash or token' });
        }),
    ).optional(),
    requireLogin: z.boolean().optional(),
  });

const wwwAuthz = () =>
  obj({
    allowRules: z.array(obj({ action: z.string().min(1), builder: z.string().min(1).optional(), role: z.string().min(1), defaultDeny: z.boolean().optional() })).optional(),
    roleMatchers: z.array(obj({ roles: roleList(), usernames: z.array(z.string().min(1)) })).optional(),
  });

function resolveWwwAuth(a: z.output<ReturnType<typeof wwwAuth>>): ResolvedWwwAuth {
  return {
    users: (a.users ?? []).map((u) => ({ ...u, roles: [...(u.roles ?? [])] })),
    tokens: (a.tokens ?? []).map((t) => ({ ...t, roles: [...(t.roles ?? [])] })),
    requireLogin: a.requireLogin ?? false,
  };
}

function resolveWwwAuthz(a: z.output<ReturnType<typeof wwwAuthz>>): ResolvedWwwAuthz {
  return {
    allowRules: (a.allowRules ?? []).map((r) => ({ ...r, defaultDeny: r.defaultDeny ?? true })),
    roleMatchers: (a.roleMatchers ?? []).map((m) => ({ roles: [...m.roles], usernames: [...m.usernames] })),
  };
}

function resolveChangeHooks(h: ChangeHooksInput | undefined): ResolvedChangeHooks {
  const out: ResolvedChangeHooks = {};
  if (h?.base !== undefined) out.base = h.base === true || !h.base.auth ? {} : { auth: { ...h.base.auth } };
  if (h?.github) {
    const g = h.github;
    out.github = {
      ...(g.secret !== undefined ? { secret: g.secret } : {}),
      strict: g.strict ?? GITHUB_HOOK_DEFAULTS.strict,
      allowSha1: g.allowSha1 ?? GITHUB_HOOK_DEFAULTS.allowSha1,
      ...(g.codebase !== undefined ? { codebase: g.codebase } : {}),
      skips: (g.skips ?? GITHUB_HOOK_DEFAULTS.skips).map((p) => (typeof p === 'string' ? new RegExp(p) : p)),
      pullrequest_ref: g.pullrequest_ref ?? GITHUB_HOOK_DEFAULTS.pullrequest_ref,
    };
  }
  return out;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const satisfies readonly LogLevel[];

const list = () => z.array(z.unknown());

/** The top level; the four lists come back unparsed (validate.ts parses their elements). */
/** history.knownIssues[i]: a title, and a pattern (compiling) or a signature. */
const knownIssueRule = () =>
  obj({
    title: z.string().min(1).max(255),
    url: z.string().min(1).max(1024).optional(),
    pattern: z
      .custom<RegExp | string>((v) => v instanceof RegExp || typeof v === 'string', { error: (iss) => `expected a RegExp or a regex string, got ${describeValue(iss.input)}` })
      .superRefine((v, ctx) => {
        if (typeof v !== 'string') return;
        try {
          new RegExp(v);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: `invalid regex: ${(err as Error).message}` });
        }
      })
      .optional(),
    signature: z.string().min(1).optional(),
    builders: z.array(z.string().min(1)).optional(),
  }).superRefine((r, ctx) => {
    if (r.pattern === undefined && r.signature === undefined) ctx.addIssue({ code: 'custom', message: 'needs a pattern or a signature' });
  });

export const masterTop = obj({
  title: str().optional(),
  titleURL: str().optional(),
  buildbotURL: z.string().regex(/^https?:\/\/.+/, { error: (iss) => `expected an http(s) URL, got ${describeValue(iss.input)}` }).optional(),
  db: obj({ url: dbUrl().optional() }).optional(),
  www: obj({
    host: z.string().min(1).optional(),
    port: port({ allowZero: true }).optional(),
    users: z
      .array(obj({ username: z.string().min(1), password: z.string().min(1) }))
      .superRefine((users, ctx) => {
        const seen = new Set<string>();
        users.forEach((u, i) => {
          if (seen.has(u.username)) ctx.addIssue({ code: 'custom', message: `duplicate user "${u.username}"`, path: [i, 'username'] });
          seen.add(u.username);
        });
      })
      .optional(),
    changeHooks: changeHooks().optional(),
    auth: wwwAuth().optional(),
    authz: wwwAuthz().optional(),
  }).optional(),
  workers: list().optional(),
  builders: list().optional(),
  schedulers: list().optional(),
  changeSources: list().optional(),
  prioritizeBuilders: fn().optional(),
  collapseRequests: boolOrFn().optional(),
  properties: record(z.unknown()).optional(),
  janitor: obj({
    logHorizon: duration().optional(),
    buildDataHorizon: duration().optional(),
    changeHorizon: count().optional(),
    buildHorizon: duration().optional(),
    testResultHorizon: duration().optional(),
    changeAgeHorizon: duration().optional(),
    signatureHorizon: duration().optional(),
    interval: duration().optional(),
    batchSize: positiveInt().optional(),
    maxBatchMs: positiveInt().optional(),
  }).optional(),
  secrets: obj({ values: stringRecord().optional(), dir: z.string().min(1).optional() }).optional(),
  history: obj({
    maxErrorLines: positiveInt().optional(),
    knownIssues: z.array(knownIssueRule()).superRefine((rules, ctx) => {
      const seen = new Set<string>();
      rules.forEach((r, i) => {
        if (seen.has(r.title)) ctx.addIssue({ code: 'custom', message: `duplicate known issue title "${r.title}"`, path: [i, 'title'] });
        seen.add(r.title);
      });
    }).optional(),
    regression: obj({
      backWindow: positiveInt().optional(),
      forwardWindow: positiveInt().optional(),
      tThreshold: z.number().positive().optional(),
      minChangePercent: z.number().min(0).optional(),
    }).optional(),
    intermittent: obj({
      window: positiveInt().optional(),
      minRuns: positiveInt().optional(),
      maxFailRate: z.number().gt(0).max(1).optional(),
      minRecoveries: count().optional(),
    }).optional(),
  }).optional(),
  multiMaster: obj({ heartbeatInterval: duration().optional(), deadMasterTimeout: duration().optional() })
    .superRefine((m, ctx) => {
      const beat = m.heartbeatInterval ?? MULTI_MASTER_DEFAULTS.heartbeatInterval;
      const dead = m.deadMasterTimeout ?? MULTI_MASTER_DEFAULTS.deadMasterTimeout;
      if (beat <= 0) ctx.addIssue({ code: 'custom', message: 'must be positive', path: ['heartbeatInterval'] });
      else if (dead <= beat) {
        ctx.addIssue({ code: 'custom', message: `must be longer than heartbeatInterval (${beat} s)`, path: ['deadMasterTimeout'] });
      }
    })
    .optional(),
  shutdown: obj({ buildBound: duration().optional() }).optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
});

/** Buildbot's plain `stop` ends builds at once; we give them this long (seconds) first. */
export const SHUTDOWN_BUILD_BOUND_S = 30;

export type MasterTop = z.output<typeof masterTop>;

/** history: error lines kept per log; Perfherder's regression defaults (back/forward windows in builds). */
export const HISTORY_DEFAULTS = {
  maxErrorLines: 100,
  regression: { backWindow: 12, forwardWindow: 12, tThreshold: 7, minChangePercent: 2 },
  // lib/history/intermittents.ts DEFAULT_INTERMITTENT_POLICY (minFailRate stays 0).
  intermittent: { window: 20, minRuns: 5, maxFailRate: 0.9, minRecoveries: 2 },
} as const;

function resolveHistory(h: MasterTop['history']) {
  return {
    maxErrorLines: h?.maxErrorLines ?? HISTORY_DEFAULTS.maxErrorLines,
    knownIssues: (h?.knownIssues ?? []).map(({ pattern, ...r }) => ({ ...r, ...(pattern !== undefined ? { pattern: typeof pattern === 'string' ? new RegExp(pattern) : pattern } : {}) })),
    regression: { ...HISTORY_DEFAULTS.regression, ...definedOnly(h?.regression ?? {}) },
    intermittent: { ...HISTORY_DEFAULTS.intermittent, ...definedOnly(h?.intermittent ?? {}) },
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The top-level settings with their defaults (the lists are filled in by validate.ts). */
export function resolveTop(o: MasterTop) {
  const www = {
    host: o.www?.host ?? WWW_DEFAULTS.host,
    port: o.www?.port ?? WWW_DEFAULTS.port,
    users: (o.www?.users ?? []).map((u) => ({ ...u })),
    // Only when configured: no hooks is the common case, and the resolved config stays as before.
    ...(o.www?.changeHooks ? { changeHooks: resolveChangeHooks(o.www.changeHooks) } : {}),
    ...(o.www?.auth ? { auth: resolveWwwAuth(o.www.auth) } : {}),
    ...(o.www?.authz ? { authz: resolveWwwAuthz(o.www.authz) } : {}),
  };
  const janitor: Record<string, number> = {};
  for (const [k, v] of Object.entries(o.janitor ?? {})) if (v !== undefined) janitor[k] = v as number;
  return {
    title: o.title ?? MASTER_DEFAULTS.title,
    titleURL: o.titleURL ?? MASTER_DEFAULTS.titleURL,
    buildbotURL: o.buildbotURL ?? defaultBuildbotURL(www),
    db: { url: o.db?.url ?? DEFAULT_DB_URL },
    www,
    ...(o.prioritizeBuilders ? { prioritizeBuilders: o.prioritizeBuilders } : {}),
    collapseRequests: o.collapseRequests ?? MASTER_DEFAULTS.collapseRequests,
    properties: { ...(o.properties ?? {}) },
    janitor,
    history: resolveHistory(o.history),
    multiMaster: {
      heartbeatInterval: o.multiMaster?.heartbeatInterval ?? MULTI_MASTER_DEFAULTS.heartbeatInterval,
      deadMasterTimeout: o.multiMaster?.deadMasterTimeout ?? MULTI_MASTER_DEFAULTS.deadMasterTimeout,
    },
    shutdown: { buildBound: o.shutdown?.buildBound ?? SHUTDOWN_BUILD_BOUND_S },
    logLevel: o.logLevel ?? MASTER_DEFAULTS.logLevel,
  };
}


