import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLogFile } from '../../lib/cli/parseLog.js';
import { parseLog } from '../../lib/history/parser/index.js';
import { runCli } from '../support/cli.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/logs/${name}`, import.meta.url));

describe('buildmaster parse-log', () => {
  let dir: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bm-parselog-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('--json prints exactly the documented shape', async () => {
    const r = await runCli('parse-log', fixture('python-unittest.log'), '--json');
    expect(r.code).to.equal(0);
    expect(r.stderr).to.equal('');
    expect(r.stdout).to.equal(
      '{"errors":[{"line":6,"text":"ERROR: test_boom (test_ut.T.test_boom)"},{"line":12,"text":"RuntimeError: boom"},' +
        '{"line":15,"text":"FAIL: test_bad (test_ut.T.test_bad)"},{"line":21,"text":"AssertionError: \'errors: 0\' != \'errors: 1\'"}],' +
        '"tests":{"failed":["test_ut.T.test_boom","test_ut.T.test_bad"],"passed":1}}\n',
    );
  });

  it('--json says passed null when no runner printed a count', async () => {
    const r = await runCli('parse-log', '--json', fixture('javac.log'));
    expect(JSON.parse(r.stdout)).to.deep.equal({ errors: [{ line: 1, text: "Main.java:7: error: ';' expected" }], tests: { failed: [], passed: null } });
  });

  it('prints what it found for a person to read, and honours --max-error-lines', async () => {
    const r = await runCli('parse-log', fixture('pytest.log'));
    expect(r.code).to.equal(0);
    expect(r.stdout).to.equal(
      `${fixture('pytest.log')}: 3 error lines\n` +
        '  37: FAILED tests/test_calc.py::test_add_wrong - assert 4 == 5  [pytest]\n' +
        "  38: FAILED tests/test_calc.py::test_raises - KeyError: 'missing'  [pytest]\n" +
        '  39: FAILED tests/test_calc.py::test_param[2] - assert 2 == 1  [pytest]\n' +
        'tests: 3 failed, 3 passed, 1 skipped\n' +
        '  failed: tests/test_calc.py::test_add_wrong\n  failed: tests/test_calc.py::test_raises\n  failed: tests/test_calc.py::test_param[2]\n',
    );
    const capped = await runCli('parse-log', '--max-error-lines', '1', fixture('pytest.log'));
    expect(capped.stdout.split('\n')[0]).to.equal(`${fixture('pytest.log')}: 1 error line (capped at 1; more were found)`);
  });

  it("says what is wrong with the user's input", async () => {
    const missing = join(dir!, 'nope.log');
    expect(await runCli('parse-log', missing)).to.deep.equal({ code: 1, stdout: '', stderr: `buildmaster: cannot read ${missing}: ENOENT\n` });
    const bad = await runCli('parse-log', '--max-error-lines', 'lots', fixture('pytest.log'));
    expect(bad).to.deep.equal({ code: 1, stdout: '', stderr: "buildmaster: --max-error-lines: expected a whole number, got 'lots'\n" });
    expect((await runCli('parse-log')).code).to.equal(2);
  });

  it('reads a big file in chunks with the same result and line numbers as parsing it whole', async () => {
    // ~1 MB: many stream chunks, with multi-byte characters and CRLF falling across chunk boundaries.
    const parts: string[] = [];
    for (let i = 0; i < 20_000; i++) parts.push(i % 997 === 0 ? `src/é${i}.c:1:1: error: ‘x’ undeclared\r` : `compiling ‘file ${i}’ … ok\r`);
    const text = `${parts.join('\n')}\n`;
    const file = join(dir!, 'big.log');
    await writeFile(file, text);
    const got = await parseLogFile(file);
    expect(got).to.deep.equal(parseLog(text));
    expect(got.errors.map((e) => e.line)).to.deep.equal(parts.flatMap((p, i) => (p.includes('error:') ? [i + 1] : [])));
  });
});
