/**
 * What a resource module declares: its resource type (name, plural, field types) and endpoints
 * (Buildbot's path patterns and a get). lib/www/api/index.ts lists the modules.
 */
import type { Database } from '../../db/connection.js';
import type { WwwContext } from '../context.js';
import type { Item, ListResult } from './applySpec.js';
import type { Field } from './fields.js';
import type { Query, ResultSpec } from './resultSpec.js';

export type { Item, ListResult } from './applySpec.js';

export interface ResourceType {
  /** Singular name (Buildbot's `name`), e.g. 'build'. */
  name: string;
  /** The envelope key, e.g. 'builds'. */
  plural: string;
  fields: Readonly<Record<string, Field>>;
}

/** Values taken from the path: `n:` segments are numbers, the others strings. */
export type PathArgs = Readonly<Record<string, number | string | undefined>>;

export interface ApiRequest {
  db: Database;
  www: WwwContext;
  args: PathArgs;
  /** The parsed query; the endpoint takes out what it handles, the rest is applied after it. */
  spec: ResultSpec;
  /** The endpoint's own extra query parameters (Endpoint.params), as given. */
  extra: Query;
}

/** A file-like answer (Buildbot's raw endpoints): sent as an attachment. */
export interface RawResult {
  raw: string | Buffer;
  mimeType: string;
  filename: string;
}

interface EndpointBase {
  type: ResourceType;
  /**
   * Buildbot-style path patterns below /api/v2, whitespace-separated: literal segments,
   * `n:name` (an integer), `i:name` (an identifier), `:name` (anything).
   */
  paths: string;
  /** Listed in the root's rootlinks under this name. */
  rootLink?: string;
  /** Query parameters of our extensions that are not fields (e.g. `with_timestamps`). */
  params?: readonly string[];
}

export interface ItemEndpoint extends EndpointBase {
  kind: 'item';
  /** undefined: 404. */
  get(r: ApiRequest): Promise<Item | undefined>;
}

export interface CollectionEndpoint extends EndpointBase {
  kind: 'collection';
  /** undefined: 404 (most collections answer an empty list instead, as Buildbot). */
  get(r: ApiRequest): Promise<ListResult | undefined>;
}

export interface RawEndpoint extends EndpointBase {
  kind: 'raw';
  get(r: ApiRequest): Promise<RawResult | undefined>;
}

export type Endpoint = ItemEndpoint | CollectionEndpoint | RawEndpoint;

/** A resource module: its endpoints, in the order their root links are listed. */
export interface ApiModule {
  endpoints: readonly Endpoint[];
}
