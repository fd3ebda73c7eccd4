/**
 * Reading new rows by "id above my mark" without skipping any. Auto-increment ids are handed out
 * when a row is inserted but become visible when its transaction commits, and on MySQL two
 * transactions may commit out of order: id 11 can be visible while 10 is still on its way. A
 * reader that moved its mark to 11 would never see 10. So the mark advances only over ids that
 * are contiguous with it; a gap holds it back until it has lasted `graceMs` (a rolled-back
 * insert leaves a permanent gap; no transaction that inserts changes runs that long).
 */
export const DEFAULT_GAP_GRACE_MS = 5_000;

export interface FeedStep<T> {
  /** The rows to act on now, in id order. */
  accepted: T[];
  /** The mark after them. */
  mark: number;
  /** A gap held rows back: look again after `graceMs`. */
  waiting: boolean;
}

export class IdFeed {
  /** Missing id → when it was first seen missing (ms). */
  private readonly gaps = new Map<number, number>();

  constructor(private readonly graceMs = DEFAULT_GAP_GRACE_MS) {}

  /** `rows` are the rows with id > `mark`, in id order. */
  step<T>(mark: number, rows: readonly T[], idOf: (row: T) => number, now = Date.now()): FeedStep<T> {
    const accepted: T[] = [];
    let expected = mark + 1;
    let waiting = false;
    for (const row of rows) {
      const id = idOf(row);
      if (id > expected) {
        const since = this.gaps.get(expected) ?? now;
        this.gaps.set(expected, since);
        if (now - since < this.graceMs) {
          waiting = true;
          break;
        }
      }
      accepted.push(row);
      expected = id + 1;
    }
    const newMark = expected - 1;
    for (const id of this.gaps.keys()) if (id <= newMark) this.gaps.delete(id);
    return { accepted, mark: newMark, waiting };
  }

  /** Forget the gaps seen (a new activation starts afresh). */
  reset(): void {
    this.gaps.clear();
  }
}
