import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MacosPlatform } from '../../lib/workers/platforms/macos.js';
import { normalizeEnv } from '../../lib/workers/platforms/platform.js';
import { PosixPlatform, shQuote } from '../../lib/workers/platforms/posix.js';
import { platformFor } from '../../lib/workers/platforms/index.js';
import { cmdEscape, cmdQuoteArg, cmdQuotePath, msvcrtQuote, psQuote, WindowsPlatform } from '../../lib/workers/platforms/windows.js';

const run = promisify(execFile);

const TRICKY = [
  'plain',
  'two words',
  '',
  ' leading and trailing ',
  "it's",
  'say "hi"',
  '$HOME ${PATH} $(id)',
  '`id`',
  '100%',
  '%PATH%',
  '!bang!',
  'a^b',
  'a & b | c < d > e',
  '(paren)',
  'semi;colon',
  'back\\slash\\',
  '\\\\server\\share\\',
  'trailing backslash \\',
  'quote at end\\"',
  'tab\there',
  'ünïcödé €𝄞',
  '*?[glob]',
  '-n',
  '#hash',
  '~tilde',
  '‘smart’ ‚quotes‛',
];

/** CommandLineToArgvW (the MSVC runtime's rules since 2008), the reader of msvcrtQuote's output. */
function commandLineToArgv(s: string): string[] {
  const args: string[] = [];
  let i = 0;
  for (;;) {
    while (s[i] === ' ' || s[i] === '\t') i++;
    if (i >= s.length) return args;
    let arg = '';
    let inQuotes = false;
    while (i < s.length && (inQuotes || (s[i] !== ' ' && s[i] !== '\t'))) {
      if (s[i] === '\\') {
        let n = 0;
        while (s[i] === '\\') {
          n++;
          i++;
        }
        if (s[i] === '"') {
          arg += '\\'.repeat(Math.floor(n / 2));
          if (n % 2 === 1) {
            arg += '"';
            i++;
          }
        } else {
          arg += '\\'.repeat(n);
        }
      } else if (s[i] === '"') {
        if (inQuotes && s[i + 1] === '"') {
          arg += '"';
          i += 2;
        } else {
          inQuotes = !inQuotes;
          i++;
        }
      } else {
        arg += s[i++];
      }
    }
    args.push(arg);
  }
}

/** cmd.exe's reading of a command line: %VAR% expansion (defined names only), then carets outside quotes. */
function cmdPhases(line: string, env: Record<string, string> = {}): string {
  let expanded = '';
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '%') {
      const end = line.indexOf('%', i + 1);
      const name = end > 0 ? line.slice(i + 1, end) : undefined;
      if (name !== undefined && name in env) {
        expanded += env[name];
        i = end;
        continue;
      }
    }
    expanded += line[i];
  }
  let out = '';
  let inQuotes = false;
  for (let i = 0; i < expanded.length; i++) {
    const c = expanded[i];
    if (c === '"') inQuotes = !inQuotes;
    if (c === '^' && !inQuotes) {
      out += expanded[++i] ?? '';
      continue;
    }
    out += c;
  }
  return out;
}

