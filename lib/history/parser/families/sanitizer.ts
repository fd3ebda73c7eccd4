import type { Family } from '../types.js';

// ASan/LSan/TSan/MSan/UBSan: the `==1840==ERROR: AddressSanitizer: …` header, the `SUMMARY: …` line,
// and UBSan's `file:line:col: runtime error: …` (it prints no header). Not anchored: harnesses print
// them behind their own prefix (`GECKO(1234) | ==1234==ERROR: AddressSanitizer: …`).
const SANITIZER = /==\d+==ERROR: \w+Sanitizer|SUMMARY: \w+Sanitizer:|WARNING: ThreadSanitizer:|:\d+:\d+: runtime error: /;

export const sanitizer: Family = {
  line(text, lineNo, sink) {
    if (!(text.includes('Sanitizer') || text.includes('runtime error: ')) || !SANITIZER.test(text)) return false;
    sink.error(lineNo, text, 'sanitizer');
    return true;
  },
};
