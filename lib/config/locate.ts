/**
 * Where things are in master.config.ts, for problem messages. A small tokenizer walks the object
 * literal of `export default` (through `defineConfig(...)`, `new X({...})` and a `const` it names)
 * and records the position of every key and array element by its config path. Anything computed
 * (spreads, calls, `.map(...)`) is left out rather than guessed: no line beats a wrong line.
 */
import type { PathSegment } from './configPath.js';
import { formatPath } from './configPath.js';

export interface Position {
  line: number;
  column: number;
}

type TokenType = 'ident' | 'string' | 'number' | 'punct' | 'template' | 'regex';
interface Token {
  type: TokenType;
  value: string;
  start: number;
}

const OPENERS = new Set(['(', '[', '{']);
const CLOSERS = new Set([')', ']', '}']);
const PUNCT3 = ['...', '===', '!==', '**=', '<<=', '>>=', '>>>', '&&=', '||=', '??='];
const PUNCT2 = ['=>', '?.', '??', '==', '!=', '<=', '>=', '&&', '||', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '**', '<<', '>>'];
const REGEX_AFTER_WORDS = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', 0: '\0' };

class Lexer {
  private i = 0;
  readonly tokens: Token[] = [];

  constructor(private readonly src: string) {}

  /** Lexes to the end, or (inside a template's `${`) to the unmatched `}`, which it consumes. */
  run(untilBrace = false): number {
    let depth = 0;
    const s = this.src;
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (/\s/.test(c)) {
        this.i++;
      } else if (s.startsWith('//', this.i)) {
        const nl = s.indexOf('\n', this.i);
        this.i = nl < 0 ? s.length : nl;
      } else if (s.startsWith('/*', this.i)) {
        const end = s.indexOf('*/', this.i + 2);
        this.i = end < 0 ? s.length : end + 2;
      } else if (c === '"' || c === "'") {
        this.string(c);
      } else if (c === '`') {
        this.template();
      } else if (/[A-Za-z_$#\u0080-\uffff]/.test(c)) {
        const m = /^[A-Za-z_$#\u0080-\uffff][\w$\u0080-\uffff]*/.exec(s.slice(this.i, this.i + 256))!;
        this.push('ident', m[0], m[0].length);
      } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(s[this.i + 1] ?? ''))) {
        const m = /^(?:0[xXoObB][\da-fA-F_]+|\d[\d_]*(?:\.[\d_]*)?(?:[eE][+-]?\d+)?|\.\d[\d_]*(?:[eE][+-]?\d+)?)n?/.exec(s.slice(this.i, this.i + 64))!;
        this.push('number', m[0], m[0].length);
      } else if (c === '/' && this.regexAllowed()) {
        this.regex();
      } else {
        const p = PUNCT3.find((x) => s.startsWith(x, this.i)) ?? PUNCT2.find((x) => s.startsWith(x, this.i)) ?? c;
        if (untilBrace) {
          if (p === '{') depth++;
          else if (p === '}' && depth-- === 0) {
            this.i++;
            return this.i;
          }
        }
        this.push('punct', p, p.length);
      }
    }
    return this.i;
  }

  private push(type: TokenType, value: string, length: number): void {
    this.tokens.push({ type, value, start: this.i });
    this.i += length;
  }

  private string(quote: string): void {
    const start = this.i;
    let value = '';
    let j = this.i + 1;
    while (j < this.src.length && this.src[j] !== quote && this.src[j] !== '\n') {
      if (this.src[j] === '\\') {
        const e = this.src[j + 1] ?? '';
        value += ESCAPES[e] ?? e;
        j += 2;
      } else {
        value += this.src[j++];
      }
    }
    this.tokens.push({ type: 'string', value, start });
    this.i = j + 1;
  }

  /** A template literal is one opaque token; the code in its `${}` is lexed and thrown away. */
  private template(): void {
    const start = this.i;
    let j = this.i + 1;
    let plain = true;
    while (j < this.src.length && this.src[j] !== '`') {
      if (this.src[j] === '\\') j += 2;
      else if (this.src.startsWith('${', j)) {
        plain = false;
        const inner = new Lexer(this.src);
        inner.i = j + 2;
        j = inner.run(true);
      } else j++;
    }
    this.tokens.push({ type: plain ? 'string' : 'template', value: this.src.slice(start + 1, j), start });
    this.i = j + 1;
  }

  private regexAllowed(): boolean {
    const prev = this.tokens[this.tokens.length - 1];
    if (!prev) return true;
    if (prev.type === 'ident') return REGEX_AFTER_WORDS.has(prev.value);
    if (prev.type !== 'punct') return false;
    return prev.value !== ')' && prev.value !== ']';
  }

  private regex(): void {
    let j = this.i + 1;
    let inClass = false;
    while (j < this.src.length && this.src[j] !== '\n') {
      const c = this.src[j];
      if (c === '\\') j++;
      else if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      else if (c === '/' && !inClass) break;
      j++;
    }
    j++;
    while (/[a-z]/i.test(this.src[j] ?? '')) j++;
    this.tokens.push({ type: 'regex', value: this.src.slice(this.i, j), start: this.i });
    this.i = j;
  }
}

