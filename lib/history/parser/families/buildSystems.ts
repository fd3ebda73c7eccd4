import type { Family } from '../types.js';

// `make: *** [Makefile:4: main] Error 1`, `make[2]: *** No rule to make target 'x'.  Stop.`, and the
// gmake/mozmake/mingw32-make spellings. `Waiting for unfinished jobs` is boilerplate (claimed earlier).
const MAKE = /^(?:\S*[\\/])?(?:g|mingw32-|moz)?make(?:\.exe)?(?:\[\d+\])?: \*\*\* /i;
// ninja names the failed target: `FAILED: CMakeFiles/demo.dir/main.c.o `.
const NINJA = /^FAILED: \S/;
// `CMake Error at CMakeLists.txt:3 (find_package):` and `CMake Error: …`.
const CMAKE = /^CMake Error\b/;

/** make, ninja and CMake. */
export const buildSystems: Family = {
  line(text, lineNo, sink) {
    if (text.includes(': *** ') && MAKE.test(text)) {
      sink.error(lineNo, text, 'make');
      return true;
    }
    if (text.startsWith('FAILED: ') && NINJA.test(text)) {
      sink.error(lineNo, text, 'ninja');
      return true;
    }
    if (text.startsWith('CMake Error') && CMAKE.test(text)) {
      sink.error(lineNo, text, 'cmake');
      return true;
    }
    return false;
  },
};
