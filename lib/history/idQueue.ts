/**
 * The work queue of the history's bus listeners (HistoryAnalyzer: finished steps; BuildHistoryRecorder:
 * finished builds). Off the build's hot path: `push` only records the id (bounded: beyond `max` an
 * id is dropped with a warning, never waited for); one id at a time is worked on, after the
 * publisher's turn, and a failure is logged, never thrown at the build.
 */
export interface IdQueueOptions {
  /** Ids waiting beyond this many are dropped. */
  max: number;
  work: (id: number) => Promise<void>;
  /** A dropped id (called for the first and then every 100th drop). */
  onDrop: (id: number, dropped: number) => void;
  onError: (id: number, err: unknown) => void;
}

export class IdQueue {
  private readonly waiting: number[] = [];
  /** An id waiting once is enough (a step published finished twice is analysed once). */
  private readonly waitingIds = new Set<number>();
  private running: Promise<void> | undefined;
  private stopped = false;
  private dropped = 0;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly o: IdQueueOptions) {}

  push(id: number): void {
    if (this.stopped || !Number.isInteger(id) || id < 0 || this.waitingIds.has(id)) return;
    if (this.waiting.length >= this.o.max) {
      if (this.dropped++ % 100 === 0) this.o.onDrop(id, this.dropped);
      return;
    }
    this.waiting.push(id);
    this.waitingIds.add(id);
    this.running ??= this.drain();
  }

  /** Resolves once every queued id is worked on. */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops what waits and lets the id in progress finish (up to timeoutMs). */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    this.waiting.length = 0;
    this.waitingIds.clear();
    if (!this.running) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  private async drain(): Promise<void> {
    // Start after the publisher's turn: the build goes on first.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.waiting.length > 0) {
      const id = this.waiting.shift()!;
      this.waitingIds.delete(id);
      try {
        await this.o.work(id);
      } catch (err) {
        if (this.stopped) break;
        this.o.onError(id, err);
      }
    }
    this.running = undefined;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
