/**
 * The demo's master.config.ts: one worker (the embedded SSH host), two builders that check the demo
 * repository out and build and test it, a GitPoller on the demo repository, a SingleBranchScheduler
 * that builds each push on both builders, and a ForceScheduler. Rewritten on every demo run, because
 * the embedded host's port may change.
 */
export const DEMO_BUILDERS = ['demo-build', 'demo-test'] as const;
export const DEMO_WORKER = 'demo-worker';
export const DEMO_SCHEDULER = 'force';
export const DEMO_PUSH_SCHEDULER = 'on-push';
/** Seconds between the GitPoller's polls, and the scheduler's treeStableTimer: a push builds within seconds. */
export const DEMO_POLL_INTERVAL = 2;
export const DEMO_TREE_STABLE_TIMER = 1;

export interface DemoConfigOptions {
  repoPath: string;
  sshPort: number;
  sshUser: string;
  /** Relative to the master directory. */
  privateKeyFile: string;
  /** Absolute: the worker's directory (demo-master/slave). */
  workerBasedir: string;
  wwwPort: number;
  branch: string;
}

export function demoConfigText(o: DemoConfigOptions): string {
  return `// Written by \`npm run demo\` on every run: edit a copy, not this file.
// A normal master.config.ts; the only unusual thing is the worker, an SSH host embedded in the demo
// process on 127.0.0.1 (its host key is pinned in known_hosts beside this file, like any other).
import { defineConfig, changes, steps, schedulers } from 'buildmaster';

const repourl = ${JSON.stringify(o.repoPath)};
const branch = ${JSON.stringify(o.branch)};

export default defineConfig({
  title: 'buildmaster demo',
  db: { url: 'sqlite:///state.sqlite' },
  www: { host: '127.0.0.1', port: ${o.wwwPort} },
  collapseRequests: false,

  // Commits to the demo repository become pushes within seconds (a real master polls less often).
  changeSources: [new changes.GitPoller({ repourl, branch, pollInterval: ${DEMO_POLL_INTERVAL}, pollAtLaunch: true })],

  workers: [
    {
      name: ${JSON.stringify(DEMO_WORKER)},
      host: '127.0.0.1',
      port: ${o.sshPort},
      user: ${JSON.stringify(o.sshUser)},
      privateKeyFile: ${JSON.stringify(o.privateKeyFile)},
      basedir: ${JSON.stringify(o.workerBasedir)},
      maxBuilds: 2,
    },
  ],

  builders: [
    {
      name: ${JSON.stringify(DEMO_BUILDERS[0])},
      description: 'check out, build, run the program once',
      tags: ['greet'],
      workernames: [${JSON.stringify(DEMO_WORKER)}],
      steps: [
        new steps.Git({ repourl, branch, mode: 'incremental' }),
        new steps.ShellCommand({ name: 'build', command: ['sh', 'build.sh'], haltOnFailure: true }),
        new steps.ShellCommand({ name: 'run greet', command: ['./out/greet', 'demo'] }),
      ],
    },
    {
      name: ${JSON.stringify(DEMO_BUILDERS[1])},
      description: 'fresh checkout, build, run the tests',
      tags: ['greet'],
      workernames: [${JSON.stringify(DEMO_WORKER)}],
      steps: [
        new steps.Git({ repourl, branch, mode: 'full', method: 'clobber' }),
        new steps.ShellCommand({ name: 'build', command: ['sh', 'build.sh'], haltOnFailure: true }),
        // TAP output: the history analyzer records each test's result (trends, intermittents).
        new steps.ShellCommand({ name: 'tests', command: 'sh run-tests.sh' }),
      ],
    },
  ],

  schedulers: [
    new schedulers.SingleBranchScheduler({
      name: ${JSON.stringify(DEMO_PUSH_SCHEDULER)},
      branch,
      treeStableTimer: ${DEMO_TREE_STABLE_TIMER},
      builderNames: ${JSON.stringify([...DEMO_BUILDERS])},
    }),
    new schedulers.ForceScheduler({ name: ${JSON.stringify(DEMO_SCHEDULER)}, builderNames: ${JSON.stringify([...DEMO_BUILDERS])} }),
  ],
});
`;
}
