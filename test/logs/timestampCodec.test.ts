import { expect } from 'chai';
import { decodeTimestamps, encodeTimestamps } from '../../lib/logs/timestampCodec.js';

describe('timestampCodec', function () {
  it('round-trips ms timestamps, including nulls, equal and decreasing values', function () {
    const ts = [1_700_000_000_123, 1_700_000_000_123, null, 1_700_000_000_100, 1_700_000_060_000, 0, 2 ** 50, null];
    expect(decodeTimestamps(encodeTimestamps(ts))).to.deep.equal(ts);
    expect(decodeTimestamps(encodeTimestamps([]))).to.deep.equal([]);
  });

  it('is tiny for a dense log: 1000 lines within a second take a few dozen bytes', function () {
    const base = 1_717_171_717_000;
    const ts = Array.from({ length: 1000 }, (_, i) => base + Math.floor(i * 0.8));
    const blob = encodeTimestamps(ts);
    expect(blob.length).to.be.lessThan(64);
    expect([...blob.subarray(0, 2)]).to.deep.equal([0x78, 0xda]);
    expect(decodeTimestamps(blob)).to.deep.equal(ts);
  });

  it('refuses non-integer timestamps and reports corrupt blobs', function () {
    expect(() => encodeTimestamps([1.5])).to.throw(/not an integer/);
    expect(() => encodeTimestamps([0, 2 ** 53 - 1])).to.throw(/out of range/);
    expect(() => decodeTimestamps(Buffer.from('garbage'))).to.throw();
  });
});
