import { expect } from 'chai';
import sinon from 'sinon';
import { readLines } from '../../lib/logs/chunkCodec.js';
import { LogBuffer, type LogBatch } from '../../lib/logs/logBuffer.js';

/** A writer that records batches and can be told to fail or to wait. */
function recorder() {
  const batches: LogBatch[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let failures = 0;
  let waiters: (() => void)[] = [];
  const write = async (batch: LogBatch): Promise<void> => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await new Promise((r) => setImmediate(r));
      if (failures > 0) {
        failures--;
        throw new Error('db down');
      }
      batches.push(batch);
      const w = waiters;
      waiters = [];
      w.forEach((f) => f());
    } finally {
      inFlight--;
    }
  };
  return {
    write,
    batches,
    failNext(n: number) {
      failures = n;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    /** Resolves after the next successful write. */
    nextWrite(): Promise<void> {
      return new Promise((r) => waiters.push(r));
    },
    allRows() {
      return batches.flatMap((b) => b.rows);
    },
  };
}

describe('LogBuffer', function () {
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(function () {
    clock?.restore();
    clock = undefined;
  });

  it('flushes flushIntervalMs after the first pending line, as one batch of rows', async function () {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const w = recorder();
    const buf = new LogBuffer({ write: w.write });
    buf.add('ohello', 1000);
    clock.tick(300);
    buf.add('eworld', 1300);
    clock.tick(199);
    await new Promise((r) => setImmediate(r));
    expect(w.batches).to.have.length(0);
    const written = w.nextWrite();
    clock.tick(1);
    await written;
    expect(w.batches).to.have.length(1);
    const b = w.batches[0];
    expect(b).to.include({ firstLine: 0, lastLine: 1, numLines: 2 });
    expect(b.lines).to.deep.equal(['ohello', 'eworld']);
    expect(readLines(b.rows, 0, 1)).to.deep.equal({ firstLine: 0, lines: ['ohello', 'eworld'], timestamps: [1000, 1300] });
    expect(clock.countTimers()).to.equal(0);
    await buf.close();
  });

  it('flushes at once when 64 KiB are pending, without waiting for the timer', async function () {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const w = recorder();
    const buf = new LogBuffer({ write: w.write, firstLine: 10 });
    const written = w.nextWrite();
    const line = 'o' + 'x'.repeat(99);
    for (let i = 0; i < 700; i++) buf.add(line, i);
    await written;
    expect(w.batches[0]).to.include({ firstLine: 10, lastLine: 658, numLines: 659 }); // 649 lines of 101 ≥ 64 KiB
    expect(buf.numLines).to.equal(710);
    await buf.close();
    expect(w.batches.at(-1)).to.include({ lastLine: 709, numLines: 710 });
    expect(readLines(w.allRows(), 10, 709).lines).to.have.length(700);
  });

  it('writes batches one at a time, in order, with a slow writer', async function () {
    const w = recorder();
    const buf = new LogBuffer({ write: w.write, maxPendingBytes: 1000 });
    const expected: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const line = `oline ${i}`;
      expected.push(line);
      buf.add(line, i);
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    await buf.close();
    expect(w.maxInFlight).to.equal(1);
    w.batches.forEach((b, i) => {
      if (i > 0) expect(b.firstLine).to.equal(w.batches[i - 1].lastLine + 1);
    });
    const read = readLines(w.allRows(), 0, 4999);
    expect(read.lines).to.deep.equal(expected);
    expect(read.timestamps).to.deep.equal(expected.map((_, i) => i));
  });

  it('keeps a batch the writer rejected and writes it on the next flush: no line is lost', async function () {
    const w = recorder();
    const errors: unknown[] = [];
    const buf = new LogBuffer({ write: w.write, onError: (e) => errors.push(e) });
    buf.addLines(['oa', 'ob'], [1, 2]);
    w.failNext(1);
    let err: unknown;
    try {
      await buf.flush();
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.equal('Error: db down');
    expect(buf.pendingLines).to.equal(2);
    await buf.flush(); // the retry succeeds
    expect(errors.map(String)).to.deep.equal(['Error: db down']);
    buf.add('oc', 3);
    w.failNext(1);
    let closeErr: unknown;
    try {
      await buf.close();
    } catch (e) {
      closeErr = e;
    }
    expect(String(closeErr)).to.equal('Error: db down');
    expect(buf.pendingLines).to.equal(1);
    await buf.close(); // retry succeeds
    expect(buf.pendingLines).to.equal(0);
    expect(readLines(w.allRows(), 0, 2).lines).to.deep.equal(['oa', 'ob', 'oc']);
    expect(() => buf.add('od', 4)).to.throw(/closed/);
  });

  it('close with nothing pending writes nothing and leaves no timer', async function () {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const w = recorder();
    const buf = new LogBuffer({ write: w.write });
    await buf.close();
    expect(w.batches).to.have.length(0);
    expect(clock.countTimers()).to.equal(0);
  });
});
