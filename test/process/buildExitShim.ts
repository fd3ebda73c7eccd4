/**
 * TEST-ONLY workaround, to be removed when lib/workers/remoteCommand.ts is fixed: ssh2 emits a
 * channel's 'exit' synchronously while parsing, and a fast command's exit-status often arrives in
 * the same packet batch as the exec reply. remoteCommand attaches its 'exit' listener a few
 * microtasks after the exec callback, so the event is sometimes lost and the command ends "without
 * an exit status" (rc -1). This shim keeps an 'exit' emitted with no listener and replays it to
 * the first listener added.
 */
import { Client } from 'ssh2';
import type { EventEmitter } from 'node:events';

const PATCHED = Symbol.for('buildmaster.test.exitShim');

export function installExitShim(): void {
  const proto = Client.prototype as unknown as Record<symbol | string, unknown>;
  if (proto[PATCHED]) return;
  proto[PATCHED] = true;
  const exec = Client.prototype.exec as (...args: unknown[]) => unknown;
  (Client.prototype as unknown as { exec: unknown }).exec = function (this: Client, ...args: unknown[]) {
    const cb = args[args.length - 1] as (err: Error | undefined, ch: EventEmitter) => void;
    args[args.length - 1] = (err: Error | undefined, ch: EventEmitter) => {
      if (ch) {
        let pending: unknown[] | undefined;
        const emit = ch.emit.bind(ch);
        ch.emit = ((event: string, ...a: unknown[]) => {
          if (event === 'exit' && ch.listenerCount('exit') === 0) {
            pending = a;
            return true;
          }
          return emit(event, ...a);
        }) as typeof ch.emit;
        const on = ch.on.bind(ch);
        ch.on = ((event: string, fn: (...a: unknown[]) => void) => {
          on(event, fn);
          if (event === 'exit' && pending) {
            const a = pending;
            pending = undefined;
            fn(...a);
          }
          return ch;
        }) as typeof ch.on;
      }
      cb(err, ch);
    };
    return exec.apply(this, args);
  };
}
