import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { BuildmasterError, ConfigError } from '../errors/index.js';
import { registerCreateMaster } from './createMaster.js';
import { registerUpgradeMaster } from './upgradeMaster.js';
import { registerCheckconfig } from './checkconfig.js';
import { registerStart } from './start.js';
import { registerStop } from './stop.js';
import { registerReconfig } from './reconfig.js';
import { ExitStatus } from './exitStatus.js';
import { registerTrustWorker } from './trustWorker.js';
import { registerSendchange } from './sendchange.js';
import { registerTry } from './try.js';
import { registerCleanupdb } from './cleanupdb.js';
import { registerParseLog } from './parseLog.js';
import { registerHashPassword } from './hashPassword.js';
import { Output } from './output.js';

/** Exit codes: 0 ok, 1 the user's to fix (config, DB state, directory), 2 wrong usage, 70 our bug. */
export const EXIT_OK = 0;
export const EXIT_USER_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;

function packageVersion(): string {
  const require = createRequire(import.meta.url);
  // lib/cli/main.ts and dist/lib/cli/main.js sit at different depths below package.json.
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(rel) as { name?: string; version?: string };
      if (pkg.name === 'buildmaster' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return 'unknown';
}

export function buildProgram(out: Output): Command {
  const program = new Command('buildmaster')
    .description('A Buildbot-compatible build master that drives its slave hosts over SSH.')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.stdout(s),
      writeErr: (s) => out.stderr(s),
    });
  registerCreateMaster(program, out);
  registerUpgradeMaster(program, out);
  registerCheckconfig(program, out);
  registerStart(program, out);
  registerStop(program, out);
  registerReconfig(program, out);
  registerTrustWorker(program, out);
  registerSendchange(program, out);
  registerTry(program, out);
  registerCleanupdb(program, out);
  registerParseLog(program, out);
  registerHashPassword(program, out);
  return program;
}

/**
 * Runs the CLI and returns the exit code instead of exiting, so tests and the launcher decide.
 * User errors print their message only; anything else is a bug and prints its stack.
 */
export async function main(argv: string[], out: Output = Output.process()): Promise<number> {
  const program = buildProgram(out);
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof ExitStatus) return err.code; // an outcome (see exitStatus.ts), already reported
    if (err instanceof CommanderError) {
      // Help and version exit through here with code 0; parse errors were already printed.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof ConfigError) {
      const n = err.problems.length;
      out.stderr(`buildmaster: ${err.file} has ${n} problem${n === 1 ? '' : 's'}:\n${err.message}\n`);
      return EXIT_USER_ERROR;
    }
    if (err instanceof BuildmasterError && err.userError) {
      out.stderr(`buildmaster: ${err.message}\n`);
      return EXIT_USER_ERROR;
    }
    out.stderr(`buildmaster: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT_INTERNAL;
  }
}
