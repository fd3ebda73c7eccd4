/**
 * A FIFO async mutex. On sqlite every write transaction in this process runs under one, so at
 * most one of our connections waits on the file lock at a time (see DialectCaps.singleWriter).
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private held = 0;

  /** Callers waiting or running; for tests and diagnostics. */
  get queued(): number {
    return this.held;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    this.held++;
    try {
      await previous;
      return await fn();
    } finally {
      this.held--;
      release();
    }
  }
}
