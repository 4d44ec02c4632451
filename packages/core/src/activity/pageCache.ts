import { CompiledQuery } from "kysely";
import { ByteLru } from "../byteLru.ts";
import type { Db } from "../db/connect.ts";
import { executeNamed } from "../db/named.ts";
import { perHandle } from "../db/perHandle.ts";
import { schemaFacts } from "../db/schemaFacts.ts";
import { ROUTE_KIND } from "../rollups/activityRouteRollup.ts";
import { foldsBeforeRead } from "../rollups/fold.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import type {
  ActivityEntity,
  DailyActivityQuery,
  KeyMetadata,
  SpendAnalyticsPaginatedResponse,
} from "./dailyActivity.ts";
import { hasRouteRollups } from "./dailyActivity.ts";

/**
 * The exact answer cache of the paginated daily-activity routes
 * (`/{user,team,organization,customer,agent,tag}/daily/activity`).
 *
 * A page's answer (its JSON bytes as the REST route sends them; the value, parsed once, for in-process
 * and tRPC callers) is kept per route kind, scope (the user id an internal user is narrowed to, or none)
 * and every query parameter (dates, page, page_size, model, api_key, entity ids and exclusions). It is
 * reused only when one statement (one snapshot, one round trip) shows that nothing it was built from
 * changed:
 * - the route rows of its window: the change marks of (kind, day) for every day of the window, from
 *   spendlens.activity_route_marks (migration 0019), which every statement writing activity_route_daily
 *   or activity_route_rows renews in its own transaction, plus the epoch a TRUNCATE renews. A mark is a
 *   sequence value never reused, so the window's marks reading the same means no change to those rows
 *   committed since they were read;
 * - no log pending a fold (spend_log_pending empty: the rollups hold every committed log) and no dirty
 *   day in the window (stale rollups): either sends the call the uncached way, as before;
 * - the metadata the page embeds: an md5 of the current rows of the page's keys (key alias, team, user,
 *   the user's email) and, on the team and user routes, of its entities (team alias, user email).
 *
 * A miss reads the marks first (the check statement), then builds the page the uncached way (a later
 * snapshot: if anything changed in between, the stored marks are older than the data and the next call
 * misses again: never a stale hit), then reads the metadata of the page's ids and keeps the page only
 * when that metadata is exactly what the page embeds (so its digest describes the page).
 *
 * Only pages the route rollups answer are kept: an internal user on a route whose rows do not carry the
 * user, a handle that does not fold before reading (a transaction, a standby) or a database without
 * migration 0019 go the uncached way. Each process has its own cache; a write through another replica
 * renews the marks in the database, so every replica sees it.
 *
 * Memory: SPENDLENS_REPORT_CACHE_MB (read at the edge, runtime.ts) bounds this cache on its own (a budget
 * of the same size as the report's and the aggregated route's); least recently used pages go first.
 */

interface Entry {
  stamp: string;
  /** The page's keys (non-empty) and entities whose metadata it embeds, and their digests. */
  keys: string[];
  ents: string[];
  keyDigest: string;
  entDigest: string;
  bytes: Uint8Array;
  value: SpendAnalyticsPaginatedResponse | null;
  size: number;
}

export class DailyPageCache {
  private readonly entries: ByteLru<Entry>;
  readonly stats = { hits: 0, misses: 0, stored: 0, uncached: 0 };
  constructor(readonly maxBytes: number) {
    this.entries = new ByteLru(maxBytes, (e) => e.size);
  }

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  set(key: string, e: Entry): void {
    this.entries.set(key, e);
  }

