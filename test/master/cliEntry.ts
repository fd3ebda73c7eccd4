/**
 * Runs the CLI from source, as bin/buildmaster.js runs it from dist: tests start real master processes
 * with `node --import tsx test/master/cliEntry.ts start DIR`, and `start` re-runs this same entry (with
 * the same node flags) for its background child.
 */
import { main } from '../../lib/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
