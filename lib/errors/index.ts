export { BuildmasterError } from './BuildmasterError.js';
export { UsageError } from './UsageError.js';
