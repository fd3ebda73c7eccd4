/**
 * Step 0 of a build on the slave (Buildbot's worker preparation and ping): the connection must be
 * up, the builder's directory is created (which proves the host answers), and the environment a
 * command there sees is read once, for the logEnviron headers of the build's commands.
 */
import { SshError } from '../errors/SshError.js';
import type { Platform } from '../workers/platforms/platform.js';
import type { SshConnection } from '../workers/sshConnection.js';

/** A command printing the environment as NAME=value lines. */
export function envCommand(platform: Platform): string | string[] {
  switch (platform.shell) {
    case 'sh':
      return ['env'];
    case 'cmd':
      return 'set';
    case 'powershell':
      return 'Get-ChildItem env: | ForEach-Object { $_.Name + "=" + $_.Value }';
  }
}

/** NAME=value lines; a line without a valid `NAME=` continues the previous value (multi-line values). */
export function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Za-z_][A-Za-z0-9_()]*)=(.*)$/.exec(line);
    if (m) {
      env[m[1]] = m[2];
      last = m[1];
    } else if (last !== undefined && line !== '') env[last] += '\n' + line;
  }
  return env;
}

export class WorkerUnavailable extends Error {}

/** Check the connection and create `builddir`; returns the slave's environment (undefined if unreadable). */
export async function prepareWorker(conn: SshConnection, builddir: string): Promise<Record<string, string> | undefined> {
  if (!conn.isConnected()) throw new WorkerUnavailable(`worker ${conn.workerName} is not connected (${conn.lostReason() ?? 'unknown'})`);
  await conn.mkdirp(builddir);
  try {
    const r = await conn.runCapture({ command: envCommand(conn.platform), timeoutS: 60 });
    if (r.ended === 'connectionLost') throw new SshError(r.message, { code: 'notConnected', worker: conn.workerName });
    return r.ended === 'exit' && r.rc === 0 ? parseEnv(r.stdout) : undefined;
  } catch (err) {
    if (!conn.isConnected()) throw err;
    return undefined;
  }
}
