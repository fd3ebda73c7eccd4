import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors/index.js';
import { masterPaths } from '../master/paths.js';
import { loadConfig } from '../config/loader.js';
import { summarizeConfig } from '../config/summary.js';
import { authWarnings } from '../www/auth.js';
import type { Output } from './output.js';

/** Accepts a master directory or a config file, as Buildbot's checkconfig does. */
export function resolveConfigFile(target: string): string {
  const abs = resolve(target);
  if (!existsSync(abs)) throw new UsageError(`${abs} does not exist`);
  return statSync(abs).isDirectory() ? masterPaths(abs).config : abs;
}

export async function checkconfig(target: string, opts: { quiet?: boolean }, out: Output): Promise<void> {
  const file = resolveConfigFile(target);
  if (!existsSync(file)) throw new UsageError(`no config file: ${file} does not exist`);
  const { config } = await loadConfig(file);
  // Warnings never make the config bad, and even --quiet shows them: they are about security.
  for (const w of authWarnings(config)) out.stderr(`WARNING: ${w}\n`);
  out.info(`Config file is good! ${file}: ${summarizeConfig(config)}`, opts.quiet);
}

export function registerCheckconfig(program: Command, out: Output): void {
  program
    .command('checkconfig')
    .description('load and validate master.config.ts and print a summary')
    .argument('[dir|file]', 'the master directory or a config file', '.')
    .option('-q, --quiet', 'print nothing when the config is good')
    .action(async (target: string, opts: { quiet?: boolean }) => checkconfig(target, opts, out));
}
