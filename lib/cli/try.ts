/**
 * `buildmaster try`: build the working tree's changes without committing them (Buildbot's
 * `buildbot try`, over HTTP). Sends `git diff` of the working tree against its base revision —
 * where the branch left its upstream (`git merge-base HEAD @{upstream}`), or --baserev — with the
 * branch and the builders to the master's try endpoint (POST /api/v2/try, lib/www/routes/try.ts).
 * Untracked files are not included, as in Buildbot.
 *
 *   buildmaster try --master http://ci:8010/ -u alice --passwd s3cret -b linux -b mac --comment 'fix #12'
 */
import type { Command } from 'commander';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { BuildmasterError, UsageError } from '../errors/index.js';
import type { Output } from './output.js';

const run = promisify(execFile);

export interface TryOptions {
  master?: string;
  connect?: string;
  username?: string;
  passwd?: string;
  token?: string;
  builder?: string[];
  branch?: string;
  baserev?: string;
  repository?: string;
  project?: string;
  who?: string;
  comment?: string;
  patchlevel?: string;
  diff?: string;
  property?: string[];
  properties?: string;
  topdir?: string;
  vc?: string;
  scheduler?: string;
  dryrun?: boolean;
  getBuilderNames?: boolean;
}

export interface TryJobBody {
  patch_base64: string;
  patchlevel: number;
  baserev: string | null;
  branch: string | null;
  repository: string;
  project: string;
  builderNames: string[];
  who?: string;
  comment?: string;
  properties: Record<string, string>;
}

async function git(cwd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd, maxBuffer: 256 << 20, encoding: 'buffer' });
    return stdout.toString('utf8');
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new UsageError(`git ${args.join(' ')} failed in ${cwd}: ${(e.stderr?.toString('utf8') || e.message).trim()}`);
  }
}

async function gitMaybe(cwd: string, args: string[]): Promise<string | undefined> {
  try {
    return (await git(cwd, args)).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** What the working tree in `dir` asks to try: its branch, base revision and diff. */
export async function gitTryInputs(dir: string, opts: { branch?: string; baserev?: string } = {}): Promise<{ topdir: string; branch: string | null; baserev: string; diff: Buffer }> {
  const topdir = (await git(dir, ['rev-parse', '--show-toplevel'])).trim();
  let branch: string | null = opts.branch ?? null;
  if (branch === null) {
    const head = await gitMaybe(topdir, ['rev-parse', '--abbrev-ref', 'HEAD']);
    branch = head && head !== 'HEAD' ? head : null;
  }
  let baserev = opts.baserev;
  if (!baserev) {
    const upstream = (await gitMaybe(topdir, ['rev-parse', '--abbrev-ref', '--symbolic-full-name', '@{upstream}'])) ?? (branch ? `origin/${branch}` : undefined);
    baserev = (upstream && (await gitMaybe(topdir, ['merge-base', 'HEAD', upstream]))) || (await git(topdir, ['rev-parse', 'HEAD'])).trim();
  } else {
    baserev = (await git(topdir, ['rev-parse', '--verify', `${baserev}^{commit}`])).trim();
  }
  const { stdout } = await run('git', ['diff', '--binary', '--no-color', '--no-ext-diff', '--no-textconv', '--src-prefix=a/', '--dst-prefix=b/', baserev], {
    cwd: topdir,
    maxBuffer: 256 << 20,
    encoding: 'buffer',
  });
  return { topdir, branch, baserev, diff: stdout };
}

function parseProperties(opts: TryOptions): Record<string, string> {
  const out: Record<string, string> = {};
  const pairs = [...(opts.properties ? opts.properties.split(',') : []), ...(opts.property ?? [])];
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--property wants NAME=VALUE, got '${p}'`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

/** The master's web address: a URL, or Buildbot's host:port. */
function masterUrl(master: string | undefined): URL {
  if (!master) throw new UsageError('--master is required (the web address of the master, e.g. http://ci.example.org:8010/)');
  const text = /^[a-z]+:\/\//i.test(master) ? master : `http://${master}`;
  try {
    const u = new URL(text);
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    return u;
  } catch {
    throw new UsageError(`--master: not a URL: ${master}`);
  }
}

function authHeader(opts: TryOptions): Record<string, string> {
  const token = opts.token ?? process.env.BUILDMASTER_TRY_TOKEN;
  if (token) return { authorization: `Bearer ${token}` };
  if (opts.username !== undefined) return { authorization: `Basic ${Buffer.from(`${opts.username}:${opts.passwd ?? ''}`).toString('base64')}` };
  throw new UsageError('give credentials: --username and --passwd, or --token (or BUILDMASTER_TRY_TOKEN)');
}

async function request(url: URL, init: RequestInit): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new BuildmasterError(`cannot reach the master at ${url.origin}: ${(err as Error).cause ?? (err as Error).message}`, { userError: true });
  }
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { error: text.slice(0, 500) };
  }
  if (!res.ok) throw new BuildmasterError(`the master refused the try job (HTTP ${res.status}): ${String(body.error ?? res.statusText)}`, { userError: true });
  return body;
}

