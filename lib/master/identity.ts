import { hostname } from 'node:os';
import { resolve } from 'node:path';

/**
 * The name a master is known by in the `masters` table, as Buildbot forms it: `host:basedir`. The same
 * directory on the same host is the same master across restarts, which is what lets a restart find and
 * housekeep what its previous incarnation left behind.
 */
export function masterName(basedir: string, host: string = hostname()): string {
  return `${host}:${resolve(basedir)}`;
}
