/**
 * A synthetic build log of about `mb` MiB: compiler and make output, a pytest run, timestamps on
 * some lines, and about one error line per 200 lines — what a failing CI step prints. Deterministic
 * (a fixed linear congruential generator), so runs compare.
 */
export function syntheticLog(mb: number): string {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed >>> 16) % n;
  };
  const files = Array.from({ length: 300 }, (_, i) => `src/module${i % 17}/file_${i}.c`);
  const tests = Array.from({ length: 500 }, (_, i) => `tests/test_area${i % 23}.py::test_case_${i}`);
  const normal: (() => string)[] = [
    () => `gcc -O2 -Wall -Iinclude -c ${files[rnd(files.length)]} -o build/obj_${rnd(10000)}.o`,
    () => `make[${rnd(4)}]: Entering directory '/home/worker${rnd(20)}/build/${rnd(1000)}'`,
    () => `[${String(rnd(100)).padStart(3)}%] Building C object CMakeFiles/app.dir/${files[rnd(files.length)]}.o`,
    () => `${tests[rnd(tests.length)]} PASSED [${rnd(100)}%]`,
    () => `2024-05-0${1 + rnd(9)}T10:${String(rnd(60)).padStart(2, '0')}:${String(rnd(60)).padStart(2, '0')}.${rnd(1000)}Z INFO fetching artifact ${rnd(1e9).toString(16)}`,
    () => `  copying build/lib/pkg/sub_${rnd(300)}.py -> /tmp/tmp${rnd(1e9).toString(36)}/pkg`,
  ];
  const errors: (() => string)[] = [
    () => `/home/worker${rnd(20)}/build/${files[rnd(files.length)]}:${rnd(900)}:${rnd(80)}: error: '${['foo', 'bar', 'baz'][rnd(3)]}' undeclared (first use in this function)`,
    () => `make: *** [Makefile:${rnd(300)}: all] Error ${1 + rnd(2)}`,
    () => `FAILED ${tests[rnd(tests.length)]} - AssertionError: expected ${rnd(100)} but got ${rnd(100)}`,
    () => `Traceback (most recent call last):`,
    () => `error[E0308]: mismatched types`,
  ];
  const target = mb * 1024 * 1024;
  const parts: string[] = [];
  let size = 0;
  let n = 0;
  while (size < target) {
    const line = rnd(200) === 0 ? errors[rnd(errors.length)]!() : normal[rnd(normal.length)]!();
    parts.push(line);
    size += line.length + 1;
    n++;
    if (n % 5000 === 0) parts.push(`=================== ${rnd(50)} failed, ${rnd(5000)} passed in ${rnd(900)}.12s ===================`);
  }
  return `${parts.join('\n')}\n`;
}
