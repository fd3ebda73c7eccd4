import { win32 as winPath } from 'node:path';
import type { InterruptSignal, ShellName } from '../types.js';
import {
  normalizeEnv,
  rejectNul,
  type CommandSpec,
  type EnvPart,
  type Platform,
  type RemoteProcessRef,
  type WrappedCommand,
} from './platform.js';

/**
 * Quote one argument so that CommandLineToArgvW / the MSVC runtime gives it back unchanged:
 * backslashes are literal unless they precede a `"`, then they are doubled and the quote escaped.
 */
export function msvcrtQuote(arg: string): string {
  rejectNul('argument', arg);
  if (arg !== '' && !/[ \t\n\v"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      backslashes++;
      continue;
    }
    out += ch === '"' ? '\\'.repeat(backslashes * 2 + 1) + '"' : '\\'.repeat(backslashes) + ch;
    backslashes = 0;
  }
  return out + '\\'.repeat(backslashes * 2) + '"';
}

const CMD_META = /[()%!^"<>&|]/g;

/** cmd.exe: a `^` before each metacharacter (quotes too, so cmd never thinks it is inside quotes). */
export function cmdEscape(s: string): string {
  if (/[\r\n]/.test(s)) throw new TypeError('cmd.exe cannot pass a newline inside a command line');
  rejectNul('argument', s);
  return s.replace(CMD_META, '^$&');
}

/** An argument for a program started by cmd.exe: MSVCRT-quoted, then cmd-escaped. */
export function cmdQuoteArg(arg: string): string {
  return cmdEscape(msvcrtQuote(arg));
}

/**
 * A path for cmd's own commands (cd, mkdir, if exist) in `"…"`, where everything but `%` is
 * literal; a `%` is put outside the quotes with a caret. Windows paths cannot contain `"`.
 */
export function cmdQuotePath(path: string): string {
  if (/["\r\n\0]/.test(path)) throw new TypeError(`not a valid Windows path: ${JSON.stringify(path)}`);
  return '"' + path.replace(/%/g, '"^%"') + '"';
}

/**
 * PowerShell single quotes: everything literal; a quote is doubled. PowerShell also takes the
 * typographic single quotes (U+2018–U+201B) as quotes, so those are doubled too.
 */
export function psQuote(s: string): string {
  rejectNul('argument', s);
  return "'" + s.replace(/['\u2018\u2019\u201a\u201b]/g, '$&$&') + "'";
}

/** `-EncodedCommand` takes base64 of UTF-16LE: no quoting problem left in the outer command line. */
export function psEncodedLine(script: string): string {
  const b64 = Buffer.from(script, 'utf16le').toString('base64');
  return `powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ${b64}`;
}

function cmdEnvValue(parts: EnvPart[]): string {
  return parts.map((p) => ('ref' in p ? (p.ref === '' ? '' : `%${p.ref}%`) : cmdEscape(p.literal))).join('');
}

function psEnvValue(parts: EnvPart[]): string {
  const terms = parts.map((p) => ('ref' in p ? (p.ref === '' ? "''" : `$env:${p.ref}`) : psQuote(p.literal)));
  return terms.length === 1 ? terms[0] : `(${terms.map((t) => `[string]${t}`).join(' + ')})`;
}

/**
 * Windows hosts running Win32-OpenSSH. `shell` is the language commands are written in:
 * - 'cmd': the exec line is a cmd.exe line; the host's sshd DefaultShell must be cmd (the default).
 * - 'powershell': the exec line is `powershell.exe … -EncodedCommand …`, which any DefaultShell runs.
 *
 * Process tree: there are no process groups to signal. The root process of each command has a
 * unique token in its command line (`BM_RUN_ID=<nonce>` for cmd; the start of the base64 script for
 * PowerShell); the kill line finds it with Get-CimInstance and runs `taskkill /PID n /T /F`, as
 * Buildbot's worker does. The kill line is itself encoded, so it never matches its own token.
 */
export class WindowsPlatform implements Platform {
  readonly name = 'windows' as const;
  readonly pathSeparator = '\\' as const;
  readonly pathListSeparator = ';' as const;
  readonly shell: 'cmd' | 'powershell';

  constructor(shell: ShellName = 'cmd') {
    if (shell === 'sh') throw new TypeError("a windows worker's shell is 'cmd' or 'powershell'");
    this.shell = shell;
  }

  quote(arg: string): string {
    return this.shell === 'cmd' ? cmdQuoteArg(arg) : psQuote(arg);
  }

  joinPath(...parts: string[]): string {
    return winPath.join(...parts);
  }

  isAbsolute(path: string): boolean {
    return /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\\\');
  }

  wrap(spec: CommandSpec): WrappedCommand {
    return this.shell === 'cmd' ? this.wrapCmd(spec) : this.wrapPowershell(spec);
  }

  private wrapCmd(spec: CommandSpec): WrappedCommand {
    const token = `BM_RUN_ID=${spec.nonce}`;
    const parts = [`(set ${cmdEscape(token)})`];
    if (spec.workdir) {
      const wd = cmdQuotePath(spec.workdir);
      if (spec.createWorkdir !== false) parts.push(`(if not exist ${cmdQuotePath(spec.workdir + '\\')} mkdir ${wd})`);
      parts.push(`(cd /d ${wd} || exit 1)`);
    }
    // `(set A=v)`: the parentheses stop cmd from adding the space before `&` to the value.
    for (const [name, value] of normalizeEnv(spec.env, this.pathListSeparator)) {
      parts.push(`(set ${name}=${value === null ? '' : cmdEnvValue(value)})`);
    }
    parts.push(typeof spec.command === 'string' ? spec.command : this.cmdArgv(spec.command));
    return { line: parts.join(' & '), ref: { nonce: spec.nonce, matchToken: token } };
  }

  /** argv[0] in plain quotes: cmd must see the program name as one word to find it. */
  private cmdArgv(argv: string[]): string {
    if (argv.length === 0) throw new TypeError('empty command');
    const [prog, ...args] = argv;
    const first = /[ \t"]/.test(prog) || prog === '' ? cmdQuotePath(prog) : cmdEscape(prog);
    return [first, ...args.map(cmdQuoteArg)].join(' ');
  }

  private wrapPowershell(spec: CommandSpec): WrappedCommand {
    // The nonce comes first so that the start of the base64 text is unique to this run.
    const lines = [`$env:BM_RUN_ID = ${psQuote(spec.nonce)}`, "$ErrorActionPreference = 'Stop'"];
    if (spec.workdir) {
      const wd = psQuote(spec.workdir);
      if (spec.createWorkdir !== false) lines.push(`[void][System.IO.Directory]::CreateDirectory(${wd})`);
      lines.push(`Set-Location -LiteralPath ${wd}`);
    }
    for (const [name, value] of normalizeEnv(spec.env, this.pathListSeparator)) {
      lines.push(
        value === null
          ? `Remove-Item -LiteralPath ${psQuote('Env:' + name)} -ErrorAction SilentlyContinue`
          : `$env:${name} = ${psEnvValue(value)}`,
      );
    }
    lines.push("$ErrorActionPreference = 'Continue'", '$global:LASTEXITCODE = 0');
    lines.push(typeof spec.command === 'string' ? spec.command : `& ${spec.command.map(psQuote).join(' ')}`);
    lines.push('$bmOk = $?', 'if ($LASTEXITCODE) { exit $LASTEXITCODE }', 'if (-not $bmOk) { exit 1 }', 'exit 0');
    const line = psEncodedLine(lines.join('\n'));
    const b64 = line.slice(line.lastIndexOf(' ') + 1);
    // 120 base64 characters = the first 45 UTF-16 characters, which hold the whole nonce line.
    return { line, ref: { nonce: spec.nonce, matchToken: b64.slice(0, 120) } };
  }

  killLine(ref: RemoteProcessRef, signal: InterruptSignal): string | undefined {
    if (!ref.matchToken) return undefined;
    // taskkill without /F asks politely (WM_CLOSE), as Buildbot does for TERM; anything else is /F.
    const force = signal === 'TERM' ? '' : ' /F';
    const script = [
      `$t = ${psQuote(ref.matchToken)}`,
      'Get-CimInstance Win32_Process | Where-Object { $_.ProcessId -ne $PID -and $_.CommandLine -and $_.CommandLine.Contains($t) } |',
      `  ForEach-Object { & taskkill.exe /PID $_.ProcessId /T${force} 2>&1 | Out-Null }`,
      'exit 0',
    ].join('\n');
    return psEncodedLine(script);
  }

  mkdirCommand(path: string): string {
    return this.shell === 'cmd'
      ? `if not exist ${cmdQuotePath(path + '\\')} mkdir ${cmdQuotePath(path)}`
      : `[void][System.IO.Directory]::CreateDirectory(${psQuote(path)})`;
  }

  removeCommand(path: string): string {
    if (this.shell === 'cmd') {
      const p = cmdQuotePath(path);
      return `if exist ${cmdQuotePath(path + '\\')} (rmdir /s /q ${p}) else if exist ${p} (del /f /q ${p})`;
    }
    const p = psQuote(path);
    return `if (Test-Path -LiteralPath ${p}) { Remove-Item -LiteralPath ${p} -Recurse -Force }`;
  }

  existsCommand(path: string): string {
    return this.shell === 'cmd'
      ? `if exist ${cmdQuotePath(path)} (exit 0) else (exit 1)`
      : `if (Test-Path -LiteralPath ${psQuote(path)}) { exit 0 } else { exit 1 }`;
  }

  display(command: string | string[]): string {
    if (typeof command === 'string') return command;
    return command.map((a) => (this.shell === 'cmd' ? msvcrtQuote(a) : psQuote(a))).join(' ');
  }
}
