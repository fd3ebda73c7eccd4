/**
 * Finding report files on the slave by glob, as Jenkins' `junit 'target/surefire-reports/*.xml'`
 * does: `*` and `?` within a path segment, `[abc]`/`[!abc]`, and `**` for any number of
 * directories (`**` + `/TEST-*.xml` finds them at any depth). Relative globs start at the step's
 * workdir. The slave runs one `find` per glob, from the glob's literal leading directories (and with
 * `-name` for its last segment), so only that part of the tree is walked; the full glob is then
 * matched here. POSIX shells only (Linux, BSD, macOS).
 */

export interface ReportGlob {
  /** As configured, without a leading `./`. */
  pattern: string;
  /** The literal leading directories, where `find` starts ('.' for none). */
  base: string;
  /** The last segment, for `find -name`, unless it is `**`. */
  name: string | undefined;
  regex: RegExp;
}

const WILD = /[*?[]/;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One path segment's glob → regex source (no `/` inside). */
function segmentSource(seg: string): string {
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let body = seg.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      out += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else out += escapeRegExp(c);
  }
  return out;
}

/** The whole glob → an anchored regex over `/`-separated paths. */
export function globToRegExp(glob: string): RegExp {
  const segments = glob.split('/');
  let source = '';
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    if (seg === '**') source += last ? '.*' : '(?:[^/]+/)*';
    else source += segmentSource(seg) + (last ? '' : '/');
  });
  return new RegExp(`^${source}$`);
}

export function parseGlob(pattern: string): ReportGlob {
  const p = pattern.trim().replace(/^(?:\.\/)+/, '').replace(/\/+/g, '/');
  const segments = p.split('/');
  const firstWild = segments.findIndex((s) => WILD.test(s));
  let base: string;
  let name: string | undefined;
  if (firstWild < 0) {
    // A plain path: search its directory for it.
    base = segments.slice(0, -1).join('/') || (p.startsWith('/') ? '/' : '.');
    name = segments.at(-1);
  } else {
    base = segments.slice(0, firstWild).join('/') || (p.startsWith('/') ? '/' : '.');
    const last = segments.at(-1)!;
    name = last === '**' ? undefined : last;
  }
  return { pattern: p, base, name, regex: globToRegExp(p) };
}

/** The slave command listing candidate files of every glob (one path a line). */
export function listCommand(globs: readonly ReportGlob[], quote: (s: string) => string): string {
  const finds = new Set<string>();
  for (const g of globs) {
    const name = g.name === undefined ? '' : ` -name ${quote(g.name)}`;
    finds.add(`if [ -d ${quote(g.base)} ]; then find -H ${quote(g.base)} -type f${name}; fi`);
  }
  return `${[...finds].join('; ')}; true`;
}

/** The listed paths that match the glob, sorted, without a leading `./`. */
export function matching(glob: ReportGlob, listing: string): string[] {
  const out = new Set<string>();
  for (const raw of listing.split('\n')) {
    const path = raw.replace(/\r$/, '').replace(/^(?:\.\/)+/, '');
    if (path && glob.regex.test(path)) out.add(path);
  }
  return [...out].sort();
}
