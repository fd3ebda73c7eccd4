import { BuildmasterError } from './BuildmasterError.js';

/** A renderable (Interpolate, Property, Secret, Transform) could not be rendered for a build. */
export class RenderError extends BuildmasterError {}
