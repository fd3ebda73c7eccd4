import { expect } from 'chai';
import { join } from 'node:path';
import type { SshConnection } from '../../lib/workers/sshConnection.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { eventually, makeHarness, type Harness } from './harness.js';

/**
 * Processes of the connection's user other than sshd's and the probe's own session, seen over a
 * fresh channel: what a killed command left behind.
 */
async function leftovers(conn: SshConnection): Promise<string[]> {
  const r = await conn.runCapture({ command: 'ps -u "$(id -u)" -o sid=,pid=,comm=,args=' });
  expect(r.rc, r.stderr).to.equal(0);
  const lines = r.stdout.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/));
  // The probe's own session: its ps and shell share one sid, the largest-numbered session alive.
  const probeSid = lines.find((f) => f[2] === 'ps')?.[0];
  return lines.filter((f) => f[2] !== 'sshd' && f[0] !== probeSid).map((f) => f.slice(1).join(' '));
}

describe('workers/remoteCommand (real sshd)', function () {
  let sshd: Sshd;
  let h: Harness;
  let conn: SshConnection;

  before(async function () {
    sshd = await startSshd(this, { users: 1 });
  });
  after(async () => {
    await sshd?.stop();
  });
  beforeEach(async () => {
    h = await makeHarness();
    await h.trust(sshd);
    conn = h.connection(sshd);
    await conn.connect();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it('streams stdout and stderr and returns the exit code', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const r = await conn.run({ command: 'echo hi; echo err >&2; exit 3', onStdout: (t) => out.push(t), onStderr: (t) => err.push(t) });
    expect(out.join('')).to.equal('hi\n');
    expect(err.join('')).to.equal('err\n');
    expect(r).to.include({ rc: 3, ended: 'exit', message: 'program finished with exit code 3' });
  });

  it('never loses the exit status of fast commands run concurrently', async () => {
    // ssh2 can emit 'exit' before the caller has attached its listeners; the status must survive that.
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => conn.run({ command: i % 2 ? 'true' : 'exit 7', timeoutS: 30 })),
    );
    results.forEach((r, i) => expect(r, `command ${i}`).to.include({ ended: 'exit', rc: i % 2 ? 0 : 7 }));
  });

  it('delivers output while the command still runs', async () => {
    let firstAt = 0;
    const r = await conn.run({ command: 'echo early; sleep 1; echo late', onStdout: () => (firstAt ||= performance.now()) });
    const endAt = performance.now();
    expect(r.rc).to.equal(0);
    expect(endAt - firstAt).to.be.greaterThan(700);
  });

  it('passes argv words through unchanged, without a shell', async () => {
    const words = ["it's", 'a "b"', '$HOME', '`id`', '%PATH%', '!x', '^&|<>()', 'new\nline', 'tab\there', 'ünï €', '', '*', '-n'];
    const r = await conn.runCapture({ command: ['printf', '[%s]\\n', ...words] });
    expect(r.rc, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(words.map((w) => `[${w}]\n`).join(''));
  });

  it('runs in a workdir with awkward characters, creating it, with env', async () => {
    const workdir = join(sshd.users[0].home, `dir with 'q' "dq" $x \`b\` ü !&;|`, 'sub');
    const env = {
      PLAIN: 'value',
      TRICKY: `a'b"c $HOME \`id\` \\ % ! * ? ; | & ü\nsecond line`,
      FROM_REMOTE: 'pre:${HOME}:post',
      LISTED: ['/a b', '/c'],
      EMPTY: '',
      LOGNAME: null,
    };
    const r = await conn.runCapture({
      command: 'pwd; printf "%s\\037" "$PLAIN" "$TRICKY" "$FROM_REMOTE" "$LISTED" "$EMPTY" "${LOGNAME-unset}"',
      workdir,
      env,
    });
    expect(r.rc, r.stderr).to.equal(0);
    const [pwd, rest] = [r.stdout.slice(0, r.stdout.indexOf('\n')), r.stdout.slice(r.stdout.indexOf('\n') + 1)];
    expect(pwd).to.equal(workdir);
    expect(rest.split('\x1f')).to.deep.equal([
      'value',
      env.TRICKY,
      `pre:${sshd.users[0].home}:post`,
      '/a b:/c',
      '',
      'unset',
      '',
    ]);
  });

  it('reports a missing workdir when asked not to create it', async () => {
    const r = await conn.runCapture({ command: 'true', workdir: '/nonexistent/dir', createWorkdir: false });
    expect(r.rc).to.equal(1);
    expect(r.stderr).to.match(/nonexistent/);
  });

  it('reports death by signal as Buildbot does', async () => {
    const r = await conn.run({ command: 'kill -TERM $$' });
    expect(r).to.include({ rc: -1, signal: 'SIGTERM', ended: 'exit', message: 'process killed by signal 15' });
  });

  it('the no-output timeout kills the whole remote tree', async () => {
    const out: string[] = [];
    const r = await conn.run({
      command: 'sleep 300 & (sleep 301; echo never) & echo started; wait',
      timeoutS: 1,
      onStdout: (t) => out.push(t),
    });
    expect(out.join('')).to.equal('started\n');
    expect(r.ended).to.equal('timeout');
    expect(r.rc).to.equal(-1);
    expect(r.signal).to.equal('SIGKILL');
    expect(r.message).to.equal(
      "command timed out: 1 seconds without output running sleep 300 & (sleep 301; echo never) & echo started; wait, attempting to kill",
    );
    expect(await eventually(() => leftovers(conn), (l) => l.length === 0)).to.deep.equal([]);
  });

  it('output keeps the no-output timeout from firing', async () => {
    const r = await conn.run({ command: 'for i in 1 2 3 4 5 6; do echo $i; sleep 0.3; done', timeoutS: 1 });
    expect(r).to.include({ ended: 'exit', rc: 0 });
  });

  it('maxTime kills the whole remote tree even with output', async () => {
    const r = await conn.run({ command: 'sleep 300 & while :; do echo tick; sleep 0.1; done', maxTimeS: 1, timeoutS: 10 });
    expect(r.ended).to.equal('maxTime');
    expect(r.message).to.match(/^command timed out: 1 seconds elapsed running /);
    expect(r.elapsedS).to.be.within(0.9, 5);
    expect(await eventually(() => leftovers(conn), (l) => l.length === 0)).to.deep.equal([]);
  });

  it('an AbortSignal stops the command and kills the whole remote tree', async () => {
    const ac = new AbortController();
    const r = await conn.run({
      command: 'sh -c "sleep 300" & sleep 302 & echo started; wait',
      signal: ac.signal,
      onStdout: (t) => {
        if (t.includes('started')) ac.abort('build stopped by the user');
      },
    });
    expect(r.ended).to.equal('interrupted');
    expect(r.message).to.equal('command interrupted (build stopped by the user), attempting to kill');
    expect(await eventually(() => leftovers(conn), (l) => l.length === 0)).to.deep.equal([]);
  });

  it('an AbortSignal already aborted runs nothing', async () => {
    const r = await conn.run({ command: 'touch ran', workdir: sshd.users[0].home, signal: AbortSignal.abort('no') });
    expect(r.ended).to.equal('interrupted');
    expect(await conn.pathExists(join(sshd.users[0].home, 'ran'))).to.equal(false);
  });

  it('writes stdin and closes it', async () => {
    const r = await conn.runCapture({ command: 'wc -c; cat', stdin: 'hello' });
    expect(r.stdout.trim()).to.equal('5');
  });

  it('30 concurrent commands on maxSessions 10 all succeed', async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => conn.runCapture({ command: `sleep 0.2; echo ${i}` })),
    );
    expect(results.map((r) => r.rc)).to.deep.equal(Array(30).fill(0));
    expect(results.map((r) => r.stdout)).to.deep.equal(Array.from({ length: 30 }, (_, i) => `${i}\n`));
  });

  it('mkdirp, pathExists and removePath', async () => {
    const base = join(sshd.users[0].home, 'a b', "c'd");
    await conn.mkdirp(join(base, 'e', 'f'));
    expect(await conn.pathExists(join(base, 'e', 'f'))).to.equal(true);
    await conn.run({ command: 'touch x && chmod 0500 .', workdir: join(base, 'e', 'f') });
    await conn.removePath(join(sshd.users[0].home, 'a b'));
    expect(await conn.pathExists(join(sshd.users[0].home, 'a b'))).to.equal(false);
    await conn.removePath(join(sshd.users[0].home, 'never existed'));
  });

  it('sequential exec latency (setNoDelay)', async () => {
    const n = 100;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await conn.run({ command: ['true'] });
    const perExec = (performance.now() - t0) / n;
    console.log(`      sequential exec: ${perExec.toFixed(2)} ms/command over ${n}`);
    // Nagle would make it ~40 ms; the machine may be loaded, so the bound is loose.
    expect(perExec).to.be.lessThan(25);
  });
});

describe('workers/remoteCommand: interrupt with sigtermTime (real sshd)', function () {
  let sshd: Sshd;
  let h: Harness;
  before(async function () {
    sshd = await startSshd(this, { users: 1 });
  });
  after(async () => {
    await sshd?.stop();
  });
  afterEach(async () => h?.cleanup());

  it('sends TERM first so the command can clean up, then reports interrupted', async () => {
    h = await makeHarness();
    await h.trust(sshd);
    const conn = h.connection(sshd);
    await conn.connect();
    const ac = new AbortController();
    let out = '';
    const r = await conn.run({
      command: 'trap "echo cleaned; exit 7" TERM; echo ready; while :; do sleep 0.1; done',
      signal: ac.signal,
      sigtermTimeS: 5,
      onStdout: (t) => {
        out += t;
        if (out.includes('ready')) ac.abort();
      },
    });
    expect(out).to.equal('ready\ncleaned\n');
    expect(r).to.include({ ended: 'interrupted', rc: 7 });
    expect(r.elapsedS).to.be.lessThan(4);
  });
});
