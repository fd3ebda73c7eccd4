import { posix as posixPath } from 'node:path';
import type { InterruptSignal } from '../types.js';
import {
  normalizeEnv,
  rejectNul,
  type CommandSpec,
  type EnvPart,
  type Platform,
  type RemoteProcessRef,
  type WrappedCommand,
} from './platform.js';

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote for POSIX sh: single quotes keep everything literal; a `'` is closed, escaped, reopened. */
export function shQuote(arg: string): string {
  rejectNul('argument', arg);
  if (SAFE_WORD.test(arg)) return arg;
  return "'" + arg.replace(/'/g, `'\\''`) + "'";
}

function envValue(parts: EnvPart[]): string {
  const words = parts.map((p) => ('ref' in p ? (p.ref === '' ? '' : `"\${${p.ref}}"`) : shQuote(p.literal)));
  const joined = words.join('');
  return joined === '' ? "''" : joined;
}

/**
 * POSIX hosts (Linux, BSD; macOS shares this). The command line is a small sh script run by the
 * build user's login shell (sh, bash, zsh: anything POSIX; not csh/fish).
 *
 * Process tree: OpenSSH's sshd calls setsid() for every session's child (session.c, do_exec_no_pty),
 * so the login shell running our script is a session and process group leader, and `$$` is the
 * group id. The script prints it on stderr before anything else and then `exec`s the command, which
 * keeps that pid; `kill -SIG -PGID` then reaches every process the command started (unless one
 * made its own session on purpose). No `setsid` binary is needed (macOS has none).
 */
export class PosixPlatform implements Platform {
  readonly name: 'posix' | 'macos' = 'posix';
  readonly shell = 'sh' as const;
  readonly pathSeparator = '/' as const;
  readonly pathListSeparator = ':' as const;

  quote(arg: string): string {
    return shQuote(arg);
  }

  joinPath(...parts: string[]): string {
    return posixPath.join(...parts);
  }

  isAbsolute(path: string): boolean {
    return path.startsWith('/');
  }

  wrap(spec: CommandSpec): WrappedCommand {
    const pidMarker = `\x1ebm-pid:${spec.nonce}:`;
    // printf's \036 is the marker's first byte (ASCII RS), unlikely in real output.
    const lines = [`printf '\\036bm-pid:%s:%s\\n' ${shQuote(spec.nonce)} "$$" >&2`];
    if (spec.workdir) {
      const wd = shQuote(spec.workdir);
      lines.push(spec.createWorkdir === false ? `cd -- ${wd} || exit 1` : `mkdir -p -- ${wd} && cd -- ${wd} || exit 1`);
    }
    for (const [name, parts] of normalizeEnv(spec.env, this.pathListSeparator)) {
      lines.push(parts === null ? `unset ${name}` : `${name}=${envValue(parts)}; export ${name}`);
    }
    // exec keeps the group leader's pid; a shell string runs under /bin/sh as Buildbot's worker does.
    lines.push(
      typeof spec.command === 'string'
        ? `exec /bin/sh -c ${shQuote(spec.command)}`
        : `exec ${spec.command.map(shQuote).join(' ')}`,
    );
    return { line: lines.join('\n'), ref: { nonce: spec.nonce }, pidMarker };
  }

  killLine(ref: RemoteProcessRef, signal: InterruptSignal): string | undefined {
    if (ref.pid === undefined) return undefined;
    // `kill -SIG -PGID`: dash rejects both `--` and `-s SIG -PGID`; the XSI form works in dash, bash, zsh.
    const pid = String(Math.trunc(ref.pid));
    return `kill -${signal} -${pid} 2>/dev/null || kill -${signal} ${pid} 2>/dev/null; exit 0`;
  }

  mkdirCommand(path: string): string[] {
    return ['mkdir', '-p', '--', path];
  }

  removeCommand(path: string): string[] {
    // chmod first: read-only dirs (e.g. Go's module cache) would make rm -rf fail.
    return ['/bin/sh', '-c', 'chmod -R u+rwx -- "$1" 2>/dev/null; rm -rf -- "$1"', 'sh', path];
  }

  existsCommand(path: string): string[] {
    return ['test', '-e', path];
  }

  display(command: string | string[]): string {
    return typeof command === 'string' ? command : command.map(shQuote).join(' ');
  }
}
