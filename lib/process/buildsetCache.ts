/**
 * What the master knows of buildsets that never changes once written: a buildset's reason,
 * submission time and parent, its properties and its source stamps (Buildbot never updates those
 * rows, and never deletes source stamps). The scheduler that adds a buildset leaves it here, so the
 * `buildsets new` message, the build of its requests and the `buildsets complete` message read
 * none of it back. Anything missing — buildsets of other masters, or older than the cache holds —
 * is read from the DB. Bounded: least recently used entries go first.
 *
 * Only the immutable columns of a cached row are meaningful; complete/complete_at/results are the
 * values at insertion, and callers that publish a completion supply the new ones.
 */
import type { BuildsetRow, PropertyMap } from '../db/buildsets.js';
import { getBuildset, getBuildsetProperties, getBuildsetSourcestamps } from '../db/buildsets.js';
import type { Database } from '../db/connection.js';
import { findOrCreateSourcestamp, getSourcestamps, sourcestampHash, type SourcestampSpec, type SourcestampWithPatch } from '../db/sourcestamps.js';

export interface BuildsetFacts {
  /** undefined when the buildset does not exist. */
  row: BuildsetRow | undefined;
  properties: PropertyMap;
  sourcestamps: SourcestampWithPatch[];
}

const DEFAULT_CAPACITY = 2000;
/**
 * How long a stamp's id is trusted by hash. The janitor deletes stamps nobody references; a stamp
 * found here within this time is still referenced by the buildset it was found for (horizons are far
 * longer), so it cannot have been deleted. Without a bound a long-running master would hand out ids
 * the janitor removed hours ago.
 */
const STAMP_ID_TTL_MS = 10 * 60_000;

/** A Map used as an LRU: reads move an entry to the end, inserts evict from the front. */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }

  delete(key: K): void {
    this.map.delete(key);
  }
}

export class BuildsetCache {
  private readonly buildsets: Lru<number, Promise<BuildsetFacts>>;
  private readonly stamps: Lru<number, SourcestampWithPatch>;
  private readonly stampIds: Lru<string, { id: number; at: number }>;

  constructor(
    private readonly db: Database,
    capacity = DEFAULT_CAPACITY,
  ) {
    this.buildsets = new Lru(capacity);
    this.stamps = new Lru(capacity);
    this.stampIds = new Lru(capacity);
  }

  /** The buildset's facts, from the cache or read (three statements) from the DB. */
  get(bsid: number): Promise<BuildsetFacts> {
    let f = this.buildsets.get(bsid);
    if (!f) {
      f = this.load(bsid);
      this.buildsets.set(bsid, f);
      f.then(
        (v) => {
          if (!v.row) this.buildsets.delete(bsid);
        },
        () => this.buildsets.delete(bsid),
      );
    }
    return f;
  }

  private async load(bsid: number): Promise<BuildsetFacts> {
    const [row, properties, sourcestamps] = await Promise.all([
      getBuildset(this.db, bsid),
      getBuildsetProperties(this.db, bsid),
      getBuildsetSourcestamps(this.db, bsid),
    ]);
    for (const ss of sourcestamps) this.stamps.set(ss.id, ss);
    return { row, properties, sourcestamps };
  }

  /** Record a buildset just written: its row as inserted, its properties as given, its stamp ids in order. */
  async remember(row: BuildsetRow, properties: PropertyMap, ssids: readonly number[]): Promise<BuildsetFacts> {
    // Stored as JSON: keep exactly what a read would give back.
    const stored: PropertyMap = {};
    for (const [name, pair] of Object.entries(properties)) stored[name] = JSON.parse(JSON.stringify(pair)) as [unknown, string];
    const facts: BuildsetFacts = { row, properties: stored, sourcestamps: await this.sourcestamps(ssids) };
    this.buildsets.set(row.id, Promise.resolve(facts));
    return facts;
  }

  /** A completed buildset is not asked about again. */
  forget(bsid: number): void {
    this.buildsets.delete(bsid);
  }

  /** Full sourcestamp rows by id, in the order given; those not cached are read in one statement. */
  async sourcestamps(ssids: readonly number[]): Promise<SourcestampWithPatch[]> {
    const missing = ssids.filter((id) => this.stamps.get(id) === undefined);
    if (missing.length > 0) for (const ss of await getSourcestamps(this.db, missing)) this.stamps.set(ss.id, ss);
    const out: SourcestampWithPatch[] = [];
    for (const id of ssids) {
      const ss = this.stamps.get(id);
      if (ss) out.push(ss);
    }
    return out;
  }

  /** The stamp's id, found or created; an unpatched stamp's is remembered by hash (a patched one never dedups). */
  async sourcestampId(spec: SourcestampSpec, now: number): Promise<number> {
    const hash = sourcestampHash(spec);
    const known = hash !== undefined ? this.stampIds.get(hash) : undefined;
    if (known !== undefined && Date.now() - known.at < STAMP_ID_TTL_MS) return known.id;
    const id = await findOrCreateSourcestamp(this.db, spec, undefined, now);
    if (hash !== undefined) this.stampIds.set(hash, { id, at: Date.now() });
    return id;
  }
}
