/**
 * Field-by-field comparison of two JSON values: every difference as one line naming where it is
 * (`$.builds[0].complete_at`) and both sides. Keys, types (null is its own type) and values must match;
 * key order is not compared (Buildbot's JSON encoder sorts keys, so ours must parse to the same data).
 */
export interface JsonDifference {
  /** Where, as `$.builds[0].state_string`. */
  at: string;
  buildbot: unknown;
  ours: unknown;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

export function diffJson(buildbot: unknown, ours: unknown, at = '$', out: JsonDifference[] = []): JsonDifference[] {
  const tb = typeOf(buildbot);
  const to = typeOf(ours);
  if (tb !== to) {
    out.push({ at, buildbot, ours });
  } else if (tb === 'array') {
    const a = buildbot as unknown[];
    const b = ours as unknown[];
    if (a.length !== b.length) out.push({ at: `${at}.length`, buildbot: a.length, ours: b.length });
    for (let i = 0; i < Math.min(a.length, b.length); i++) diffJson(a[i], b[i], `${at}[${i}]`, out);
  } else if (tb === 'object') {
    const a = buildbot as Record<string, unknown>;
    const b = ours as Record<string, unknown>;
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(k in b)) out.push({ at: `${at}.${k}`, buildbot: a[k], ours: '(missing)' });
      else if (!(k in a)) out.push({ at: `${at}.${k}`, buildbot: '(missing)', ours: b[k] });
      else diffJson(a[k], b[k], `${at}.${k}`, out);
    }
  } else if (buildbot !== ours) {
    out.push({ at, buildbot, ours });
  }
  return out;
}

export function formatDifference(path: string, d: JsonDifference): string {
  const show = (v: unknown) => {
    const s = JSON.stringify(v);
    return s !== undefined && s.length > 160 ? `${s.slice(0, 160)}…` : s;
  };
  return `GET ${path}  ${d.at}: buildbot ${show(d.buildbot)}, ours ${show(d.ours)}`;
}
