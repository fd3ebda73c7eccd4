import type { ResolvedConfig } from '../config/resolved.js';
import type { ForceArgs } from '../schedulers/forceScheduler.js';
import type { Logger } from '../util/log.js';
import type { WwwUser } from './auth.js';

/** What the web layer needs from the master (the Master class provides it). */
export interface WwwMaster {
  readonly config: ResolvedConfig;
  force(schedulerName: string, args: ForceArgs): Promise<{ bsid: number; brids: Record<number, number> }>;
  /** name → builderid of this master's builders. */
  builderIds(): ReadonlyMap<string, number>;
}

export interface WwwContext {
  master: WwwMaster;
  logger: Logger;
  users: readonly WwwUser[];
}

/** `www.users` from the config, read as optional until the config schema has it. */
export function configuredUsers(config: ResolvedConfig): WwwUser[] {
  const users = (config.www as { users?: unknown }).users;
  if (!Array.isArray(users)) return [];
  return users.filter(
    (u): u is WwwUser => u !== null && typeof u === 'object' && typeof (u as WwwUser).username === 'string' && typeof (u as WwwUser).password === 'string',
  );
}
