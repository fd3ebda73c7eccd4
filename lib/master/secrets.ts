import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/resolved.js';

export type SecretsLookup = (name: string) => Promise<string | undefined>;

/** Names that could leave the secrets directory, or are not a single file name. */
const UNSAFE_NAME = /[/\\]|^\.\.?$|\0/;

/**
 * The master's secrets: `config.secrets.values` first, then one file per secret in `config.secrets.dir`
 * (Buildbot's SecretInAFile: the file's content with trailing newlines stripped). Files are read on every
 * lookup so a rotated secret is used by the next build without a restart.
 */
export function secretsLookup(secrets: ResolvedConfig['secrets']): SecretsLookup {
  const values = new Map(Object.entries(secrets.values));
  return async (name) => {
    const value = values.get(name);
    if (value !== undefined) return value;
    if (!secrets.dir || UNSAFE_NAME.test(name)) return undefined;
    try {
      return (await readFile(join(secrets.dir, name), 'utf8')).replace(/[\r\n]+$/, '');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  };
}
