/**
 * The e2e benchmark's slave hosts: the tests' real OpenSSH sshd (test/support/sshd.ts) with K throwaway
 * users, started outside mocha. It needs root (useradd, a privileged sshd).
 */
import { existsSync } from 'node:fs';
import { SSHD, startSshd, type Sshd } from '../../test/support/sshd.js';

export type { Sshd };

/** Why this machine cannot run the benchmark's sshd, or undefined when it can. */
export function sshdUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'it must run as root (it creates throwaway users for a private OpenSSH sshd)';
  if (!existsSync(SSHD)) return `${SSHD} is missing (apt-get install openssh-server)`;
  return undefined;
}

export async function startBenchSshd(users: number): Promise<Sshd> {
  const reason = sshdUnavailable();
  if (reason) throw new Error(`the e2e benchmark cannot start sshd: ${reason}`);
  // startSshd only calls skip() when sshd is unusable, which was ruled out above.
  const ctx = {
    skip: () => {
      throw new Error('sshd unavailable');
    },
  } as unknown as Mocha.Context;
  return startSshd(ctx, { users, maxSessions: 64 });
}
