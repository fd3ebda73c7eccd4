/**
 * Paths into the config object, written as in the user's code: `builders[2].workernames[0]`,
 * `workers[0].env["MY-VAR"]`. Problems and the source locator both use this form.
 */
export type PathSegment = string | number;

const IDENT = /^[A-Za-z_$][\w$]*$/;

export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (IDENT.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** The path one level up (`builders[2].workernames[0]` → `builders[2].workernames`), or undefined at the top. */
export function parentPath(path: string): string | undefined {
  const m = /^(.*)(?:\.[A-Za-z_$][\w$]*|\[[^\]]*\])$/.exec(path);
  if (!m) return path ? '' : undefined;
  return m[1];
}