export async function tryJob(opts: TryOptions, out: Output): Promise<void> {
  if (opts.connect && opts.connect !== 'http') throw new UsageError(`--connect ${opts.connect}: only http is supported (the master's web server)`);
  if (opts.vc && opts.vc !== 'git') throw new UsageError(`--vc ${opts.vc}: only git working trees are supported`);
  const base = masterUrl(opts.master);
  const headers = authHeader(opts);
  if (opts.getBuilderNames) {
    const body = await request(new URL('api/v2/try', base), { headers: { ...headers, accept: 'application/json' } });
    for (const s of (body.try ?? []) as { name: string; builderNames: string[] }[]) out.stdout(`${s.name}: ${s.builderNames.join(' ')}\n`);
    return;
  }
  const level = opts.patchlevel === undefined ? 1 : Number(opts.patchlevel);
  if (!Number.isInteger(level) || level < 0) throw new UsageError(`--patchlevel wants a number, got '${opts.patchlevel}'`);

  let diff: Buffer;
  let branch: string | null = opts.branch ?? null;
  let baserev: string | null = opts.baserev ?? null;
  if (opts.diff) {
    diff = opts.diff === '-' ? await readStdin() : await readFile(opts.diff);
  } else {
    const found = await gitTryInputs(opts.topdir ?? process.cwd(), { branch: opts.branch, baserev: opts.baserev });
    ({ diff, branch, baserev } = found);
  }
  if (diff.length === 0) throw new UsageError('the working tree has no changes against its base revision: nothing to try');

  const job: TryJobBody = {
    patch_base64: diff.toString('base64'),
    patchlevel: level,
    baserev,
    branch,
    repository: opts.repository ?? '',
    project: opts.project ?? '',
    builderNames: opts.builder ?? [],
    ...(opts.who !== undefined ? { who: opts.who } : {}),
    ...(opts.comment !== undefined ? { comment: opts.comment } : {}),
    properties: parseProperties(opts),
  };
  if (opts.dryrun) {
    out.stdout(`would send a ${diff.length}-byte diff against ${baserev ?? 'the branch head'} on ${branch ?? 'the default branch'} to ${base.origin}` +
      ` for ${job.builderNames.length ? job.builderNames.join(', ') : 'all try builders'}\n`);
    return;
  }
  const path = opts.scheduler ? `api/v2/try/${encodeURIComponent(opts.scheduler)}` : 'api/v2/try';
  const body = await request(new URL(path, base), {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(job),
  });
  const names = (body.builderNames as string[] | undefined) ?? [];
  out.stdout(`try job submitted: buildset ${String(body.bsid)} for ${names.join(', ')}\n`);
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerTry(program: Command, out: Output): void {
  program
    .command('try')
    .description("build the working tree's uncommitted changes (its git diff against the base revision) on the master's try builders")
    .option('-c, --connect <type>', "how to reach the master: 'http' (its web server)", 'http')
    .option('-m, --master <url>', 'the web address of the master (http://host:8010/ or host:port)')
    .option('-u, --username <name>', 'user name (a userpass of the Try scheduler, or a www user)')
    .option('--passwd <password>', 'password')
    .option('--token <token>', "the Try scheduler's token (default: $BUILDMASTER_TRY_TOKEN)")
    .option('-b, --builder <name>', 'a builder to run (repeatable; default: all of the scheduler)', collect)
    .option('--branch <branch>', 'the branch (default: the current one)')
    .option('--baserev <revision>', 'the revision the diff is against (default: where the branch left its upstream)')
    .option('--repository <url>', 'the repository of the source stamp')
    .option('--project <name>', 'the project of the source stamp')
    .option('--who <name>', 'who is trying (default: the user name)')
    .option('--comment <text>', 'a comment for the try job')
    .option('-p, --patchlevel <n>', 'strip this many leading path components when applying the diff (default 1)')
    .option('--diff <file>', "send this diff instead of the working tree's ('-' reads stdin)")
    .option('--property <name=value>', 'a property of the build (repeatable)', collect)
    .option('--properties <name=value,...>', 'several properties, comma-separated')
    .option('--topdir <dir>', 'the working tree (default: the current directory)')
    .option('--vc <system>', "version control: 'git'", 'git')
    .option('--scheduler <name>', 'the Try scheduler, when the master has several')
    .option('--dryrun', 'show what would be sent, send nothing')
    .option('--get-builder-names', "list the try schedulers' builders and exit")
    .action(async (opts: TryOptions) => tryJob(opts, out));
}
