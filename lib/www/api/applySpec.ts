/**
 * What is left of a ResultSpec after the endpoint's SQL, applied in memory as Buildbot's
 * ResultSpec.apply: field selection, then filters, then the total, then order, then the page.
 */
import type { FieldValue } from './fields.js';
import type { Filter, ResultSpec } from './resultSpec.js';

export type Item = Record<string, unknown>;

/** A collection as an endpoint returns it: `total` set when it paged in SQL (meta.total). */
export interface ListResult {
  items: Item[];
  total?: number;
}

type Cmp = (a: unknown, b: unknown) => number;

/** Python's ordering of the values we have: numbers, strings, booleans; null before everything. */
const compare: Cmp = (a, b) => {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
};

function matches(f: Filter, d: unknown): boolean {
  const v = f.values;
  if (Array.isArray(d)) {
    // A list field: contains / in look for the value among the elements (Python's `v in d`).
    switch (f.op) {
      case 'contains':
        return v.some((x) => d.includes(x));
      case 'eq':
      case 'in':
        return false;
      default:
        return f.op === 'ne' || f.op === 'notin';
    }
  }
  if (v.length === 1) {
    const x = v[0];
    switch (f.op) {
      case 'eq':
        return d === x;
      case 'ne':
        return d !== x;
      case 'lt':
        return d !== null && compare(d, x) < 0;
      case 'le':
        return d !== null && compare(d, x) <= 0;
      case 'gt':
        return d !== null && compare(d, x) > 0;
      case 'ge':
        return d !== null && compare(d, x) >= 0;
      case 'contains':
        return typeof d === 'string' && d.includes(String(x));
      case 'in':
        return v.includes(d as FieldValue);
      case 'notin':
        return !v.includes(d as FieldValue);
    }
  }
  switch (f.op) {
    case 'eq':
    case 'in':
      return v.includes(d as FieldValue);
    case 'ne':
    case 'notin':
      return !v.includes(d as FieldValue);
    case 'contains':
      return typeof d === 'string' && v.some((x) => d.includes(String(x)));
    default:
      return false;
  }
}

/** Sorts by `order` (each field, '-' for descending), stable; null sorts first ascending. */
export function sortItems(items: Item[], order: readonly string[]): void {
  const keys = order.map((o) => (o.startsWith('-') ? { k: o.slice(1), dir: -1 } : { k: o, dir: 1 }));
  items.sort((a, b) => {
    for (const { k, dir } of keys) {
      const c = compare(a[k], b[k]);
      if (c !== 0) return c * dir;
    }
    return 0;
  });
}

/** Keeps only the selected fields of an item. */
export function selectFields(item: Item, fields: readonly string[] | undefined): Item {
  if (!fields) return item;
  const out: Item = {};
  for (const f of fields) if (Object.hasOwn(item, f)) out[f] = item[f];
  return out;
}

/** The rest of `spec` on a collection: the page to send and meta.total. */
export function applyToList(spec: ResultSpec, result: ListResult): { items: Item[]; total: number } {
  let items = spec.fields ? result.items.map((i) => selectFields(i, spec.fields)) : result.items;
  for (const f of spec.filters) items = items.filter((i) => matches(f, i[f.field]));
  const total = result.total ?? items.length;
  if (spec.order && spec.order.length > 0) {
    items = [...items];
    sortItems(items, spec.order);
  }
  if (spec.offset !== undefined || spec.limit !== undefined) {
    const start = spec.offset ?? 0;
    items = items.slice(start, spec.limit === undefined ? undefined : start + spec.limit);
  }
  return { items, total };
}
