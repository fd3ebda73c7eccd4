import { expect } from 'chai';
import { hashColumns, nameHash } from '../../lib/db/hash.js';
import { forceIdentifier, incrementIdentifier, isIdentifier } from '../../lib/db/identifiers.js';

// Expected values computed with Buildbot 3.7's own code (db/base.py, util/identifiers.py).
describe('Buildbot hashes', () => {
  it('hashColumns matches Buildbot for the all-default sourcestamp', () => {
    expect(hashColumns(null, null, '', '', '', null)).to.equal('835fccf6db3694afb48c380997024542c0bc162d');
  });

  it('hashColumns matches Buildbot with strings, numbers, non-ASCII and None', () => {
    expect(hashColumns('main', 'abc', 'https://x/r.git', 'p', 'cb', 7)).to.equal('fdde719e053319ce2b709f2beb1bff620859fe18');
    expect(hashColumns('é', undefined, 'r', '', '', 12)).to.equal('59f347827dfd25226d287c270e7913ee0e6a96d4');
  });

  it('nameHash is the sha1 of the UTF-8 name', () => {
    expect(nameHash('host:/masters/m')).to.equal('7652006a57511f83eb51a1f725fb62274259dcde');
  });
});

describe('Buildbot identifiers', () => {
  const forced: [string, string][] = [
    ['stdio', 'stdio'],
    ['test results', 'test_results'],
    ['1st log', '_st_log'],
    ['héllo wörld', 'h_llo_w_rld'],
    ['a'.repeat(60), 'a'.repeat(50)],
    ['', ''],
    ['-x.y', '-x_y'],
    ['日本語', '日本語'],
    ['x/y z', 'x_y_z'],
    ['résumé.txt', 'r_sum__txt'],
  ];
  for (const [input, want] of forced) {
    it(`forceIdentifier(50, ${JSON.stringify(input)}) = ${JSON.stringify(want)}`, () => {
      expect(forceIdentifier(50, input)).to.equal(want);
    });
  }

  it('incrementIdentifier adds or bumps a _N suffix and stays within the length', () => {
    expect(incrementIdentifier(50, 'stdio')).to.equal('stdio_2');
    expect(incrementIdentifier(50, 'stdio_2')).to.equal('stdio_3');
    expect(incrementIdentifier(50, 'stdio_9')).to.equal('stdio_10');
    expect(incrementIdentifier(50, 'a'.repeat(50))).to.equal(`${'a'.repeat(48)}_2`);
    expect(incrementIdentifier(50, `${'a'.repeat(48)}_9`)).to.equal(`${'a'.repeat(47)}_10`);
  });

  it('isIdentifier accepts non-ASCII letters and rejects spaces, empties and long names', () => {
    expect(isIdentifier(50, 'wörld')).to.equal(true);
    expect(isIdentifier(50, 'a b')).to.equal(false);
    expect(isIdentifier(50, '')).to.equal(false);
    expect(isIdentifier(3, 'abcd')).to.equal(false);
  });
});
