/**
 * The real demo (lib/demo's runDemo, on a free port) in headless Chromium: its commits reach the
 * grid as pushes — one row per commit of the demo repository, newest on top — with each push's
 * builds coloured by result: the release that starts the story green on both builders, the commit
 * that breaks the build red on both. The failures page shows that build error. Screenshots go to
 * test-artifacts/ui/ (demo-grid.png, demo-failures.png).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { DEMO_BUILDERS } from '../../lib/demo/demoConfig.js';
import { STORY } from '../../lib/demo/demoStory.js';
import { runDemo } from '../../lib/demo/runDemo.js';
import { freePort, until } from '../master/masterDir.js';
import { launch, requireChromium, screenshot } from './browser.js';

const run = promisify(execFile);
/** Through the commit that breaks the build and the one that fixes it. */
const PUSHES = 5;
const BROKEN = STORY.findIndex((s) => s.expect.startsWith('breaks the build'));

interface ApiPush {
  pushid: number;
  builds: { complete: boolean }[];
}

interface GridRow {
  rev: string;
  author: string;
  comment: string;
  cells: Record<string, string[]>;
}

describe('the demo in headless Chromium', function () {
  this.timeout(240_000);
  let dir: string | undefined;
  let url: string;
  let demo: Promise<number> | undefined;
  let stop: () => void = () => undefined;
  let browser: Browser | undefined;
  let page: Page;
  const output: string[] = [];

  async function api<T>(path: string): Promise<T> {
    const res = await fetch(`${url}/api/v2/${path}`);
    expect(res.status, path).to.equal(200);
    return (await res.json()) as T;
  }

  /** The demo repository's commits, oldest first (the first one only seeds the poller). */
  async function commits(): Promise<{ sha: string; subject: string }[]> {
    const { stdout } = await run('git', ['log', '--reverse', '--format=%H %s'], { cwd: join(dir!, 'demo-master', 'demo-repo') });
    return stdout
      .trim()
      .split('\n')
      .map((l) => ({ sha: l.slice(0, 40), subject: l.slice(41) }));
  }

  before(async function () {
    requireChromium(this);
    expect(BROKEN, 'the story has a commit that breaks the build').to.be.within(0, PUSHES - 1);
    // Serve the UI as it is in www/ now (prepare builds it at install; this keeps the test honest).
    await run(process.execPath, ['www/build.mjs']);
    dir = await mkdtemp(join(tmpdir(), 'bm-demo-ui-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const stopSignal = new Promise<void>((resolve) => (stop = resolve));
    let ended: string | undefined;
    demo = runDemo({ cwd: dir, port, pushIntervalMs: 500, print: (line) => output.push(line), stopSignal });
    demo.then(
      (code) => (ended = `the demo exited with ${code}`),
      (err: Error) => (ended = `the demo failed: ${err.stack}`),
    );
    await until(
      async () => {
        if (ended) throw new Error(`${ended}\n${output.join('\n')}`);
        const firstPush = output.find((l) => l.startsWith('all builds succeeded') || l.startsWith("the first push's builds finished"));
        if (!firstPush) return false;
        expect(firstPush, 'the first push builds green').to.equal('all builds succeeded');
        const { pushes } = await api<{ pushes: ApiPush[] }>('pushes?order=pushid');
        return pushes.length >= PUSHES && pushes.slice(0, PUSHES).every((p) => p.builds.length === DEMO_BUILDERS.length && p.builds.every((b) => b.complete));
      },
      `the demo's first ${PUSHES} pushes to be built`,
      150_000,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\ndemo output:\n${output.join('\n')}`);
    });
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    stop();
    await demo?.catch(() => undefined);
    if (dir && process.env.KEEP_TMP !== '1') await rm(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterEach(async () => {
    await page?.close();
  });

  it("the grid shows a row per commit of the demo repository, newest on top, with the builds coloured by result", async () => {
    await page.goto(`${url}/`);
    await page.waitForFunction((n) => document.querySelectorAll('table.grid tbody tr').length >= n, PUSHES);
    // The page refreshes every few seconds: wait for a render with no build still running.
    await page.waitForFunction(
      (n) => [...document.querySelectorAll('table.grid tbody tr')].slice(-n).every((tr) => tr.querySelectorAll('a.build').length === 2 && !tr.querySelector('a.build.r-running')),
      PUSHES,
    );
    const rows = await page.$$eval('table.grid tbody tr', (trs) =>
      trs.map((tr) => ({
        rev: tr.querySelector('.rev')?.textContent ?? '',
        author: tr.querySelector('.author')?.textContent ?? '',
        comment: tr.querySelector('.comment')?.textContent ?? '',
        cells: Object.fromEntries([...tr.querySelectorAll('td.cell')].map((td) => [td.getAttribute('data-builder'), [...td.querySelectorAll('a.build')].map((a) => a.className)])),
      })),
    );
    // Oldest first, the rows are the repository's history after the commit the poller started from.
    const oldestFirst: GridRow[] = [...rows].reverse();
    const history = (await commits()).slice(1);
    expect(oldestFirst.map((r) => r.rev)).to.deep.equal(history.slice(0, rows.length).map((c) => c.sha.slice(0, 12)));
    expect(oldestFirst.map((r) => r.comment)).to.deep.equal(history.slice(0, rows.length).map((c) => c.subject));

    const built = oldestFirst.slice(0, PUSHES);
    for (const [i, r] of built.entries()) {
      for (const b of DEMO_BUILDERS) expect(r.cells[b], `push ${i + 1} on ${b}`).to.have.length(1);
      for (const b of DEMO_BUILDERS) expect(r.cells[b]![0], `push ${i + 1} on ${b}`).to.be.oneOf(['build r-success', 'build r-failure']);
    }
    expect(built[0]!.comment).to.match(/^release greet 1\.1 /);
    expect(built[0]!.cells).to.deep.equal({ 'demo-build': ['build r-success'], 'demo-test': ['build r-success'] });
    expect(built[BROKEN]!.author, 'who broke the build').to.equal(STORY[BROKEN]!.author);
    expect(built[BROKEN]!.cells).to.deep.equal({ 'demo-build': ['build r-failure'], 'demo-test': ['build r-failure'] });
    // demo-build runs no tests: only the broken commit fails it.
    for (const [i, r] of built.entries()) if (i !== BROKEN) expect(r.cells['demo-build'], `push ${i + 1}`).to.deep.equal(['build r-success']);
    await screenshot(page, 'demo-grid');
  });

  it("the failures page shows the broken commit's build error on both builders", async () => {
    await until(async () => {
      const { signatures } = await api<{ signatures: { signature: string }[] }>('signatures');
      return signatures.some((s) => s.signature.includes('does not parse'));
    }, 'the build error to be analysed', 30_000);
    await page.goto(`${url}/failures`);
    await page.waitForSelector('table.signatures tbody tr');
    const rows = await page.$$eval('table.signatures tbody tr', (trs) => trs.map((tr) => ({ sig: tr.querySelector('td.sig')?.textContent ?? '', builders: tr.querySelector('td.builders')?.textContent ?? '' })));
    const row = rows.find((r) => r.sig.includes('src/greet.sh does not parse') || r.sig.includes('greet.sh does not parse'));
    expect(row, JSON.stringify(rows)).to.not.equal(undefined);
    expect(row!.builders.split(', ').map((b) => b.replace(/ ×\d+$/, '')).sort()).to.deep.equal([...DEMO_BUILDERS]);
    await screenshot(page, 'demo-failures');
  });
});
