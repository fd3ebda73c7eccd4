/**
 * The small project the demo builds: a shell program `greet`, a build script that "compiles" it
 * (stamps the git revision into out/greet) and a test runner with four tests, one of which prints a
 * warning. Plain /bin/sh and git only, so it runs on any fresh machine.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const DEMO_BRANCH = 'main';

const FILES: Record<string, string> = {
  'README.md': `# greet

A tiny shell program that the buildmaster demo builds and tests.

    sh build.sh          # writes out/greet
    sh run-tests.sh      # runs tests/*.sh against out/greet
`,
  'src/greet.sh': `#!/bin/sh
# greet [--loud] [NAME]: says hello. --shout is the old spelling of --loud.
VERSION=@VERSION@
loud=no
case "$1" in
  --version) echo "greet $VERSION"; exit 0 ;;
  --shout) echo "greet: warning: --shout is deprecated, use --loud" >&2; loud=yes; shift ;;
  --loud) loud=yes; shift ;;
esac
msg="hello, \${1:-world}"
if [ "$loud" = yes ]; then msg=$(echo "$msg" | tr 'a-z' 'A-Z'); fi
echo "$msg"
`,
  'build.sh': `#!/bin/sh
# "Compiles" src/greet.sh into out/greet, stamping the revision into it.
set -e
version=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "building out/greet from src/greet.sh (revision $version)"
mkdir -p out
sed "s/@VERSION@/$version/" src/greet.sh > out/greet
chmod +x out/greet
echo "note: a shell program needs no compiler; only the version was stamped" >&2
echo "built out/greet: $(wc -l < out/greet) lines"
`,
  'run-tests.sh': `#!/bin/sh
# Runs every tests/test_*.sh; prints PASS/FAIL per test and a summary; fails if any test failed.
passed=0
failed=0
for t in tests/test_*.sh; do
  name=$(basename "$t" .sh)
  if sh "$t"; then
    echo "PASS $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name" >&2
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
`,
  'tests/test_default.sh': `[ "$(out/greet)" = "hello, world" ]
`,
  'tests/test_name.sh': `[ "$(out/greet demo)" = "hello, demo" ]
`,
  'tests/test_version.sh': `out/greet --version | grep -q '^greet [0-9a-f]'
`,
  'tests/test_shout.sh': `# The deprecated flag still works, but says so on stderr.
out=$(out/greet --shout demo 2>/dev/null)
echo "warning: test_shout exercises the deprecated --shout flag" >&2
[ "$out" = "HELLO, DEMO" ]
`,
};

export interface DemoRepo {
  path: string;
  /** True when this call created the repository. */
  created: boolean;
  revision: string;
}

async function git(cwd: string, args: string[]): Promise<string> {
  // Identity and signing given here: a fresh machine has no git config.
  const { stdout } = await run(
    'git',
    ['-c', 'user.name=buildmaster demo', '-c', 'user.email=demo@buildmaster.invalid', '-c', 'commit.gpgsign=false', ...args],
    { cwd },
  );
  return stdout.trim();
}

async function headRevision(path: string): Promise<string | undefined> {
  try {
    return await git(path, ['rev-parse', 'HEAD']);
  } catch {
    return undefined;
  }
}

/** The demo project's git repository at `path`: reused when it has a commit, else (re)created. */
export async function ensureDemoRepo(path: string): Promise<DemoRepo> {
  const existing = existsSync(join(path, '.git')) ? await headRevision(path) : undefined;
  if (existing) return { path, created: false, revision: existing };

  await rm(path, { recursive: true, force: true }); // a half-made repository from an interrupted run
  await mkdir(path, { recursive: true });
  for (const [name, text] of Object.entries(FILES)) {
    const file = join(path, name);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text, { mode: name.endsWith('.sh') ? 0o755 : 0o644 });
  }
  await git(path, ['init', '-q', '-b', DEMO_BRANCH]);
  await git(path, ['add', '-A']);
  await git(path, ['commit', '-q', '-m', 'greet: a tiny program for the buildmaster demo']);
  return { path, created: true, revision: (await headRevision(path))! };
}
