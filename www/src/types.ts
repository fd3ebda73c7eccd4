/** The API resources the pages read (Buildbot's fields, plus our extensions). */

export interface Builder {
  builderid: number;
  name: string;
  description: string | null;
  tags: string[];
  masterids: number[];
}

export interface Build {
  buildid: number;
  number: number;
  builderid: number;
  buildrequestid: number;
  workerid: number;
  masterid: number;
  started_at: number;
  complete: boolean;
  complete_at: number | null;
  results: number | null;
  state_string: string;
  properties?: Record<string, [unknown, string]>;
}

export interface Step {
  stepid: number;
  number: number;
  name: string;
  buildid: number;
  started_at: number | null;
  complete: boolean;
  complete_at: number | null;
  results: number | null;
  state_string: string;
  hidden: boolean;
  urls: { name: string; url: string }[];
}

export interface Log {
  logid: number;
  name: string;
  slug: string;
  stepid: number;
  complete: boolean;
  num_lines: number;
  type: string;
}

export interface LogLine {
  logid: number;
  line: number;
  content: string;
  timestamp: number | null;
}

export interface Worker {
  workerid: number;
  name: string;
  connected_to: { masterid: number }[];
  configured_on: { masterid: number; builderid: number }[];
  workerinfo: Record<string, unknown>;
  paused: boolean;
  graceful: boolean;
}

export interface PushBuild {
  buildid: number;
  builderid: number;
  number: number;
  changeid: number;
  started_at: number;
  complete: boolean;
  complete_at: number | null;
  results: number | null;
  state_string: string;
}

export interface Push {
  pushid: number;
  repository: string;
  branch: string | null;
  author: string;
  pushed_at: number;
  source: string;
  changeids: number[];
  builds: PushBuild[];
}

export interface Change {
  changeid: number;
  author: string;
  comments: string;
  revision: string | null;
  branch: string | null;
  when_timestamp: number;
}

export interface ForceSchedulerInfo {
  name: string;
  label: string;
  builder_names: string[];
}
