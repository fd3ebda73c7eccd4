/**
 * Picks the next (worker, request) pair for one builder, as Buildbot's BasicBuildChooser does:
 * nextBuild chooses the request (default: the oldest), nextWorker chooses among the workers still
 * in the pool (default: a random one), canStartBuild may refuse the pair; a refused worker is kept
 * aside and offered first for the next request, so nextWorker runs at most once per worker.
 * The chooser is thrown away after a lost claim: its picture of the queue is stale then.
 */
import type { BuildrequestRow } from '../db/buildrequests.js';
import type { Logger } from '../util/log.js';
import type { BuilderHandle, BuildRequestHandle, RequestHandleLoader, WorkerHandle } from './handles.js';

export interface ChooserFns {
  nextWorker?: (builder: BuilderHandle, workers: WorkerHandle[], request: BuildRequestHandle) => unknown;
  nextBuild?: (builder: BuilderHandle, requests: BuildRequestHandle[]) => unknown;
  canStartBuild?: (builder: BuilderHandle, worker: WorkerHandle, request: BuildRequestHandle) => unknown;
}

export interface Choice {
  worker: WorkerHandle;
  request: BuildrequestRow;
}

export class WorkerChooser {
  private readonly unclaimed: BuildrequestRow[];
  private readonly pool: WorkerHandle[];
  private readonly preferred: WorkerHandle[] = [];

  constructor(
    private readonly builder: BuilderHandle,
    unclaimed: readonly BuildrequestRow[],
    workers: readonly WorkerHandle[],
    private readonly fns: ChooserFns,
    private readonly handles: RequestHandleLoader,
    private readonly logger: Logger,
    private readonly random: () => number = Math.random,
  ) {
    this.unclaimed = [...unclaimed];
    this.pool = [...workers];
  }

  /** The next pair to claim and start, or undefined when nothing more can start now. */
  async next(): Promise<Choice | undefined> {
    for (;;) {
      const request = await this.nextRequest();
      if (!request) return undefined;
      let worker = await this.popWorker(request);
      if (!worker) return undefined;
      // Either this request starts now or it waits for another pass.
      this.unclaimed.splice(this.unclaimed.indexOf(request), 1);
      const recycled: WorkerHandle[] = [];
      while (worker && !(await this.canStart(worker, request))) {
        recycled.push(worker);
        worker = await this.popWorker(request);
      }
      this.preferred.unshift(...recycled);
      if (worker) return { worker, request };
    }
  }

  private async nextRequest(): Promise<BuildrequestRow | undefined> {
    if (this.unclaimed.length === 0) return undefined;
    if (!this.fns.nextBuild) return this.unclaimed[0];
    const handles = await Promise.all(this.unclaimed.map((r) => this.handle(r)));
    try {
      const chosen = await this.fns.nextBuild(this.builder, handles);
      const i = handles.indexOf(chosen as BuildRequestHandle);
      return i < 0 ? undefined : this.unclaimed[i];
    } catch (err) {
      this.userFnFailed('nextBuild', err);
      return undefined;
    }
  }

  private async popWorker(request: BuildrequestRow): Promise<WorkerHandle | undefined> {
    const preferred = this.preferred.shift();
    if (preferred) return preferred;
    if (this.pool.length === 0) return undefined;
    let worker: WorkerHandle | undefined;
    if (!this.fns.nextWorker) {
      worker = this.pool[Math.floor(this.random() * this.pool.length)];
    } else {
      try {
        worker = (await this.fns.nextWorker(this.builder, [...this.pool], await this.handle(request))) as WorkerHandle | undefined;
      } catch (err) {
        this.userFnFailed('nextWorker', err);
        return undefined;
      }
    }
    const i = worker ? this.pool.indexOf(worker) : -1;
    if (i < 0) return undefined; // none, or not one of those offered
    this.pool.splice(i, 1);
    return worker;
  }

  private async canStart(worker: WorkerHandle, request: BuildrequestRow): Promise<boolean> {
    if (!this.fns.canStartBuild) return true;
    try {
      return Boolean(await this.fns.canStartBuild(this.builder, worker, await this.handle(request)));
    } catch (err) {
      this.userFnFailed('canStartBuild', err);
      return false;
    }
  }

  private handle(row: BuildrequestRow): Promise<BuildRequestHandle> {
    return this.handles.get(row, this.builder.name);
  }

  private userFnFailed(fn: string, err: unknown): void {
    this.logger.error(
      { event: 'distributor.userFunctionFailed', builder: this.builder.name, fn, err: err instanceof Error ? err.stack ?? err.message : String(err) },
      `${fn} of builder ${this.builder.name} threw: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}
