import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { UsageError } from '../errors/index.js';
import { masterPaths } from '../master/paths.js';
import { runningPid } from '../master/pidFile.js';
import { loadConfig } from '../config/loader.js';
import { openDatabase } from '../db/connection.js';
import { upgradeDatabase } from '../db/migrate.js';
import type { Output } from './output.js';

export interface UpgradeMasterOptions {
  quiet?: boolean;
}

/**
 * Brings a master's database to the current schema. As in Buildbot, the config must load first (it names
 * the database) and the master must not be running. A sqlite DB is backed up before anything changes.
 */
export async function upgradeMaster(dir: string, opts: UpgradeMasterOptions, out: Output): Promise<void> {
  const paths = masterPaths(dir);
  if (!existsSync(paths.config)) {
    throw new UsageError(`${paths.basedir} is not a master directory: ${paths.config} does not exist (run create-master first)`);
  }
  const pid = runningPid(paths.pidFile);
  if (pid !== undefined) {
    throw new UsageError(`the master in ${paths.basedir} is running (pid ${pid}); stop it before upgrading`);
  }
  const { config } = await loadConfig(paths.config);
  const db = await openDatabase({ url: config.db.url, basedir: paths.basedir });
  try {
    const result = await upgradeDatabase(db, { backup: true });
    if (result.upToDate) {
      out.info('database is up to date; nothing to do', opts.quiet);
      return;
    }
    if (result.backupPath) out.info(`backed up the database to ${result.backupPath}`, opts.quiet);
    if (result.adoptedBuildbot) {
      out.info('recognised a Buildbot 3.7 database (alembic revision 059): its tables and rows are kept as they are', opts.quiet);
    }
    if (result.applied.length > 0) {
      out.info(`applied ${result.applied.length} migration(s): ${result.applied.join(', ')}`, opts.quiet);
    }
    out.info('upgrade complete', opts.quiet);
  } finally {
    await db.close();
  }
}

export function registerUpgradeMaster(program: Command, out: Output): void {
  program
    .command('upgrade-master')
    .description("apply pending database migrations (backs up a sqlite DB first); accepts a Buildbot 3.7 DB")
    .argument('[dir]', 'the master directory', '.')
    .option('-q, --quiet', 'print nothing on success')
    .option('-r, --replace', 'accepted for Buildbot compatibility; has no effect')
    .action(async (dir: string, opts: UpgradeMasterOptions) => upgradeMaster(dir, opts, out));
}