  /** Accounts for an entry that grew (its value parsed). */
  grew(key: string, e: Entry, by: number): void {
    if (this.entries.get(key) !== e) return;
    e.size += by;
    this.entries.grew(by);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Bytes held (the bound). */
  get size(): number {
    return this.entries.bytes;
  }

  get count(): number {
    return this.entries.count;
  }
}

/** The cache's size unless the edge sets one (the spend report's default: 32 MiB). */
const DEFAULT_CACHE_MB = 32;
const caches = perHandle<Db, DailyPageCache | null>(() => new DailyPageCache(DEFAULT_CACHE_MB * 2 ** 20));

/** The page cache of one database (null when turned off). */
export function dailyPageCache(db: Db): DailyPageCache | null {
  return caches.get(db);
}

/**
 * Turns the page cache of `db` off (null or 0), gives it a size in bytes (the edge, tests), or puts back
 * a cache taken with dailyPageCache (tests).
 */
export function setDailyPageCache(db: Db, maxBytes: number | null | DailyPageCache): void {
  if (maxBytes instanceof DailyPageCache) caches.set(db, maxBytes);
  else caches.set(db, maxBytes && maxBytes > 0 ? new DailyPageCache(maxBytes) : null);
}

/** The entity metadata a route's page embeds (dailyActivity.ts PAGE_TEXT.entityMeta): its one field. */
const ENTITY_META: Partial<Record<ActivityEntity, { field: string }>> = {
  team: { field: "team_alias" },
  user: { field: "user_email" },
};

interface Check {
  dirty: boolean;
  pending: boolean;
  stamp: string;
  key_digest: string;
  ent_digest: string;
  /** With `rows`: the metadata rows themselves ([token, key_alias, team_id, user_id, user_email], [id, field]). */
  key_rows: [string, string | null, string | null, string | null, string | null][] | null;
  ent_rows: [string, string | null][] | null;
}

/** The check's text (its values bound); one named statement per pooled connection on Postgres. */
const CHECK_SQL = `SELECT c.* FROM spendlens.activity_page_check($1::"char", $2::date, $3::date, $4::text[], $5::text[], $6::text, $7::boolean) c`;

/**
 * The check (spendlens.activity_page_check: migration 0019, its probes made cheaper by 0021; one
 * statement, one snapshot, its plans kept per connection): whether a day of the window is dirty or a log
 * pending, the window's marks as text (`epoch/day:mark,…`), and the digests of the metadata of `keys` and
 * `ents` (with `rows`, the rows too). On Postgres a named statement (db/named.ts: parsed and planned once
 * per connection, not on every call); elsewhere (PGlite) through kysely.
 */
async function check(
  db: Db,
  entity: ActivityEntity,
  q: DailyActivityQuery,
  keys: string[],
  ents: string[],
  rows: boolean,
): Promise<Check> {
  const values = [
    ROUTE_KIND[entity],
    q.start_date,
    q.end_date,
    keys,
    ents,
    ENTITY_META[entity] ? entity : "",
    rows,
  ];
  return (await executeNamed(db, CompiledQuery.raw(CHECK_SQL, values) as CompiledQuery<Check>)).rows[0]!;
}

/** One page's answer: its value and its JSON bytes (either made on demand from the other). */
export interface PageAnswer {
  value(): SpendAnalyticsPaginatedResponse;
  bytes(): Uint8Array;
}

const fresh = (v: SpendAnalyticsPaginatedResponse): PageAnswer => {
  let b: Uint8Array | null = null;
  return { value: () => v, bytes: () => (b ??= Buffer.from(JSON.stringify(v), "utf8")) };
};

function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object") {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

const NO_KEY: KeyMetadata = {
  key_alias: null,
  team_id: null,
  user_id: null,
  user_email: null,
  key_exists: false,
};
const sameKeyMeta = (a: KeyMetadata, b: KeyMetadata) =>
  a.key_alias === b.key_alias &&
  a.team_id === b.team_id &&
  a.user_id === b.user_id &&
  a.user_email === b.user_email &&
  a.key_exists === b.key_exists;

/** The keys (non-empty) and entity buckets a page embeds metadata of, with that metadata. */
function embedded(v: SpendAnalyticsPaginatedResponse) {
  const keys = new Map<string, KeyMetadata[]>();
  const ents = new Map<string, Record<string, unknown>[]>();
  const push = <T>(m: Map<string, T[]>, k: string, x: T) => {
    const a = m.get(k);
    if (a) a.push(x);
    else m.set(k, [x]);
  };
  for (const day of v.results) {
    const b = day.breakdown;
    for (const [k, x] of Object.entries(b.api_keys)) push(keys, k, x.metadata);
    for (const group of [b.models, b.model_groups, b.mcp_servers, b.providers, b.endpoints, b.entities])
      for (const x of Object.values(group))
        for (const [k, y] of Object.entries(x.api_key_breakdown)) push(keys, k, y.metadata);
    for (const [name, x] of Object.entries(b.entities)) push(ents, name, x.metadata);
  }
  return { keys, ents };
}

/**
 * Whether the metadata `v` embeds is exactly what the rows read now give (then their digests describe
 * the page). Any doubt (a bucket whose metadata the rows would not give) answers false: not kept.
 */
function metadataMatches(v: SpendAnalyticsPaginatedResponse, entity: ActivityEntity, c: Check): boolean {
  const { keys, ents } = embedded(v);
  const rows = new Map<string, KeyMetadata>();
  for (const [token, key_alias, team_id, user_id, user_email] of c.key_rows ?? [])
    rows.set(token, { key_alias, team_id, user_id, user_email, key_exists: true });
  for (const [k, metas] of keys) {
    const want = k === "" ? NO_KEY : (rows.get(k) ?? NO_KEY);
    if (!metas.every((m) => sameKeyMeta(m, want))) return false;
  }
  const em = ENTITY_META[entity];
  const entRows = new Map<string, string | null>();
  for (const [id, field] of c.ent_rows ?? []) entRows.set(id, field);
  for (const [name, metas] of ents) {
    for (const m of metas) {
      const names = Object.keys(m);
      if (!em || !entRows.has(name)) {
        if (names.length) return false;
      } else if (!(names.length === 1 && names[0] === em.field && m[em.field] === entRows.get(name)))
        return false;
    }
  }
  return true;
}

/**
 * One page through the cache. `build` answers it the uncached way (dailyActivity.ts): a miss, and every
 * call the cache cannot serve.
 */
export async function dailyPage(
  db: Db,
  scope: Scope,
  entity: ActivityEntity,
  q: DailyActivityQuery,
  build: (
    db: Db,
    scope: Scope,
    entity: ActivityEntity,
    q: DailyActivityQuery,
  ) => Promise<SpendAnalyticsPaginatedResponse>,
): Promise<PageAnswer> {
  const cache = dailyPageCache(db);
  const uid = scopeUserId(scope);
  if (
    !cache ||
    q.page === null ||
    (uid !== null && entity !== "user") ||
    !foldsBeforeRead(db) ||
    !(await hasRouteRollups(db)) ||
    !(await schemaFacts(db)).routeMarks
  ) {
    if (cache) cache.stats.uncached += 1;
    return fresh(await build(db, scope, entity, q));
  }
  const key = JSON.stringify([
    entity,
    uid,
    q.start_date,
    q.end_date,
    q.page,
    q.page_size,
    q.model ?? null,
    q.api_key ?? null,
    q.entity_ids ?? null,
    q.exclude_entity_ids ?? null,
  ]);
  const e = cache.get(key);
  const c = await check(db, entity, q, e?.keys ?? [], e?.ents ?? [], false);
  if (c.dirty || c.pending) {
    cache.stats.uncached += 1;
    return fresh(await build(db, scope, entity, q));
  }
  if (e && e.stamp === c.stamp && e.keyDigest === c.key_digest && e.entDigest === c.ent_digest) {
    cache.stats.hits += 1;
    return {
      bytes: () => e.bytes,
      value: () => {
        if (!e.value) {
          e.value = deepFreeze(
            JSON.parse(Buffer.from(e.bytes).toString("utf8")) as SpendAnalyticsPaginatedResponse,
          );
          cache.grew(key, e, 3 * e.bytes.byteLength);
        }
        return e.value;
      },
    };
  }
  cache.stats.misses += 1;
  const v = await build(db, scope, entity, q);
  const answer = fresh(v);
  const { keys, ents } = embedded(v);
  const keyIds = [...keys.keys()].filter((k) => k !== "");
  const entIds = ENTITY_META[entity] ? [...ents.keys()] : [];
  const meta = await check(db, entity, q, keyIds, entIds, true);
  if (!meta.dirty && metadataMatches(v, entity, meta)) {
    const bytes = answer.bytes();
    let size = 256 + bytes.byteLength + 2 * (key.length + c.stamp.length);
    for (const k of keyIds) size += 16 + 2 * k.length;
    for (const k of entIds) size += 16 + 2 * k.length;
    cache.set(key, {
      stamp: c.stamp,
      keys: keyIds,
      ents: entIds,
      keyDigest: meta.key_digest,
      entDigest: meta.ent_digest,
      bytes,
      value: null,
      size,
    });
    cache.stats.stored += 1;
  } else {
    cache.delete(key);
  }
  return answer;
}
