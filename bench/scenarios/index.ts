/** Every benchmark scenario, in the order `npm run bench` runs them. Add a scenario here. */
import type { BenchScenario } from './types.js';
import { scenario as e2e } from './e2e/index.js';

export const SCENARIOS: BenchScenario[] = [e2e];
