/** Every benchmark scenario, in the order `npm run bench` runs them. Add a scenario here. */
import type { BenchScenario } from './types.js';
import { scenario as e2e } from './e2e/index.js';
import { scenario as gc } from './gc/index.js';
import { scenario as api } from './api/index.js';
import { scenario as history } from './history/index.js';
import { scenario as claims } from './claims/index.js';

export const SCENARIOS: BenchScenario[] = [e2e, api, history, gc, claims];
