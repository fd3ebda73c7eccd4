import type { Family } from '../types.js';

// Last resort, anchored at the line start so that text merely mentioning errors never matches:
// `error: …` (cargo, git, pip), `Error: …` (node), `ERROR: …`, `fatal: …` (git), `rake aborted!`.
const LEADING = /^(?:error|Error|ERROR)(?:\[[\w-]+\])?: |^fatal: /;
// An exception named at the start of a line (node, Java, and the like): `TypeError: …`,
// `java.lang.NullPointerException: …`, `AssertionError [ERR_ASSERTION]: …`.
const EXCEPTION = /^\s*(?:[a-z_$][\w$]*\.)*[A-Z][\w$]*(?:Error|Exception)(?: \[[\w-]+\])?: \S/;

export const generic: Family = {
  line(text, lineNo, sink) {
    const c0 = text.charCodeAt(0);
    if ((c0 === 101 /* e */ || c0 === 69 /* E */ || c0 === 102 /* f */) && LEADING.test(text)) {
      sink.error(lineNo, text, text.startsWith('fatal: ') ? 'git' : 'error');
      return true;
    }
    if ((text.includes('Error') || text.includes('Exception')) && EXCEPTION.test(text)) {
      sink.error(lineNo, text, 'exception');
      return true;
    }
    return false;
  },
};
