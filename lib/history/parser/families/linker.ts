import type { Family } from '../types.js';

// GNU ld/gold/lld and Apple ld. `collect2: … ld returned 1` is boilerplate (see boilerplate.ts): the
// line a person points at is the undefined reference itself.
const LINKER = new RegExp(
  [
    "undefined reference to [`'‘]",
    "multiple definition of [`'‘]",
    String.raw`^\S*\bld(?:\.\w+)?(?:\.exe)?: (?:cannot find |error: |fatal error: |cannot open )`,
    String.raw`^Undefined symbols for architecture `,
    String.raw`^ld: symbol\(s\) not found`,
    String.raw`^ld\.lld: error: `,
  ].join('|'),
);

export const linker: Family = {
  line(text, lineNo, sink) {
    const maybe = text.includes('ld') || text.includes(' of ') || text.includes(' to ') || text.startsWith('Undefined ');
    if (!maybe || !LINKER.test(text)) return false;
    sink.error(lineNo, text, 'linker');
    return true;
  },
};
