import type { Family } from '../types.js';

// gcc/clang/javac/tsc-style `file:line[:col]: [fatal] error: …`, and tool-prefixed `cc1: fatal error: …`,
// `configure: error: …`, `clang: error: …`. `[^:]*` cannot cross a colon, so a warning whose text
// mentions "error:" does not match: the first `word:` after the position must be `error:`
// (and `warning: error: …` is still a warning).
const FILE_ERROR = /^(?!warning:|note:)(?:[A-Za-z]:)?[^\s:][^:]*(?::\d+){0,2}: (?:fatal )?error:/;
// MSVC cl/link/nmake/MSBuild, C#: `file(12,5): error C2065:`, `LINK : fatal error LNK1181:`,
// `error MSB3073:`. The code (letters then digits) is what makes it an error, not the word. Indented
// ones are MSBuild's end-of-build summary repeating them.
const MSVC_ERROR = /\b(?:fatal )?error [A-Z]{1,4}\d{2,5}\s*:/;
// Kotlin compiler through Gradle: `e: file:///src/Main.kt:3:5 Unresolved reference: foo`.
const KOTLIN_ERROR = /^e: (?:file:\/\/)?\S+?:\d+/;

export const compilers: Family = {
  line(text, lineNo, sink) {
    if (text.includes('error:') && FILE_ERROR.test(text)) {
      sink.error(lineNo, text, 'compiler');
      return true;
    }
    const c0 = text.charCodeAt(0);
    if (c0 !== 32 && c0 !== 9 && text.includes('error ') && MSVC_ERROR.test(text)) {
      sink.error(lineNo, text, 'msvc');
      return true;
    }
    if (text.startsWith('e: ') && KOTLIN_ERROR.test(text)) {
      sink.error(lineNo, text, 'kotlin');
      return true;
    }
    return false;
  },
};
