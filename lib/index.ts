/**
 * The public API of buildmaster, for master.config.ts:
 *
 *   import { defineConfig, util, steps, schedulers, changes } from 'buildmaster';
 *   export default defineConfig({ workers: [...], builders: [...], schedulers: [...] });
 *
 * Keep this module's import graph light (no database, SSH or web code): every config loads it.
 */
export { defineConfig } from './config/types.js';
export * as util from './config/util.js';
export * as steps from './config/steps.js';
export * as schedulers from './config/schedulers.js';
export * as changes from './config/changeSources.js';

export type * from './config/types.js';
export type * from './config/steps.js';
export type * from './config/schedulers.js';
export type * from './config/changeSources.js';
export type * from './config/forceParameters.js';
export type * from './config/locks.js';
export type * from './config/renderables.js';
export type { ChangeFilterOptions, FilterableChange } from './config/changeFilter.js';
export type { Duration } from './config/duration.js';
export type * from './config/resolved.js';
