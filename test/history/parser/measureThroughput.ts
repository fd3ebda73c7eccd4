/**
 * Parser throughput on a ~50 MB synthetic log (not a test: run it by hand).
 *   node --import tsx test/history/parser/measureThroughput.ts [MB]
 * The log mixes every fixture in test/fixtures/logs with plain build chatter, half of it behind
 * timestamp prefixes, some of it coloured: roughly what a busy CI log looks like.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LogParser, parseLog } from '../../../lib/history/parser/index.js';

const dir = fileURLToPath(new URL('../../fixtures/logs/', import.meta.url));
const targetMb = Number(process.argv[2] ?? 50);

const fixtures = readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => readFileSync(`${dir}${f}`, 'utf8'));
const chatter = [
  'gcc -O2 -Wall -c src/module_42.c -o build/module_42.o',
  '\x1b[32m   Compiling\x1b[0m serde v1.0.197',
  '[INFO] Downloading from central: https://repo.maven.apache.org/maven2/org/junit/junit-bom/5.10.2/junit-bom-5.10.2.pom',
  'tests/test_io.py::test_read_error_handling PASSED                           [ 42%]',
  '    ✔ handles errors from the backend (12ms)',
  '=== RUN   TestErrorWrapping/nested',
  'checking for strerror_r... yes',
];
const parts: string[] = [];
let size = 0;
for (let i = 0; size < targetMb * 1024 * 1024; i++) {
  const block = i % 10 === 0 ? fixtures[(i / 10) % fixtures.length] : chatter.join('\n');
  const stamped = i % 2 === 0 ? block.split('\n').map((l) => `[2026-11-21T10:00:${String(i % 60).padStart(2, '0')}.123Z] ${l}`).join('\n') : block;
  parts.push(stamped);
  size += stamped.length + 1;
}
const log = `${parts.join('\n')}\n`;
const mb = Buffer.byteLength(log) / (1024 * 1024);

// CPU seconds of this process, not wall time: the machine may be shared.
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const lines = log.split('\n');
const chunks: string[] = [];
for (let i = 0; i < lines.length; i += 1000) chunks.push(lines.slice(i, i + 1000).join('\n'));

parseLog(log.slice(0, 1_000_000)); // warm up the regexes
let t = cpu();
const whole = parseLog(log, { maxErrorLines: 1_000_000 });
const wholeS = cpu() - t;

t = cpu();
const streaming = new LogParser({ maxErrorLines: 1_000_000 });
chunks.forEach((c, i) => streaming.push(c, i * 1000 + 1));
const streamed = streaming.finish();
const streamS = cpu() - t;

console.log(`${mb.toFixed(1)} MB, ${lines.length} lines, ${whole.errors.length} error lines, ${whole.tests.failed.length} failed tests`);
console.log(`parseLog:  ${wholeS.toFixed(2)} CPU s = ${(mb / wholeS).toFixed(1)} MB/s`);
console.log(`LogParser: ${streamS.toFixed(2)} CPU s = ${(mb / streamS).toFixed(1)} MB/s (chunks of 1000 lines)`);
if (streamed.errors.length !== whole.errors.length) throw new Error('streaming and whole-log results differ');
