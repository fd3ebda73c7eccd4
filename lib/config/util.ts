/** The `util` namespace of master.config.ts: renderables, locks, change filters, force-form parameters. */
export { Interpolate, Property, Secret, Transform, type Renderable } from './renderables.js';
export { MasterLock, WorkerLock, LockAccess, type Lock, type LockMode } from './locks.js';
export { ChangeFilter } from './changeFilter.js';
export {
  StringParameter,
  TextParameter,
  IntParameter,
  BooleanParameter,
  ChoiceStringParameter,
  FixedParameter,
  UserNameParameter,
  CodebaseParameter,
} from './forceParameters.js';
/** Builders are plain objects; this is their type, as Buildbot's util.BuilderConfig. */
export type { BuilderConfig } from './types.js';
