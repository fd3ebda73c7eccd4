import type { CommandEnv, InterruptSignal, PlatformName, ShellName } from '../types.js';

/** What to run: Buildbot's command (a shell string, or argv run without a shell) in a workdir. */
export interface CommandSpec {
  command: string | string[];
  workdir?: string;
  env?: CommandEnv;
  /** Create the workdir first, as Buildbot's worker does (default true). */
  createWorkdir?: boolean;
  /** Unique id of this run; it lets us find the remote process again to kill it. */
  nonce: string;
}

/** How we find a running remote command again. */
export interface RemoteProcessRef {
  nonce: string;
  /** Posix: pid of the session leader = its process group id, reported on stderr at start. */
  pid?: number;
  /** Windows: a string only the command line of that command's root process contains. */
  matchToken?: string;
}

export interface WrappedCommand {
  /** The string sent in the SSH exec request. */
  line: string;
  ref: RemoteProcessRef;
  /** Prefix of the line the wrapper writes first on stderr with its pid (posix), stripped from output. */
  pidMarker?: string;
}

/**
 * One slave platform + shell: how to quote, set env and workdir, join paths, and kill a tree.
 * Commands that `mkdirCommand` etc. return are run through `wrap` like any user command.
 */
export interface Platform {
  readonly name: PlatformName;
  readonly shell: ShellName;
  readonly pathSeparator: '/' | '\\';
  /** Separator of PATH-like lists (Buildbot joins list env values with it). */
  readonly pathListSeparator: ':' | ';';
  /** Quote one word for this shell. */
  quote(arg: string): string;
  joinPath(...parts: string[]): string;
  isAbsolute(path: string): boolean;
  wrap(spec: CommandSpec): WrappedCommand;
  /** A command line (for exec) that signals the whole tree of `ref`; undefined if `ref` is not known yet. */
  killLine(ref: RemoteProcessRef, signal: InterruptSignal): string | undefined;
  /** Commands (for `wrap`) for the Git and file steps. `exists` exits 0 if the path exists, 1 if not. */
  mkdirCommand(path: string): string | string[];
  removeCommand(path: string): string | string[];
  existsCommand(path: string): string | string[];
  /** How the command reads in logs and messages. */
  display(command: string | string[]): string;
}

export type EnvPart = { literal: string } | { ref: string };

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_REF = /\$\{([0-9a-zA-Z_]*)\}/g;

/**
 * Buildbot's env rules (buildbot_worker/runprocess.py): lists joined with the path-list separator,
 * PYTHONPATH gets `${PYTHONPATH}` appended, `${NAME}` refers to the slave's environment, null unsets.
 * Returns entries whose value is null (unset) or a sequence of literal and reference parts.
 */
export function normalizeEnv(env: CommandEnv | undefined, listSep: string): [string, EnvPart[] | null][] {
  const out: [string, EnvPart[] | null][] = [];
  for (const [name, raw] of Object.entries(env ?? {})) {
    if (raw === undefined) continue;
    if (!ENV_NAME.test(name)) throw new TypeError(`env: invalid variable name ${JSON.stringify(name)}`);
    if (raw === null) {
      out.push([name, null]);
      continue;
    }
    let value = Array.isArray(raw) ? raw.join(listSep) : raw;
    if (typeof value !== 'string') throw new TypeError(`env: value of ${name} must be a string or a list of strings`);
    if (name === 'PYTHONPATH') value += listSep + '${PYTHONPATH}';
    out.push([name, splitEnvRefs(value)]);
  }
  return out;
}

export function splitEnvRefs(value: string): EnvPart[] {
  const parts: EnvPart[] = [];
  let last = 0;
  for (const m of value.matchAll(ENV_REF)) {
    if (m.index > last) parts.push({ literal: value.slice(last, m.index) });
    parts.push({ ref: m[1] });
    last = m.index + m[0].length;
  }
  if (last < value.length || parts.length === 0) parts.push({ literal: value.slice(last) });
  return parts;
}

export function rejectNul(what: string, s: string): void {
  if (s.includes('\0')) throw new TypeError(`${what} contains a NUL character, which no shell can pass`);
}
