#!/usr/bin/env node
// `npm run demo`: thin launcher for lib/demo, run from the compiled build that `npm ci` makes (prepare).
let demo;
try {
  demo = await import('../dist/lib/demo/main.js');
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/lib/demo/main.js')) {
    process.stderr.write('demo: the compiled build is missing; run `npm run build` first\n');
    process.exit(70);
  }
  throw err;
}
let code;
try {
  code = await demo.demoMain(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`demo: ${err && err.userError ? err.message : (err && err.stack) || String(err)}\n`);
  code = 1;
}
// Exit explicitly: the master and the SSH host are stopped by now, and a straggling handle must not keep
// a finished demo hanging.
process.exit(code);
