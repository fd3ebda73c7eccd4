import { BuildmasterError } from '../errors/index.js';

/**
 * A bag of build properties, each a (value, source) pair, as Buildbot's process/properties.py.
 * Setting a property replaces it, so precedence is the order in which layers are applied
 * (assembleBuildProperties below follows Buildbot's order). Values must be JSON-serialisable:
 * they are stored in the DB.
 *
 * Storage formats (Buildbot's, so each master reads the other's rows):
 * - build_properties: `value` = JSON of the value, `source` in its own column;
 * - buildset_properties.property_value and change_properties.property_value: JSON of `[value, source]`.
 * JSON is written the way Python's json.dumps does (", " and ": " separators, non-ASCII escaped).
 */

export type PropertyValue = unknown;
export type PropertyPair = [value: PropertyValue, source: string];
/** Properties as the data API and Buildbot's asDict() give them: name → [value, source]. */
export type PropertyDict = Record<string, PropertyPair>;

export class Properties {
  private readonly props = new Map<string, PropertyPair>();
  /** Names set at run time by steps; not carried over when a build is rebuilt. */
  private readonly runtime = new Set<string>();

  static fromDict(dict: Readonly<PropertyDict>): Properties {
    const p = new Properties();
    for (const [name, [value, source]] of Object.entries(dict)) p.setProperty(name, value, source);
    return p;
  }

  /** From name → value, all with one source. */
  static fromValues(values: Readonly<Record<string, PropertyValue>>, source: string): Properties {
    const p = new Properties();
    p.update(values, source);
    return p;
  }

  get size(): number {
    return this.props.size;
  }

  hasProperty(name: string): boolean {
    return this.props.has(name);
  }

  /** The value, or `defaultValue` (undefined) when unset. A value may itself be null. */
  getProperty(name: string, defaultValue?: PropertyValue): PropertyValue {
    const p = this.props.get(name);
    return p ? p[0] : defaultValue;
  }

  getPropertySource(name: string): string | undefined {
    return this.props.get(name)?.[1];
  }

  setProperty(name: string, value: PropertyValue, source: string, opts: { runtime?: boolean } = {}): void {
    assertJsonable(name, value);
    this.props.set(name, [value, source]);
    // As Buildbot: once runtime, a property stays runtime.
    if (opts.runtime) this.runtime.add(name);
  }

  deleteProperty(name: string): void {
    this.props.delete(name);
    this.runtime.delete(name);
  }

  /** Set every name → value with one source. */
  update(values: Readonly<Record<string, PropertyValue>>, source: string, opts: { runtime?: boolean } = {}): void {
    for (const [name, value] of Object.entries(values)) this.setProperty(name, value, source, opts);
  }

  /** Copy all of `other`'s properties (with their sources) over ours. */
  updateFromProperties(other: Properties): void {
    for (const [name, pair] of other.props) {
      this.props.set(name, [pair[0], pair[1]]);
      if (other.runtime.has(name)) this.runtime.add(name);
      else this.runtime.delete(name);
    }
  }

  /** Like updateFromProperties, skipping the other's runtime properties (for a rebuild). */
  updateFromPropertiesNoRuntime(other: Properties): void {
    for (const [name, pair] of other.props) if (!other.runtime.has(name)) this.props.set(name, [pair[0], pair[1]]);
  }

  isRuntime(name: string): boolean {
    return this.runtime.has(name);
  }

  /** name → [value, source] (a copy). */
  asDict(): PropertyDict {
    const out: PropertyDict = {};
    for (const [name, [value, source]] of this.props) out[name] = [value, source];
    return out;
  }

  /** name → value. */
  asValues(): Record<string, PropertyValue> {
    const out: Record<string, PropertyValue> = {};
    for (const [name, [value]] of this.props) out[name] = value;
    return out;
  }

  /** Sorted by name: [name, value, source]. */
  asList(): [string, PropertyValue, string][] {
    return [...this.props.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, [value, source]]) => [name, value, source]);
  }

  clone(): Properties {
    const p = new Properties();
    p.updateFromProperties(this);
    return p;
  }
}

function assertJsonable(name: string, value: PropertyValue): void {
  try {
    if (value !== undefined && JSON.stringify(value) !== undefined) return;
  } catch {
    // fall through
  }
  throw new BuildmasterError(`property '${name}' must be JSON-serialisable`, { userError: true });
}

