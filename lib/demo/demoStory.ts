/**
 * What the demo's "developer" pushes, one commit per push, in a cycle: a release that puts the
 * project back to its baseline (always green: the first push of every run, the one `--once` waits
 * for), then a flaky timing test, a feature, a commit that breaks the build and its fix, docs,
 * more tests, and the flaky test made reliable. So the grid shows green, red and intermittently red
 * pushes, the failures page a build error and a test failure, and the intermittents a flaky test.
 */
import { BASELINE, commitFiles, projectVersion } from './demoProject.js';

export interface StoryStep {
  /** The commit message (first line shown in the grid). */
  message(version: string): string;
  /** `Name <email>`: the grid shows who pushed. */
  author: string;
  /** Files to write (null: delete) on top of the tree. */
  files: Record<string, string | null>;
  /** Start from BASELINE (the release step). */
  reset?: boolean;
  /** What this step does to the builds, for the console. */
  expect: string;
}

/** Stands in for a timing test on a busy machine: the "answer time" is random, so it fails one run in three. */
const speedTest = (limitMs: number) => `# greet must answer within ${limitMs} ms. The "answer time" here is random (a stand-in for a
# timing test on a busy machine), so with a 1000 ms limit this test fails about one run in three.
ms=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
ms=$((ms % 1500))
out/greet > /dev/null
if [ "$ms" -gt ${limitMs} ]; then
  echo "error: test_speed: greet answered in $ms ms, over the ${limitMs} ms limit" >&2
  exit 1
fi
`;

const GREET_NAMES = `#!/bin/sh
# greet [--loud] [NAME...]: says hello to each NAME. --shout is the old spelling of --loud.
VERSION=@VERSION@
loud=no
case "$1" in
  --version) echo "greet $VERSION"; exit 0 ;;
  --shout) echo "greet: warning: --shout is deprecated, use --loud" >&2; loud=yes; shift ;;
  --loud) loud=yes; shift ;;
esac
[ $# -gt 0 ] || set -- world
for name in "$@"; do
  msg="hello, $name"
  if [ "$loud" = yes ]; then msg=$(echo "$msg" | tr 'a-z' 'A-Z'); fi
  echo "$msg"
done
`;

/** --polite, with options in any order; `closed: false` is the version that forgot a `fi`. */
const greetPolite = (closed: boolean) => `#!/bin/sh
# greet [--loud] [--polite] [NAME...]: says hello (or good day) to each NAME.
VERSION=@VERSION@
loud=no
greeting=hello
while [ $# -gt 0 ]; do
  case "$1" in
    --version) echo "greet $VERSION"; exit 0 ;;
    --shout) echo "greet: warning: --shout is deprecated, use --loud" >&2; loud=yes ;;
    --loud) loud=yes ;;
    --polite) greeting="good day" ;;
    *) break ;;
  esac
  shift
done
[ $# -gt 0 ] || set -- world
for name in "$@"; do
  msg="$greeting, $name"
  if [ "$loud" = yes ]; then
    msg=$(echo "$msg" | tr 'a-z' 'A-Z')
${closed ? '  fi\n' : ''}  echo "$msg"
done
`;

const RELEASE = 'greet release bot <release@example.org>';
const ANN = 'Ann Lee <ann@example.org>';
const BO = 'Bo Chen <bo@example.org>';
const DEE = 'Dee Park <dee@example.org>';

export const STORY: readonly StoryStep[] = [
  {
    message: (v) => `release greet ${v} (the demo's story starts over here)`,
    author: RELEASE,
    files: {},
    reset: true,
    expect: 'green on both builders',
  },
  {
    message: () => 'tests: check that greet answers within a second',
    author: ANN,
    files: { 'tests/test_speed.sh': speedTest(1000) },
    expect: 'test_speed fails about one run in three',
  },
  {
    message: () => 'greet: greet several names at once',
    author: BO,
    files: { 'src/greet.sh': GREET_NAMES, 'tests/test_many.sh': `[ "$(out/greet ann bob | tr '\\n' ' ')" = "hello, ann hello, bob " ]\n` },
    expect: 'green, unless test_speed strikes',
  },
  {
    message: () => 'greet: add --polite',
    author: BO,
    files: { 'src/greet.sh': greetPolite(false) },
    expect: 'breaks the build: a missing fi',
  },
  {
    message: () => 'greet: close the if that broke the build',
    author: BO,
    files: { 'src/greet.sh': greetPolite(true) },
    expect: 'builds again',
  },
  {
    message: () => 'docs: describe --polite and several names',
    author: DEE,
    files: {
      'README.md': `${BASELINE['README.md']}
    out/greet --polite ann bob    # good day, ann / good day, bob
`,
    },
    expect: 'green, unless test_speed strikes',
  },
  {
    message: () => 'tests: cover --polite',
    author: ANN,
    files: { 'tests/test_polite.sh': `[ "$(out/greet --polite ann)" = "good day, ann" ]\n` },
    expect: 'green, unless test_speed strikes',
  },
  {
    message: () => 'tests: test_speed allows 1.5 s (it failed one run in three)',
    author: ANN,
    files: { 'tests/test_speed.sh': speedTest(1500) },
    expect: 'green again',
  },
];

/** "1.4" → "1.5"; anything else gets ".1" appended. */
export function nextVersion(version: string): string {
  const m = /^(.*\.)(\d+)$/.exec(version);
  return m ? `${m[1]}${Number(m[2]) + 1}` : `${version}.1`;
}

/** Commits story step `index` (mod the story's length) to the repository; its revision and message. */
export async function commitStep(repo: string, index: number): Promise<{ revision: string; message: string; step: StoryStep }> {
  const step = STORY[index % STORY.length]!;
  const current = await projectVersion(repo);
  const version = step.reset ? nextVersion(current) : current;
  const message = step.message(version);
  const files = step.reset ? { ...step.files, VERSION: `${version}\n` } : step.files;
  return { revision: await commitFiles(repo, { message, author: step.author }, files, step.reset), message, step };
}
