/**
 * Loads master.config.ts: compiles and imports it with tsx (from source or from dist alike), takes
 * its default export, validates it and returns the resolved config. Anything wrong — a syntax
 * error, an exception while loading, a missing default export, any validation problem — is one
 * ConfigError naming the file, with a line for each problem when it can be found.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, type ConfigProblem } from '../errors/ConfigError.js';
import { configFileFor } from './configFile.js';
import { indexSource, type SourceIndex } from './locate.js';
import { installModuleHooks } from './moduleHooks.js';
import type { ResolvedConfig } from './resolved.js';
import { validateConfig, type DraftProblem } from './validate.js';

export { configFileFor };

export interface LoadedConfig {
  file: string;
  config: ResolvedConfig;
}

export async function loadConfig(file: string): Promise<LoadedConfig> {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new ConfigError(abs, [{ path: '', message: 'no such file' }]);
  const exported = await importConfig(abs);
  const result = validateConfig(exported, dirname(abs));
  if (!result.ok) throw new ConfigError(abs, locate(abs, result.problems));
  return { file: abs, config: result.config };
}

async function importConfig(file: string): Promise<unknown> {
  installModuleHooks();
  const { tsImport } = await import('tsx/esm/api');
  const tsconfig = join(dirname(file), 'tsconfig.json');
  let mod: { default?: unknown };
  try {
    // tsImport loads in its own namespace each time, so a reload sees the edited file (and helpers).
    mod = await tsImport(pathToFileURL(file).href, {
      parentURL: import.meta.url,
      // The user's tsconfig, never the one of whatever directory the master runs from.
      tsconfig: existsSync(tsconfig) ? tsconfig : false,
    });
  } catch (err) {
    throw new ConfigError(file, loadProblems(file, err), { cause: err });
  }
  // A config in a folder without "type": "module" loads as CommonJS, which wraps the default once more.
  const outer = mod.default as { default?: unknown } | undefined;
  const exported = outer !== null && typeof outer === 'object' && 'default' in outer ? outer.default : outer;
  if (exported === undefined) {
    throw new ConfigError(file, [{ path: '', message: 'no default export: end the file with export default defineConfig({...})' }]);
  }
  return exported;
}

// esbuild: "Transform failed with 1 error:\n/path/file.ts:1:35: ERROR: Unexpected "}"" (column 0-based).
const ESBUILD_ERROR = /^(.+?):(\d+):(\d+): ERROR: (.*)$/gm;

function loadProblems(file: string, err: unknown): ConfigProblem[] {
  const text = err instanceof Error ? err.message : String(err);
  const syntax = [...text.matchAll(ESBUILD_ERROR)].map(([, where, line, column, message]): ConfigProblem => ({
    path: '',
    message: message!,
    line: Number(line),
    column: Number(column) + 1,
    ...(resolve(where!) !== file ? { file: resolve(where!) } : {}),
  }));
  if (syntax.length > 0) return syntax;
  const problem: ConfigProblem = { path: '', message: `failed to load: ${describeError(err)}` };
  const frame = frameIn(file, err);
  return [{ ...problem, ...frame }];
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.name && err.name !== 'Error' && !err.message.startsWith(err.name) ? `${err.name}: ${err.message}` : err.message;
}

/** The first stack frame in the config file (tsx maps it back to the .ts source). */
function frameIn(file: string, err: unknown): { line?: number; column?: number } {
  const stack = err instanceof Error ? (err.stack ?? '') : '';
  for (const m of stack.matchAll(/(file:\/\/[^\s):]+|\/[^\s):]+):(\d+):(\d+)/g)) {
    const where = m[1]!.startsWith('file:') ? fileURLToPath(m[1]!.replace(/\?.*$/, '')) : m[1]!;
    if (resolve(where) === file) return { line: Number(m[2]), column: Number(m[3]) };
  }
  return {};
}

/**
 * Adds lines: the position of the path itself when the config writes it literally; for a missing
 * option, the object that lacks it; else a unique occurrence of the offending key or string.
 * Problems are then ordered by line, those without one last.
 */
function locate(file: string, problems: DraftProblem[]): ConfigProblem[] {
  let source: SourceIndex | undefined;
  try {
    source = indexSource(readFileSync(file, 'utf8'));
  } catch {
    source = undefined;
  }
  const located = problems.map(({ hint, ...p }): ConfigProblem => {
    if (!source) return p;
    const at =
      source.at(p.path) ??
      (hint?.within !== undefined ? source.at(hint.within) : undefined) ??
      (hint?.key !== undefined ? source.key(hint.key) : undefined) ??
      (hint?.literal !== undefined ? source.literal(hint.literal) : undefined);
    return at ? { ...p, line: at.line, column: at.column } : p;
  });
  return located
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? Infinity) - (b.p.line ?? Infinity) || a.i - b.i)
    .map(({ p }) => p);
}
