import type { Command } from 'commander';
import { existsSync, mkdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { UsageError } from '../errors/index.js';
import { masterPaths } from '../master/paths.js';
import { sampleConfig } from '../config/sample.js';
import { DEFAULT_DB_URL } from '../db/url.js';
import { openDatabase } from '../db/connection.js';
import { upgradeDatabase } from '../db/migrate.js';
import type { Output } from './output.js';

export interface CreateMasterOptions {
  db?: string;
  force?: boolean;
  quiet?: boolean;
}

const MASTER_PACKAGE_JSON = `${JSON.stringify(
  {
    private: true,
    type: 'module',
    description: 'A buildmaster master directory: master.config.ts is loaded as an ES module.',
  },
  null,
  2,
)}\n`;

/**
 * Creates a master directory: a sample master.config.ts that passes checkconfig, a package.json that makes
 * the config an ES module, and a database at the current schema. An existing master is never clobbered
 * without --force, and even then its database is upgraded rather than replaced, and its config is kept
 * beside the new one.
 */
export async function createMaster(dir: string, opts: CreateMasterOptions, out: Output): Promise<void> {
  const paths = masterPaths(dir);
  const dbUrl = opts.db ?? DEFAULT_DB_URL;
  const existing = existsSync(paths.config) || existsSync(`${paths.basedir}/state.sqlite`);
  if (existing && !opts.force) {
    throw new UsageError(
      `${paths.basedir} already holds a master (${existsSync(paths.config) ? 'master.config.ts' : 'state.sqlite'} exists); ` +
        'use --force to write a fresh sample config (the old one is kept as a .bak file) and upgrade its database',
    );
  }
  mkdirSync(paths.basedir, { recursive: true });

  if (existsSync(paths.config)) {
    const backup = `${paths.config}.bak-${timestamp()}`;
    copyFileSync(paths.config, backup);
    out.info(`kept the previous config as ${backup}`, opts.quiet);
  }
  writeFileSync(paths.config, sampleConfig({ dbUrl }), { mode: 0o600 });
  if (!existsSync(paths.packageJson)) writeFileSync(paths.packageJson, MASTER_PACKAGE_JSON);
  out.info(`wrote ${paths.config}`, opts.quiet);

  const db = await openDatabase({ url: dbUrl, basedir: paths.basedir });
  try {
    const result = await upgradeDatabase(db, { backup: true });
    if (result.upToDate) out.info(`database ${dbUrl} was already at the current schema`, opts.quiet);
    else out.info(`created database ${dbUrl} (${result.applied.length} migrations applied)`, opts.quiet);
    if (result.backupPath) out.info(`backed up the previous database to ${result.backupPath}`, opts.quiet);
  } finally {
    await db.close();
  }
  out.info(`buildmaster configured in ${paths.basedir}`, opts.quiet);
  out.info(`next: edit ${paths.config}, then run: buildmaster checkconfig ${dir}`, opts.quiet);
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, 'Z');
}

export function registerCreateMaster(program: Command, out: Output): void {
  program
    .command('create-master')
    .description('create a master directory with a sample master.config.ts and a database')
    .argument('[dir]', 'the master directory', '.')
    .option('--db <url>', `database URL (default ${DEFAULT_DB_URL}, relative to DIR; or mysql://user:pass@host:port/db)`)
    .option('-f, --force', 'create even if DIR already holds a master (keeps its data)')
    .option('-q, --quiet', 'print nothing on success')
    .option('-r, --relocatable', "accepted for Buildbot compatibility; masters are always relocatable")
    .action(async (dir: string, opts: CreateMasterOptions) => createMaster(dir, opts, out));
}
