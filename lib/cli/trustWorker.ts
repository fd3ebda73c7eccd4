import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { UsageError } from '../errors/index.js';
import { loadConfig } from '../config/loader.js';
import { masterPaths } from '../master/paths.js';
import { trustHostKey } from '../workers/knownHosts.js';
import type { Output } from './output.js';

/**
 * `trust-worker DIR NAME`: read the host key the worker's SSH server presents and add it to
 * DIR/known_hosts, printing its fingerprint so the user can compare it with the host's own
 * (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` there). A running master uses it on its next
 * connection attempt; no restart needed.
 */
export async function trustWorker(dir: string, name: string, opts: { quiet?: boolean }, out: Output): Promise<void> {
  const paths = masterPaths(dir);
  if (!existsSync(paths.config)) throw new UsageError(`${paths.basedir} is not a master directory: ${paths.config} does not exist`);
  const { config } = await loadConfig(paths.config);
  const worker = config.workers.find((w) => w.name === name);
  if (!worker) {
    const names = config.workers.map((w) => w.name);
    throw new UsageError(`no worker named '${name}' in ${paths.config}${names.length ? ` (workers: ${names.join(', ')})` : ' (it has no workers)'}`);
  }
  const r = await trustHostKey(paths.basedir, worker);
  const where = r.port === 22 ? r.host : `[${r.host}]:${r.port}`;
  out.stdout(`${r.fingerprint}\n`);
  out.info(`trusted the ${r.keyType} host key of ${where} for worker ${name}${r.replaced ? ` (replacing ${r.replaced} older key(s))` : ''}; written to ${r.file}`, opts.quiet);
  out.info('compare the fingerprint above with the one the host shows for its key (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub)', opts.quiet);
  if (worker.hostKey) {
    out.info(`note: worker ${name} pins hostKey ${worker.hostKey} in the config, which takes precedence over known_hosts`, opts.quiet);
  }
}

export function registerTrustWorker(program: Command, out: Output): void {
  program
    .command('trust-worker')
    .description("add a worker's SSH host key to DIR/known_hosts (prints its fingerprint)")
    .argument('<dir>', 'the master directory')
    .argument('<name>', 'the worker, as named in master.config.ts')
    .option('-q, --quiet', 'print only the fingerprint')
    .action(async (dir: string, name: string, opts: { quiet?: boolean }) => trustWorker(dir, name, opts, out));
}
