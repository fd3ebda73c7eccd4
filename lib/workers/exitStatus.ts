import type { ClientChannel } from 'ssh2';

/**
 * ssh2 emits a channel's 'exit' as a plain event, possibly before the code that awaited the channel
 * has attached its listeners (a fast command like `mkdir` can finish in that gap). So the status is
 * recorded from inside the exec callback, and read back from here.
 */
export interface ExitStatus {
  code: number | null;
  signal?: string;
}

const statuses = new WeakMap<ClientChannel, ExitStatus>();

/** Call synchronously in the exec callback, before anything awaits. */
export function recordExitStatus(channel: ClientChannel): void {
  channel.once('exit', (code: number | null, signal?: string) => {
    statuses.set(channel, { code, signal: signal ?? undefined });
  });
}

export function exitStatusOf(channel: ClientChannel): ExitStatus | undefined {
  return statuses.get(channel);
}
