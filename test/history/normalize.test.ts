import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { MAX_SIGNATURE_LENGTH, normalizeErrorLine, signatureHash } from '../../lib/history/normalize.js';

describe('history normalizeErrorLine', () => {
  const cases: [string, string, string][] = [
    ['paths keep their last component, line and column numbers go', '/home/build/w1/src/foo.c:12:5: error: x undeclared', 'foo.c:N:N: error: x undeclared'],
    ['Windows paths too', 'C:\\builds\\w2\\src\\foo.c(34): error C2065: x: undeclared identifier', 'foo.c(N): error C2065: x: undeclared identifier'],
    ['timestamps, pids, addresses, durations', '2024-03-01T12:00:01.123Z ERROR pid 4312 crashed at 0x7ffe12ab after 12.5s', '<time> ERROR pid N crashed at <addr> after Ns'],
    ['clock times', '[12:03:44.120] worker lost', '[<time>] worker lost'],
    ['temp names and hashes', 'FAIL in /tmp/tmpa8x9k2q/tmpfile_3kd9 at commit 3f2a9c1d7e', 'FAIL in <tmp> at commit <hex>'],
    ['identifiers with digits stay', 'test_1 failed on x86_64 with sha256 utf8', 'test_1 failed on x86_64 with sha256 utf8'],
    ['URLs keep the host', 'fetch https://CI.example.com:8080/builds/12/log?x=1 failed', 'fetch <url ci.example.com> failed'],
    ['uuids', 'container 123e4567-e89b-12d3-a456-426614174000 exited 137', 'container <uuid> exited N'],
    ['ANSI and spacing', '\x1b[31mERROR:\x1b[0m   too   many\tspaces  ', 'ERROR: too many spaces'],
  ];
  for (const [what, line, expected] of cases) {
    it(what, () => expect(normalizeErrorLine(line)).to.equal(expected));
  }

  it('gives the same signature to one failure on two workers, revisions and days', () => {
    const a = normalizeErrorLine("/home/w1/b-17/src/net.c:101:7: error: undefined reference to `net_init' (pid 4001) at 2024-01-01 10:00:00");
    const b = normalizeErrorLine("/srv/w2/b-903/src/net.c:140:7: error: undefined reference to `net_init' (pid 77) at 2024-02-11 23:59:59");
    expect(a).to.equal(b);
    expect(normalizeErrorLine("error: undefined reference to `net_exit'")).to.not.equal(normalizeErrorLine("error: undefined reference to `net_init'"));
  });

  it('is idempotent, so a normalised line given as a known issue\'s signature hashes the same', () => {
    for (const [, line] of cases) expect(normalizeErrorLine(normalizeErrorLine(line))).to.equal(normalizeErrorLine(line));
  });

  it('cuts long lines', () => {
    expect(Array.from(normalizeErrorLine('é'.repeat(2000)))).to.have.length(MAX_SIGNATURE_LENGTH);
  });

  it('signatureHash is the sha1 hex of the normalised text', () => {
    expect(signatureHash('foo.c:N: error')).to.equal(createHash('sha1').update('foo.c:N: error').digest('hex'));
    expect(signatureHash('x')).to.match(/^[0-9a-f]{40}$/);
  });
});
