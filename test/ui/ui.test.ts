/**
 * The web UI in headless Chromium against a real master (embedded SSH host, sqlite): the grid
 * shows the pushes and their results; a force build started from the UI runs and its page streams
 * the log live; a failed build's error lines are highlighted and linked; the trends page draws
 * non-empty charts; the failures page lists a signature with its workers; the workers page shows
 * their state. Screenshots go to test-artifacts/ui/.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { checkSeries } from '../../lib/history/alerts.js';
import { REGRESSION_DEFAULTS } from '../../lib/history/regression.js';
import { until } from '../master/masterDir.js';
import { launch, requireChromium, screenshot } from './browser.js';
import { ERROR_LINE, KNOWN_ISSUE, PUSH_BUILDERS, startUiMaster, USER, WORKERS, type UiMaster } from './uiMaster.js';

const run = promisify(execFile);
const PUSHES = 3;

interface ApiBuild {
  buildid: number;
  builderid: number;
  complete: boolean;
  results: number | null;
}

/** Log in with the header's form, as a person would. */
async function login(page: Page): Promise<void> {
  await page.waitForSelector('form.login');
  await page.fill('form.login input[name=username]', USER.username);
  await page.fill('form.login input[name=password]', USER.password);
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('nav .who .user');
  expect(await page.textContent('nav .who .user')).to.equal(`logged in as ${USER.username}`);
}

