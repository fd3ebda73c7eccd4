/**
 * Buildbot's util.ChangeFilter (changes/filter.py): which changes a scheduler looks at. For each of
 * project, repository, branch, category and codebase: `X` (equal to one of), `X_not_eq`, `X_re`,
 * `X_not_re` (regular expressions matched at the start, as Python's re.match) and `X_fn`; plus
 * `filter_fn(change)` and `property_eq/_not_eq/_re/_not_re` keyed by property name.
 */

export const CHANGE_FILTER_FIELDS = ['project', 'repository', 'branch', 'category', 'codebase'] as const;
export type ChangeFilterField = (typeof CHANGE_FILTER_FIELDS)[number];

/** What a filter needs to know of a change. `branch` may be null (the default branch). */
export interface FilterableChange {
  project?: string | null;
  repository?: string | null;
  branch?: string | null;
  category?: string | null;
  codebase?: string | null;
  properties?: Record<string, unknown>;
}

type Values = string | string[];
type BranchValues = string | null | (string | null)[];
type Patterns = string | RegExp | (string | RegExp)[];
type ValueFn = (value: string | null) => boolean;

export interface ChangeFilterOptions {
  filter_fn?: (change: any) => boolean;
  project?: Values;
  project_not_eq?: Values;
  project_re?: Patterns;
  project_not_re?: Patterns;
  project_fn?: ValueFn;
  repository?: Values;
  repository_not_eq?: Values;
  repository_re?: Patterns;
  repository_not_re?: Patterns;
  repository_fn?: ValueFn;
  /** null is a real value: the default branch. */
  branch?: BranchValues;
  branch_not_eq?: BranchValues;
  branch_re?: Patterns;
  branch_not_re?: Patterns;
  branch_fn?: ValueFn;
  category?: Values;
  category_not_eq?: Values;
  category_re?: Patterns;
  category_not_re?: Patterns;
  category_fn?: ValueFn;
  codebase?: Values;
  codebase_not_eq?: Values;
  codebase_re?: Patterns;
  codebase_not_re?: Patterns;
  codebase_fn?: ValueFn;
  property_eq?: Record<string, Values>;
  property_not_eq?: Record<string, Values>;
  property_re?: Record<string, Patterns>;
  property_not_re?: Record<string, Patterns>;
}

export class ChangeFilter {
  readonly kind = 'ChangeFilter' as const;
  readonly options: Readonly<ChangeFilterOptions>;

  constructor(options: ChangeFilterOptions = {}) {
    this.options = { ...options };
  }
}

export type FilterOp = 'eq' | 'not_eq' | 're' | 'not_re';

export type FilterCheck =
  | { op: 'eq' | 'not_eq'; values: (string | null)[] }
  | { op: 're' | 'not_re'; patterns: RegExp[] };

/** A validated filter, ready to match changes. */
export interface ResolvedChangeFilter {
  kind: 'ChangeFilter';
  filter_fn?: (change: any) => boolean;
  fns: Partial<Record<ChangeFilterField, ValueFn>>;
  checks: ({ field: ChangeFilterField } & FilterCheck)[];
  propertyChecks: ({ property: string } & FilterCheck)[];
}

const OPS: readonly FilterOp[] = ['eq', 'not_eq', 're', 'not_re'];

/** Option name for a field and op: ('branch', 'eq') → 'branch', ('branch', 're') → 'branch_re'. */
export function filterOptionName(field: ChangeFilterField | 'property', op: FilterOp): string {
  if (field === 'property') return `property_${op}`;
  return op === 'eq' ? field : `${field}_${op}`;
}

/** A pattern given as a string is anchored at the start, like Python's re.match; a RegExp is used as is. */
export function compilePattern(p: string | RegExp): RegExp {
  return typeof p === 'string' ? new RegExp(`^(?:${p})`) : p;
}

function asList<T>(v: T | T[]): T[] {
  return Array.isArray(v) ? v : [v];
}

function check(op: FilterOp, raw: unknown): FilterCheck {
  if (op === 'eq' || op === 'not_eq') return { op, values: asList(raw as string | null | (string | null)[]) };
  return { op, patterns: asList(raw as Patterns).map(compilePattern) };
}

/** Builds the matcher from options already validated (bad regular expressions are caught earlier). */
export function resolveChangeFilter(options: ChangeFilterOptions): ResolvedChangeFilter {
  const o = options as Record<string, unknown>;
  const resolved: ResolvedChangeFilter = { kind: 'ChangeFilter', fns: {}, checks: [], propertyChecks: [] };
  if (options.filter_fn) resolved.filter_fn = options.filter_fn;
  for (const field of CHANGE_FILTER_FIELDS) {
    const fn = o[`${field}_fn`];
    if (typeof fn === 'function') resolved.fns[field] = fn as ValueFn;
    for (const op of OPS) {
      const raw = o[filterOptionName(field, op)];
      // For branch, null is a value (the default branch), so only undefined means "not given".
      if (raw === undefined || (raw === null && field !== 'branch')) continue;
      resolved.checks.push({ field, ...check(op, raw) });
    }
  }
  for (const op of OPS) {
    const byName = o[filterOptionName('property', op)] as Record<string, unknown> | undefined;
    for (const [property, raw] of Object.entries(byName ?? {})) resolved.propertyChecks.push({ property, ...check(op, raw) });
  }
  return resolved;
}

function passes(c: FilterCheck, value: unknown): boolean {
  if (c.op === 'eq' || c.op === 'not_eq') return c.values.includes(value as string | null) === (c.op === 'eq');
  // Buildbot: None never matches _re and always matches _not_re.
  if (value === null || value === undefined) return c.op === 'not_re';
  const hit = (c as { patterns: RegExp[] }).patterns.some((re) => {
    re.lastIndex = 0;
    return re.test(String(value));
  });
  return c.op === 're' ? hit : !hit;
}

/** Buildbot's ChangeFilter.filter_change. */
export function changeFilterMatches(filter: ResolvedChangeFilter, change: FilterableChange): boolean {
  if (filter.filter_fn && !filter.filter_fn(change)) return false;
  for (const field of CHANGE_FILTER_FIELDS) {
    const fn = filter.fns[field];
    if (fn && !fn(change[field] ?? null)) return false;
  }
  for (const c of filter.checks) {
    const value = field(change, c.field);
    if (!passes(c, value)) return false;
  }
  for (const c of filter.propertyChecks) {
    if (!passes(c, change.properties?.[c.property] ?? '')) return false;
  }
  return true;
}

// Buildbot reads getattr(change, prop, ''): a missing attribute is '', a None stays None.
function field(change: FilterableChange, name: ChangeFilterField): unknown {
  return name in change ? change[name] : '';
}
