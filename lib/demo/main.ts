/**
 * The demo's command line: `npm run demo [-- --once] [--dir DIR] [--port PORT] [--timeout SECONDS]
 * [--push-interval SECONDS]`. BUILDMASTER_DEMO_ONCE=1 is the same as --once, BUILDMASTER_DEMO_PORT=N
 * as --port N.
 */
import { parseArgs } from 'node:util';
import { DEMO_DIR, runDemo } from './runDemo.js';

const USAGE = `usage: npm run demo [-- [--once] [--dir DIR] [--port PORT] [--timeout SECONDS] [--push-interval SECONDS]]

Creates ${DEMO_DIR}/ in the current directory (reused when it exists) with a sqlite database, an
embedded SSH host as the worker and a small git project, starts a master that polls the project,
and commits to the project over time: each commit is a push, built on both builders.

  --once                    build the first push, then exit: 0 when its builds succeeded, 1 otherwise
                            (also BUILDMASTER_DEMO_ONCE=1)
  --dir DIR                 the master directory (default ${DEMO_DIR})
  --port PORT               the web UI's port on 127.0.0.1; 0 for any free one (also
                            BUILDMASTER_DEMO_PORT; default: the last run's, else 8010, else any free one)
  --timeout SECONDS         how long --once waits for the builds (default 300)
  --push-interval SECONDS   time between the demo's pushes (default 10; 0: push only once)
`;

/** A number ≥ 0, or undefined when `raw` is not one. */
function nonNegative(raw: string): number | undefined {
  const n = Number(raw);
  return raw.trim() !== '' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

export async function demoMain(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        once: { type: 'boolean' },
        dir: { type: 'string' },
        port: { type: 'string' },
        timeout: { type: 'string' },
        'push-interval': { type: 'string' },
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
  const pushInterval = values['push-interval'] === undefined ? undefined : nonNegative(values['push-interval']);
  if (values['push-interval'] !== undefined && pushInterval === undefined) {
    process.stderr.write(`demo: --push-interval wants a number of seconds, not ${values['push-interval']}\n`);
    return 2;
  }
  const portText = values.port ?? (process.env.BUILDMASTER_DEMO_PORT || undefined);
  const port = portText === undefined ? undefined : nonNegative(portText);
  if (portText !== undefined && (port === undefined || !Number.isInteger(port) || port > 65535)) {
    process.stderr.write(`demo: ${values.port !== undefined ? '--port' : 'BUILDMASTER_DEMO_PORT'} wants a port number (0 for any free one), not ${portText}\n`);
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
    port,
    timeoutMs: timeout === undefined ? undefined : timeout * 1000,
    pushIntervalMs: pushInterval === undefined ? undefined : pushInterval * 1000,
  });
}
