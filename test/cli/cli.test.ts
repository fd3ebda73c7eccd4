import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import sqlite3 from 'sqlite3';
import { useTempDir } from '../support/tmp.js';
import { ensureBuilt, runBin, runCli } from '../support/cli.js';

/** The 38 tables of Buildbot 3.7's db/model.py. */
const BUILDBOT_TABLES = [
  'build_data', 'build_properties', 'builder_masters', 'builders', 'builders_tags', 'buildrequest_claims',
  'buildrequests', 'builds', 'buildset_properties', 'buildset_sourcestamps', 'buildsets', 'change_files',
  'change_properties', 'change_users', 'changes', 'changesource_masters', 'changesources', 'configured_workers',
  'connected_workers', 'logchunks', 'logs', 'masters', 'object_state', 'objects', 'patches', 'scheduler_changes',
  'scheduler_masters', 'schedulers', 'sourcestamps', 'steps', 'tags', 'test_code_paths', 'test_names',
  'test_result_sets', 'test_results', 'users', 'users_info', 'workers',
];

function sqliteAll<T>(file: string, sql: string): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => {
      if (err) return reject(err);
      db.all(sql, (err2, rows) => {
        db.close();
        if (err2) reject(err2);
        else resolve(rows as T[]);
      });
    });
  });
}

function sqliteRun(file: string, sql: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (err) => {
      if (err) return reject(err);
      db.exec(sql, (err2) => {
        db.close();
        if (err2) reject(err2);
        else resolve();
      });
    });
  });
}

async function tableNames(file: string): Promise<string[]> {
  const rows = await sqliteAll<{ name: string }>(file, "SELECT name FROM sqlite_master WHERE type = 'table'");
  return rows.map((r) => r.name);
}

