import type { Database } from '../../db/connection.js';
import type { MessageBus } from '../../master/bus.js';
import type { WorkerManager } from '../../master/workerManager.js';
import type { Build } from '../../process/build.js';
import type { SubmitBuildsetSpec } from '../../process/submitBuildset.js';
import type { Identity } from '../authz.js';
import type { WwwContext } from '../context.js';

/** What the control actions need of the master (the Master class has all of it). */
export interface ControlMaster {
  readonly db: Database;
  readonly bus: MessageBus;
  readonly masterid: number;
  readonly workers: WorkerManager;
  runningBuild(buildid: number): Build | undefined;
  submitBuildset(spec: SubmitBuildsetSpec): Promise<{ bsid: number; brids: Record<number, number> }>;
}

/** One call, after the envelope is decoded: path parameters, JSON-RPC params, and who asks. */
export interface ControlCall {
  master: ControlMaster;
  w: WwwContext;
  params: Record<string, unknown>;
  who: Identity;
}

/**
 * One resource's actions (Buildbot's Endpoint.control): `target` finds the object the path names
 * (404 when it does not exist) and the builder it concerns, for authz rules with a `builder`.
 */
export interface ControlResource<T> {
  /** The data API's resource name ('builds'): actions are authorised as `<resource>.<method>`. */
  resource: string;
  methods: Record<string, (call: ControlCall, target: T) => Promise<unknown>>;
  target(master: ControlMaster, path: Record<string, string>): Promise<{ target: T; builder?: string }>;
}

export function reasonOf(params: Record<string, unknown>): string {
  return typeof params.reason === 'string' && params.reason !== '' ? params.reason : 'no reason';
}
