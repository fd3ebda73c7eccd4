// Experiment (not the default): keep source maps off in the master. tsx, which compiles master.config.ts,
// turns them on process-wide, and Sequelize's sqlite dialect reads `new Error().stack` on every query,
// so every query then pays for a source-mapped stack trace.
//   npm run bench -- e2e --master-node-arg=--import=./bench/experiments/noSourceMaps.mjs
process.setSourceMapsEnabled = () => {};
