import { resolve, join } from 'node:path';

/** The files of a master directory, in one place so every command agrees on them. */
export interface MasterPaths {
  basedir: string;
  config: string;
  packageJson: string;
  pidFile: string;
  /** What the running master reports to `stop` and `reconfig` (see statusFile.ts). */
  statusFile: string;
  logFile: string;
  knownHosts: string;
}

export const CONFIG_FILE_NAME = 'master.config.ts';

export function masterPaths(dir: string): MasterPaths {
  const basedir = resolve(dir);
  return {
    basedir,
    config: join(basedir, CONFIG_FILE_NAME),
    packageJson: join(basedir, 'package.json'),
    pidFile: join(basedir, 'buildmaster.pid'),
    statusFile: join(basedir, 'buildmaster.status.json'),
    logFile: join(basedir, 'master.log'),
    knownHosts: join(basedir, 'known_hosts'),
  };
}
