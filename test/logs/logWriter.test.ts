import { expect } from 'chai';
import { readLines, type LogChunkRow } from '../../lib/logs/chunkCodec.js';
import { LogWriter, type LogAppendMessage, type LogSink } from '../../lib/logs/logWriter.js';
import { MessageBus } from '../../lib/master/bus.js';
import { SecretMasker } from '../../lib/process/secretMasker.js';

/** A sink that keeps rows in memory, optionally failing its first N appends. */
class MemorySink implements LogSink {
  rows: LogChunkRow[] = [];
  numLines = 0;
  finished = false;
  compressed = false;
  appends = 0;
  constructor(public failFirst = 0) {}
  async appendLogChunks(_logid: number, rows: LogChunkRow[], numLines: number): Promise<void> {
    this.appends++;
    if (this.failFirst > 0) {
      this.failFirst--;
      throw new Error('database is down');
    }
    this.rows.push(...rows);
    this.numLines = numLines;
  }
  async finishLog(): Promise<void> {
    this.finished = true;
  }
  async compressLog(): Promise<void> {
    this.compressed = true;
  }
}

describe('LogWriter', function () {
  it('stores stdio lines with channel prefixes, masked secrets and receive times, and publishes them', async function () {
    const sink = new MemorySink();
    const bus = new MessageBus();
    const masker = new SecretMasker();
    masker.add('token', 's3cr3t');
    const appended: LogAppendMessage[] = [];
    bus.subscribe(['logs', '7', 'append'], (_k, m) => appended.push(m as LogAppendMessage));
    const finished: unknown[] = [];
    bus.subscribe(['logs', '7', 'finished'], (_k, m) => finished.push(m));
    let now = 1000;
    const log = new LogWriter({ sink, bus, logid: 7, name: 'stdio', type: 's', masker, nowMs: () => now });
    log.addHeader('echo s3cr3t');
    now = 1010;
    log.addStdout('hello s3c');
    now = 1020;
    log.addStderr('oops\n');
    now = 1030;
    log.addStdout('r3t\npartial');
    log.endOutput();
    now = 1040;
    log.addHeader('program finished with exit code 0');
    await log.finish();

    const read = readLines(sink.rows, 0, 100);
    expect(read.lines).to.deep.equal(['hecho <token>', 'eoops', 'ohello <token>', 'opartial', 'hprogram finished with exit code 0']);
    expect(read.timestamps).to.deep.equal([1000, 1020, 1010, 1030, 1040]);
    expect(sink.numLines).to.equal(5);
    expect(sink.finished && sink.compressed).to.equal(true);
    expect(appended.flatMap((a) => a.lines)).to.deep.equal(read.lines);
    expect(appended[0]).to.include({ logid: 7, firstLine: 0 });
    expect(finished).to.have.length(1);
    expect(finished[0]).to.include({ logid: 7, complete: true, num_lines: 5, type: 's' });
  });

  it('writes text logs without a prefix and lets observers see every line', async function () {
    const sink = new MemorySink();
    const log = new LogWriter({ sink, logid: 1, name: 'err.text', type: 't' });
    const seen: string[] = [];
    log.observe((l) => seen.push(l.text));
    log.addText('Traceback:\n  line 1\nError: boom');
    await log.finish();
    expect(readLines(sink.rows, 0, 10).lines).to.deep.equal(['Traceback:', '  line 1', 'Error: boom']);
    expect(seen).to.deep.equal(['Traceback:', '  line 1', 'Error: boom']);
  });

  it('retries a batch the store refused, without losing or duplicating lines', async function () {
    const sink = new MemorySink(2);
    const log = new LogWriter({ sink, logid: 2, name: 'stdio', type: 's', flushIntervalMs: 5 });
    for (let i = 0; i < 50; i++) log.addStdout(`line ${i}\n`);
    await new Promise((r) => setTimeout(r, 30));
    for (let i = 50; i < 100; i++) log.addStdout(`line ${i}\n`);
    await log.finish();
    const lines = readLines(sink.rows, 0, 200).lines;
    expect(lines).to.have.length(100);
    expect(lines[0]).to.equal('oline 0');
    expect(lines[99]).to.equal('oline 99');
    expect(sink.appends).to.be.greaterThan(2);
  });

  it('drops output after finish() and finishes once', async function () {
    const sink = new MemorySink();
    const log = new LogWriter({ sink, logid: 3, name: 'stdio', type: 's' });
    log.addStdout('a\n');
    const f1 = log.finish();
    log.addStdout('late\n');
    await Promise.all([f1, log.finish()]);
    expect(readLines(sink.rows, 0, 10).lines).to.deep.equal(['oa']);
    expect(log.finished).to.equal(true);
  });

  it('keeps memory bounded while 100 MB of output pass through', async function () {
    this.timeout(120_000);
    let stored = 0;
    let lastLine = -1;
    const sink: LogSink = {
      async appendLogChunks(_id, rows, numLines) {
        stored += rows.length;
        lastLine = numLines - 1;
      },
      async finishLog() {},
      async compressLog() {},
    };
    const log = new LogWriter({ sink, logid: 4, name: 'stdio', type: 's', masker: new SecretMasker() });
    const line = 'cc -c -O2 -Wall -o obj/module.o src/module.c # a compiler line of ordinary length\n';
    const block = Buffer.from(line.repeat(Math.ceil(65536 / line.length)));
    const total = 100 * 1024 * 1024;
    let sent = 0;
    let maxBacklog = 0;
    const heapBefore = process.memoryUsage().heapUsed;
    let maxHeapGrowth = 0;
    const t0 = Date.now();
    for (let i = 0; sent < total; i++) {
      log.addStdout(block);
      sent += block.length;
      maxBacklog = Math.max(maxBacklog, log.backlogBytes);
      // A producer that honours drained() (as an SSH channel with flow control can) waits here.
      const wait = log.drained(8 * 1024 * 1024);
      if (wait) await wait;
      if (i % 32 === 0) {
        await new Promise((r) => setImmediate(r));
        maxHeapGrowth = Math.max(maxHeapGrowth, process.memoryUsage().heapUsed - heapBefore);
      }
    }
    await log.finish();
    const secs = (Date.now() - t0) / 1000;
    console.log(`      logWriter: ${(sent / 1024 / 1024 / secs).toFixed(0)} MB/s, max backlog ${(maxBacklog / 1024 / 1024).toFixed(1)} MB, heap growth ${(maxHeapGrowth / 1024 / 1024).toFixed(0)} MB`);
    expect(lastLine + 1).to.equal((sent / block.length) * (block.length / line.length));
    expect(stored).to.be.greaterThan(100);
    expect(maxBacklog).to.be.lessThan(8 * 1024 * 1024 + block.length * 2);
    expect(maxHeapGrowth).to.be.lessThan(200 * 1024 * 1024);
  });
});
