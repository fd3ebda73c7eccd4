/**
 * A real master for the UI tests: a master directory (create-master), the demo's embedded SSH host
 * as its two workers' slave host (so no sshd or root is needed), a test config with tagged
 * builders — a push scheduler fed by the base change hook, a ForceScheduler, and a `slow` builder
 * whose log grows until the test touches its stop file — and the web server on a free port.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { EmbeddedSshHost, ensureKeyPair } from '../../lib/demo/embeddedSshHost.js';
import { Master } from '../../lib/master/master.js';
import { hashPassword } from '../../lib/www/passwords.js';
import { freePort, makeMasterDir, removeDir, trust } from '../master/masterDir.js';

export const PUSH_BUILDERS = ['compile', 'unit', 'docs'] as const;
export const WORKERS = ['ui-worker-1', 'ui-worker-2'] as const;
export const ERROR_LINE = "src/frob.c:12:5: error: 'frobnicate' undeclared (first use in this function)";
export const REPOSITORY = 'https://example.org/ui-demo.git';
export const BRANCH = 'main';
/** The one user (role admin): control needs a login on this master. */
export const USER = { username: 'ann', password: 'ui-test-password' };
/** A known issue no error line matches by itself: the failures page's classify action applies it. */
export const KNOWN_ISSUE = { title: 'frobnicate removed upstream (bug 123)', url: 'https://bugs.example.org/123' };

export interface UiMaster {
  master: Master;
  url: string;
  dir: string;
  stopFile: string;
  builderId(name: string): number;
  /** POST one change to the base hook: one push, one buildset on the push builders. */
  push(revision: string, comments: string): Promise<void>;
  stop(): Promise<void>;
}

function configText(o: { sshPort: number; wwwPort: number; key: string; slaveDir: string; stopFile: string; passwordHash: string }): string {
  const shell = (name: string, command: string) => `new steps.ShellCommand({ name: ${JSON.stringify(name)}, command: ${JSON.stringify(command)} })`;
  const worker = (name: string) => `{ name: '${name}', host: '127.0.0.1', port: ${o.sshPort}, user: ${JSON.stringify(userInfo().username)}, privateKeyFile: ${JSON.stringify(o.key)}, basedir: ${JSON.stringify(join(o.slaveDir, name))}, maxBuilds: 2 }`;
  // Runs until the test touches the stop file (each build starts by removing it).
  const slow = `rm -f ${o.stopFile}; i=0; while [ ! -f ${o.stopFile} ] && [ $i -lt 900 ]; do i=$((i+1)); echo "tick $i"; sleep 0.2; done; echo finished`;
  return `import { defineConfig, steps, schedulers } from 'buildmaster';

export default defineConfig({
  title: 'UI test master',
  db: { url: 'sqlite:///state.sqlite' },
  www: {
    host: '127.0.0.1',
    port: ${o.wwwPort},
    changeHooks: { base: true },
    auth: { users: [{ username: ${JSON.stringify(USER.username)}, passwordHash: ${JSON.stringify(o.passwordHash)}, roles: ['admin'] }] },
  },
  collapseRequests: false,
  history: { knownIssues: [{ title: ${JSON.stringify(KNOWN_ISSUE.title)}, url: ${JSON.stringify(KNOWN_ISSUE.url)}, pattern: /no such line in any log/ }] },
  workers: [${WORKERS.map(worker).join(', ')}],
  builders: [
    { name: 'compile', tags: ['linux'], workernames: ${JSON.stringify(WORKERS)}, steps: [${shell('configure', 'echo checking for cc... cc')}, ${shell('make', 'echo cc -c src/frob.c; sleep 0.3; echo linked')}] },
    { name: 'unit', tags: ['linux'], workernames: ${JSON.stringify(WORKERS)}, steps: [${shell('test', `echo running 3 tests; echo "${ERROR_LINE}"; exit 1`)}] },
    { name: 'docs', tags: ['docs'], workernames: ${JSON.stringify(WORKERS)}, steps: [${shell('build docs', 'echo building docs; echo done')}] },
    { name: 'long', tags: ['linux'], workernames: ${JSON.stringify(WORKERS)}, steps: [${shell('run', 'echo "fatal: early trouble"; seq 1 6000; exit 1')}] },
    { name: 'slow', tags: ['linux'], workernames: ${JSON.stringify(WORKERS)}, steps: [${shell('run', slow)}] },
  ],
  schedulers: [
    new schedulers.SingleBranchScheduler({ name: 'on-push', branch: ${JSON.stringify(BRANCH)}, treeStableTimer: null, builderNames: ${JSON.stringify(PUSH_BUILDERS)} }),
    new schedulers.ForceScheduler({ name: 'force', builderNames: ['compile', 'unit', 'docs', 'long', 'slow'] }),
  ],
});
`;
}

export async function startUiMaster(): Promise<UiMaster> {
  const wwwPort = await freePort();
  const dir = await makeMasterDir({ workers: [], builders: [] });
  const key = await ensureKeyPair(join(dir, 'master_ed25519'), 'ui-test-master');
  const slaveDir = join(dir, 'slave');
  await mkdir(slaveDir, { recursive: true });
  const host = await EmbeddedSshHost.start({ dir: join(dir, 'ssh-host'), authorizedKey: key.publicKeyLine, home: slaveDir });
  try {
    await trust(dir, host.host, host.port, host.hostPublicKeyLine);
    const stopFile = join(dir, 'stop-slow');
    await writeFile(join(dir, 'master.config.ts'), configText({ sshPort: host.port, wwwPort, key: key.privateKeyPath, slaveDir, stopFile, passwordHash: await hashPassword(USER.password) }));
    const master = await Master.start({ basedir: dir, www: true, pollIntervalMs: 200 });
    const url = `http://127.0.0.1:${master.www!.port}`;
    return {
      master,
      url,
      dir,
      stopFile,
      builderId: (name) => {
        const id = master.builderIds().get(name);
        if (id === undefined) throw new Error(`no builder ${name}`);
        return id;
      },
      push: async (revision, comments) => {
        const form = new URLSearchParams({ author: 'Ann Dev <ann@example.org>', comments, revision, branch: BRANCH, repository: REPOSITORY, project: 'ui-demo' });
        const res = await fetch(`${url}/change_hook/base`, { method: 'POST', body: form });
        if (res.status !== 200) throw new Error(`change hook: ${res.status} ${await res.text()}`);
      },
      stop: async () => {
        try {
          await master.stop({ graceful: false });
        } finally {
          await host.stop();
          await removeDir(dir);
        }
      },
    };
  } catch (err) {
    await host.stop();
    await removeDir(dir);
    throw err;
  }
}
