/**
 * The demo's command line: `npm run demo [-- --once] [--dir DIR] [--timeout SECONDS]`.
 * BUILDMASTER_DEMO_ONCE=1 is the same as --once.
 */
import { parseArgs } from 'node:util';
import { DEMO_DIR, runDemo } from './runDemo.js';

const USAGE = `usage: npm run demo [-- [--once] [--dir DIR] [--timeout SECONDS]]

Creates ${DEMO_DIR}/ in the current directory (reused when it exists) with a sqlite database, an
embedded SSH host as the worker and a small git project, starts a master and builds the project.

  --once             run the builds, then exit: 0 when they all succeeded, 1 otherwise
                     (also BUILDMASTER_DEMO_ONCE=1)
  --dir DIR          the master directory (default ${DEMO_DIR})
  --timeout SECONDS  how long --once waits for the builds (default 300)
`;

export async function demoMain(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        once: { type: 'boolean' },
        dir: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(timeout > 0)) {
    process.stderr.write(`demo: --timeout wants a number of seconds, not ${values.timeout}\n`);
    return 2;
  }
  // Piped into `head` and the like: a closed stdout must not crash the master mid-build.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  const envOnce = process.env.BUILDMASTER_DEMO_ONCE;
  return runDemo({
    once: values.once ?? (envOnce !== undefined && envOnce !== '' && envOnce !== '0'),
    dir: values.dir,
    timeoutMs: timeout === undefined ? undefined : timeout * 1000,
  });
}
