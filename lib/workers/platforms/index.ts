import type { PlatformName, ShellName } from '../types.js';
import { MacosPlatform } from './macos.js';
import type { Platform } from './platform.js';
import { PosixPlatform } from './posix.js';
import { WindowsPlatform } from './windows.js';

export type { Platform, CommandSpec, RemoteProcessRef, WrappedCommand } from './platform.js';
export { PosixPlatform, shQuote } from './posix.js';
export { MacosPlatform } from './macos.js';
export { WindowsPlatform, cmdEscape, cmdQuoteArg, cmdQuotePath, msvcrtQuote, psQuote } from './windows.js';

/** The platform object for a worker's `platform` and `shell` settings. */
export function platformFor(config: { platform?: PlatformName; shell?: ShellName }): Platform {
  switch (config.platform ?? 'posix') {
    case 'posix':
      if (config.shell && config.shell !== 'sh') throw new TypeError(`a posix worker's shell is 'sh', not '${config.shell}'`);
      return new PosixPlatform();
    case 'macos':
      if (config.shell && config.shell !== 'sh') throw new TypeError(`a macos worker's shell is 'sh', not '${config.shell}'`);
      return new MacosPlatform();
    case 'windows':
      return new WindowsPlatform(config.shell ?? 'cmd');
  }
}