describe('workers/platforms', () => {
  describe('posix', () => {
    it('shQuote: /bin/sh gives every tricky word back unchanged', async () => {
      const words = [...TRICKY, 'new\nline', "'", "''", '\\'];
      const script = `printf '%s\\0' ${words.map(shQuote).join(' ')}`;
      const { stdout } = await run('/bin/sh', ['-c', script]);
      expect(stdout.split('\0').slice(0, -1)).to.deep.equal(words);
    });

    it('shQuote leaves safe words bare and refuses NUL', () => {
      expect(shQuote('make')).to.equal('make');
      expect(shQuote('a b')).to.equal("'a b'");
      expect(shQuote("it's")).to.equal("'it'\\''s'");
      expect(() => shQuote('a\0b')).to.throw(/NUL/);
    });

    it('kill line signals the process group, falling back to the pid', () => {
      const p = new PosixPlatform();
      expect(p.killLine({ nonce: 'n', pid: 4242 }, 'KILL')).to.equal('kill -KILL -4242 2>/dev/null || kill -KILL 4242 2>/dev/null; exit 0');
      expect(p.killLine({ nonce: 'n', pid: 7 }, 'TERM')).to.equal('kill -TERM -7 2>/dev/null || kill -TERM 7 2>/dev/null; exit 0');
      expect(p.killLine({ nonce: 'n' }, 'KILL')).to.equal(undefined);
    });

    it('the wrapper reports its pid, cds, sets env, and execs the command (run by a local sh)', async () => {
      const p = new PosixPlatform();
      const w = p.wrap({ command: 'echo "$A|$PWD"', workdir: '/tmp', env: { A: "x'y", B: null }, nonce: 'abc' });
      const { stdout, stderr } = await run('/bin/sh', ['-c', w.line], { env: { B: 'set', PATH: process.env.PATH } });
      expect(stdout).to.equal("x'y|/tmp\n");
      expect(stderr).to.match(/^\x1ebm-pid:abc:\d+\n$/);
      expect(w.pidMarker).to.equal('\x1ebm-pid:abc:');
    });

    it('paths and display', () => {
      const p = new PosixPlatform();
      expect(p.joinPath('/a', 'b c', '../d')).to.equal('/a/d');
      expect(p.isAbsolute('/x')).to.equal(true);
      expect(p.isAbsolute('x')).to.equal(false);
      expect(p.display(['echo', 'a b'])).to.equal("echo 'a b'");
    });
  });

  describe('macos', () => {
    it('is POSIX: same quoting and kill, its own name', () => {
      const m = new MacosPlatform();
      expect(m.name).to.equal('macos');
      expect(m.quote("it's")).to.equal(shQuote("it's"));
      expect(m.killLine({ nonce: 'n', pid: 9 }, 'KILL')).to.equal(new PosixPlatform().killLine({ nonce: 'n', pid: 9 }, 'KILL'));
      expect(platformFor({ platform: 'macos' }).name).to.equal('macos');
    });
  });

  describe('windows: cmd.exe', () => {
    it('msvcrtQuote: CommandLineToArgvW gives every word back', () => {
      const words = [...TRICKY, 'new\nline'];
      expect(commandLineToArgv(words.map(msvcrtQuote).join(' '))).to.deep.equal(words);
    });

    it('msvcrtQuote: backslashes double only before a quote', () => {
      expect(msvcrtQuote('C:\\Program Files\\')).to.equal('"C:\\Program Files\\\\"');
      expect(msvcrtQuote('a\\"b')).to.equal('"a\\\\\\"b"');
      expect(msvcrtQuote('C:\\x\\y')).to.equal('C:\\x\\y');
      expect(msvcrtQuote('')).to.equal('""');
    });

    it('cmdQuoteArg: after cmd.exe (even with PATH defined) the program gets every word back', () => {
      const words = TRICKY;
      const line = words.map(cmdQuoteArg).join(' ');
      expect(commandLineToArgv(cmdPhases(line, { PATH: 'C:\\Windows', HOME: 'X' }))).to.deep.equal(words);
    });

    it('cmdEscape carets every metacharacter and refuses newlines', () => {
      expect(cmdEscape('50% & "x" | (y) <z> ^ !')).to.equal('50^% ^& ^"x^" ^| ^(y^) ^<z^> ^^ ^!');
      expect(() => cmdEscape('a\nb')).to.throw(/newline/);
    });

    it('cmdQuotePath quotes for cmd builtins; % goes outside the quotes', () => {
      expect(cmdQuotePath('C:\\a b')).to.equal('"C:\\a b"');
      expect(cmdQuotePath('C:\\50%')).to.equal('"C:\\50"^%""');
      expect(() => cmdQuotePath('C:\\a"b')).to.throw(/not a valid Windows path/);
    });

    it('wrap: token, workdir, env, command', () => {
      const p = new WindowsPlatform('cmd');
      const w = p.wrap({
        command: 'build.bat & echo done',
        workdir: 'C:\\work dir',
        env: { A: 'x&y', P: ['C:\\a', '${PATH}'], GONE: null },
        nonce: 'n0nce',
      });
      expect(w.line).to.equal(
        '(set BM_RUN_ID=n0nce) & (if not exist "C:\\work dir\\" mkdir "C:\\work dir") & (cd /d "C:\\work dir" || exit 1) & ' +
          '(set A=x^&y) & (set P=C:\\a;%PATH%) & (set GONE=) & build.bat & echo done',
      );
      expect(w.ref).to.deep.equal({ nonce: 'n0nce', matchToken: 'BM_RUN_ID=n0nce' });
      expect(w.pidMarker).to.equal(undefined);
    });

    it('wrap: argv keeps the program name one word', () => {
      const p = new WindowsPlatform('cmd');
      const w = p.wrap({ command: ['C:\\Program Files\\Git\\bin\\git.exe', 'commit', '-m', 'a "b" & c'], nonce: 'n' });
      const cmdPart = w.line.split(' & ').slice(1).join(' & ');
      expect(cmdPart.startsWith('"C:\\Program Files\\Git\\bin\\git.exe" ')).to.equal(true);
      expect(commandLineToArgv(cmdPhases(cmdPart))).to.deep.equal(['C:\\Program Files\\Git\\bin\\git.exe', 'commit', '-m', 'a "b" & c']);
    });

    it('kill line: encoded PowerShell running taskkill /T /F on the token, without the token in plain text', () => {
      const p = new WindowsPlatform('cmd');
      const line = p.killLine({ nonce: 'n', matchToken: 'BM_RUN_ID=n0nce' }, 'KILL')!;
      expect(line).to.match(/^powershell\.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand [A-Za-z0-9+/=]+$/);
      expect(line).not.to.contain('n0nce');
      const script = Buffer.from(line.split(' ').pop()!, 'base64').toString('utf16le');
      expect(script).to.contain("$t = 'BM_RUN_ID=n0nce'");
      expect(script).to.contain('taskkill.exe /PID $_.ProcessId /T /F');
      expect(script).to.contain('$_.ProcessId -ne $PID');
      const term = Buffer.from(p.killLine({ nonce: 'n', matchToken: 't' }, 'TERM')!.split(' ').pop()!, 'base64').toString('utf16le');
      expect(term).to.contain('/T 2>&1').and.not.to.contain('/F');
    });

    it('helpers and paths', () => {
      const p = new WindowsPlatform('cmd');
      expect(p.mkdirCommand('C:\\a b')).to.equal('if not exist "C:\\a b\\" mkdir "C:\\a b"');
      expect(p.existsCommand('C:\\x')).to.equal('if exist "C:\\x" (exit 0) else (exit 1)');
      expect(p.removeCommand('C:\\x')).to.equal('if exist "C:\\x\\" (rmdir /s /q "C:\\x") else if exist "C:\\x" (del /f /q "C:\\x")');
      expect(p.joinPath('C:\\a', 'b', '..', 'c')).to.equal('C:\\a\\c');
      expect(p.isAbsolute('C:\\a')).to.equal(true);
      expect(p.isAbsolute('\\\\srv\\share')).to.equal(true);
      expect(p.isAbsolute('a\\b')).to.equal(false);
      expect(p.pathListSeparator).to.equal(';');
    });
  });

  describe('windows: PowerShell', () => {
    it('psQuote doubles single quotes, typographic ones too; nothing else is special', () => {
      expect(psQuote("it's")).to.equal("'it''s'");
      expect(psQuote('‘a’')).to.equal("'‘‘a’’'");
      expect(psQuote('$env:X `n "q" %P% !')).to.equal("'$env:X `n \"q\" %P% !'");
      expect(psQuote('two\nlines')).to.equal("'two\nlines'");
    });

    /** A reader of PowerShell single-quoted strings, to check psQuote round trips. */
    const readPs = (s: string): string => {
      expect(/^['‘’‚‛]/.test(s)).to.equal(true);
      let out = '';
      for (let i = 1; i < s.length - 1; i++) {
        out += s[i];
        if (/['‘’‚‛]/.test(s[i])) i++;
      }
      return out;
    };

    it('psQuote round trips every tricky word', () => {
      for (const w of [...TRICKY, 'new\nline', "''"]) expect(readPs(psQuote(w))).to.equal(w);
    });

    it('wrap: encoded script with the nonce first, workdir, env, exit code', () => {
      const p = new WindowsPlatform('powershell');
      const w = p.wrap({ command: ['git', 'log', "it's"], workdir: "C:\\w'd", env: { A: 'pre;${PATH}', B: null }, nonce: 'abcd' });
      const b64 = w.line.split(' ').pop()!;
      const script = Buffer.from(b64, 'base64').toString('utf16le');
      expect(script.split('\n')).to.deep.equal([
        "$env:BM_RUN_ID = 'abcd'",
        "$ErrorActionPreference = 'Stop'",
        "[void][System.IO.Directory]::CreateDirectory('C:\\w''d')",
        "Set-Location -LiteralPath 'C:\\w''d'",
        "$env:A = ([string]'pre;' + [string]$env:PATH)",
        "Remove-Item -LiteralPath 'Env:B' -ErrorAction SilentlyContinue",
        "$ErrorActionPreference = 'Continue'",
        '$global:LASTEXITCODE = 0',
        "& 'git' 'log' 'it''s'",
        '$bmOk = $?',
        'if ($LASTEXITCODE) { exit $LASTEXITCODE }',
        'if (-not $bmOk) { exit 1 }',
        'exit 0',
      ]);
      expect(b64.startsWith(w.ref.matchToken!)).to.equal(true);
      expect(Buffer.from(w.ref.matchToken!, 'base64').toString('utf16le')).to.contain("'abcd'");
      const kill = Buffer.from(p.killLine(w.ref, 'KILL')!.split(' ').pop()!, 'base64').toString('utf16le');
      expect(kill).to.contain(w.ref.matchToken!);
    });

    it("refuses shell 'sh'", () => {
      expect(() => new WindowsPlatform('sh')).to.throw(/cmd' or 'powershell/);
      expect(() => platformFor({ platform: 'posix', shell: 'cmd' })).to.throw(/shell is 'sh'/);
    });
  });

  describe('env rules (Buildbot)', () => {
    it('lists join with the path separator, PYTHONPATH keeps the slave value, null unsets, bad names throw', () => {
      expect(normalizeEnv({ L: ['a', 'b'], PYTHONPATH: 'x', U: null, S: '${HOME}/bin' }, ':')).to.deep.equal([
        ['L', [{ literal: 'a:b' }]],
        ['PYTHONPATH', [{ literal: 'x:' }, { ref: 'PYTHONPATH' }]],
        ['U', null],
        ['S', [{ ref: 'HOME' }, { literal: '/bin' }]],
      ]);
      expect(() => normalizeEnv({ 'A-B': 'x' }, ':')).to.throw(/invalid variable name/);
    });
  });
});
