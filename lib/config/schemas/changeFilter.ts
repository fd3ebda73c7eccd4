/** Schema of util.ChangeFilter options. */
import { z } from 'zod';
import {
  CHANGE_FILTER_FIELDS,
  compilePattern,
  filterOptionName,
  resolveChangeFilter,
  type ChangeFilterOptions,
  type ResolvedChangeFilter,
} from '../changeFilter.js';
import { describeValue, fn, forward, obj, record } from './common.js';

const values = () =>
  z.union([z.string(), z.array(z.string())], {
    error: (iss) => `expected a string or an array of strings, got ${describeValue(iss.input)}`,
  });

// For branch, null (the default branch) is a value like any other.
const branchValues = () =>
  z.union([z.string(), z.null(), z.array(z.string().nullable())], {
    error: (iss) => `expected a branch name, null or an array of them, got ${describeValue(iss.input)}`,
  });

const patterns = () =>
  z.unknown().superRefine((v, ctx) => {
    const list = Array.isArray(v) ? v : [v];
    if (list.length === 0) ctx.addIssue({ code: 'custom', message: 'must not be empty' });
    for (const p of list) {
      if (typeof p !== 'string' && !(p instanceof RegExp)) {
        ctx.addIssue({ code: 'custom', message: `expected a regular expression (string or RegExp), got ${describeValue(p)}` });
        continue;
      }
      try {
        compilePattern(p);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `bad regular expression: ${(err as Error).message}` });
      }
    }
  });

const shape: Record<string, z.ZodType> = { filter_fn: fn().optional() };
for (const field of CHANGE_FILTER_FIELDS) {
  shape[filterOptionName(field, 'eq')] = (field === 'branch' ? branchValues() : values()).optional();
  shape[filterOptionName(field, 'not_eq')] = (field === 'branch' ? branchValues() : values()).optional();
  shape[filterOptionName(field, 're')] = patterns().optional();
  shape[filterOptionName(field, 'not_re')] = patterns().optional();
  shape[`${field}_fn`] = fn().optional();
}
shape.property_eq = record(values()).optional();
shape.property_not_eq = record(values()).optional();
shape.property_re = record(patterns()).optional();
shape.property_not_re = record(patterns()).optional();

const changeFilterOptions = obj(shape).transform((o) => resolveChangeFilter(o as ChangeFilterOptions));

export const changeFilter = z.unknown().transform((v, ctx): ResolvedChangeFilter => {
  if ((v as { kind?: unknown } | null)?.kind !== 'ChangeFilter') {
    ctx.addIssue({ code: 'custom', message: `expected new util.ChangeFilter({...}), got ${describeValue(v)}`, input: v });
    return z.NEVER;
  }
  return forward(changeFilterOptions, (v as { options?: unknown }).options ?? {}, ctx) as ResolvedChangeFilter;
});
