import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../../lib/errors/index.js';
import { configFileFor, loadConfig } from '../../lib/config/loader.js';
import { useTempDir } from '../support/tmp.js';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');

const MINIMAL = `import { defineConfig, steps, schedulers } from 'buildmaster';
import { host } from './helper.ts';

interface Local { basedir: string }
const local: Local = { basedir: '/srv/bb' };

export default defineConfig({
  title: 'helper-' + host,
  workers: [{ name: 'w1', host, basedir: local.basedir }],
  builders: [{ name: 'b1', workernames: ['w1'], steps: [new steps.ShellCommand({ command: 'make' })] }],
  schedulers: [new schedulers.ForceScheduler({ name: 'force', builderNames: ['b1'] })],
});
`;

async function loadError(file: string): Promise<ConfigError> {
  try {
    await loadConfig(file);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`${file} loaded without error`);
}

describe('config/loader', () => {
  const tmp = useTempDir('bm-config-');

  function write(name: string, text: string): string {
    const file = join(tmp(), name);
    writeFileSync(file, text);
    return file;
  }

  it('loads a config from a directory with no package.json and no node_modules (CommonJS), importing a helper', async () => {
    write('helper.ts', `export const host: string = '127.0.0.1';\n`);
    const file = write('master.config.ts', MINIMAL);
    const { file: loaded, config } = await loadConfig(file);
    expect(loaded).to.equal(file);
    expect(config.title).to.equal('helper-127.0.0.1');
    expect(config.basedir).to.equal(tmp());
    expect(config.workers[0]!.host).to.equal('127.0.0.1');
    expect(config.builders[0]!.steps[0]).to.include({ kind: 'ShellCommand', command: 'make', name: 'shell' });
  });

  it('loads a config from a "type": "module" directory, importing a helper', async () => {
    write('package.json', '{"type":"module","private":true}\n');
    write('helper.ts', `export const host: string = 'esm-host';\n`);
    const { config } = await loadConfig(write('master.config.ts', MINIMAL));
    expect(config.title).to.equal('helper-esm-host');
    expect(config.schedulers[0]).to.include({ kind: 'ForceScheduler', name: 'force' });
  });

  it('sees edits on reload, in the config and in its helpers', async () => {
    write('package.json', '{"type":"module"}\n');
    write('helper.ts', `export const host = 'one';\n`);
    const file = write('master.config.ts', MINIMAL);
    expect((await loadConfig(file)).config.title).to.equal('helper-one');
    write('helper.ts', `export const host = 'two';\n`);
    expect((await loadConfig(file)).config.title).to.equal('helper-two');
  });

  it('loads from the compiled package (plain node, no tsx) as from source', async function () {
    this.timeout(60000);
    // Compile the config part of the package into a scratch copy that resolves its dependencies here.
    const out = join(tmp(), 'pkg');
    mkdirSync(out);
    symlinkSync(join(REPO, 'node_modules'), join(out, 'node_modules'));
    writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
    writeFileSync(
      join(out, 'tsconfig.json'),
      JSON.stringify({
        extends: join(REPO, 'tsconfig.json'),
        compilerOptions: { noEmit: false, outDir: join(out, 'dist'), rootDir: REPO, types: ['node'] },
        include: [],
        files: [join(REPO, 'lib/index.ts'), join(REPO, 'lib/config/loader.ts')],
      }),
    );
    await run('npx', ['tsc', '-p', join(out, 'tsconfig.json')], { cwd: REPO });
    const master = join(tmp(), 'master');
    mkdirSync(master);
    writeFileSync(join(master, 'helper.ts'), `export const host = 'from-dist';\n`);
    writeFileSync(join(master, 'master.config.ts'), MINIMAL);
    const script = `
      const { loadConfig } = await import(${JSON.stringify(join(out, 'dist/lib/config/loader.js'))});
      const { config } = await loadConfig(${JSON.stringify(join(master, 'master.config.ts'))});
      console.log(JSON.stringify({ title: config.title, kind: config.builders[0].steps[0].kind }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: master });
    expect(JSON.parse(stdout)).to.deep.equal({ title: 'helper-from-dist', kind: 'ShellCommand' });
  });

  it('reports a syntax error with file, line and column', async () => {
    const file = write('master.config.ts', `export default {\n  title: 'x',\n  }};\n`);
    const err = await loadError(file);
    expect(err.file).to.equal(file);
    expect(err.problems).to.deep.equal([{ path: '', message: 'Unexpected "}"', line: 3, column: 4 }]);
    expect(err.message).to.equal(`${file}:3:4: Unexpected "}"`);
    expect(err.userError).to.equal(true);
  });

  it('reports a syntax error in an imported helper with the helper file', async () => {
    const helper = write('helper.ts', `export const host = ;\n`);
    const file = write('master.config.ts', MINIMAL);
    const err = await loadError(file);
    expect(err.problems).to.deep.equal([{ path: '', message: 'Unexpected ";"', line: 1, column: 21, file: helper }]);
    expect(err.message).to.equal(`${helper}:1:21: Unexpected ";"`);
  });

  it('reports an exception thrown while loading, with its line', async () => {
    write('package.json', '{"type":"module"}\n');
    const file = write('master.config.ts', `const n = 1;\n\nthrow new RangeError('no workers today');\nexport default {};\n`);
    const err = await loadError(file);
    expect(err.problems).to.deep.equal([{ path: '', message: 'failed to load: RangeError: no workers today', line: 3, column: 7 }]);
    expect(err.message).to.equal(`${file}:3:7: failed to load: RangeError: no workers today`);
  });

  it('reports an exception thrown by a CommonJS config without a line (its stack is not source-mapped)', async () => {
    const file = write('master.config.ts', `const n = 1;\n\nthrow new RangeError('no workers today');\nexport default {};\n`);
    const err = await loadError(file);
    expect(err.problems).to.deep.equal([{ path: '', message: 'failed to load: RangeError: no workers today' }]);
    expect(err.message).to.equal(`${file}: failed to load: RangeError: no workers today`);
  });

  it('reports a missing import', async () => {
    const file = write('master.config.ts', `import { x } from './nowhere.ts';\nexport default { title: x };\n`);
    const err = await loadError(file);
    expect(err.problems).to.have.length(1);
    expect(err.problems[0]!.message).to.match(/^failed to load: .*nowhere\.ts/);
  });

  it('rejects a file without a default export', async () => {
    write('package.json', '{"type":"module"}\n');
    const file = write('master.config.ts', `export const config = {};\n`);
    const err = await loadError(file);
    expect(err.message).to.equal(`${file}: no default export: end the file with export default defineConfig({...})`);
  });

  it('rejects a default export that is not an object', async () => {
    const file = write('master.config.ts', `export default [1, 2];\n`);
    const err = await loadError(file);
    expect(err.message).to.equal(
      `${file}: the default export must be the config object (export default defineConfig({...})), got an array`,
    );
  });

  it('names a missing file', async () => {
    const file = join(tmp(), 'nope.config.ts');
    const err = await loadError(file);
    expect(err.message).to.equal(`${file}: no such file`);
  });

  it('configFileFor gives DIR/master.config.ts', () => {
    expect(configFileFor('/srv/master')).to.equal('/srv/master/master.config.ts');
    expect(configFileFor('relative')).to.equal(resolve('relative', 'master.config.ts'));
  });
});
