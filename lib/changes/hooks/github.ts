import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ResolvedGithubHook } from '../../config/resolved.js';
import type { ChangeSpec } from '../../db/changes.js';
import { changeSpecProblem } from '../../db/changes.js';
import { HookError } from './hookError.js';
import type { HookRequest, HookResult } from './hookRequest.js';

/**
 * Buildbot's GitHub hook (www/hooks/github.py). With a `secret`, every request must carry a valid
 * `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body>` (or, only with `allowSha1`, the older
 * `X-Hub-Signature: sha1=…`), compared in constant time; Buildbot checked SHA-1 only, and let an
 * unsigned request through unless `strict`. The event (X-GitHub-Event):
 * - push: one change per commit (only the head commit when the branch was `created`), author and
 *   committer `Name <email>`, files added+modified+removed, repository html_url, project
 *   full_name, properties github_distinct and event; tags get category 'tag'; a deleted ref and a
 *   head commit matching `skips` ([skip ci]) give nothing;
 * - pull_request (opened, reopened, synchronize): one change on refs/pull/N/merge, category 'pull'.
 *   Buildbot also asks the GitHub API for the PR's files and head message; we make no outbound
 *   calls, so files are empty and `skips` is not applied to pull requests;
 * - ping (and workflow_run): nothing; anything else: 400.
 */

export type GithubOptions = Omit<ResolvedGithubHook, 'secret'> & { secret?: string };

type Json = Record<string, unknown>;

function verifySignature(req: HookRequest, opts: GithubOptions): void {
  if (opts.secret === undefined) return;
  const sha256 = req.headers['x-hub-signature-256'];
  const sha1 = req.headers['x-hub-signature'];
  let algorithm: 'sha256' | 'sha1';
  let header: string;
  if (sha256 !== undefined) {
    [algorithm, header] = ['sha256', sha256];
  } else if (sha1 !== undefined && opts.allowSha1) {
    [algorithm, header] = ['sha1', sha1];
  } else {
    throw new HookError(403, sha1 !== undefined ? 'only X-Hub-Signature-256 is accepted (SHA-1 signatures are not allowed here)' : 'the request is not signed (X-Hub-Signature-256 missing)');
  }
  const m = /^(sha1|sha256)=([0-9a-fA-F]+)$/.exec(header.trim());
  if (!m || m[1] !== algorithm) throw new HookError(403, `malformed signature header (expected ${algorithm}=<hex digest>)`);
  const expected = createHmac(algorithm, opts.secret).update(req.body).digest();
  const given = Buffer.from(m[2]!, 'hex');
  // Equal lengths first (timingSafeEqual needs them); the length of a digest is no secret.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new HookError(403, 'signature mismatch');
}

