import { expect } from 'chai';
import { readLines, type LogChunkRow } from '../../lib/logs/chunkCodec.js';
import { LineSplitter } from '../../lib/logs/lineSplitter.js';
import { LogBuffer } from '../../lib/logs/logBuffer.js';
import { SecretMasker } from '../../lib/process/secretMasker.js';

/** The path a step's stdio takes: splitter (with masking) → stored lines with o/e/h prefixes → chunks. */
function stdioLog(masker: SecretMasker) {
  const rows: LogChunkRow[] = [];
  const splitter = new LineSplitter({ transform: masker.transform });
  const buffer = new LogBuffer({
    write: async (b) => {
      rows.push(...b.rows);
    },
  });
  return {
    rows,
    push(channel: 'o' | 'e' | 'h', data: Buffer | string, now: number) {
      for (const l of splitter.push(channel, data, now)) buffer.add(l.channel + l.text, l.ts);
    },
    async finish(now: number) {
      for (const l of splitter.flush()) buffer.add(l.channel + l.text, l.ts);
      void now;
      await buffer.close();
    },
  };
}

describe('log pipeline (splitter → masker → buffer → chunks → reader)', function () {
  it('stores prefixed, masked, timestamped lines, with secrets split across chunks masked', async function () {
    const masker = new SecretMasker();
    masker.add('token', 's3cr3t-value');
    const log = stdioLog(masker);
    log.push('h', "curl -H 'Auth: s3cr3t-value' https://x\n", 1000);
    log.push('o', 'downloading s3cr', 1010);
    log.push('e', 'warning: slow\n', 1020);
    log.push('o', Buffer.from('3t-value done\r\nprogress 10%\rprogress 20%\r'), 1030);
    log.push('o', '\n', 1040);
    log.push('h', 'program finished with exit code 0\n', 1050);
    await log.finish(1060);
    const read = readLines(log.rows, 0, 100);
    expect(read.lines).to.deep.equal([
      "hcurl -H 'Auth: <token>' https://x",
      'ewarning: slow',
      'odownloading <token> done',
      'oprogress 10%',
      'oprogress 20%',
      'hprogram finished with exit code 0',
    ]);
    expect(read.timestamps).to.deep.equal([1000, 1020, 1010, 1030, 1030, 1050]);
  });

  it('moves 100 MB-scale output quickly (throughput printed, not asserted)', async function () {
    this.timeout(120_000);
    const masker = new SecretMasker();
    masker.add('token', 'not-in-output');
    const log = stdioLog(masker);
    const line = 'gcc -c -O2 -Wall -o obj/some/module.o src/some/module.c   # compiling unit\n';
    const block = Buffer.from(line.repeat(Math.ceil(32768 / line.length)));
    const total = 40 * 1024 * 1024;
    const t0 = process.hrtime.bigint();
    let sent = 0;
    for (let now = 0; sent < total; now++) {
      log.push('o', block, now);
      sent += block.length;
      if (now % 64 === 0) await new Promise((r) => setImmediate(r));
    }
    await log.finish(0);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const stored = log.rows.reduce((n, r) => n + r.content.length + (r.timestamps?.length ?? 0), 0);
    console.log(
      `      pipeline: ${(sent / 1024 / 1024 / secs).toFixed(0)} MB/s, ${log.rows.length} chunks, ` +
        `stored ${(stored / 1024 / 1024).toFixed(2)} MB for ${(sent / 1024 / 1024).toFixed(0)} MB`,
    );
    const last = log.rows.at(-1)!;
    expect(last.last_line + 1).to.equal((sent / block.length) * (block.length / Buffer.byteLength(line)));
    expect(readLines(log.rows, 1000, 1001).lines).to.deep.equal(['o' + line.trimEnd(), 'o' + line.trimEnd()]);
  });
});
