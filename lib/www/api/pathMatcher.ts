/**
 * Buildbot's util/pathmatch.py: path patterns of segments — literals, `n:name` (an integer),
 * `i:name` (an identifier), `:name` (any) — matched against a request's segments; the first
 * pattern of the same length that matches wins.
 */
import { isPathIdentifier, parsePathInt } from './fields.js';
import type { Endpoint, PathArgs } from './types.js';

type Segment = { literal: string } | { arg: string; type: 'n' | 'i' | '' };

interface Pattern {
  text: string;
  segments: Segment[];
  endpoint: Endpoint;
}

const ARG_RE = /^(.?):([a-z0-9_.]+)$/;

export class PathMatcher {
  private readonly byLength = new Map<number, Pattern[]>();
  private readonly all: Pattern[] = [];

  add(pattern: string, endpoint: Endpoint): void {
    // '/' (the root) has no segments.
    const trimmed = pattern.replace(/^\//, '');
    const parts = trimmed === '' ? [] : trimmed.split('/');
    const segments: Segment[] = parts.map((p) => {
      const m = ARG_RE.exec(p);
      if (!m) return { literal: p };
      if (m[1] !== '' && m[1] !== 'n' && m[1] !== 'i') throw new Error(`no path type '${m[1]}' in ${pattern}`);
      return { arg: m[2], type: m[1] as 'n' | 'i' | '' };
    });
    const text = `/${parts.join('/')}`;
    if (this.all.some((p) => p.text === text)) throw new Error(`duplicate API path ${text}`);
    const entry = { text, segments, endpoint };
    this.all.push(entry);
    const list = this.byLength.get(segments.length) ?? [];
    list.push(entry);
    this.byLength.set(segments.length, list);
  }

  match(path: readonly string[]): { endpoint: Endpoint; args: PathArgs; pattern: string } | undefined {
    for (const p of this.byLength.get(path.length) ?? []) {
      const args: Record<string, number | string> = {};
      let ok = true;
      for (let i = 0; i < path.length && ok; i++) {
        const s = p.segments[i];
        const v = path[i];
        if ('literal' in s) ok = s.literal === v;
        else if (s.type === 'n') {
          const n = parsePathInt(v);
          if (n === undefined) ok = false;
          else args[s.arg] = n;
        } else if (s.type === 'i') {
          ok = isPathIdentifier(v);
          args[s.arg] = v;
        } else args[s.arg] = v;
      }
      if (ok) return { endpoint: p.endpoint, args, pattern: p.text };
    }
    return undefined;
  }

  patterns(): readonly { text: string; endpoint: Endpoint }[] {
    return this.all;
  }
}
