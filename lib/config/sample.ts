/**
 * The master.config.ts that create-master writes: a small working setup, commented, that passes
 * checkconfig as written (in a directory without node_modules: the loader maps 'buildmaster').
 */
import { DEFAULT_DB_URL } from './defaults.js';

export function sampleConfig(opts: { dbUrl: string }): string {
  const dbLine =
    opts.dbUrl === DEFAULT_DB_URL
      ? `  // The database: a sqlite file in this directory. For several masters sharing one database, use\n` +
        `  // MySQL/MariaDB: 'mysql://user:password@host:3306/buildmaster'.\n` +
        `  db: { url: ${JSON.stringify(opts.dbUrl)} },`
      : `  // The database (sqlite:///FILE is relative to this directory).\n  db: { url: ${JSON.stringify(opts.dbUrl)} },`;
  return `// buildmaster configuration. Check it with: buildmaster checkconfig <this directory>
// Every option and its default: docs/configuration.md. The names are Buildbot's (builderNames,
// workernames, treeStableTimer, ...), typed: your editor completes and checks them.
import { defineConfig, util, steps, schedulers, changes } from 'buildmaster';

const repourl = 'https://github.com/buildbot/hello-world.git';

export default defineConfig({
  title: 'Hello World CI',
  titleURL: 'https://github.com/buildbot/hello-world',

${dbLine}

  // The web UI and REST API (/api/v2). 127.0.0.1 keeps it private to this machine.
  www: { host: '127.0.0.1', port: 8010 },

  // Workers are slave hosts that the master drives over SSH: nothing to install on them but sshd
  // (and the tools your builds use). The master logs in as 'user' (default: the user running the
  // master) with the ssh-agent, or with privateKeyFile. Host keys are checked against known_hosts
  // in this directory; an unknown host is refused with the command that trusts it.
  workers: [
    {
      name: 'local',
      // 127.0.0.1 is this machine itself, over SSH, so the sample works as written once sshd runs
      // here. Put your build hosts' names or addresses here instead.
      host: '127.0.0.1',
      // user: 'build',
      // How to log in: the ssh-agent ($SSH_AUTH_SOCK), or a private key file on the master.
      // agent: true,
      // privateKeyFile: '/home/build/.ssh/id_ed25519',
      // An absolute directory on the worker: every builder gets its own directory under it.
      basedir: '/tmp/buildmaster-worker',
      maxBuilds: 2,
    },
  ],

  // Builders say how to build (their steps) and where (their workers).
  builders: [
    {
      name: 'hello',
      workernames: ['local'],
      steps: [
        new steps.Git({ repourl, mode: 'incremental' }),
        new steps.ShellCommand({ name: 'say hello', command: ['echo', 'hello, world'] }),
      ],
    },
    {
      name: 'hello-tests',
      workernames: ['local'],
      steps: [
        new steps.Git({ repourl, mode: 'full', method: 'clobber' }),
        // A string command runs through the worker's shell; renderables fill in build properties.
        new steps.ShellCommand({
          name: 'list files',
          command: new util.Interpolate('ls -la && echo built %(prop:got_revision:-unknown)s'),
          timeout: '10m',
        }),
      ],
    },
  ],

  // Schedulers decide when to build.
  schedulers: [
    // Build both builders when changes arrive on master, after 60 seconds without new ones.
    new schedulers.SingleBranchScheduler({
      name: 'all',
      branch: 'master',
      treeStableTimer: 60,
      builderNames: ['hello', 'hello-tests'],
    }),
    // A "force build" button in the web UI.
    new schedulers.ForceScheduler({ name: 'force', builderNames: ['hello', 'hello-tests'] }),
  ],

  // Change sources tell the schedulers about new commits: poll the repository every 5 minutes.
  changeSources: [new changes.GitPoller({ repourl, branches: ['master'], pollInterval: '5m' })],
});
`;
}
