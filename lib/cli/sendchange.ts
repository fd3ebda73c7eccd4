import { Option, type Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors/index.js';
import { BuildmasterError } from '../errors/BuildmasterError.js';
import type { Output } from './output.js';

/**
 * `buildmaster sendchange --master host:port [options] files…`: sends one change (one push) to a
 * running master's base change hook, POST /change_hook/base, with Buildbot's sendchange options.
 * The master must enable it (www.changeHooks.base); with `auth` there, pass `--auth user:pass`.
 */
export interface SendchangeOptions {
  master?: string;
  auth?: string;
  who?: string;
  author?: string;
  repository?: string;
  vc?: string;
  project?: string;
  branch?: string;
  category?: string;
  codebase?: string;
  revision?: string;
  revisionFile?: string;
  revision_file?: string;
  property?: string[];
  comments?: string;
  logfile?: string;
  when?: string;
  revlink?: string;
  encoding?: string;
  quiet?: boolean;
}

/** `host:port` (Buildbot's form) or a full http(s) URL of the master's web server. */
export function hookUrl(master: string): URL {
  const base = /^https?:\/\//.test(master) ? master : `http://${master}`;
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(`--master: expected host:port or http(s)://host:port/, got '${master}'`);
  }
  if (!/^https?:\/\//.test(master) && !url.port) throw new UsageError(`--master: expected host:port, got '${master}'`);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/change_hook/base`;
  return url;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The form fields of the base hook for these options. */
export async function sendchangeFields(files: readonly string[], o: SendchangeOptions): Promise<URLSearchParams> {
  const who = o.who ?? o.author;
  if (!who) throw new UsageError('--who (or --author) is required: the author of the change');
  const form = new URLSearchParams({ author: who });
  let revision = o.revision;
  const revisionFile = o.revisionFile ?? o.revision_file;
  if (revisionFile) revision = await readFile(revisionFile, 'utf8');
  let comments = o.comments;
  if (comments === undefined && o.logfile) comments = o.logfile === '-' ? await readStdin() : await readFile(o.logfile, 'utf8');
  if (o.when !== undefined && !Number.isFinite(Number(o.when))) throw new UsageError(`invalid 'when' value ${o.when}`);
  const properties: Record<string, string> = {};
  for (const p of o.property ?? []) {
    const colon = p.indexOf(':');
    if (colon < 1) throw new UsageError(`--property: expected name:value, got '${p}'`);
    properties[p.slice(0, colon)] = p.slice(colon + 1);
  }
  const optional: [string, string | undefined][] = [
    ['comments', comments ?? ''],
    ['revision', revision],
    ['when_timestamp', o.when],
    ['branch', o.branch],
    ['category', o.category],
    ['revlink', o.revlink],
    ['repository', o.repository],
    ['project', o.project],
    ['codebase', o.codebase],
    ['src', o.vc],
  ];
  for (const [k, v] of optional) if (v !== undefined && v !== '') form.set(k, v);
  form.set('files', JSON.stringify(files));
  if (Object.keys(properties).length > 0) form.set('properties', JSON.stringify(properties));
  return form;
}

export async function sendchange(files: readonly string[], o: SendchangeOptions, out: Output): Promise<void> {
  if (!o.master) throw new UsageError('--master host:port is required: the master\'s web server');
  const url = hookUrl(o.master);
  const form = await sendchangeFields(files, o);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (o.auth) {
    if (!o.auth.includes(':')) throw new UsageError('--auth: expected username:password');
    headers.authorization = `Basic ${Buffer.from(o.auth, 'utf8').toString('base64')}`;
  }
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body: form.toString(), signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
    throw new BuildmasterError(`change not sent: cannot reach ${url.origin}: ${cause}`, { userError: true });
  }
  const text = (await res.text()).trim();
  if (!res.ok) throw new BuildmasterError(`change not sent: ${res.status} ${res.statusText}${text ? `: ${text}` : ''}`, { userError: true });
  out.info(`change sent successfully (${text})`, o.quiet);
}

export function registerSendchange(program: Command, out: Output): void {
  const collect = (v: string, acc: string[]) => [...acc, v];
  program
    .command('sendchange')
    .description('send a change to a running master (its base change hook)')
    .argument('[files...]', 'the files the change touched')
    .option('-m, --master <host:port>', "the master's web server (host:port, or an http(s) URL)")
    .option('-a, --auth <user:pass>', 'HTTP Basic credentials, when www.changeHooks.base has auth')
    .option('-W, --who <author>', 'author of the commit')
    .option('--author <author>', 'the same as --who')
    .option('-R, --repository <repository>', 'repository specifier')
    .option('-s, --vc <vc>', 'the VC system in use (git, hg, svn, …): links the author to a user')
    .option('-P, --project <project>', 'project specifier')
    .option('-b, --branch <branch>', 'branch specifier')
    .option('-C, --category <category>', 'category of the change')
    .option('--codebase <codebase>', 'codebase this change is in')
    .option('-r, --revision <revision>', 'revision specifier')
    .option('--revision-file <file>', 'read the revision from this file')
    .addOption(new Option('--revision_file <file>').hideHelp())
    .option('-p, --property <name:value>', 'a property of the change (repeatable)', collect, [] as string[])
    .option('-c, --comments <text>', 'log message')
    .option('-F, --logfile <file>', 'read the log message from this file (- for stdin)')
    .option('-w, --when <seconds>', 'timestamp to use as the change time (epoch seconds)')
    .option('-l, --revlink <url>', 'revision link')
    .option('-e, --encoding <encoding>', 'accepted for Buildbot compatibility (text is sent as UTF-8)')
    .option('-q, --quiet', 'print nothing on success')
    .action(async (files: string[], o: SendchangeOptions) => sendchange(files, o, out));
}
