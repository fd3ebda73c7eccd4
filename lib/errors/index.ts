export { BuildmasterError } from './BuildmasterError.js';
export { UsageError } from './UsageError.js';
export { SchemaError } from './SchemaError.js';
export { HostKeyError } from './HostKeyError.js';
export { SshError } from './SshError.js';
export { ConfigError, type ConfigProblem } from './ConfigError.js';
export { RenderError } from './RenderError.js';