function payloadOf(req: HookRequest): Json {
  let text: string;
  if (req.contentType === 'application/json') text = req.body.toString('utf8');
  else if (req.contentType === 'application/x-www-form-urlencoded') {
    const p = new URLSearchParams(req.body.toString('utf8')).get('payload');
    if (p === null) throw new HookError(400, 'the form has no payload field');
    text = p;
  } else throw new HookError(400, `Unknown content type: ${req.contentType || '(none)'}`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new HookError(400, `invalid JSON payload: ${(err as Error).message}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new HookError(400, 'the payload must be a JSON object');
  return data as Json;
}

/** payload.a.b… as a string, or a 400 naming the path. */
function str(obj: unknown, path: string, optional = false, where = ''): string {
  let v: unknown = obj;
  for (const k of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Json)[k] : undefined;
  if (typeof v === 'string') return v;
  if (optional && (v === undefined || v === null)) return '';
  throw new HookError(400, `malformed payload: ${where}${path} ${v === undefined || v === null ? 'is missing' : 'must be a string'}`);
}

function epoch(iso: string, path: string): number {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new HookError(400, `malformed payload: ${path} is not a date: ${JSON.stringify(iso)}`);
  return Math.floor(ms / 1000);
}

/** Buildbot's `Name <email>`. */
function person(obj: unknown, path: string, where = ''): string {
  return `${str(obj, `${path}.name`, false, where)} <${str(obj, `${path}.email`, true, where)}>`;
}

function codebaseOf(opts: GithubOptions, payload: Json): { codebase?: string } {
  if (typeof opts.codebase === 'function') return { codebase: String(opts.codebase(payload)) };
  return opts.codebase !== undefined ? { codebase: opts.codebase } : {};
}

function checked(change: ChangeSpec, where: string): ChangeSpec {
  const problem = changeSpecProblem(change);
  if (problem) throw new HookError(400, `malformed payload: ${where}: ${problem}`);
  return change;
}

function handlePush(payload: Json, opts: GithubOptions, now: number): HookResult {
  const ref = str(payload, 'ref');
  const m = /^refs\/(heads|tags)\/(.+)$/.exec(ref);
  if (!m) return { ignored: `ref ${ref} is not a branch or a tag` };
  const branch = m[2]!;
  if (payload.deleted) return { ignored: `${m[1] === 'tags' ? 'tag' : 'branch'} ${branch} deleted` };
  const repoUrl = str(payload, 'repository.html_url');
  const project = str(payload, 'repository.full_name');
  const head = payload.head_commit as Json | null | undefined;
  const headMessage = head && typeof head.message === 'string' ? head.message : '';
  const skip = opts.skips.find((re) => re.test(headMessage));
  if (skip) return { ignored: `the head commit message matches ${skip}` };
  if (!Array.isArray(payload.commits)) throw new HookError(400, 'malformed payload: commits must be a list');
  const commits = (payload.created ? [head] : payload.commits) as unknown[];
  const changes = commits.filter((c) => c !== null && c !== undefined).map((c, i) => {
    const where = `commits[${i}]`;
    if (typeof c !== 'object') throw new HookError(400, `malformed payload: ${where} must be an object`);
    const commit = c as Json;
    const files: string[] = [];
    for (const kind of ['added', 'modified', 'removed']) {
      const list = commit[kind] ?? [];
      if (!Array.isArray(list) || list.some((f) => typeof f !== 'string')) throw new HookError(400, `malformed payload: ${where}.${kind} must be a list of file names`);
      files.push(...(list as string[]));
    }
    return checked(
      {
        author: person(commit, 'author', `${where}.`),
        committer: person(commit, 'committer', `${where}.`),
        files,
        comments: str(commit, 'message', true),
        revision: str(commit, 'id', false, `${where}.`),
        when_timestamp: epoch(str(commit, 'timestamp', false, `${where}.`), `${where}.timestamp`),
        branch,
        revlink: str(commit, 'url', true),
        repository: repoUrl,
        project,
        category: m[1] === 'tags' ? 'tag' : null,
        properties: { github_distinct: commit.distinct ?? true, event: 'push' },
        ...codebaseOf(opts, payload),
      },
      where,
    );
  });
  if (changes.length === 0) return { ignored: 'the push has no commits' };
  const pusher = payload.pusher as Json | undefined;
  const author = pusher && typeof pusher.name === 'string' ? person(payload, 'pusher') : str(payload, 'sender.login', true) || changes[changes.length - 1]!.author;
  const pushedAt = (payload.repository as Json).pushed_at;
  return { push: { repository: repoUrl, branch, author, pushed_at: typeof pushedAt === 'number' ? pushedAt : now, source: 'github', changes } };
}

const PR_ACTIONS = ['opened', 'reopened', 'synchronize'];

function handlePullRequest(payload: Json, opts: GithubOptions, now: number): HookResult {
  const number = payload.number;
  if (typeof number !== 'number') throw new HookError(400, 'malformed payload: number must be a number');
  const action = payload.action;
  if (typeof action !== 'string' || !PR_ACTIONS.includes(action)) return { ignored: `pull request #${number} ${String(action)}` };
  const pr = payload.pull_request;
  const branch = `refs/pull/${number}/${opts.pullrequest_ref}`;
  const commits = (pr as Json | undefined)?.commits;
  const count = typeof commits === 'number' ? commits : 0;
  const repoUrl = str(payload, 'repository.html_url');
  const revlink = str(pr, '_links.html.href', true) || str(pr, 'html_url', true);
  const change = checked(
    {
      author: str(payload, 'sender.login'),
      revision: str(pr, 'head.sha', false, 'pull_request.'),
      when_timestamp: epoch(str(pr, 'created_at', false, 'pull_request.'), 'pull_request.created_at'),
      branch,
      files: [],
      revlink,
      repository: repoUrl,
      project: str(pr, 'base.repo.full_name', false, 'pull_request.'),
      category: 'pull',
      comments: `GitHub Pull Request #${number} (${count} commit${count !== 1 ? 's' : ''})\n${str(pr, 'title', true)}\n${str(pr, 'body', true)}`,
      properties: { pullrequesturl: revlink, event: 'pull_request', basename: str(pr, 'base.ref', false, 'pull_request.') },
      ...codebaseOf(opts, payload),
    },
    'pull_request',
  );
  return { push: { repository: repoUrl, branch, author: change.author, pushed_at: now, source: 'github', changes: [change] } };
}

/** Checks the signature first (before reading anything), then turns the event into a push. */
export function parseGithubHook(req: HookRequest, opts: GithubOptions): HookResult {
  verifySignature(req, opts);
  const payload = payloadOf(req);
  const event = req.headers['x-github-event'];
  switch (event) {
    case 'ping':
    case 'workflow_run':
      return { ignored: `${event} event` };
    case 'push':
      return handlePush(payload, opts, req.now);
    case 'pull_request':
      return handlePullRequest(payload, opts, req.now);
    default:
      throw new HookError(400, event ? `Unknown event: ${event}` : 'no X-GitHub-Event header');
  }
}
