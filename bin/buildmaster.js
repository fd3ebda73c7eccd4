#!/usr/bin/env node
// Thin launcher: the CLI lives in lib/cli. Runs the compiled build (made by `npm ci` / `npm run build`).
import { main } from '../dist/lib/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
