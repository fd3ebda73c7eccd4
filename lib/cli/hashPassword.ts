/**
 * `buildmaster hash-password`: prints the scrypt hash to put in www.auth.users[].passwordHash (or
 * tokens[].tokenHash). The password is read from stdin — typed without echo on a terminal, or piped
 * (first line) — never from the command line, where `ps` and shell history would show it.
 * `--new-token` makes a random API token instead and prints it with its hash.
 */
import type { Command } from 'commander';
import type { Readable } from 'node:stream';
import { UsageError } from '../errors/index.js';
import { hashPassword, newToken } from '../www/passwords.js';
import type { Output } from './output.js';

/** The first line of a piped stdin, or what is typed on a terminal (not echoed). */
async function readSecret(input: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => void }, out: Output): Promise<string> {
  if (input.isTTY && input.setRawMode) {
    out.stderr('Password: ');
    input.setRawMode(true);
    try {
      let text = '';
      for await (const chunk of input) {
        for (const ch of String(chunk)) {
          if (ch === '\r' || ch === '\n') return text;
          if (ch === '\u0003') throw new UsageError('cancelled');
          text = ch === '\u007f' ? text.slice(0, -1) : text + ch;
        }
      }
      return text;
    } finally {
      input.setRawMode(false);
      out.stderr('\n');
    }
  }
  let text = '';
  for await (const chunk of input) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0]!;
}

export async function hashPasswordCommand(opts: { newToken?: boolean }, out: Output, input: Readable = process.stdin): Promise<void> {
  if (opts.newToken) {
    const token = newToken();
    out.stdout(`token: ${token}\ntokenHash: ${await hashPassword(token)}\n`);
    return;
  }
  const secret = await readSecret(input, out);
  if (secret === '') throw new UsageError('empty password: type one (or pipe it in on stdin)');
  out.stdout(`${await hashPassword(secret)}\n`);
}

export function registerHashPassword(program: Command, out: Output): void {
  program
    .command('hash-password')
    .description('print the scrypt hash of a password read from stdin, for www.auth.users[].passwordHash')
    .option('--new-token', 'make a random API token and print it with its hash (www.auth.tokens[].tokenHash)')
    .action(async (opts: { newToken?: boolean }) => hashPasswordCommand(opts, out));
}
