import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { looksLikeJUnit, looksLikeTap, parseJUnitXml, parseTap } from '../../lib/history/testResults/index.js';
import { formatTap } from '../../lib/history/testResults/tapWriter.js';
import { parseXml } from '../../lib/history/testResults/xmlReader.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/testResults/${name}`, import.meta.url)), 'utf8');

describe('parseJUnitXml', function () {
  it('reads a Maven surefire report: failure, error, skipped, and a test that passed on a rerun', function () {
    const cases = parseJUnitXml(fixture('surefire-TEST-com.example.CalculatorTest.xml'));
    expect(cases.map((c) => [c.name, c.status])).to.deep.equal([
      ['com.example.CalculatorTest.addsTwoNumbers', 'pass'],
      ['com.example.CalculatorTest.dividesByZero', 'fail'],
      ['com.example.CalculatorTest.parsesInput', 'fail'],
      ['com.example.CalculatorTest.roundsHalfUp', 'skip'],
      ['com.example.CalculatorTest.connectsToServer', 'pass'],
    ]);
    expect(cases[1]).to.include({ durationNs: 11_000_000, message: 'expected: <Infinity> but was: <NaN>' });
    expect(cases[2].message).to.equal('Cannot invoke "String.trim()" because "s" is null');
    expect(cases[4]).to.include({ flaky: true, durationNs: 1_204_000_000 });
  });

  it("reads pytest's --junitxml: file and line, setup errors, skips and xfails", function () {
    const cases = parseJUnitXml(Buffer.from(fixture('pytest-junit.xml')));
    expect(cases.map((c) => [c.name, c.status])).to.deep.equal([
      ['tests.test_math.test_add', 'pass'],
      ['tests.test_math.test_sub[3-1-2]', 'pass'],
      ['tests.test_math.test_div', 'fail'],
      ['tests.test_io.test_open', 'fail'],
      ['tests.test_io.test_skip', 'skip'],
      ['tests.test_io.test_xfail', 'skip'],
    ]);
    expect(cases[2]).to.include({ file: 'tests/test_math.py', line: 12, message: 'assert 0.5 == 2' });
    expect(cases[3].message).to.match(/^failed on setup with "FileNotFoundError/);
  });

  it('reads jest-junit, whose classname repeats the name, across several suites', function () {
    const cases = parseJUnitXml(fixture('jest-junit.xml'));
    expect(cases.map((c) => [c.name, c.status])).to.deep.equal([
      ['sum adds 1 + 2 to equal 3', 'pass'],
      ['sum handles negatives', 'pass'],
      ['fetchUser returns the user', 'fail'],
      ['fetchUser retries', 'skip'],
    ]);
    expect(cases[2].message).to.equal('Error: expect(received).toEqual(expected) // deep equality');
  });

  it('survives what real files get wrong: truncation, stray < and &, DOCTYPE entities it must not expand', function () {
    const truncated = '<testsuite><testcase classname="a" name="one"/><testcase classname="a" name="two"><failure message="x';
    expect(parseJUnitXml(truncated).map((c) => c.name)).to.deep.equal(['a.one']);
    const sloppy = '<testsuite><testcase name="lt"><failure>1 < 2 && 3 > 2</failure></testcase></testsuite>';
    expect(parseJUnitXml(sloppy)).to.deep.equal([{ name: 'lt', status: 'fail', message: '1 < 2 && 3 > 2' }]);
    const xxe = '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]><testsuite><testcase name="&x;"/></testsuite>';
    expect(parseJUnitXml(xxe).map((c) => c.name)).to.deep.equal(['&x;']);
    expect(parseJUnitXml('')).to.deep.equal([]);
    expect(parseJUnitXml('not xml at all')).to.deep.equal([]);
    expect(parseXml('<a x=\'1\' y="&#x41;&#66;&amp;"><!-- c --><b/>t<![CDATA[<raw>]]></a>')).to.deep.equal({
      name: 'a',
      attrs: { x: '1', y: 'AB&' },
      children: [{ name: 'b', attrs: {}, children: [], text: '', closed: true }],
      text: 't<raw>',
      closed: true,
    });
  });

  it('tells a JUnit report from other text by its head', function () {
    expect(looksLikeJUnit('<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="x">')).to.equal(true);
    expect(looksLikeJUnit('<testsuites>')).to.equal(true);
    expect(looksLikeJUnit('<?xml version="1.0"?><project>')).to.equal(false);
    expect(looksLikeJUnit('make: *** [all] Error 1')).to.equal(false);
  });
});

describe('parseTap', function () {
  it('reads node:test output: subtests named parent > child, the parent summary skipped, durations kept', function () {
    const cases = parseTap(fixture('node-test.tap'));
    expect(cases).to.deep.equal([
      { name: 'parser > reads numbers', status: 'pass', durationNs: 812_000 },
      { name: 'parser > reads strings', status: 'fail', durationNs: 1_500_000 },
      { name: 'top level', status: 'pass', durationNs: 200_000 },
    ]);
  });

  it('reads prove-style TAP: SKIP, failing TODO (not a failure), unnamed points', function () {
    expect(parseTap(fixture('prove.tap')).map((c) => [c.name, c.status])).to.deep.equal([
      ['loads the module', 'pass'],
      ['parses the config', 'pass'],
      ['writes the cache', 'fail'],
      ['test 4', 'skip'],
      ['handles unicode', 'skip'],
      ['test 6', 'pass'],
    ]);
  });

  it('takes nothing inside a YAML block for a test point', function () {
    const tap = ['TAP version 13', 'not ok 1 - compares', '  ---', '  actual: |-', '    ok 7 - not a test', '  duration_ms: 2', '  ...', 'ok 2 - after'].join('\n');
    expect(parseTap(tap)).to.deep.equal([
      { name: 'compares', status: 'fail', durationNs: 2_000_000 },
      { name: 'after', status: 'pass' },
    ]);
  });

  it('stops at Bail out! and recognises a TAP stream by its first line', function () {
    expect(parseTap('1..3\nok 1 a\r\nBail out! db down\nnot ok 2 b\n')).to.deep.equal([{ name: 'a', status: 'pass' }]);
    expect(looksLikeTap('TAP version 13')).to.equal(true);
    expect(looksLikeTap('1..12')).to.equal(true);
    expect(looksLikeTap('1..0 # SKIP no tests')).to.equal(true);
    expect(looksLikeTap('ok so it begins')).to.equal(false);
  });
});

describe('formatTap (the TestResults step\'s log)', function () {
  it('round-trips parsed reports through TAP: names, statuses, durations, file, line, failure message', function () {
    const junit = [...parseJUnitXml(fixture('surefire-TEST-com.example.CalculatorTest.xml')), ...parseJUnitXml(fixture('pytest-junit.xml'))];
    const back = parseTap(formatTap(junit));
    // TAP has no rerun mark: a flaky pass reads back as a plain pass.
    expect(back).to.deep.equal(junit.map(({ flaky: _flaky, ...c }) => (c.status === 'fail' ? c : (({ message: _m, ...rest }) => rest)(c))));
  });

  it('keeps a # in a name from reading as a directive, and a name on one line', function () {
    const text = formatTap([
      { name: 'issue #12 # SKIP not really', status: 'fail' },
      { name: 'two\nlines', status: 'skip' },
    ]);
    expect(text).to.equal('TAP version 13\n1..2\nnot ok 1 - issue \\#12 \\# SKIP not really\nok 2 - two lines # SKIP\n');
    expect(parseTap(text)).to.deep.equal([
      { name: 'issue #12 # SKIP not really', status: 'fail' },
      { name: 'two lines', status: 'skip' },
    ]);
  });
});
