/** Schemas of the change source options: validate, then resolve with the defaults of defaults.ts. */
import { z } from 'zod';
import type { ChangeSourceKind } from '../changeSources.js';
import { GIT_POLLER_DEFAULTS, HG_POLLER_DEFAULTS, POLLER_DEFAULTS } from '../defaults.js';
import type { ResolvedChangeSource } from '../resolved.js';
import { bool, describeValue, duration, fn, instance, obj, str } from './common.js';

const pollerShape = {
  name: z.string().min(1).optional(),
  repourl: z.string().min(1),
  pollInterval: duration().optional(),
  pollAtLaunch: bool().optional(),
  pollRandomDelayMin: duration().optional(),
  pollRandomDelayMax: duration().optional(),
  category: z.union([z.string(), fn()], { error: (iss) => `expected a string or a function, got ${describeValue(iss.input)}` }).optional(),
  project: str().optional(),
  usetimestamps: bool().optional(),
  workdir: z.string().min(1).optional(),
  encoding: str().optional(),
};

type PollerInput = z.output<ReturnType<typeof obj<typeof pollerShape>>>;

function pollerFields(o: PollerInput, defaultWorkdir: string) {
  return {
    name: o.name ?? o.repourl,
    repourl: o.repourl,
    pollInterval: o.pollInterval ?? POLLER_DEFAULTS.pollInterval,
    pollAtLaunch: o.pollAtLaunch ?? POLLER_DEFAULTS.pollAtLaunch,
    pollRandomDelayMin: o.pollRandomDelayMin ?? POLLER_DEFAULTS.pollRandomDelayMin,
    pollRandomDelayMax: o.pollRandomDelayMax ?? POLLER_DEFAULTS.pollRandomDelayMax,
    ...(o.category !== undefined ? { category: o.category } : {}),
    project: o.project ?? POLLER_DEFAULTS.project,
    usetimestamps: o.usetimestamps ?? POLLER_DEFAULTS.usetimestamps,
    // Made absolute (from the master directory) by validate.ts.
    workdir: o.workdir ?? defaultWorkdir,
    encoding: o.encoding ?? POLLER_DEFAULTS.encoding,
  };
}

type Ctx = z.core.$RefinementCtx;

function checkDelays(o: PollerInput, ctx: Ctx): boolean {
  const min = o.pollRandomDelayMin ?? 0;
  const max = o.pollRandomDelayMax ?? 0;
  if (min > max) {
    ctx.addIssue({ code: 'custom', message: 'must not be greater than pollRandomDelayMax', path: ['pollRandomDelayMin'] });
    return false;
  }
  if (max >= (o.pollInterval ?? POLLER_DEFAULTS.pollInterval) && max > 0) {
    ctx.addIssue({ code: 'custom', message: 'must be less than pollInterval', path: ['pollRandomDelayMax'] });
    return false;
  }
  return true;
}

const gitPoller = obj({
  ...pollerShape,
  branches: z.union([z.array(z.string().min(1)), z.literal(true), fn()], {
    error: (iss) => `expected an array of branch names, true (all) or a function, got ${describeValue(iss.input)}`,
  }).optional(),
  branch: z.string().min(1).optional(),
  only_tags: bool().optional(),
  buildPushesWithNoCommits: bool().optional(),
  gitbin: str().optional(),
  sshPrivateKey: str().optional(),
  sshHostKey: str().optional(),
  sshKnownHosts: str().optional(),
}).transform((o, ctx) => {
  let ok = checkDelays(o, ctx);
  if (o.only_tags && (o.branch !== undefined || o.branches !== undefined)) {
    ctx.addIssue({ code: 'custom', message: "can't be given with branch/branches", path: ['only_tags'] });
    ok = false;
  }
  if (o.branch !== undefined && o.branches !== undefined) {
    ctx.addIssue({ code: 'custom', message: "can't be given with branches", path: ['branch'] });
    ok = false;
  }
  if (!ok) return z.NEVER;
  // Buildbot: branch → [branch]; only_tags → every refs/tags/ ref; else ['master'].
  const branches = o.branch !== undefined ? [o.branch]
    : o.branches !== undefined ? o.branches
    : o.only_tags ? (ref: string) => ref.startsWith('refs/tags/')
    : [...GIT_POLLER_DEFAULTS.branches];
  return {
    kind: 'GitPoller' as const,
    ...pollerFields(o, GIT_POLLER_DEFAULTS.workdir),
    branches,
    only_tags: o.only_tags ?? GIT_POLLER_DEFAULTS.only_tags,
    buildPushesWithNoCommits: o.buildPushesWithNoCommits ?? GIT_POLLER_DEFAULTS.buildPushesWithNoCommits,
    gitbin: o.gitbin ?? GIT_POLLER_DEFAULTS.gitbin,
    ...(o.sshPrivateKey !== undefined ? { sshPrivateKey: o.sshPrivateKey } : {}),
    ...(o.sshHostKey !== undefined ? { sshHostKey: o.sshHostKey } : {}),
    ...(o.sshKnownHosts !== undefined ? { sshKnownHosts: o.sshKnownHosts } : {}),
  };
});

const hgPoller = obj({
  ...pollerShape,
  branches: z.array(z.string().min(1)).optional(),
  branch: z.string().min(1).optional(),
  bookmarks: z.array(z.string().min(1)).optional(),
  hgbin: str().optional(),
  revlink: fn().optional(),
}).transform((o, ctx) => {
  let ok = checkDelays(o, ctx);
  if (o.branch !== undefined && o.branches !== undefined) {
    ctx.addIssue({ code: 'custom', message: "can't be given with branches", path: ['branch'] });
    ok = false;
  }
  if (!ok) return z.NEVER;
  const bookmarks = o.bookmarks ?? [];
  let branches = o.branch !== undefined ? [o.branch] : (o.branches ?? []);
  if (branches.length === 0 && bookmarks.length === 0) branches = [...HG_POLLER_DEFAULTS.branches];
  // Buildbot's HgPoller name: repourl plus the bookmarks and branches it follows.
  const fields = pollerFields(o, HG_POLLER_DEFAULTS.workdir);
  if (o.name === undefined) {
    fields.name = [o.repourl, ...(bookmarks.length ? [bookmarks.join('_')] : []), ...(o.branch !== undefined || o.branches ? [branches.join('_')] : [])].join('_');
  }
  return {
    kind: 'HgPoller' as const,
    ...fields,
    branches,
    bookmarks,
    hgbin: o.hgbin ?? HG_POLLER_DEFAULTS.hgbin,
    ...(o.revlink ? { revlink: o.revlink } : {}),
  };
});

export const CHANGE_SOURCE_SCHEMAS = {
  GitPoller: gitPoller,
  HgPoller: hgPoller,
} satisfies Record<ChangeSourceKind, z.ZodType<ResolvedChangeSource>>;

export const changeSource = instance(CHANGE_SOURCE_SCHEMAS, 'a change source', 'new changes.GitPoller({...}) or new changes.HgPoller({...})');
