#!/usr/bin/env node
// Thin launcher: the CLI lives in lib/cli and runs from the compiled build that `npm ci` makes (prepare).
let cli;
try {
  cli = await import('../dist/lib/cli/main.js');
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/lib/cli/main.js')) {
    process.stderr.write('buildmaster: the compiled build is missing; run `npm run build` in the package directory\n');
    process.exit(70);
  }
  throw err;
}
process.exitCode = await cli.main(process.argv.slice(2));
