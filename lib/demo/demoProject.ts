/**
 * The small project the demo builds: a shell program `greet`, a build script that "compiles" it
 * (checks that it parses, stamps the version into out/greet) and a test runner that reports in TAP.
 * Plain /bin/sh and git only, so it runs on any fresh machine. What happens to it over time (the
 * commits the demo pushes) is in demoStory.ts.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const DEMO_BRANCH = 'main';

/** The project as the demo first creates it, and as each story cycle starts it again. */
export const BASELINE: Readonly<Record<string, string>> = {
  'README.md': `# greet

A tiny shell program that the buildmaster demo builds and tests.

    sh build.sh          # writes out/greet
    sh run-tests.sh      # runs tests/test_*.sh against out/greet, reports in TAP
`,
  '.gitignore': 'out/\n',
  VERSION: '1.0\n',
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
# "Compiles" src/greet.sh into out/greet: checks that it parses, stamps the version into it.
set -e
version="$(cat VERSION)+$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "building out/greet $version from src/greet.sh"
if ! problem=$(sh -n src/greet.sh 2>&1); then
  echo "error: src/greet.sh does not parse: $(echo "$problem" | head -n 1 | sed 's|^src/greet.sh: ||')" >&2
  exit 1
fi
mkdir -p out
sed "s/@VERSION@/$version/" src/greet.sh > out/greet
chmod +x out/greet
echo "note: a shell program needs no compiler; only the version was stamped" >&2
echo "built out/greet: $(wc -l < out/greet) lines"
`,
  'run-tests.sh': `#!/bin/sh
# Runs every tests/test_*.sh against out/greet and reports in TAP (the Test Anything Protocol);
# a failing test says why on stderr. Fails if any test failed.
total=$(ls tests/test_*.sh | wc -l | tr -d ' ')
echo "TAP version 13"
echo "1..$total"
n=0
failed=0
for t in tests/test_*.sh; do
  n=$((n + 1))
  name=$(basename "$t" .sh)
  if sh "$t"; then
    echo "ok $n - $name"
  else
    echo "not ok $n - $name"
    failed=$((failed + 1))
  fi
done
echo "# $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
`,
  'tests/test_default.sh': `[ "$(out/greet)" = "hello, world" ]
`,
  'tests/test_name.sh': `[ "$(out/greet demo)" = "hello, demo" ]
`,
  'tests/test_version.sh': `out/greet --version | grep -q '^greet [0-9]'
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

export async function git(cwd: string, args: string[]): Promise<string> {
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

async function writeProjectFile(repo: string, name: string, text: string): Promise<void> {
  const file = join(repo, name);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text, { mode: name.endsWith('.sh') ? 0o755 : 0o644 });
}

/** The demo project's git repository at `path`: reused when it has a commit, else (re)created. */
export async function ensureDemoRepo(path: string): Promise<DemoRepo> {
  const existing = existsSync(join(path, '.git')) ? await headRevision(path) : undefined;
  if (existing) return { path, created: false, revision: existing };

  await rm(path, { recursive: true, force: true }); // a half-made repository from an interrupted run
  await mkdir(path, { recursive: true });
  for (const [name, text] of Object.entries(BASELINE)) await writeProjectFile(path, name, text);
  await git(path, ['init', '-q', '-b', DEMO_BRANCH]);
  await git(path, ['add', '-A']);
  await git(path, ['commit', '-q', '-m', 'greet: a tiny program for the buildmaster demo']);
  return { path, created: true, revision: (await headRevision(path))! };
}

/** The project's version (VERSION), '1.0' when it has none (a repository from an older demo). */
export async function projectVersion(repo: string): Promise<string> {
  try {
    return (await readFile(join(repo, 'VERSION'), 'utf8')).trim() || '1.0';
  } catch {
    return '1.0';
  }
}

/**
 * One commit on the demo branch: writes `files` (null deletes one), or with `reset` first puts
 * every tracked file back to BASELINE (files not in it are deleted). The committer is always the
 * demo; `author` (`Name <email>`) defaults to it. Returns the new revision.
 */
export async function commitFiles(
  repo: string,
  commit: { message: string; author?: string },
  files: Record<string, string | null>,
  reset = false,
): Promise<string> {
  if (reset) {
    const tracked = (await git(repo, ['ls-files', '-z'])).split('\0').filter(Boolean);
    for (const name of tracked) if (!(name in BASELINE)) await unlink(join(repo, name)).catch(() => undefined);
    for (const [name, text] of Object.entries(BASELINE)) await writeProjectFile(repo, name, text);
  }
  for (const [name, text] of Object.entries(files)) {
    if (text === null) await unlink(join(repo, name)).catch(() => undefined);
    else await writeProjectFile(repo, name, text);
  }
  await git(repo, ['add', '-A']);
  // --allow-empty: a step that changes nothing (an edited repository) still makes its push.
  await git(repo, ['commit', '-q', '--allow-empty', ...(commit.author ? ['--author', commit.author] : []), '-m', commit.message]);
  return (await headRevision(repo))!;
}
