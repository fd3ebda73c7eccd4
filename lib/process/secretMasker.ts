/**
 * Replaces every secret value a build has rendered by `<name>` (Buildbot's
 * Properties.cleanupTextFromSecrets), in log lines, state strings and anything else shown.
 *
 * Log output is masked per complete line (plug `masker.mask` into LineSplitter's `transform`), so a
 * secret that arrived split over two chunks is masked like any other. A secret spanning several
 * lines (a private key) is also registered line by line, since no single log line holds all of it.
 * One pass with the longest values first: a secret that contains another is masked as itself, and
 * a replacement is never masked again.
 */

// Parts of a multi-line secret shorter than this are left alone: masking every "==" or "}" would
// garble the log while hiding nothing useful.
const MIN_PART_LENGTH = 4;

export class SecretMasker {
  /** value → name */
  private readonly values = new Map<string, string>();
  private pattern: RegExp | null = null;

  /** Register a rendered secret. Blank values are ignored (as Buildbot does). */
  add(name: string, value: string): void {
    if (!value.trim()) return;
    this.register(value, name);
    const parts = value.split(/\r\n|\r|\n/).filter((p) => p.trim());
    if (parts.length === 1) {
      this.register(parts[0], name);
    } else {
      for (const part of parts) if (part.trim().length >= MIN_PART_LENGTH) this.register(part, name);
    }
  }

  /** Number of registered values (a multi-line secret counts once per line, plus once whole). */
  get size(): number {
    return this.values.size;
  }

  /** `text` with every secret value replaced by `<name>`. */
  mask(text: string): string {
    const re = this.compiled();
    if (!re) return text;
    re.lastIndex = 0;
    if (!re.test(text)) return text;
    re.lastIndex = 0;
    return text.replace(re, (m) => `<${this.values.get(m)}>`);
  }

  /** The masker as a function, e.g. `new LineSplitter({ transform: masker.transform })`. */
  readonly transform = (line: string): string => this.mask(line);

  private register(value: string, name: string): void {
    if (this.values.get(value) === name) return;
    // When two secrets share a value, the first name registered keeps it.
    if (!this.values.has(value)) {
      this.values.set(value, name);
      this.pattern = null;
    }
  }

  private compiled(): RegExp | null {
    if (this.values.size === 0) return null;
    if (!this.pattern) {
      const alternatives = [...this.values.keys()]
        .sort((a, b) => b.length - a.length)
        .map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      this.pattern = new RegExp(alternatives.join('|'), 'g');
    }
    return this.pattern;
  }
}
