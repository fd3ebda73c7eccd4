/**
 * The master's in-process message bus, keyed like Buildbot's mq: a routing key is a tuple such as
 * ['builds', '12', 'finished'] and a subscription pattern may use '*' for any one element. Every DB write
 * that others care about is followed by a publish; tests await events here instead of sleeping.
 */
export type RoutingKey = readonly string[];
export type Pattern = readonly string[];
export type Listener = (key: RoutingKey, message: unknown) => void;

interface Subscription {
  pattern: Pattern;
  listener: Listener;
}

export function keyMatches(pattern: Pattern, key: RoutingKey): boolean {
  if (pattern.length !== key.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '*' && pattern[i] !== key[i]) return false;
  }
  return true;
}

export class MessageBus {
  /** Called when a listener throws; the default writes to stderr. The master passes its logger. */
  constructor(
    private readonly onListenerError: (err: unknown, key: RoutingKey) => void = (err, key) =>
      process.stderr.write(`bus listener for ${key.join('.')} failed: ${String(err)}\n`),
  ) {}

  // Keyed by the pattern's first element so publishing scans only plausible subscribers.
  private readonly byHead = new Map<string, Set<Subscription>>();

  publish(key: RoutingKey, message: unknown): void {
    for (const head of [key[0], '*']) {
      const subs = this.byHead.get(head);
      if (!subs) continue;
      for (const sub of [...subs]) {
        if (!keyMatches(sub.pattern, key)) continue;
        try {
          sub.listener(key, message);
        } catch (err) {
          // A faulty listener must not break the publisher (a build, a DB write path) or the process.
          this.onListenerError(err, key);
        }
      }
    }
  }

  subscribe(pattern: Pattern, listener: Listener): () => void {
    const head = pattern[0] ?? '*';
    const sub: Subscription = { pattern, listener };
    let subs = this.byHead.get(head);
    if (!subs) this.byHead.set(head, (subs = new Set()));
    subs.add(sub);
    return () => {
      subs!.delete(sub);
      if (subs!.size === 0) this.byHead.delete(head);
    };
  }

  /** Resolves with the first matching event (optionally one the predicate accepts); rejects after timeoutMs. */
  waitFor<M = unknown>(
    pattern: Pattern,
    predicate: (message: M, key: RoutingKey) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<{ key: RoutingKey; message: M }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern.join('.')}`));
      }, timeoutMs);
      const unsubscribe = this.subscribe(pattern, (key, message) => {
        if (!predicate(message as M, key)) return;
        clearTimeout(timer);
        unsubscribe();
        resolve({ key, message: message as M });
      });
    });
  }
}
