/** Test results: JUnit XML and TAP readers, and storage in Buildbot's test tables. */
export { looksLikeJUnit, parseJUnitXml } from './junit.js';
export { looksLikeTap, parseTap, TapReader } from './tap.js';
export type { TestCase } from './types.js';
export { getTestResults, getTestResultSet, getTestResultSets, type TestResultData, type TestResultSetData } from './resultSets.js';
export {
  buildStamps,
  caseValues,
  getTestHistory,
  passedOf,
  recordTestResults,
  type BuildStamp,
  type RecordedSet,
  type TestHistoryQuery,
  type TestResultSetSpec,
  type TestResultValue,
  type TestRun,
} from './store.js';
