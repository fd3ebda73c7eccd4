import { expect } from 'chai';
import { globToRegExp, listCommand, matching, parseGlob } from '../../lib/steps/reportFiles.js';

describe('report file globs (TestResults)', () => {
  it('* and ? stay in one segment, ** spans directories (none included), [..] and [!..] are classes', () => {
    const m = (glob: string, path: string) => globToRegExp(glob).test(path);
    expect(m('target/surefire-reports/*.xml', 'target/surefire-reports/TEST-a.xml')).to.equal(true);
    expect(m('target/surefire-reports/*.xml', 'target/surefire-reports/sub/TEST-a.xml')).to.equal(false);
    expect(m('**/TEST-*.xml', 'TEST-a.xml')).to.equal(true);
    expect(m('**/TEST-*.xml', 'a/b/c/TEST-a.xml')).to.equal(true);
    expect(m('a/**/r.tap', 'a/r.tap')).to.equal(true);
    expect(m('a/**/r.tap', 'ab/r.tap')).to.equal(false);
    expect(m('out/**', 'out/x/y.tap')).to.equal(true);
    expect(m('r?.tap', 'r1.tap')).to.equal(true);
    expect(m('r?.tap', 'r/.tap')).to.equal(false);
    expect(m('r[0-9].tap', 'r7.tap')).to.equal(true);
    expect(m('r[!0-9].tap', 'r7.tap')).to.equal(false);
    expect(m('a+b(1).xml', 'a+b(1).xml')).to.equal(true);
  });

  it('find starts at the literal leading directories, with -name for the last segment', () => {
    expect(parseGlob('./target/surefire-reports/*.xml')).to.include({ pattern: 'target/surefire-reports/*.xml', base: 'target/surefire-reports', name: '*.xml' });
    expect(parseGlob('**/TEST-*.xml')).to.include({ base: '.', name: 'TEST-*.xml' });
    expect(parseGlob('/abs/reports/**')).to.include({ base: '/abs/reports', name: undefined });
    expect(parseGlob('results.tap')).to.include({ base: '.', name: 'results.tap' });
    expect(parseGlob('build/results.tap')).to.include({ base: 'build', name: 'results.tap' });
    const q = (s: string) => `'${s}'`;
    expect(listCommand([parseGlob('a/*.xml'), parseGlob('a/*.xml'), parseGlob('**')], q)).to.equal(
      "if [ -d 'a' ]; then find -H 'a' -type f -name '*.xml'; fi; if [ -d '.' ]; then find -H '.' -type f; fi; true",
    );
  });

  it('keeps the listed paths that match, once, sorted, without ./', () => {
    const listing = './b/TEST-2.xml\n./a/TEST-1.xml\n./a/notes.txt\n./a/TEST-1.xml\n\n';
    expect(matching(parseGlob('**/TEST-*.xml'), listing)).to.deep.equal(['a/TEST-1.xml', 'b/TEST-2.xml']);
  });
});
