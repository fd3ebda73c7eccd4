import { BuildmasterError } from './BuildmasterError.js';

export type SshErrorCode =
  | 'connect' // TCP, handshake or timeout
  | 'auth' // the host refused every authentication method
  | 'key' // our private key could not be read or decrypted
  | 'notConnected'
  | 'channel' // a channel could not be opened
  | 'sftp'
  | 'closed'; // the connection was closed by us

/** Talking to a slave host over SSH failed. `worker` and `host` say which. */
export class SshError extends BuildmasterError {
  readonly code: SshErrorCode;
  readonly worker?: string;
  readonly host?: string;

  constructor(
    message: string,
    info: { code: SshErrorCode; worker?: string; host?: string; cause?: unknown; userError?: boolean },
  ) {
    super(message, { cause: info.cause, userError: info.userError ?? (info.code === 'auth' || info.code === 'key') });
    this.code = info.code;
    this.worker = info.worker;
    this.host = info.host;
  }
}