/** Records config paths to token offsets while walking literals. */
class Walker {
  readonly entries: [string, number][] = [];

  constructor(private readonly t: Token[]) {}

  private is(i: number, value: string): boolean {
    const tok = this.t[i];
    return tok !== undefined && tok.type === 'punct' && tok.value === value;
  }

  private record(path: PathSegment[], i: number): void {
    if (path.length > 0 && this.t[i]) this.entries.push([formatPath(path), this.t[i]!.start]);
  }

  /** Index after the expression starting at i: at a `,`/`;` or a closer of the enclosing bracket. */
  skipExpression(i: number): number {
    let depth = 0;
    for (; i < this.t.length; i++) {
      const tok = this.t[i]!;
      if (tok.type !== 'punct') continue;
      if (OPENERS.has(tok.value)) depth++;
      else if (CLOSERS.has(tok.value)) {
        if (depth === 0) return i;
        depth--;
      } else if (depth === 0 && (tok.value === ',' || tok.value === ';')) return i;
    }
    return i;
  }

  /** Index after a dotted callee `a.b.c` starting at i (i itself when there is none). */
  private callee(i: number): number {
    if (this.t[i]?.type !== 'ident') return i;
    let j = i + 1;
    while ((this.is(j, '.') || this.is(j, '?.')) && this.t[j + 1]?.type === 'ident') j += 2;
    return j;
  }

  /** `at`: the token that marks the value (its key in an object; the value itself in an array). */
  walkValue(i: number, path: PathSegment[], at = i): number {
    this.record(path, at);
    const mark = this.entries.length;
    let j: number;
    if (this.is(i, '{')) j = this.walkObject(i, path);
    else if (this.is(i, '[')) j = this.walkArray(i, path);
    else {
      // `new X({...})` and `f({...})`: the object is the value's own options (steps, schedulers…).
      const isNew = this.t[i]?.type === 'ident' && this.t[i]!.value === 'new';
      const k = this.callee(isNew ? i + 1 : i);
      if (k > i && this.is(k, '(') && this.is(k + 1, '{')) {
        j = this.walkObject(k + 1, path);
        j = this.is(j, ')') ? j + 1 : this.skipExpression(j);
      } else {
        return this.skipExpression(i);
      }
    }
    const next = this.t[j];
    if (next === undefined || (next.type === 'punct' && (next.value === ',' || CLOSERS.has(next.value) || next.value === ';'))) return j;
    if (next.type === 'ident' && (next.value === 'as' || next.value === 'satisfies')) return this.skipExpression(j);
    // The literal is part of a larger expression (`[...].map(f)`): its positions would lie.
    this.entries.length = mark;
    return this.skipExpression(j);
  }

  walkObject(i: number, path: PathSegment[]): number {
    let j = i + 1;
    while (j < this.t.length && !this.is(j, '}')) {
      const tok = this.t[j]!;
      if (tok.type === 'ident' || tok.type === 'string' || tok.type === 'number') {
        const key = tok.value;
        if (this.is(j + 1, ':')) j = this.walkValue(j + 2, [...path, key], j);
        else if (this.is(j + 1, ',') || this.is(j + 1, '}')) {
          this.record([...path, key], j);
          j++;
        } else j = this.skipExpression(j);
      } else {
        j = this.skipExpression(j);
      }
      if (this.is(j, ',')) j++;
      else if (!this.is(j, '}')) j = this.skipExpression(j + 1);
    }
    return j + 1;
  }

