import { pino, type Logger } from 'pino';

/**
 * Structured logging. Every component takes a child logger with `{ component: 'name' }` and logs
 * events by a declared name in the `event` field, so operators can grep and tests can assert.
 */
export type { Logger };

export function createLogger(options: { level?: string; destination?: string } = {}): Logger {
  const level = options.level ?? process.env.BUILDMASTER_LOG_LEVEL ?? 'info';
  if (options.destination) {
    return pino({ level }, pino.destination({ dest: options.destination, mkdir: true, sync: false }));
  }
  return pino({ level });
}

/** A logger that discards everything: the default for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
