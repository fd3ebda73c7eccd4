import { join, resolve } from 'node:path';
import { CONFIG_FILE_NAME } from '../master/paths.js';

/** The config file of a master directory: DIR/master.config.ts. */
export function configFileFor(dir: string): string {
  return join(resolve(dir), CONFIG_FILE_NAME);
}