describe('buildmaster CLI', function () {
  const tmp = useTempDir('bm-cli-');

  describe('help and version', function () {
    it('prints the version', async function () {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      const r = await runCli('--version');
      expect(r.code).to.equal(0);
      expect(r.stdout.trim()).to.equal(pkg.version);
    });

    it('lists the commands in --help, and each command has its own --help', async function () {
      const r = await runCli('--help');
      expect(r.code).to.equal(0);
      for (const cmd of ['create-master', 'upgrade-master', 'checkconfig']) expect(r.stdout).to.contain(cmd);
      const c = await runCli('create-master', '--help');
      expect(c.code).to.equal(0);
      expect(c.stdout).to.contain('--db <url>').and.to.contain('--force');
    });

    it('rejects an unknown command with a usage error (exit 2)', async function () {
      const r = await runCli('frobnicate');
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/unknown command 'frobnicate'/);
    });
  });

  describe('create-master', function () {
    it('writes a config that passes checkconfig and a DB with all 38 Buildbot tables', async function () {
      const dir = join(tmp(), 'm');
      const r = await runCli('create-master', dir);
      expect(r.code, r.stderr).to.equal(0);
      expect(existsSync(join(dir, 'master.config.ts'))).to.equal(true);
      const tables = await tableNames(join(dir, 'state.sqlite'));
      expect(tables).to.include.members(BUILDBOT_TABLES);
      const check = await runCli('checkconfig', dir);
      expect(check.code, check.stderr).to.equal(0);
      expect(check.stdout).to.match(/Config file is good!/);
      expect(check.stdout).to.match(/\d+ workers?, \d+ builders?, \d+ schedulers?, \d+ change sources?/);
    });

    it('uses WAL journaling for the sqlite DB', async function () {
      const dir = join(tmp(), 'm');
      expect((await runCli('create-master', '-q', dir)).code).to.equal(0);
      const [row] = await sqliteAll<{ journal_mode: string }>(join(dir, 'state.sqlite'), 'PRAGMA journal_mode');
      expect(row.journal_mode).to.equal('wal');
    });

    it('refuses to clobber an existing master without --force, and keeps data with --force', async function () {
      const dir = join(tmp(), 'm');
      expect((await runCli('create-master', '-q', dir)).code).to.equal(0);
      const db = join(dir, 'state.sqlite');
      await sqliteRun(db, "INSERT INTO workers (name, info, paused, graceful) VALUES ('keep-me', '{}', 0, 0)");
      writeFileSync(join(dir, 'master.config.ts'), readFileSync(join(dir, 'master.config.ts'), 'utf8') + '\n// mine\n');

      const again = await runCli('create-master', dir);
      expect(again.code).to.equal(1);
      expect(again.stderr).to.contain('already holds a master').and.to.contain('--force');
      expect(readFileSync(join(dir, 'master.config.ts'), 'utf8')).to.contain('// mine');

      const forced = await runCli('create-master', '--force', dir);
      expect(forced.code, forced.stderr).to.equal(0);
      const backups = readdirSync(dir).filter((f) => f.startsWith('master.config.ts.bak-'));
      expect(backups).to.have.length(1);
      expect(readFileSync(join(dir, backups[0]), 'utf8')).to.contain('// mine');
      const rows = await sqliteAll<{ name: string }>(db, 'SELECT name FROM workers');
      expect(rows.map((r) => r.name)).to.deep.equal(['keep-me']);
    });

    it('honours --db with a sqlite path of its own', async function () {
      const dir = join(tmp(), 'm');
      const r = await runCli('create-master', '-q', '--db', 'sqlite:///other.sqlite', dir);
      expect(r.code, r.stderr).to.equal(0);
      expect(existsSync(join(dir, 'other.sqlite'))).to.equal(true);
      expect(existsSync(join(dir, 'state.sqlite'))).to.equal(false);
      expect(readFileSync(join(dir, 'master.config.ts'), 'utf8')).to.contain('sqlite:///other.sqlite');
      expect((await runCli('upgrade-master', dir)).stdout).to.contain('up to date');
    });
  });

  describe('upgrade-master', function () {
    it('is a no-op on a current DB and says so', async function () {
      const dir = join(tmp(), 'm');
      expect((await runCli('create-master', '-q', dir)).code).to.equal(0);
      for (let i = 0; i < 2; i++) {
        const r = await runCli('upgrade-master', dir);
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stdout).to.contain('up to date');
      }
      expect(readdirSync(dir).filter((f) => f.includes('.bak-'))).to.deep.equal([]);
    });

    it('refuses a directory that is not a master', async function () {
      const r = await runCli('upgrade-master', tmp());
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain('is not a master directory');
    });

    it('upgrades a DB made by Buildbot 3.7 in place, keeping its rows; the second run is a no-op', async function () {
      if (spawnSync('buildbot', ['--version']).status !== 0) {
        if (process.env.CI) throw new Error('buildbot (Debian package) is required in CI');
        this.skip();
      }
      const dir = join(tmp(), 'bb');
      const made = spawnSync('buildbot', ['create-master', '-q', dir], { encoding: 'utf8' });
      expect(made.status, made.stderr).to.equal(0);
      const db = join(dir, 'state.sqlite');
      await sqliteRun(
        db,
        "INSERT INTO masters (name, name_hash, active, last_active) VALUES ('h:/m', 'aaaa', 0, 1700000000);" +
          "INSERT INTO builders (name, description, name_hash) VALUES ('linux', 'Linux', 'bbbb');" +
          "INSERT INTO workers (name, info, paused, graceful) VALUES ('w1', '{\"os\":\"centos\"}', 0, 0);",
      );
      // Give the Buildbot master dir a config of ours, as a user migrating would.
      const sample = join(tmp(), 'sample');
      expect((await runCli('create-master', '-q', sample)).code).to.equal(0);
      writeFileSync(join(dir, 'master.config.ts'), readFileSync(join(sample, 'master.config.ts')));
      writeFileSync(join(dir, 'package.json'), readFileSync(join(sample, 'package.json')));

      const first = await runCli('upgrade-master', dir);
      expect(first.code, first.stderr).to.equal(0);
      expect(first.stdout).to.contain('backed up the database to');
      expect(first.stdout).to.contain('recognised a Buildbot 3.7 database');
      const second = await runCli('upgrade-master', dir);
      expect(second.code, second.stderr).to.equal(0);
      expect(second.stdout).to.contain('up to date');

      expect(await sqliteAll(db, 'SELECT name, name_hash, active, last_active FROM masters')).to.deep.equal([
        { name: 'h:/m', name_hash: 'aaaa', active: 0, last_active: 1700000000 },
      ]);
      expect(await sqliteAll(db, 'SELECT name, description FROM builders')).to.deep.equal([
        { name: 'linux', description: 'Linux' },
      ]);
      expect(await sqliteAll(db, 'SELECT name, info FROM workers')).to.deep.equal([
        { name: 'w1', info: '{"os":"centos"}' },
      ]);
      expect(await sqliteAll(db, 'SELECT version_num FROM alembic_version')).to.deep.equal([{ version_num: '059' }]);
    });
  });

  describe('checkconfig', function () {
    it('reports a typo, a wrong type and an unknown worker at once, naming the file and the fields', async function () {
      const dir = join(tmp(), 'm');
      expect((await runCli('create-master', '-q', dir)).code).to.equal(0);
      writeFileSync(
        join(dir, 'master.config.ts'),
        [
          "import { defineConfig, steps } from 'buildmaster';",
          'export default defineConfig({',
          "  workers: [{ name: 'lnx-1', host: '127.0.0.1', user: 'build', basedir: '/srv/build', maxBuilds: 'two' }],",
          '  builders: [',
          "    { name: 'linux', workernames: ['lnx-1'], steps: [new steps.ShellCommand({ command: 'make' })] },",
          "    { name: 'centos', workernames: ['lnx-3'], steps: [] },",
          "    { name: 'mac', wokernames: ['lnx-1'], steps: [] },",
          '  ],',
          '});',
          '',
        ].join('\n'),
      );
      const r = await runCli('checkconfig', dir);
      expect(r.code).to.equal(1);
      const lines = r.stderr.trim().split('\n').filter((l) => l.includes('master.config.ts'));
      expect(lines.some((l) => /workers\[0\]\.maxBuilds/.test(l)), r.stderr).to.equal(true);
      expect(lines.some((l) => /builders\[1\]\.workernames\[0\]: unknown worker "lnx-3"/.test(l)), r.stderr).to.equal(true);
      expect(lines.some((l) => /builders\[2\]\.wokernames/.test(l)), r.stderr).to.equal(true);
      expect(r.stderr).not.to.match(/\n\s+at /); // no stack trace for a user error
    });

    it('accepts a config file path as well as a directory', async function () {
      const dir = join(tmp(), 'm');
      expect((await runCli('create-master', '-q', dir)).code).to.equal(0);
      const r = await runCli('checkconfig', join(dir, 'master.config.ts'));
      expect(r.code, r.stderr).to.equal(0);
    });
  });

  describe('the real launcher (bin/buildmaster.js)', function () {
    before(function () {
      this.timeout(120_000);
      ensureBuilt();
    });

    it('creates and checks a master end to end, with exit codes and no stack traces', function () {
      const dir = join(tmp(), 'm');
      const created = runBin(['create-master', dir]);
      expect(created.code, created.stderr).to.equal(0);
      const good = runBin(['checkconfig', dir]);
      expect(good.code, good.stderr).to.equal(0);
      expect(good.stdout).to.contain('Config file is good!');
      writeFileSync(join(dir, 'master.config.ts'), 'export default { title: "x", oops: }\n');
      const bad = runBin(['checkconfig', dir]);
      expect(bad.code).to.equal(1);
      expect(bad.stderr).to.match(/master\.config\.ts:1:\d+/);
      expect(bad.stderr).not.to.match(/\n\s+at /);
    });
  });
});
