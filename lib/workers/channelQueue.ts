/**
 * Admission for SSH session channels on one connection. sshd refuses channels beyond its
 * MaxSessions ("open failed"), so commands wait here for a slot instead of failing. One slot is
 * kept for control channels (kill lines): a host whose every session runs a hung command can
 * still be told to kill one. When the host refuses below the configured limit, the limit learnt
 * from that refusal applies for the rest of the connection.
 */
export type Release = () => void;

interface Waiter {
  control: boolean;
  grant: (release: Release) => void;
  fail: (err: unknown) => void;
}

export class ChannelQueue {
  private open = 0;
  private limit: number;
  private readonly waiters: Waiter[] = [];

  constructor(readonly configured: number) {
    if (!Number.isInteger(configured) || configured < 1) throw new RangeError(`maxSessions must be a positive integer, got ${configured}`);
    this.limit = configured;
  }

  get openChannels(): number {
    return this.open;
  }

  get effectiveLimit(): number {
    return this.limit;
  }

  private capacity(control: boolean): number {
    return control || this.limit < 2 ? this.limit : this.limit - 1;
  }

  acquire(opts: { control?: boolean; signal?: AbortSignal } = {}): Promise<Release> {
    const control = opts.control ?? false;
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if ((control || this.waiters.length === 0) && this.open < this.capacity(control)) return Promise.resolve(this.take());
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        control,
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
        fail: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // Control requests go first: they exist to free slots.
      if (control) this.waiters.unshift(waiter);
      else this.waiters.push(waiter);
    });
  }

  /** The host refused a channel while `othersOpen` of ours were open: it allows no more than that. */
  learnLimit(othersOpen: number): boolean {
    if (othersOpen < 1 || othersOpen >= this.limit) return false;
    this.limit = othersOpen;
    return true;
  }

  /** A new connection: the host's limit may have changed. */
  reset(): void {
    this.limit = this.configured;
    this.pump();
  }

  /** Fail everyone waiting (connection lost or closed). */
  failAll(err: unknown): void {
    for (const w of this.waiters.splice(0)) w.fail(err);
  }

  private take(): Release {
    this.open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      this.pump();
    };
  }

  private pump(): void {
    // Control waiters sit at the front (see acquire), so FIFO from the front is enough.
    while (this.waiters.length > 0 && this.open < this.capacity(this.waiters[0].control)) {
      this.waiters.shift()!.grant(this.take());
    }
  }
}