  walkArray(i: number, path: PathSegment[]): number {
    let j = i + 1;
    let index = 0;
    while (j < this.t.length && !this.is(j, ']')) {
      if (this.is(j, ',')) {
        index++;
        j++;
        continue;
      }
      if (this.is(j, '...')) {
        // Indices after a spread are unknown: skip the rest of the array.
        let depth = 0;
        for (; j < this.t.length; j++) {
          if (this.t[j]!.type !== 'punct') continue;
          if (OPENERS.has(this.t[j]!.value)) depth++;
          else if (CLOSERS.has(this.t[j]!.value) && depth-- === 0) return j + 1;
        }
        return j;
      }
      j = this.walkValue(j, [...path, index]);
      if (!this.is(j, ',') && !this.is(j, ']')) j = this.skipExpression(j + 1);
    }
    return j + 1;
  }

  /** Token index of the exported config object's `{`, following wrappers and a named const. */
  findRoot(): number | undefined {
    const exp = this.t.findIndex((tok, k) => tok.value === 'export' && this.t[k + 1]?.value === 'default');
    return exp < 0 ? undefined : this.rootFrom(exp + 2, 0);
  }

  private rootFrom(i: number, hops: number): number | undefined {
    if (hops > 5) return undefined;
    if (this.is(i, '{')) return i;
    if (this.is(i, '(')) return this.rootFrom(i + 1, hops + 1);
    const k = this.callee(i);
    if (k > i && this.is(k, '(')) return this.rootFrom(k + 1, hops + 1);
    if (k === i + 1 && this.t[i]?.type === 'ident') {
      const name = this.t[i]!.value;
      const decl = this.t.findIndex(
        (tok, d) => ['const', 'let', 'var'].includes(tok.value) && this.t[d + 1]?.type === 'ident' && this.t[d + 1]!.value === name,
      );
      if (decl < 0) return undefined;
      let j = decl + 2;
      while (j < this.t.length && !this.is(j, '=')) j++;
      return this.rootFrom(j + 1, hops + 1);
    }
    return undefined;
  }
}

function lineStarts(src: string): number[] {
  const starts = [0];
  for (let i = 0; i < src.length; i++) if (src[i] === '\n') starts.push(i + 1);
  return starts;
}

export function positionAt(starts: number[], offset: number): Position {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo]! + 1 };
}

export interface SourceIndex {
  /** Position of the key or element at `path`, when the config writes it literally. */
  at(path: string): Position | undefined;
  /** Position of a quoted string literal with this exact text, when it occurs exactly once. */
  literal(text: string): Position | undefined;
  /** Position of `key:` (bare or quoted), when it occurs exactly once. */
  key(name: string): Position | undefined;
}

export function indexSource(src: string): SourceIndex {
  const starts = lineStarts(src);
  let tokens: Token[] = [];
  const paths = new Map<string, number>();
  try {
    const lexer = new Lexer(src);
    lexer.run();
    tokens = lexer.tokens;
    const walker = new Walker(tokens);
    const root = walker.findRoot();
    if (root !== undefined) {
      walker.walkObject(root, []);
      for (const [path, offset] of walker.entries) paths.set(path, offset);
    }
  } catch {
    // A file the tokenizer cannot follow just gets no positions.
  }
  const unique = (offsets: number[]) => (offsets.length === 1 ? positionAt(starts, offsets[0]!) : undefined);
  return {
    at: (path) => {
      const offset = paths.get(path);
      return offset === undefined ? undefined : positionAt(starts, offset);
    },
    literal: (text) => unique(tokens.filter((t) => t.type === 'string' && t.value === text).map((t) => t.start)),
    key: (name) =>
      unique(
        tokens
          .filter((t, k) => (t.type === 'ident' || t.type === 'string') && t.value === name && tokens[k + 1]?.value === ':')
          .map((t) => t.start),
      ),
  };
}
