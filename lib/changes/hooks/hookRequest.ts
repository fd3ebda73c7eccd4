import type { PushSpec } from '../../db/pushes.js';

/** What a dialect handler sees of an HTTP request to /change_hook/<dialect>. */
export interface HookRequest {
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The media type without parameters, lower case ('' when absent). */
  contentType: string;
  /** The raw body (GitHub signs these exact bytes). */
  body: Buffer;
  /** The URL's query arguments (Buildbot's base hook reads them like form fields). */
  query: URLSearchParams;
  /** Epoch seconds. */
  now: number;
}

/** A payload gives one push, or nothing (a ping, a deleted branch, [skip ci]) with the reason. */
export type HookResult = { push: PushSpec } | { push?: undefined; ignored: string };