/** JSON text as Python's json.dumps writes it by default. */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
    return JSON.stringify(value);
  }
  if (typeof value === 'string') return asciiJsonString(value);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (typeof value === 'object') {
    const toJSON = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof toJSON === 'function') return pythonJsonDumps(toJSON.call(value));
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${asciiJsonString(k)}: ${pythonJsonDumps(v)}`).join(', ')}}`;
  }
  throw new BuildmasterError(`cannot store a ${typeof value} as JSON`);
}

function asciiJsonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** build_properties.value */
export function encodePropertyValue(value: PropertyValue): string {
  return pythonJsonDumps(value);
}

export function decodePropertyValue(text: string): PropertyValue {
  return JSON.parse(text);
}

/** buildset_properties / change_properties property_value: JSON of [value, source]. */
export function encodePropertyPair(value: PropertyValue, source: string): string {
  return pythonJsonDumps([value, source]);
}

/**
 * Reads a [value, source] pair. Like Buildbot's change reader, anything that is not a pair of
 * (value, string) is taken as a bare value with `fallbackSource`.
 */
export function decodePropertyPair(text: string, fallbackSource = 'Change'): PropertyPair {
  const parsed: unknown = JSON.parse(text);
  if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[1] === 'string') {
    return [parsed[0], parsed[1]];
  }
  return [parsed, fallbackSource];
}

/** Source stamp fields the build-level properties are taken from. */
export interface SourceStampFields {
  codebase: string;
  branch?: string | null;
  revision?: string | null;
  repository?: string;
  project?: string;
}

/** Properties of a config entry (builder or worker): fixed ones, and defaults that never override. */
export interface PropertyLayer {
  name: string;
  properties?: Readonly<Record<string, PropertyValue>>;
  defaultProperties?: Readonly<Record<string, PropertyValue>>;
}

/**
 * Assemble a build's properties in Buildbot's precedence order (later wins):
 * 1. global config properties (source: the config file), 2. the changes' properties,
 * 3. the build requests' (buildset) properties, 4. the builder (`buildername`, source 'Builder'),
 * 5. the worker (`workername`, source 'Worker'), 6. the build (`buildnumber`, and branch,
 * revision, repository, codebase, project when there is exactly one source stamp; source 'Build'),
 * 7. `builddir` (source 'Worker'). Steps set theirs later, during the build.
 * Any layer may be omitted (e.g. the worker is not known before the build starts).
 */
export function assembleBuildProperties(layers: {
  global?: { values: Readonly<Record<string, PropertyValue>>; source: string };
  changes?: readonly Properties[];
  requests?: readonly Properties[];
  builder?: PropertyLayer;
  worker?: PropertyLayer;
  buildnumber?: number;
  sourcestamps?: readonly SourceStampFields[];
  builddir?: string;
}): Properties {
  const props = new Properties();
  if (layers.global) props.update(layers.global.values, layers.global.source);
  for (const c of layers.changes ?? []) props.updateFromProperties(c);
  for (const r of layers.requests ?? []) props.updateFromProperties(r);
  if (layers.builder) applyConfigLayer(props, layers.builder, 'buildername', 'Builder');
  if (layers.worker) applyConfigLayer(props, layers.worker, 'workername', 'Worker');
  if (layers.buildnumber !== undefined) props.setProperty('buildnumber', layers.buildnumber, 'Build');
  const stamps = layers.sourcestamps ?? [];
  if (stamps.length === 1) {
    const ss = stamps[0];
    props.setProperty('branch', ss.branch ?? null, 'Build');
    props.setProperty('revision', ss.revision ?? null, 'Build');
    props.setProperty('repository', ss.repository ?? '', 'Build');
    props.setProperty('codebase', ss.codebase, 'Build');
    props.setProperty('project', ss.project ?? '', 'Build');
  }
  if (layers.builddir !== undefined) props.setProperty('builddir', layers.builddir, 'Worker');
  return props;
}

function applyConfigLayer(props: Properties, layer: PropertyLayer, nameProp: string, source: string): void {
  if (source === 'Builder') props.setProperty(nameProp, layer.name, source);
  props.update(layer.properties ?? {}, source);
  // A worker's own name is one of its properties and wins over a user property of that name.
  if (source === 'Worker') props.setProperty(nameProp, layer.name, source);
  for (const [name, value] of Object.entries(layer.defaultProperties ?? {})) {
    if (!props.hasProperty(name)) props.setProperty(name, value, source);
  }
}
