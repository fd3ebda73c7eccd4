/**
 * Where our /api/v2 answers differ from Buildbot 3.7's on purpose, with the reason. The same table is in
 * docs/web.md, "Compatibility with Buildbot's REST API". `path` matches the request (without /api/v2/),
 * `at` where the difference is (`status`, `text`, `content-type`, `content-disposition`, or a JSON
 * location such as `$.error`).
 */
export interface DeliberateDifference {
  path: RegExp;
  at: RegExp;
  reason: string;
}

export const DELIBERATE: readonly DeliberateDifference[] = [];

/** The index of the table entry that allows this difference, or undefined. */
export function isDeliberate(path: string, at: string): number | undefined {
  const i = DELIBERATE.findIndex((d) => d.path.test(path) && d.at.test(at));
  return i < 0 ? undefined : i;
}
