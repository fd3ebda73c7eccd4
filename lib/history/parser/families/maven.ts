import type { Family } from '../types.js';

/**
 * Maven's own `[ERROR] …` and `[FATAL] …` lines (compiler errors, the failed goal). Runs after the
 * boilerplate family, which has claimed the advice lines Maven prints after every failure.
 */
export const maven: Family = {
  line(text, lineNo, sink) {
    if (!(text.startsWith('[ERROR] ') || text.startsWith('[FATAL] '))) return false;
    sink.error(lineNo, text, 'maven');
    return true;
  },
};
