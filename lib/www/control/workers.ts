/**
 * /workers/{id|name} `pause`, `unpause` and `stop` (Buildbot's graceful shutdown), as Buildbot's
 * WorkerEndpoint.control. Our workers are SSH hosts with no worker process to shut down, so `stop`
 * means: take no new build, let the running ones finish, and show `graceful` — until `unpause`.
 * `kill` (Buildbot: disconnect now) is not offered: stop the builds, then pause. The worker must be
 * driven by this master (its connection lives here); another master's answers 409.
 */
import { getWorker, setWorkerState, type WorkerDetails } from '../../db/workers.js';
import type { ManagedWorker } from '../../master/workerManager.js';
import { JSONRPC_CODES, JsonRpcError } from '../jsonRpcError.js';
import type { ControlMaster, ControlResource } from './types.js';

interface WorkerTarget {
  managed: ManagedWorker;
}

function publishState(master: ControlMaster, w: ManagedWorker, state: { paused: boolean; graceful: boolean }): void {
  master.bus.publish(['workers', String(w.workerid), 'state_updated'], { workerid: w.workerid, name: w.name, ...state });
}

export const workersControl: ControlResource<WorkerTarget> = {
  resource: 'workers',
  async target(master, path) {
    const key = path.worker ?? '';
    const managed = master.workers.all().find((w) => (/^\d+$/.test(key) ? w.workerid === Number(key) : w.name === key));
    if (managed) return { target: { managed } };
    const known: WorkerDetails | undefined = /^\d+$/.test(key) ? await getWorker(master.db, Number(key)) : undefined;
    if (!known) throw new JsonRpcError(404, JSONRPC_CODES.invalidRequest, `worker not found on this master`);
    throw new JsonRpcError(409, JSONRPC_CODES.invalidRequest, `worker ${known.name} is not driven by this master`);
  },
  methods: {
    async pause({ master }, { managed }) {
      await master.workers.setPaused(managed.name, true);
      return null;
    },
    async unpause({ master }, { managed }) {
      await setWorkerState(master.db, managed.workerid, { graceful: false });
      await master.workers.setPaused(managed.name, false);
      return null;
    },
    async stop({ master }, { managed }) {
      // In memory this is a pause (no new build here); in the DB and the API it is `graceful`.
      managed.paused = true;
      await setWorkerState(master.db, managed.workerid, { graceful: true });
      publishState(master, managed, { paused: false, graceful: true });
      return null;
    },
  },
};
