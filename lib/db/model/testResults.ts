import type { Sequelize } from 'sequelize';
import { col, defineTable } from './columns.js';

export interface TestResultSetRow {
  id: number;
  builderid: number;
  buildid: number;
  stepid: number;
  description: string | null;
  category: string;
  value_unit: string;
  tests_passed: number | null;
  tests_failed: number | null;
  complete: number;
}

export interface TestResultRow {
  id: number;
  builderid: number;
  test_result_setid: number;
  test_nameid: number | null;
  test_code_pathid: number | null;
  line: number | null;
  duration_ns: number | null;
  value: string;
}

export interface TestNameRow {
  id: number;
  builderid: number;
  name: string;
}

export interface TestCodePathRow {
  id: number;
  builderid: number;
  path: string;
}

export function defineTestResults(s: Sequelize) {
  return {
    test_result_sets: defineTable<TestResultSetRow, 'id' | 'description' | 'tests_passed' | 'tests_failed'>(
      s, 'test_result_sets', {
        id: col.id(),
        builderid: col.int(),
        buildid: col.int(),
        stepid: col.int(),
        description: col.text({ null: true }),
        category: col.text(),
        value_unit: col.text(),
        tests_passed: col.int({ null: true }),
        tests_failed: col.int({ null: true }),
        complete: col.smallint(),
      }),
    test_results: defineTable<TestResultRow, 'id' | 'test_nameid' | 'test_code_pathid' | 'line' | 'duration_ns'>(
      s, 'test_results', {
        id: col.id(),
        builderid: col.int(),
        test_result_setid: col.int(),
        test_nameid: col.int({ null: true }),
        test_code_pathid: col.int({ null: true }),
        line: col.int({ null: true }),
        duration_ns: col.int({ null: true }),
        value: col.text(),
      }),
    test_names: defineTable<TestNameRow, 'id'>(s, 'test_names', {
      id: col.id(),
      builderid: col.int(),
      name: col.text(),
    }),
    test_code_paths: defineTable<TestCodePathRow, 'id'>(s, 'test_code_paths', {
      id: col.id(),
      builderid: col.int(),
      path: col.text(),
    }),
  };
}
