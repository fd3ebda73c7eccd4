/** The contract between the Trigger step and the schedulers it triggers (Buildbot's ITriggerableScheduler). */
import type { PropertyMap } from '../db/buildsets.js';
import type { SourcestampSpec } from '../db/sourcestamps.js';

/**
 * A stamp to build: an existing sourcestamp by id (with another revision when `revision` is
 * given: the got_revision of updateSourceStamp; its patch is kept), or one described.
 */
export type StampRef = { ssid: number; codebase: string; revision?: string | null };
export type TriggerStamp = StampRef | SourcestampSpec;

export interface TriggerRequest {
  /** The parent build waits for the result (buildrequests.waited_for). */
  waited_for: boolean;
  sourcestamps: TriggerStamp[];
  /** Properties set by the Trigger step (source 'Trigger'). */
  set_props: PropertyMap;
  parent_buildid: number | null;
  parent_relationship: string | null;
}

export interface TriggerResult {
  /** The buildset made, if one was made now. */
  bsid?: number;
  /** builderid → brid. */
  brids: Record<number, number>;
  /** Known at once (NightlyTriggerable: SUCCESS, the build comes at its next slot). */
  results?: number;
}

export interface TriggerTarget {
  readonly name: string;
  trigger(req: TriggerRequest): Promise<TriggerResult>;
}
