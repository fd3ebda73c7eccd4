/**
 * A row's state_string (a build's or a step's), written lazily. Every change is published on the bus
 * at once by the caller; the DB gets a text only once it has stood for `delayMs` (a long build or
 * step shows its current state there within that), and otherwise with the row's final write, which
 * always stores the final text. A build of a few tens of ms thus writes its state string once
 * instead of six times, and each step once instead of three.
 *
 *   const text = new DeferredText((s) => setBuildStateString(db, id, s), onError);
 *   text.set('building');            // publish yourself; stored in 1 s unless settled first
 *   await text.settle();             // before the final UPDATE that carries the final text
 */

/** How long an intermediate state may go unstored. */
export const STATE_WRITE_DELAY_MS = 1000;

export class DeferredText {
  private pending: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Writes run one after another, so an older text never lands after a newer one. */
  private chain: Promise<void> = Promise.resolve();
  private settled = false;

  constructor(
    private readonly write: (text: string) => Promise<void>,
    private readonly onError: (err: unknown) => void,
    private readonly delayMs = STATE_WRITE_DELAY_MS,
  ) {}

  set(text: string): void {
    if (this.settled) return;
    this.pending = text;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.writePending();
    }, this.delayMs);
    this.timer.unref();
  }

  private writePending(): void {
    const text = this.pending;
    if (text === undefined) return;
    this.pending = undefined;
    this.chain = this.chain.then(() => this.write(text)).catch((err: unknown) => this.onError(err));
  }

  /**
   * Drops the text not yet written and resolves once a write in flight has ended, so that the
   * caller's final write (which carries the final text) lands last. No write happens after this.
   */
  async settle(): Promise<void> {
    this.settled = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    await this.chain;
  }
}
