import { PosixPlatform } from './posix.js';

/**
 * macOS (Remote Login = Apple's OpenSSH). Everything that matters is POSIX: sshd makes each
 * session a process group, which is why we need no `setsid` (macOS has no such binary), and
 * `kill -SIG -PGID` works in its /bin/sh (bash 3.2 or dash) and zsh. Kept as its own platform so
 * config and logs say what the host is, and so a difference has a place to go.
 */
export class MacosPlatform extends PosixPlatform {
  override readonly name = 'macos' as const;
}
