import { expect } from 'chai';
import { SecretMasker } from '../../lib/process/secretMasker.js';

describe('SecretMasker', function () {
  it('replaces every value by <name>, longest first, in one pass', function () {
    const m = new SecretMasker();
    expect(m.mask('nothing to hide')).to.equal('nothing to hide');
    m.add('short', 'abc');
    m.add('long', 'abcdef');
    m.add('regexy', 'a.b*c(d)');
    expect(m.mask('abcdef abc abcabc a.b*c(d) axbbc(d)')).to.equal('<long> <short> <short><short> <regexy> axbbc(d)');
    // A replacement is never masked again, even if a secret is part of "<name>".
    m.add('meta', 'long');
    expect(m.mask('abcdef')).to.equal('<long>');
  });

  it('ignores blank values and keeps the first name for a shared value', function () {
    const m = new SecretMasker();
    m.add('blank', '  \n');
    m.add('a', 'tok');
    m.add('b', 'tok');
    expect(m.size).to.equal(1);
    expect(m.mask('tok')).to.equal('<a>');
  });

  it('masks a multi-line secret whole and line by line, skipping very short lines', function () {
    const m = new SecretMasker();
    const key = '-----BEGIN KEY-----\nMIIEpAIBAAKCAQEA\n==\n-----END KEY-----\n';
    m.add('deploy_key', key);
    expect(m.mask(`x${key}y`)).to.equal('x<deploy_key>y');
    expect(m.mask('MIIEpAIBAAKCAQEA')).to.equal('<deploy_key>');
    expect(m.mask('a == b')).to.equal('a == b');
    const single = new SecretMasker();
    single.add('pw', 'abc\n'); // a password file with its newline: short, but the only line
    expect(single.mask('pw=abc')).to.equal('pw=<pw>');
  });

  it('transform is usable as a bare function', function () {
    const m = new SecretMasker();
    m.add('tok', 's3cr3t');
    expect(['a s3cr3t', 'b'].map(m.transform)).to.deep.equal(['a <tok>', 'b']);
  });
});
