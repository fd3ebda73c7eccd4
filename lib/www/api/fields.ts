/**
 * The field types of the data API resources (Buildbot's data/types.py) and how a query-string value
 * becomes a value of each (valueFromString): what `field=value` and `field__op=value` compare with.
 */
export type FieldKind = 'integer' | 'datetime' | 'string' | 'identifier' | 'boolean' | 'list' | 'object' | 'binary';

export interface Field {
  kind: FieldKind;
  /** May be null (Buildbot's NoneOk). */
  nullable?: boolean;
  /** The element kind of a list. */
  of?: FieldKind;
  /** identifier: the most characters. */
  max?: number;
}

/** Shorthands for resource declarations. */
export const F = {
  int: (nullable = false): Field => ({ kind: 'integer', nullable }),
  date: (nullable = false): Field => ({ kind: 'datetime', nullable }),
  str: (nullable = false): Field => ({ kind: 'string', nullable }),
  ident: (max: number): Field => ({ kind: 'identifier', max }),
  bool: (): Field => ({ kind: 'boolean' }),
  list: (of: FieldKind): Field => ({ kind: 'list', of }),
  obj: (nullable = false): Field => ({ kind: 'object', nullable }),
  binary: (nullable = false): Field => ({ kind: 'binary', nullable }),
} as const;

export type FieldValue = number | string | boolean;

const IDENT_RE = /^[a-zA-Z_-][a-zA-Z0-9._-]*$/;
/** What Python's int() accepts, less the exotic forms. */
const INT_RE = /^\s*[+-]?\d+\s*$/;
const BOOLEANS: Readonly<Record<string, boolean>> = { on: true, true: true, yes: true, '1': true, off: false, false: false, no: false, '0': false };

/** Why `text` is not a value of `kind`, or the value. */
function parseKind(kind: FieldKind, text: string, max?: number): FieldValue | { invalid: string } {
  switch (kind) {
    case 'integer':
    case 'datetime':
      return INT_RE.test(text) ? Number.parseInt(text, 10) : { invalid: `'${text}' is not an integer` };
    case 'boolean': {
      const b = BOOLEANS[text.toLowerCase()];
      return b === undefined ? { invalid: `'${text}' is not a boolean (on/true/yes/1 or off/false/no/0)` } : b;
    }
    case 'identifier':
      if (!IDENT_RE.test(text) || (max !== undefined && text.length > max)) return { invalid: `'${text}' is not an identifier` };
      return text;
    case 'string':
    case 'binary':
      return text;
    default:
      return { invalid: `${kind} fields cannot be compared with a value` };
  }
}

/** The value a filter on `field` compares with; a list field compares its elements. */
export function parseFieldValue(field: Field, text: string): FieldValue | { invalid: string } {
  if (field.kind === 'list') return parseKind(field.of ?? 'object', text);
  return parseKind(field.kind, text, field.max);
}

/** Buildbot's path element types: `n:` an integer, `i:` an identifier. */
export function parsePathInt(text: string): number | undefined {
  return INT_RE.test(text) ? Number.parseInt(text, 10) : undefined;
}

export function isPathIdentifier(text: string): boolean {
  return IDENT_RE.test(text);
}
