/**
 * Makes `import ... from 'buildmaster'` in a user's master.config.ts resolve to this very package,
 * wherever the config lives (a master directory has no node_modules). Both module systems: an ESM
 * resolve hook (a config in a "type": "module" folder) and a patch of CJS resolution (a config
 * without package.json loads as CommonJS). Installed once per process.
 */
import { existsSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const PACKAGE_SPECIFIER = 'buildmaster';

/** lib/index.ts beside this file when running from source (under tsx), else the compiled index.js. */
export function packageEntry(): string {
  const ts = fileURLToPath(new URL('../index.ts', import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL('../index.js', import.meta.url));
}

const INSTALLED = Symbol.for('buildmaster.config.moduleHooks');

export function installModuleHooks(): void {
  const g = globalThis as { [INSTALLED]?: boolean };
  if (g[INSTALLED]) return;
  g[INSTALLED] = true;
  const entry = packageEntry();
  const entryUrl = pathToFileURL(entry).href;

  const hookSource = `
    const SPECIFIER = ${JSON.stringify(PACKAGE_SPECIFIER)};
    const TARGET = ${JSON.stringify(entryUrl)};
    export async function resolve(specifier, context, nextResolve) {
      if (specifier === SPECIFIER) return { url: TARGET, shortCircuit: true };
      return nextResolve(specifier, context);
    }`;
  register(`data:text/javascript,${encodeURIComponent(hookSource)}`);

  const Module = createRequire(import.meta.url)('node:module') as {
    _resolveFilename: (request: string, ...rest: unknown[]) => string;
  };
  const original = Module._resolveFilename;
  Module._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]) {
    return request === PACKAGE_SPECIFIER ? entry : original.call(this, request, ...rest);
  };
}
