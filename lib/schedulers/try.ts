/**
 * Try (Buildbot's Try_Userpass, over HTTP instead of PB): a developer sends a patch against a base
 * revision of a branch, and the builders they name (or all of the scheduler's) build it. The
 * buildset has one source stamp with the patch (which never dedups), the reason
 * "'try' job by user WHO (COMMENT)" and the job's properties with source 'try build' (the
 * scheduler's own properties win, as Buildbot). Credentials: the scheduler's `userpass` or
 * `token` (the web route also accepts www.users).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ResolvedTry } from '../config/resolved.js';
import { BuildmasterError } from '../errors/BuildmasterError.js';
import { Properties } from '../process/properties.js';
import { render } from '../process/render.js';
import { submitBuildset } from '../process/submitBuildset.js';
import { BaseScheduler } from './base.js';
import { builderIdsFor } from './buildsets.js';
import type { SchedulerDeps } from './types.js';

export interface TryJob {
  /** The diff (unified, as `git diff` writes it). */
  patch: string | Buffer;
  /** `patch -p<level>` (default 1, right for git's a/ b/ prefixes). */
  patchlevel?: number;
  /** The revision the diff is against; null/undefined: the branch head. */
  baseRevision?: string | null;
  branch?: string | null;
  repository?: string;
  project?: string;
  /** A subset of the scheduler's builderNames; default all of them. */
  builderNames?: string[];
  who?: string;
  comment?: string;
  properties?: Record<string, unknown>;
}

/** A try job the scheduler refuses (unknown builders, no patch): the web answers 400 with it. */
export class TryJobError extends BuildmasterError {
  readonly status = 400;
  constructor(message: string) {
    super(message, { userError: true });
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function sameSecret(expected: string, given: string): boolean {
  return timingSafeEqual(digest(expected), digest(given));
}

export class TryScheduler extends BaseScheduler<ResolvedTry> {
  constructor(deps: SchedulerDeps, config: ResolvedTry) {
    super(deps, config, 'Try_Userpass');
  }

  private async renderSecret(value: unknown): Promise<string | undefined> {
    try {
      const v = await render(value, { properties: new Properties(), secrets: this.deps.secrets });
      return typeof v === 'string' ? v : undefined;
    } catch (err) {
      this.logger.warn({ event: 'try.credentialUnavailable', err: (err as Error).message }, `try scheduler ${this.name}: a credential could not be rendered`);
      return undefined;
    }
  }

  /** True when user:password is one of the scheduler's userpass pairs. */
  async checkUserpass(username: string, password: string): Promise<boolean> {
    let ok = false;
    // Every pair is checked, so the time taken does not tell which users exist.
    for (const [user, pass] of this.config.userpass) {
      const expected = await this.renderSecret(pass);
      if (expected !== undefined && sameSecret(expected, password) && user === username) ok = true;
    }
    return ok;
  }

  async checkToken(token: string): Promise<boolean> {
    if (this.config.token === undefined) return false;
    const expected = await this.renderSecret(this.config.token);
    return expected !== undefined && expected !== '' && sameSecret(expected, token);
  }

  /** Buildbot's perspective_try: returns the buildset and the builders it asked for. */
  async submit(job: TryJob): Promise<{ bsid: number; brids: Record<number, number>; builderNames: string[] }> {
    const body = typeof job.patch === 'string' ? Buffer.from(job.patch, 'utf8') : job.patch;
    if (body.length === 0) throw new TryJobError('the patch is empty: there is nothing to try');
    const configured = this.config.builderNames.filter((n): n is string => typeof n === 'string');
    let builderNames = configured;
    if (job.builderNames && job.builderNames.length > 0) {
      const unknown = job.builderNames.filter((b) => !configured.includes(b));
      if (unknown.length > 0) throw new TryJobError(`not builders of try scheduler '${this.name}': ${unknown.join(', ')} (it has ${configured.join(', ') || 'none'})`);
      builderNames = [...new Set(job.builderNames)];
    }
    const who = job.who ?? '';
    const comment = job.comment ?? '';
    let reason = "'try' job";
    if (who) reason += ` by user ${who}`;
    if (comment) reason += ` (${comment})`;
    const properties: Record<string, [unknown, string]> = {};
    for (const [k, v] of Object.entries(job.properties ?? {})) properties[k] = [v, 'try build'];
    Object.assign(properties, this.schedulerProperties());
    const { bsid, brids } = await submitBuildset(this.deps.buildsetContext, {
      scheduler: this.name,
      sourcestamps: [
        {
          codebase: '',
          branch: job.branch ?? null,
          revision: job.baseRevision ?? null,
          repository: job.repository ?? '',
          project: job.project ?? '',
          patch: { body, level: job.patchlevel ?? 1, author: who, comment, subdir: '' },
        },
      ],
      reason,
      properties,
      builderids: await builderIdsFor(this.deps, builderNames, properties),
    });
    this.logger.info({ event: 'try.submitted', bsid, who, builders: builderNames }, `try job from ${who || 'an anonymous user'}: buildset ${bsid}`);
    return { bsid, brids, builderNames };
  }
}