describe('web UI (headless Chromium)', function () {
  this.timeout(180_000);
  let m: UiMaster | undefined;
  let browser: Browser | undefined;
  let page: Page;

  async function api<T>(path: string): Promise<T> {
    const res = await fetch(`${m!.url}/api/v2/${path}`);
    expect(res.status, path).to.equal(200);
    return (await res.json()) as T;
  }

  before(async function () {
    requireChromium(this);
    // Serve the UI as it is in www/ now (prepare builds it at install; this keeps the test honest).
    await run(process.execPath, ['www/build.mjs']);
    m = await startUiMaster();
    browser = await launch();
    for (let i = 1; i <= PUSHES; i++) await m.push(`${'abcdef0123456789'.slice(i)}${i}`.padEnd(40, String(i)), `change number ${i}`);
    // Every push's builds done, and the history analyzer through the failed one.
    await until(async () => {
      const { builds } = await api<{ builds: ApiBuild[] }>('builds?complete=true');
      return builds.length >= PUSHES * PUSH_BUILDERS.length;
    }, 'the pushes to be built', 90_000);
    await until(async () => (await api<{ signatures: unknown[] }>('signatures')).signatures.length > 0, 'a failure signature', 30_000);
  });

  after(async () => {
    await browser?.close();
    await m?.stop();
  });

  beforeEach(async () => {
    page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterEach(async () => {
    await page?.close();
  });

  it('the grid shows the pushes, newest on top, with builds coloured by result', async () => {
    await page.goto(`${m!.url}/`);
    await page.waitForSelector('table.grid tbody tr');
    const rows = await page.$$eval('table.grid tbody tr', (trs) =>
      trs.map((tr) => ({
        pushid: Number(tr.getAttribute('data-pushid')),
        comment: tr.querySelector('.comment')?.textContent ?? '',
        cells: Object.fromEntries([...tr.querySelectorAll('td.cell')].map((td) => [td.getAttribute('data-builder'), [...td.querySelectorAll('a.build')].map((a) => a.className)])),
      })),
    );
    expect(rows).to.have.length(PUSHES);
    expect(rows.map((r) => r.pushid)).to.deep.equal([...rows.map((r) => r.pushid)].sort((a, b) => b - a));
    expect(rows[0]!.comment).to.equal(`change number ${PUSHES}`);
    for (const r of rows) {
      expect(r.cells.compile, 'compile').to.deep.equal(['build r-success']);
      expect(r.cells.docs, 'docs').to.deep.equal(['build r-success']);
      expect(r.cells.unit, 'unit').to.deep.equal(['build r-failure']);
      expect(r.cells.slow, 'slow (not built by pushes)').to.deep.equal([]);
    }
    const tags = await page.$$eval('table.grid th.tag', (ths) => ths.map((th) => th.textContent));
    expect(tags).to.deep.equal(['docs', 'linux']);
    await screenshot(page, 'grid');
  });

  it('the builders page lists each builder with its recent builds, and a waterfall', async () => {
    await page.goto(`${m!.url}/builders`);
    await page.waitForSelector('table.builders tbody tr');
    const rows = await page.$$eval('table.builders tbody tr', (trs) => trs.map((tr) => ({ name: tr.querySelector('td a')?.textContent, recent: [...tr.querySelectorAll('td.recent a.build')].map((a) => a.className) })));
    expect(rows.find((r) => r.name === 'unit')?.recent).to.deep.equal(['build r-failure', 'build r-failure', 'build r-failure']);
    expect(rows.find((r) => r.name === 'compile')?.recent).to.deep.equal(['build r-success', 'build r-success', 'build r-success']);
    const waterfall = await page.$$eval('table.waterfall tbody tr', (trs) => trs.length);
    expect(waterfall).to.equal(PUSHES * PUSH_BUILDERS.length);
    await screenshot(page, 'builders');
  });

  it('a force build started from the UI (after logging in) runs, its log streams live, and it can be rebuilt and stopped', async () => {
    await page.goto(`${m!.url}/builders/${m!.builderId('slow')}`);
    await page.waitForSelector('form.login');
    expect(await page.$('button.force'), 'no force button before logging in').to.equal(null);
    await login(page);
    await page.waitForSelector('button.force');
    await page.click('button.force');
    // The app navigates with pushState (no page load) once the build has started.
    await page
      .waitForFunction(() => /^\/builds\/\d+$/.test(location.pathname), undefined, { timeout: 60_000 })
      .catch(async (err: Error) => {
        throw new Error(`${err.message}; the form says: ${await page.textContent('form.force-form')}`);
      });
    const buildid = Number(/\/builds\/(\d+)$/.exec(page.url())![1]);
    // The page is never reloaded: a marker on window survives only in the same document.
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await page.waitForFunction(() => document.querySelectorAll('section.log .line').length >= 5, undefined, { timeout: 30_000 });
    const first = await page.$$eval('section.log .line', (ls) => ls.length);
    await page.waitForFunction((n) => document.querySelectorAll('section.log .line').length >= n + 5, first, { timeout: 30_000 });
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).to.equal(42);
    expect(await page.textContent('.build-head .pill')).to.equal('running');
    expect(await page.$$eval('details.step[data-step="run"] section.log', (ls) => ls.map((l) => l.getAttribute('data-live')))).to.deep.equal(['sse']);
    const stamps = await page.$$eval('section.log .line .ts', (ts) => ts.map((t) => t.textContent ?? ''));
    expect(stamps.filter((t) => /^\d\d:\d\d:\d\d\.\d{3}$/.test(t)).length).to.be.greaterThan(5);
    const ticks = await page.$$eval('details.step[data-step="run"] .line .text', (ts) => ts.map((t) => t.textContent ?? '').filter((t) => /^tick \d+$/.test(t)));
    expect(ticks, 'each line once, in order').to.deep.equal(ticks.map((_t, i) => `tick ${i + 1}`));
    await screenshot(page, 'build-live');

    await writeFile(m!.stopFile, '');
    await page.waitForFunction(() => document.querySelector('.build-head .pill')?.textContent === 'success', undefined, { timeout: 30_000 });
    const { builds } = await api<{ builds: ApiBuild[] }>(`builds/${buildid}`);
    expect(builds[0]).to.include({ complete: true, results: 0, builderid: m!.builderId('slow') });
    await page.waitForFunction(() => [...document.querySelectorAll('section.log .line .text')].some((t) => t.textContent === 'finished'), undefined, { timeout: 10_000 });
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).to.equal(42);
    await screenshot(page, 'build-done');

    // Rebuild: a new build of the same builder, whose page the app opens; then stop it.
    await page.click('button.rebuild');
    await page.waitForFunction((id) => /^\/builds\/\d+$/.test(location.pathname) && location.pathname !== `/builds/${id}`, buildid, { timeout: 60_000 });
    const rebuilt = Number(/\/builds\/(\d+)$/.exec(page.url())![1]);
    await page.waitForSelector('button.stop');
    await page.waitForFunction(() => document.querySelectorAll('details.step[data-step="run"] .line').length >= 3, undefined, { timeout: 30_000 });
    await page.click('button.stop');
    await page.waitForFunction(() => !['running', null, undefined].includes(document.querySelector('.build-head .pill')?.textContent), undefined, { timeout: 30_000 });
    const stoppedBuild = (await api<{ builds: ApiBuild[] }>(`builds/${rebuilt}`)).builds[0]!;
    expect(stoppedBuild).to.include({ complete: true, builderid: m!.builderId('slow') });
    expect(stoppedBuild.results, "CANCELLED").to.equal(6);
    await screenshot(page, 'build-stopped');
  });

  it("a failed build's page highlights its error lines and links to them", async () => {
    const { builds } = await api<{ builds: ApiBuild[] }>(`builders/${m!.builderId('unit')}/builds?order=-number&limit=1`);
    await page.goto(`${m!.url}/builds/${builds[0]!.buildid}`);
    await page.waitForSelector('ul.failure-list li a');
    const href = await page.getAttribute('ul.failure-list li a', 'href');
    expect(href).to.match(/^#log-\d+-L\d+$/);
    const marked = await page.$$eval('section.log .line.err .text', (ts) => ts.map((t) => t.textContent));
    expect(marked).to.deep.equal([ERROR_LINE]);
    expect(await page.textContent(`${href} .text`)).to.equal(ERROR_LINE);
    expect(await page.textContent('.build-head .pill')).to.equal('failure');
    // Its steps with their durations, and its properties.
    const durations = await page.$$eval('details.step .duration', (ds) => ds.map((d) => d.textContent ?? ''));
    expect(durations.length).to.be.greaterThan(1);
    for (const d of durations) expect(d).to.match(/ (ms|s|min)$/);
    const props = await page.$$eval('table.props tbody tr', (trs) => trs.map((tr) => tr.querySelector('td')?.textContent));
    expect(props).to.include.members(['buildername', 'buildnumber', 'workername']);
    await screenshot(page, 'build-failed');
    await page.click('ul.failure-list li a');
    expect(await page.evaluate(() => location.hash)).to.equal(href);
    expect(await page.$eval(`${href}`, (el) => el.matches(':target'))).to.equal(true);

    // In a successful build every step is closed, its lines unread until it is opened.
    const ok = (await api<{ builds: ApiBuild[] }>(`builders/${m!.builderId('compile')}/builds?order=-number&limit=1`)).builds[0]!;
    await page.goto(`${m!.url}/builds/${ok.buildid}`);
    const make = 'details.step[data-step="make"]';
    await page.waitForSelector(`${make} section.log`, { state: 'attached' });
    await page.waitForFunction(() => document.querySelector('.build-head .pill')?.textContent === 'success');
    expect(await page.$eval(make, (d) => (d as HTMLDetailsElement).open)).to.equal(false);
    expect(await page.$$eval(`${make} .line`, (ls) => ls.length)).to.equal(0);
    expect(await page.textContent('details.step[data-step="worker_preparation"] .step-logs')).to.equal('no logs');
    await page.click(`${make} summary`);
    await page.waitForSelector(`${make} .line`);
    expect(await page.$$eval(`${make} .line .text`, (ts) => ts.map((t) => t.textContent))).to.include.members(['cc -c src/frob.c', 'linked']);
  });

  it('a long log opens at its end, and a link to an earlier error line loads the rest', async () => {
    const basic = { Authorization: `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}` };
    const res = await fetch(`${m!.url}/api/v2/forceschedulers/force`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...basic },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'force', params: { builderNames: ['long'] }, id: 1 }),
    });
    expect(res.status).to.equal(200);
    const brid = Object.values(((await res.json()) as { result: [number, Record<string, number>] }).result[1])[0]!;
    const buildid = await until(async () => {
      const { builds } = await api<{ builds: ApiBuild[] }>(`buildrequests/${brid}/builds`);
      return builds[0]?.complete ? builds[0].buildid : undefined;
    }, 'the long build', 60_000);
    await until(async () => (await api<{ failures: unknown[] }>(`builds/${buildid}/failures`)).failures.length > 0, 'its error line', 30_000);

    await page.goto(`${m!.url}/builds/${buildid}`);
    await page.waitForSelector('ul.failure-list li a');
    await page.waitForSelector('.log-earlier button');
    const shown = await page.$$eval('details.step[data-step="run"] .line', (ls) => ls.length);
    expect(shown).to.equal(5000);
    expect(await page.textContent('details.step[data-step="run"] .line:last-child .text')).to.include('elapsedTime=');
    const href = (await page.getAttribute('ul.failure-list li a', 'href'))!;
    expect(await page.$(href), 'the early error line is not loaded yet').to.equal(null);
    await page.click('ul.failure-list li a');
    await page.waitForSelector(`${href}.err`);
    expect(await page.textContent(`${href} .text`)).to.equal('fatal: early trouble');
    expect(await page.$eval(href, (el) => el.matches(':target'))).to.equal(true);
    expect(await page.$('.log-earlier button')).to.equal(null);
    const total = await page.$$eval('details.step[data-step="run"] .line', (ls) => ls.length);
    expect(total).to.be.greaterThan(6000);
    const numbers = await page.$$eval('details.step[data-step="run"] .line .ln', (ls) => ls.map((l) => Number(l.textContent)));
    expect(numbers).to.deep.equal(numbers.map((_n, i) => i + 1));
  });

  it('the trends page draws non-empty charts, with regression alerts marked', async () => {
    // A regression on compile at its last build: a series 12 builds at 1 s, then 12 at 10 s.
    const last = (await api<{ builds: ApiBuild[] }>(`builders/${m!.builderId('compile')}/builds?order=-number&limit=1`)).builds[0]!;
    const series = [...Array.from({ length: 12 }, (_x, i) => ({ buildid: 100_000 + i, duration: 1 })), { buildid: last.buildid, duration: 10 }, ...Array.from({ length: 11 }, (_x, i) => ({ buildid: 200_000 + i, duration: 10 }))];
    const alert = await checkSeries(m!.master.db, { builderid: m!.builderId('compile'), stepName: null }, series, REGRESSION_DEFAULTS);
    expect(alert?.buildid).to.equal(last.buildid);

    await page.goto(`${m!.url}/trends`);
    await page.waitForSelector('.chart[data-drawn="true"] canvas');
    const charts = await page.$$eval('.chart', (cs) => cs.map((c) => ({ title: c.getAttribute('data-title'), points: Number(c.getAttribute('data-points')), drawn: c.getAttribute('data-drawn') })));
    const durations = charts.find((c) => c.title === 'Build durations (per build)');
    expect(durations?.points).to.be.greaterThan(0);
    expect(durations?.drawn).to.equal('true');
    expect(await page.getAttribute('.chart[data-title="Build durations (per build)"]', 'data-markers')).to.equal('1');
    const alerts = await page.$$eval('table.alerts tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(alerts).to.have.length(1);
    expect(alerts[0]!.slice(1, 4)).to.deep.equal(['compile', '(whole build)', '1.0 s → 10 s (+900%)']);
    const rates = charts.find((c) => c.title === 'Failure rate (per day)');
    expect(rates?.points).to.be.greaterThan(0);
    const unitRate = await page.$$eval('table.rates-builder tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(unitRate).to.deep.include(['unit', String(PUSHES), String(PUSHES), '100%']);
    await screenshot(page, 'trends');

    await page.goto(`${m!.url}/trends?builderid=${m!.builderId('compile')}`);
    await page.waitForSelector('.chart[data-title="Step durations (per build)"][data-drawn="true"] canvas');
    expect(Number(await page.getAttribute('.chart[data-title="Step durations (per build)"]', 'data-points'))).to.be.greaterThan(0);
    await screenshot(page, 'trends-builder');
  });

  it('the failures page lists a signature with its workers', async () => {
    await page.goto(`${m!.url}/failures`);
    await page.waitForSelector('table.signatures tbody tr');
    const rows = await page.$$eval('table.signatures tbody tr', (trs) => trs.map((tr) => ({ sig: tr.querySelector('td.sig')?.textContent ?? '', workers: tr.querySelector('td.workers')?.textContent ?? '', builders: tr.querySelector('td.builders')?.textContent ?? '' })));
    const row = rows.find((r) => r.sig.includes("'frobnicate' undeclared"));
    expect(row, JSON.stringify(rows)).to.not.equal(undefined);
    expect(row!.builders).to.match(/^unit ×3$/);
    const workerNames = row!.workers.split(', ').map((w) => w.replace(/ ×\d+$/, ''));
    expect(workerNames.length).to.be.greaterThan(0);
    for (const w of workerNames) expect(WORKERS as readonly string[]).to.include(w);
    // First seen: the build it first occurred in, as the history recorded it.
    const firstSeen = await page.getAttribute('table.signatures tbody tr:has(td.sig:has-text("frobnicate")) td:nth-child(3) a', 'href');
    const { signatures } = await api<{ signatures: { signature: string; first_buildid: number }[] }>('signatures');
    expect(firstSeen).to.equal(`/builds/${signatures.find((x) => x.signature.includes('frobnicate'))!.first_buildid}`);
    // Read-only until logged in: no classify action.
    expect(await page.$('table.signatures .classify')).to.equal(null);
    await screenshot(page, 'failures');
  });

  it('a logged-in user classifies a signature with a known issue from the failures page', async () => {
    await page.goto(`${m!.url}/failures`);
    await login(page);
    await page.waitForSelector('table.signatures .classify select');
    const row = 'table.signatures tbody tr:has(td.sig:has-text("frobnicate"))';
    expect(await page.textContent(`${row} td.known`)).to.include('unclassified');
    await page.selectOption(`${row} .classify select`, { label: KNOWN_ISSUE.title });
    await page.click(`${row} .classify button`);
    await page.waitForSelector(`${row} td.known .issue a`);
    expect(await page.textContent(`${row} td.known .issue`)).to.equal(`${KNOWN_ISSUE.title} (by ${USER.username})`);
    expect(await page.getAttribute(`${row} td.known .issue a`, 'href')).to.equal(KNOWN_ISSUE.url);
    const { signatures } = await api<{ signatures: { signature: string; known_issueid: number | null; classified_by: string | null }[] }>('signatures');
    const sig = signatures.find((x) => x.signature.includes('frobnicate'))!;
    expect(sig.classified_by).to.equal(USER.username);
    expect(sig.known_issueid).to.be.a('number');
    await screenshot(page, 'failures-classified');
  });

  it('classify over HTTP: refused without a login, checks its params; suggestions are listed', async () => {
    const { signatures } = await api<{ signatures: { signatureid: number }[] }>('signatures');
    const id = signatures[0]!.signatureid;
    const rpc = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${m!.url}/api/v2/signatures/${id}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const anonymous = await rpc({ jsonrpc: '2.0', method: 'classify', params: { known_issueid: null }, id: 1 });
    expect(anonymous.status).to.equal(401);
    const basic = { Authorization: `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}` };
    const unknown = await rpc({ jsonrpc: '2.0', method: 'explode', params: {}, id: 2 }, basic);
    expect(unknown.status).to.equal(501);
    const bad = await rpc({ jsonrpc: '2.0', method: 'classify', params: { known_issueid: 'x' }, id: 3 }, basic);
    expect(bad.status).to.equal(400);
    const noIssue = await rpc({ jsonrpc: '2.0', method: 'classify', params: { known_issueid: 999 }, id: 4 }, basic);
    expect([noIssue.status, ((await noIssue.json()) as { error: { message: string } }).error.message]).to.deep.equal([400, 'no known issue 999']);
    const body = await api<{ suggestions: unknown[] }>(`signatures/${id}/suggestions`);
    expect(body.suggestions).to.be.an('array');
    expect((await fetch(`${m!.url}/api/v2/signatures/99999/suggestions`)).status).to.equal(404);
  });

  it('the workers page shows each worker connected, with its failure rate, and pauses one for a logged-in user', async () => {
    await page.goto(`${m!.url}/workers`);
    await page.waitForSelector('table.workers tbody tr');
    const rows = await page.$$eval('table.workers tbody tr', (trs) => trs.map((tr) => ({ name: tr.getAttribute('data-worker'), state: tr.querySelector('.pill')?.textContent, cells: [...tr.querySelectorAll('td')].map((td) => td.textContent) })));
    expect(rows.map((r) => r.name).sort()).to.deep.equal([...WORKERS]);
    for (const r of rows) expect(r.state).to.be.oneOf(['idle', 'busy']);
    expect(rows.some((r) => /%/.test(r.cells[5] ?? ''))).to.equal(true);
    expect(await page.$('button.pause'), 'no controls before logging in').to.equal(null);
    await screenshot(page, 'workers');

    await login(page);
    const row = 'table.workers tr[data-worker="ui-worker-2"]';
    await page.click(`${row} button.pause`);
    await page.waitForFunction((sel) => document.querySelector(`${sel} .pill`)?.textContent === 'paused', row, { timeout: 15_000 });
    const { workers } = await api<{ workers: { name: string; paused: boolean }[] }>('workers');
    expect(workers.find((w) => w.name === 'ui-worker-2')?.paused).to.equal(true);
    await page.click(`${row} button.unpause`);
    await page.waitForFunction((sel) => document.querySelector(`${sel} .pill`)?.textContent !== 'paused', row, { timeout: 15_000 });
  });
});
