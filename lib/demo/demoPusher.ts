/**
 * The demo's developer: commits the story's steps (demoStory.ts) to the demo repository, one at a
 * time, for the master's GitPoller to find. It waits for each commit's buildset (poller → push →
 * SingleBranchScheduler after its treeStableTimer) before the next, so every commit is a push of
 * its own with builds of its own, however short the interval.
 */
import type { MessageBus } from '../master/bus.js';
import { sleep } from '../util/backoff.js';
import { commitStep, STORY } from './demoStory.js';

interface BuildsetMsg {
  bsid: number;
  results?: number;
  sourcestamps?: { revision?: string | null }[];
}

export interface Pushed {
  revision: string;
  message: string;
  /** The buildset the scheduler made for it; undefined when none came in time. */
  bsid?: number;
}

export interface DemoPusherOptions {
  repo: string;
  bus: MessageBus;
  print: (line: string) => void;
  /** How long to wait for a commit's buildset before going on without it (default 60 s). */
  buildsetTimeoutMs?: number;
}

export class DemoPusher {
  private readonly byRevision = new Map<string, number>();
  private readonly results = new Map<number, number>();
  private readonly unsubscribe: (() => void)[];
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private step = 0;

  constructor(private readonly o: DemoPusherOptions) {
    // Listen from the start: a buildset may be announced before commit() has returned.
    this.unsubscribe = [
      o.bus.subscribe(['buildsets', '*', 'new'], (_k, m) => {
        for (const ss of (m as BuildsetMsg).sourcestamps ?? []) if (ss.revision) this.byRevision.set(ss.revision, (m as BuildsetMsg).bsid);
      }),
      o.bus.subscribe(['buildsets', '*', 'complete'], (_k, m) => {
        const msg = m as BuildsetMsg;
        this.results.set(msg.bsid, msg.results ?? -1);
      }),
    ];
  }

  /** Commits the next story step and waits for its buildset. */
  async pushNext(): Promise<Pushed> {
    const { revision, message, step } = await commitStep(this.o.repo, this.step++);
    this.o.print(`${clock()} pushed ${revision.slice(0, 8)} "${message}" (${step.expect})`);
    const bsid = await this.waitFor(() => this.byRevision.get(revision), this.o.buildsetTimeoutMs ?? 60_000);
    if (bsid === undefined && !this.abort.signal.aborted) this.o.print(`${clock()} no buildset for ${revision.slice(0, 8)} yet; going on (see the master log)`);
    return { revision, message, bsid };
  }

  /** The buildset's results once it completes; undefined on timeout or stop. */
  completed(bsid: number, timeoutMs: number): Promise<number | undefined> {
    return this.waitFor(() => this.results.get(bsid), timeoutMs);
  }

  /**
   * Keeps pushing: `intervalMs` after each push's buildset appeared, for one round of the story,
   * then every `laterIntervalMs` (so a demo left running does not pile up thousands of builds).
   */
  start(intervalMs: number, laterIntervalMs: number): void {
    this.loop ??= (async () => {
      const signal = this.abort.signal;
      while (!signal.aborted) {
        const wait = this.step < STORY.length ? intervalMs : laterIntervalMs;
        const slept = await sleep(wait, signal).then(
          () => true,
          () => false,
        );
        if (!slept) break;
        try {
          await this.pushNext();
        } catch (err) {
          if (!signal.aborted) this.o.print(`${clock()} could not push: ${(err as Error).message}`);
        }
      }
    })();
  }

  /** Stops pushing (a commit in progress finishes) and stops listening. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    for (const u of this.unsubscribe.splice(0)) u();
  }

  private async waitFor<T>(get: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = get();
      if (v !== undefined || this.abort.signal.aborted || Date.now() > deadline) return v;
      await sleep(50, this.abort.signal).catch(() => undefined);
    }
  }
}

export function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}
