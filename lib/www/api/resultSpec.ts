/**
 * The query of a data API GET, parsed as Buildbot's resultspec_from_jsonapi does: `field=`,
 * `order=[-]f`, `limit`, `offset`, `property=`, `f=v` (repeated: any of) and `f__op=v`. What the
 * endpoint pushes into SQL it takes out of the spec (take*), and applySpec does the rest in memory.
 *
 * One deliberate difference: Buildbot ignores `f__op=` when f or op is unknown; we answer 400 and
 * say which, since a silently ignored filter returns everything.
 */
import { ApiError } from './apiError.js';
import { parseFieldValue, type Field, type FieldValue } from './fields.js';

export type FilterOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'contains' | 'in' | 'notin';

const SINGULAR_OPS: ReadonlySet<string> = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'contains', 'in', 'notin']);
const PLURAL_OPS: ReadonlySet<string> = new Set(['eq', 'ne', 'contains', 'in', 'notin']);

export interface Filter {
  field: string;
  op: FilterOp;
  values: FieldValue[];
}

export type Query = Readonly<Record<string, string | string[] | undefined>>;

export class ResultSpec {
  constructor(
    public filters: Filter[],
    /** Selected fields (`field=`), or undefined for all. */
    public fields: string[] | undefined,
    /** `order=`, each a field name with an optional leading '-'. */
    public order: string[] | undefined,
    public limit: number | undefined,
    public offset: number | undefined,
    /** `property=` values (builds, buildrequests): names, or '*'. */
    public properties: string[],
  ) {}

  static empty(): ResultSpec {
    return new ResultSpec([], undefined, undefined, undefined, undefined, []);
  }

  /** Removes and returns the one `eq` value of a filter on `field`, if that is the only one. */
  takeEq(field: string): FieldValue | undefined {
    const i = this.filters.findIndex((f) => f.field === field && f.op === 'eq' && f.values.length === 1);
    if (i < 0) return undefined;
    return this.filters.splice(i, 1)[0].values[0];
  }

  /** The spec without pagination (what a singular endpoint, or one that pages itself, leaves). */
  takePaging(): { limit?: number; offset?: number } {
    const { limit, offset } = this;
    this.limit = this.offset = undefined;
    return { limit, offset };
  }
}

function values(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function nonNegativeInt(name: string, text: string | undefined): number {
  if (text === undefined || !/^\s*\+?\d+\s*$/.test(text)) throw new ApiError(400, `invalid ${name}`);
  return Number.parseInt(text, 10);
}

/**
 * Parses the query against the resource's fields. `collection` false: only `field=` (and
 * `property=`) make sense (Buildbot: "this is not a collection").
 */
export function parseResultSpec(query: Query, fieldDefs: Readonly<Record<string, Field>>, collection: boolean): ResultSpec {
  const known = (k: string) => Object.hasOwn(fieldDefs, k);
  const checkFields = (names: string[], negOk: boolean) => {
    for (const n of names) {
      const k = negOk && n.startsWith('-') ? n.slice(1) : n;
      if (!known(k)) throw new ApiError(400, `no such field '${k}'`);
    }
  };
  const spec = ResultSpec.empty();
  for (const [arg, raw] of Object.entries(query)) {
    const vals = values(raw);
    if (arg === 'order') {
      checkFields(vals, true);
      spec.order = vals;
    } else if (arg === 'field') {
      checkFields(vals, false);
      spec.fields = vals;
    } else if (arg === 'limit') {
      spec.limit = nonNegativeInt('limit', vals[0]);
    } else if (arg === 'offset') {
      spec.offset = nonNegativeInt('offset', vals[0]);
    } else if (arg === 'property') {
      spec.properties.push(...vals);
    } else if (known(arg)) {
      spec.filters.push({ field: arg, op: 'eq', values: parseValues(arg, fieldDefs[arg], vals) });
    } else if (arg.includes('__')) {
      const cut = arg.lastIndexOf('__');
      const field = arg.slice(0, cut);
      const op = arg.slice(cut + 2);
      if (!known(field)) throw new ApiError(400, `unrecognized query parameter '${arg}': no such field '${field}'`);
      const ops = vals.length === 1 ? SINGULAR_OPS : PLURAL_OPS;
      if (!ops.has(op)) {
        const why = SINGULAR_OPS.has(op) ? `'${op}' takes one value` : `no operator '${op}' (use ${[...SINGULAR_OPS].join(', ')})`;
        throw new ApiError(400, `unrecognized query parameter '${arg}': ${why}`);
      }
      spec.filters.push({ field, op: op as FilterOp, values: parseValues(arg, fieldDefs[field], vals) });
    } else {
      throw new ApiError(400, `unrecognized query parameter '${arg}'`);
    }
  }
  if (spec.fields) {
    const selected = new Set(spec.fields);
    if (spec.order?.some((o) => !selected.has(o.replace(/^-/, '')))) throw new ApiError(400, 'cannot order on un-selected fields');
    if (spec.filters.some((f) => !selected.has(f.field))) throw new ApiError(400, 'cannot filter on un-selected fields');
  }
  if (!collection && spec.filters.length > 0) throw new ApiError(400, 'this is not a collection');
  return spec;
}

function parseValues(arg: string, field: Field, texts: string[]): FieldValue[] {
  return texts.map((t) => {
    const v = parseFieldValue(field, t);
    if (typeof v === 'object') throw new ApiError(400, `invalid filter value for ${arg}: ${v.invalid}`);
    return v;
  });
}
