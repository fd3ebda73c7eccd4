/**
 * Failed logins per client address: after `limit` failures within `windowMs`, further attempts are
 * refused (429, Retry-After) until the oldest failure leaves the window. A success does not clear
 * the count: a guesser who finds one password must not get a fresh budget for the next user.
 */
export const LOGIN_FAILURE_LIMIT = 5;
export const LOGIN_WINDOW_MS = 60_000;
/** Addresses tracked at most (the oldest are forgotten first). */
const MAX_ADDRESSES = 10_000;

export class LoginRateLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    readonly limit = LOGIN_FAILURE_LIMIT,
    readonly windowMs = LOGIN_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  private recent(address: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.failures.get(address) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(address);
    else this.failures.set(address, list);
    return list;
  }

  /** 0 when `address` may try now, else the seconds to wait. */
  retryAfterSeconds(address: string): number {
    const list = this.recent(address);
    if (list.length < this.limit) return 0;
    return Math.max(1, Math.ceil((list[0]! + this.windowMs - this.now()) / 1000));
  }

  recordFailure(address: string): void {
    const list = this.recent(address);
    list.push(this.now());
    this.failures.delete(address); // re-inserted last: the map's first key is the least recently failed
    this.failures.set(address, list);
    while (this.failures.size > MAX_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
  }
}
