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
    const release = await this.lock();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Waits for the mutex; call the function it resolves to (once) to let the next one in. */
  async lock(): Promise<() => void> {
    const previous = this.tail;
    let open!: () => void;
    this.tail = new Promise<void>((resolve) => (open = resolve));
    this.held++;
    await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held--;
      open();
    };
  }
}
