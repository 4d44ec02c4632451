import { type RawBuilder, sql } from "kysely";
import { ByteLru } from "../byteLru.ts";
import { eachDay } from "../days.ts";
import type { Db } from "../db/connect.ts";
import { perHandle } from "../db/perHandle.ts";
import { schemaFacts } from "../db/schemaFacts.ts";
import { cmpCodePoint } from "../reports/spendReport.ts";
import {
  ROUTE_DIM_TABLE,
  ROUTE_MEASURES,
  ROUTE_TABLE,
  type RouteMeasure,
} from "../rollups/activityRouteRollup.ts";
import { foldBeforeRead, foldsBeforeRead } from "../rollups/fold.ts";
import {
  type ActivityRow,
  addTo,
  type DailyActivityQuery,
  type DimRow,
  emptyMetrics,
  type KeyMetadata,
  responseOf,
  routeRowOf,
  shapeDailyActivity,
} from "./dailyActivity.ts";

/**
 * The per-day cache of `/user/daily/activity/aggregated` (the unfiltered call: an admin's Usage page).
 *
 * The answer is a list of per-day elements plus totals. A past day's element changes only when that
 * day's rollup rows change, the top keys of the range change, or the key and user metadata it embeds
 * change. So each day keeps, between calls:
 * - its change marker: `epoch/mark` from spendlens.activity_day_marks (migration 0017), which every
 *   statement writing that day's activity_daily rows (hence its activity_dim_daily and user
 *   activity_route_daily rows) renews in its own transaction;
 * - its per-key spend (dim 'k'), its day sums (dim 'd') and its users (dim 'n'): the inputs of the top
 *   keys, the totals and the metadata check;
 * - its element as UTF-8 JSON, with what it was built from: the top keys, their metadata, and its users'
 *   metadata (as text).
 *
 * One statement per call (one snapshot) reads the markers of the range, every row of the days whose
 * marker differs from the cached one (with a live gateway: today, and the days of late logs), the user
 * rows of the previous call's top keys on those days, and the current metadata of the top keys and of
 * every user the days name. The top keys are then summed from the per-day key spends (in day order, as
 * the SQL of a full read sums them: `sum(spend ORDER BY day)`). When they are the previous call's and a
 * day's element was built from the same marker and metadata, the element is reused as bytes; changed
 * days are built from the rows just read. When the top keys changed, or an unchanged day has no valid
 * element (evicted, metadata changed), the whole range is read again in one statement (a cold call).
 * A dirty day in the range (rollups stale) answers from the raw logs, uncached, as before.
 *
 * In front of that, the whole answer of a (limit, range) is kept as one buffer with what its snapshot read
 * (the day stamps, top keys, users and their metadata as text): one small statement per call
 * (checkWhole) proves it current, and REST sends it as it is (see aggregatedCached).
 *
 * Memory: SPENDLENS_REPORT_CACHE_MB (read at the edge, runtime.ts; default 32, 0 turns it off) bounds
 * the bytes of the days' elements plus their key arrays; least recently used days go first. The whole
 * answers have a budget of the same size of their own.
 */

/** One day, as read in one snapshot (never changed once made: a newer read replaces it). */
interface DayState {
  stamp: string;
  /** Interned key ids (AggregatedCache.keyIds) and their spend, in the order of the read. */
  keys: Int32Array;
  spends: Float64Array;
  /** The day's sums (dim 'd'); null when the day has no activity. */
  sums: Record<RouteMeasure, number> | null;
  /** The day's users (dim 'n', non-null values). */
  users: string[];
  /** The day's element, and what it was built from. Empty text: a day without activity. */
  element: { top: string; keyMeta: string; userMeta: string; text: Uint8Array } | null;
  bytes: number;
}

/**
 * A whole answer (one range and limit): its JSON bytes and what they were built from, all read in the one
 * snapshot that built them: the range's day stamps, its top keys, the users its days name, and the
 * metadata of both as text (as `assemble` embeds it).
 */
interface Whole {
  stamp: string;
  top: string[];
  users: string[];
  keyMeta: string;
  userMeta: string;
  /**
   * The JSON, in pieces (written in order; their concatenation is the answer): as built, the days'
   * elements themselves (no copy); from its first reuse on, one buffer (one write).
   */
  parts: readonly Uint8Array[];
  /** Bytes of the answer. */
  size: number;
}

export class AggregatedCache {
  private readonly days: ByteLru<DayState>;
  /** Whole answers by limit and range (their own budget of maxBytes, as the page cache's). */
  readonly wholes: ByteLru<Whole>;
  /** Key (api_key, '' for none) → id, for the per-day spend arrays. */
  readonly keyIds = new Map<string, number>();
  readonly keyNames: string[] = [];
  /** The top keys of the last answer per limit, in order. */
  readonly lastTop = new Map<number, string[]>();
  /** Days whose element was reused, built from rows read now, and cold (whole-range) reads. */
  readonly stats = { hits: 0, built: 0, cold: 0, whole: 0 };
  constructor(readonly maxBytes: number) {
    this.days = new ByteLru(maxBytes, (s) => s.bytes);
    this.wholes = new ByteLru(maxBytes, wholeBytes);
  }

  get(day: string): DayState | undefined {
    return this.days.get(day);
  }

  set(day: string, s: DayState): void {
    this.days.set(day, s);
    if (this.days.count === 0 && this.keyNames.length > 1_000_000) this.clearKeys();
  }

  /** Bytes of the days' elements and arrays (the bound). */
  get size(): number {
    return this.days.bytes;
  }

  keyId(k: string): number {
    let id = this.keyIds.get(k);
    if (id === undefined) {
      id = this.keyNames.length;
      this.keyIds.set(k, id);
      this.keyNames.push(k);
    }
    return id;
  }

  private clearKeys(): void {
    this.keyIds.clear();
    this.keyNames.length = 0;
    this.lastTop.clear();
  }
}

const wholeBytes = (w: Whole) => {
  let n = 512 + w.size + 2 * (w.stamp.length + w.keyMeta.length + w.userMeta.length);
  for (const k of w.top) n += 16 + 2 * k.length;
  for (const u of w.users) n += 16 + 2 * u.length;
  return n;
};

/** The cache's size unless the edge sets one (the spend report's: SPENDLENS_REPORT_CACHE_MB). */
const DEFAULT_CACHE_MB = 32;
const caches = perHandle<Db, AggregatedCache | null>(() => new AggregatedCache(DEFAULT_CACHE_MB * 2 ** 20));

/** The cache of one database (null when turned off). */
export function aggregatedDayCache(db: Db): AggregatedCache | null {
  return caches.get(db);
}

/** Turns the cache of `db` off (null or 0) or gives it a size in bytes (the edge, tests). */
export function setAggregatedDayCache(db: Db, maxBytes: number | null): void {
  caches.set(db, maxBytes && maxBytes > 0 ? new AggregatedCache(maxBytes) : null);
}

/** Whether migration 0017's day markers exist (a database migrated part of the way lacks them). */
export async function hasDayMarks(db: Db): Promise<boolean> {
  return (await schemaFacts(db)).dayMarks;
}

/** A row of the read: `t` says which part (see readDays). */
interface ReadRow extends DimRow {
  ks: string[] | null;
  sp: number[] | null;
}

interface DaysRead {
  dirty: boolean;
  stamps: Map<string, string>;
  /** The days read now: their dimension rows, user rows (of the top keys) and key spends. */
  dims: Map<string, DimRow[]>;
  routes: Map<string, ActivityRow[]>;
  keySpend: Map<string, { ks: string[]; sp: number[] }>;
  /** The top keys the statement used (given, or summed in SQL on a cold read). */
  top: string[];
  keyMeta: Map<string, KeyMetadata>;
  userMeta: Map<string, string | null>;
}

/**
 * One statement: the range's dirty flag and markers; for each day whose marker is not `known`'s, its
 * dimension sums (every dim, 'k' as two JSON arrays per day) and its user route rows of the `top` keys
 * (null: the range's top `limit` keys, summed here); the metadata of the top keys and of `users` plus
 * the users of the days read.
 */
async function readDays(
  db: Db,
  q: DailyActivityQuery,
  limit: number,
  known: Map<string, string>,
  top: string[] | null,
  users: string[],
): Promise<DaysRead> {
  const inRange = (alias: string) =>
    sql`${sql.ref(`${alias}.day`)} BETWEEN ${q.start_date}::date AND ${q.end_date}::date`;
  const nulls = (n: number) => sql.join(Array.from({ length: n }, () => sql`NULL::text`));
  // The first part names the columns of the union.
  const namedNulls = sql.join(
    ["v2", "v3", "v4", "v5", "v6", "v7"].map((c) => sql`NULL::text AS ${sql.id(c)}`),
  );
  const measures = (alias: string) =>
    sql.join(ROUTE_MEASURES.map((m) => sql`${sql.ref(`${alias}.${m}`)}::float8 AS ${sql.id(m)}`));
  const zeros = sql.join(ROUTE_MEASURES.map((m) => sql`0::float8 AS ${sql.id(m)}`));
  const noArrays = sql`NULL::json AS ks, NULL::json AS sp`;
  const dimTable = sql.table(`spendlens.${ROUTE_DIM_TABLE}`);
  const routeTable = sql.table(`spendlens.${ROUTE_TABLE}`);
  const nDays = eachDay(q.start_date, q.end_date).length;
  const knownDays = [...known.keys()];
  const knownStamps = knownDays.map((d) => known.get(d)!);
  const topCte: RawBuilder<unknown> =
    top === null
      ? sql`top AS MATERIALIZED (SELECT coalesce(array_agg(x.api_key ORDER BY x.n), '{}') AS ks FROM (
          SELECT x.api_key, row_number() OVER (ORDER BY x.spend DESC, x.api_key COLLATE "C") AS n FROM (
            SELECT coalesce(k.value, '') AS api_key, sum(k.spend ORDER BY k.day, k.value NULLS FIRST) AS spend
            FROM ${dimTable} k, dirty d WHERE NOT d.dirty AND k.dim = 'k' AND ${inRange("k")} GROUP BY 1) x
          ORDER BY x.spend DESC, x.api_key COLLATE "C" LIMIT ${limit}) x)`
      : sql`top AS MATERIALIZED (SELECT ${top}::text[] AS ks)`;
  const r = await sql<ReadRow>`WITH dirty AS MATERIALIZED (SELECT EXISTS (
        SELECT 1 FROM spendlens.rollup_days rd WHERE rd.dirty_at IS NOT NULL AND ${inRange("rd")}) AS dirty),
      marks AS MATERIALIZED (SELECT g.day,
          coalesce((SELECT e.mark::text FROM spendlens.activity_day_marks e WHERE e.day = '-infinity'::date), '-')
            || '/' || coalesce(m.mark::text, '-') AS stamp
        FROM (SELECT ${q.start_date}::date + i AS day FROM generate_series(0, ${nDays - 1}) AS i) g
        LEFT JOIN spendlens.activity_day_marks m ON m.day = g.day),
      changed AS MATERIALIZED (SELECT coalesce(array_agg(c.day), '{}') AS days FROM marks c
        LEFT JOIN unnest(${knownDays}::date[], ${knownStamps}::text[]) AS k(day, stamp) ON k.day = c.day
        WHERE k.stamp IS DISTINCT FROM c.stamp),
      ${topCte}
    SELECT 'h' AS t, NULL::text AS day, d.dirty::text AS v1, ${namedNulls}, ${zeros}, ${noArrays} FROM dirty d
    UNION ALL
    SELECT 'M', c.day::text, c.stamp, ${nulls(6)}, ${zeros}, ${noArrays} FROM marks c
    UNION ALL
    SELECT 'T', NULL, NULL, ${nulls(6)}, ${zeros}, to_json(top.ks), NULL::json FROM top
    UNION ALL
    SELECT x.dim::text, x.day::text, x.value, ${nulls(6)}, ${measures("x")}, ${noArrays}
      FROM ${dimTable} x, dirty d, changed ch
      WHERE NOT d.dirty AND x.dim = ANY('{d,m,g,p,x,e,n}'::"char"[]) AND x.day = ANY(ch.days)
    UNION ALL
    SELECT 'k', x.day::text, NULL, ${nulls(6)}, ${zeros},
        json_agg(coalesce(x.value, '') ORDER BY x.value NULLS FIRST), json_agg(x.spend ORDER BY x.value NULLS FIRST)
      FROM ${dimTable} x, dirty d, changed ch
      WHERE NOT d.dirty AND x.dim = 'k' AND x.day = ANY(ch.days) GROUP BY x.day
    UNION ALL
    SELECT 'r', r.day::text, r.entity, r.api_key, r.model, r.model_group, r.custom_llm_provider,
        r.mcp_namespaced_tool_name, r.call_type, ${measures("r")}, ${noArrays}
      FROM ${routeTable} r, top, dirty d, changed ch
      WHERE NOT d.dirty AND r.kind = 'u' AND r.api_key = ANY(top.ks) AND r.day = ANY(ch.days)
    UNION ALL
    SELECT 'r', r.day::text, r.entity, r.api_key, r.model, r.model_group, r.custom_llm_provider,
        r.mcp_namespaced_tool_name, r.call_type, ${measures("r")}, ${noArrays}
      FROM ${routeTable} r, top, dirty d, changed ch
      WHERE NOT d.dirty AND r.kind = 'u' AND r.api_key IS NULL AND '' = ANY(top.ks) AND r.day = ANY(ch.days)
    UNION ALL
    SELECT 'K', NULL, t.token, t.key_alias, t.team_id, t.user_id, u.user_email, NULL, NULL, ${zeros}, ${noArrays}
      FROM top, "LiteLLM_VerificationToken" t LEFT JOIN "LiteLLM_UserTable" u ON u.user_id = t.user_id
      WHERE t.token = ANY(top.ks) AND t.token <> ''
    UNION ALL
    SELECT 'U', NULL, u.user_id, u.user_email, ${nulls(5)}, ${zeros}, ${noArrays}
      FROM "LiteLLM_UserTable" u
      WHERE u.user_id = ANY(${users}::text[] || ARRAY(SELECT x.value::text FROM ${dimTable} x, changed ch
        WHERE x.dim = 'n' AND x.day = ANY(ch.days) AND x.value IS NOT NULL))`.execute(db);
  const out: DaysRead = {
    dirty: false,
    stamps: new Map(),
    dims: new Map(),
    routes: new Map(),
    keySpend: new Map(),
    top: [],
    keyMeta: new Map(),
    userMeta: new Map(),
  };
  const push = <T>(m: Map<string, T[]>, k: string, v: T) => {
    const a = m.get(k);
    if (a) a.push(v);
    else m.set(k, [v]);
  };
  for (const x of r.rows) {
    switch (x.t) {
      case "h":
        out.dirty = x.v1 === "true";
        break;
      case "M":
        out.stamps.set(x.day, x.v1!);
        break;
      case "T":
        out.top = x.ks ?? [];
        break;
      case "k":
        out.keySpend.set(x.day, { ks: x.ks ?? [], sp: x.sp ?? [] });
        break;
      case "K":
        out.keyMeta.set(x.v1!, {
          key_alias: x.v2,
          team_id: x.v3,
          user_id: x.v4,
          user_email: x.v5,
          key_exists: true,
        });
        break;
      case "U":
        out.userMeta.set(x.v1!, x.v2);
        break;
      case "r": {
        const { ks: _k, sp: _s, ...row } = x;
        push(out.routes, x.day, routeRowOf(row));
        break;
      }
      default: {
        const { ks: _k, sp: _s, ...d } = x;
        push(out.dims, x.day, d);
      }
    }
  }
  return out;
}

const sumsOf = (r: Record<RouteMeasure, number>) =>
  Object.fromEntries(ROUTE_MEASURES.map((m) => [m, r[m]])) as Record<RouteMeasure, number>;

/** A day's state from the rows just read (its element not built yet). */
function stateOf(cache: AggregatedCache, stamp: string, read: DaysRead, day: string): DayState {
  const dims = read.dims.get(day) ?? [];
  const ksp = read.keySpend.get(day) ?? { ks: [], sp: [] };
  const keys = Int32Array.from(ksp.ks, (k) => cache.keyId(k));
  const spends = Float64Array.from(ksp.sp);
  const d = dims.find((x) => x.t === "d");
  const users = dims.filter((x) => x.t === "n" && x.v1 !== null).map((x) => x.v1!);
  let bytes = 256 + keys.byteLength + spends.byteLength;
  for (const u of users) bytes += 16 + 2 * u.length;
  return { stamp, keys, spends, sums: d ? sumsOf(d) : null, users, element: null, bytes };
}

/** The top `limit` keys of the range from the days' key spends (in day order), and how many keys. */
function topKeys(cache: AggregatedCache, states: DayState[], limit: number) {
  const total = new Float64Array(cache.keyNames.length);
  const seen = new Uint8Array(cache.keyNames.length);
  const ids: number[] = [];
  for (const s of states) {
    for (let i = 0; i < s.keys.length; i++) {
      const id = s.keys[i]!;
      total[id]! += s.spends[i]!;
      if (!seen[id]) {
        seen[id] = 1;
        ids.push(id);
      }
    }
  }
  ids.sort((a, b) => total[b]! - total[a]! || cmpCodePoint(cache.keyNames[a]!, cache.keyNames[b]!));
  return { top: ids.slice(0, limit).map((id) => cache.keyNames[id]!), count: ids.length };
}

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The metadata of users, as text (what a day's element embeds): the e-mail, null when the user has none,
 * 0 when the user has no row (its entity then carries no metadata at all).
 */
const userMetaText = (users: readonly string[], meta: Map<string, string | null>) =>
  JSON.stringify(users.map((u) => (meta.has(u) ? meta.get(u) : 0)));

/** The metadata of the top keys, as text (what every element embeds); 0 for a key without a row. */
const keyMetaTextOf = (top: readonly string[], meta: Map<string, KeyMetadata>) =>
  JSON.stringify(top.map((k) => meta.get(k) ?? 0));

/** Builds a day's element from the rows read now. */
function buildElement(
  read: DaysRead,
  day: string,
  keyMeta: Map<string, KeyMetadata>,
  userMeta: Map<string, string | null>,
): Uint8Array {
  const ents = new Map<string, Record<string, unknown>>();
  for (const [u, email] of userMeta) ents.set(u, { user_email: email });
  const { results } = shapeDailyActivity(
    read.routes.get(day) ?? [],
    keyMeta,
    ents,
    undefined,
    read.dims.get(day) ?? [],
  );
  const el = results[0];
  return el ? Buffer.from(JSON.stringify(el), "utf8") : new Uint8Array(0);
}

/** What the whole-answer check reads (one statement, one snapshot). */
interface WholeCheck {
  dirty: boolean;
  pending: boolean;
  stamp: string;
  /** [token, key_alias, team_id, user_id, user_email] of the given keys that have a row. */
  keys: [string, string | null, string | null, string | null, string | null][] | null;
  /** [user_id, user_email] of the given users that have a row. */
  users: [string, string | null][] | null;
}

/**
 * The check of a whole answer, one small statement: whether a day of the range is dirty or a log is
 * pending a fold, the range's day stamps (as readDays reads them, joined by ','), and the metadata rows
 * of the answer's top keys and of its users.
 */
async function checkWhole(
  db: Db,
  q: DailyActivityQuery,
  keys: string[],
  users: string[],
): Promise<WholeCheck> {
  const nDays = eachDay(q.start_date, q.end_date).length;
  const r = await sql<WholeCheck>`SELECT
      EXISTS (SELECT 1 FROM spendlens.rollup_days rd
        WHERE rd.dirty_at IS NOT NULL AND rd.day BETWEEN ${q.start_date}::date AND ${q.end_date}::date) AS dirty,
      EXISTS (SELECT 1 FROM spendlens.spend_log_pending) AS pending,
      (SELECT string_agg(
          coalesce((SELECT e.mark::text FROM spendlens.activity_day_marks e WHERE e.day = '-infinity'::date), '-')
            || '/' || coalesce(m.mark::text, '-'), ',' ORDER BY g.day)
        FROM (SELECT ${q.start_date}::date + i AS day FROM generate_series(0, ${nDays - 1}) AS i) g
        LEFT JOIN spendlens.activity_day_marks m ON m.day = g.day) AS stamp,
      (SELECT json_agg(json_build_array(t.token, t.key_alias, t.team_id, t.user_id, u.user_email))
        FROM "LiteLLM_VerificationToken" t LEFT JOIN "LiteLLM_UserTable" u ON u.user_id = t.user_id
        WHERE t.token = ANY(${keys}::text[])) AS keys,
      (SELECT json_agg(json_build_array(u.user_id, u.user_email)) FROM "LiteLLM_UserTable" u
        WHERE u.user_id = ANY(${users}::text[])) AS users`.execute(db);
  return r.rows[0]!;
}

/** The metadata texts of a whole answer from its check's rows (as `assemble` makes them). */
function metaOfCheck(w: Whole, c: WholeCheck) {
  const keys = new Map<string, KeyMetadata>();
  for (const [token, key_alias, team_id, user_id, user_email] of c.keys ?? [])
    keys.set(token, { key_alias, team_id, user_id, user_email, key_exists: true });
  const users = new Map<string, string | null>();
  for (const [id, email] of c.users ?? []) users.set(id, email);
  return { keyMeta: keyMetaTextOf(w.top, keys), userMeta: userMetaText(w.users, users) };
}

/**
 * The unfiltered aggregated answer (its JSON bytes) through the cache; null when a day of the range is
 * dirty (the caller reads raw logs).
 *
 * First the whole answer of this range and limit, when one is kept: it is sent as it is when one small
 * statement shows, in the request's snapshot, no dirty day in the range, no log pending a fold, every day
 * stamp of the range as it was when the answer was built (so the same rollup rows: the same days, the
 * same top keys) and the same metadata of its top keys and users. Otherwise the per-day path below, whose
 * answer is then kept whole with what its own snapshot read.
 */
export async function aggregatedCached(
  db: Db,
  cache: AggregatedCache,
  q: DailyActivityQuery,
  limit: number,
  opts: { whole?: boolean } = {},
): Promise<readonly Uint8Array[] | null> {
  // Only where readers fold first (not in a transaction, not on a standby). The check reads
  // spend_log_pending in its own snapshot, taken after this call began: empty, every log committed before
  // the call is in the rollups it reads (a fold deletes its rows from the pending table in the transaction
  // that writes the rollups and their marks), so the whole answer needs no fold first; otherwise the
  // answer is built the usual way, after a fold.
  const wholes = opts.whole !== false && foldsBeforeRead(db);
  const wkey = `${limit}/${q.start_date}/${q.end_date}`;
  const w = wholes ? cache.wholes.get(wkey) : undefined;
  if (w) {
    const c = await checkWhole(
      db,
      q,
      w.top.filter((k) => k !== ""),
      w.users,
    );
    if (!c.dirty && !c.pending && c.stamp === w.stamp) {
      const m = metaOfCheck(w, c);
      if (m.keyMeta === w.keyMeta && m.userMeta === w.userMeta) {
        cache.stats.whole += 1;
        // Joined once, on its first reuse (an answer rebuilt on every call, under ingest, is never copied).
        if (w.parts.length > 1) w.parts = [Buffer.concat(w.parts, w.size)];
        return w.parts;
      }
    }
  }
  await foldBeforeRead(db);
  const a = await aggregatedDays(db, cache, q, limit);
  if (!a) return null;
  if (wholes) cache.wholes.set(wkey, a);
  return a.parts;
}

/** The per-day path: the answer and what it was built from (one snapshot); null when a day is dirty. */
async function aggregatedDays(
  db: Db,
  cache: AggregatedCache,
  q: DailyActivityQuery,
  limit: number,
): Promise<Whole | null> {
  const days = eachDay(q.start_date, q.end_date);
  const prevTop = cache.lastTop.get(limit);
  if (prevTop) {
    const known = new Map<string, string>();
    const users = new Set<string>();
    for (const d of days) {
      const s = cache.get(d);
      if (s?.element) {
        known.set(d, s.stamp);
        for (const u of s.users) users.add(u);
      }
    }
    const read = await readDays(db, q, limit, known, prevTop, [...users]);
    if (read.dirty) return null;
    // From here to the answer nothing awaits: the states used are the ones this snapshot validated.
    const warm = assemble(cache, read, days, limit, known);
    if (warm) return warm;
  }
  cache.stats.cold += 1;
  const read = await readDays(db, q, limit, new Map(), null, []);
  if (read.dirty) return null;
  return assemble(cache, read, days, limit, new Map())!;
}

/**
 * The answer from one read: the days it read become states (and elements); the others must be cached
 * with a valid element. null when that fails or the top keys are not the ones the read used (a warm
 * read); a cold read (`known` empty) always answers.
 */
function assemble(
  cache: AggregatedCache,
  read: DaysRead,
  days: string[],
  limit: number,
  known: Map<string, string>,
): Whole | null {
  const cold = known.size === 0;
  const states: DayState[] = [];
  const fresh = new Set<string>();
  for (const d of days) {
    const stamp = read.stamps.get(d)!;
    if (known.get(d) === stamp) {
      const s = cache.get(d);
      if (!s || s.stamp !== stamp || !s.element) return null;
      states.push(s);
    } else {
      states.push(stateOf(cache, stamp, read, d));
      fresh.add(d);
    }
  }
  const { top, count } = topKeys(cache, states, limit);
  // A cold read uses the SQL's top keys (the same sums); a warm one only the top keys it read rows of.
  if (!cold && !sameList(top, read.top)) return null;
  const used = cold ? read.top : top;
  const topText = `${limit}\u0000${used.join("\u0000")}`;
  const keyMeta = read.keyMeta;
  const keyMetaText = keyMetaTextOf(used, keyMeta);
  const totals = emptyMetrics();
  const elements: Uint8Array[] = [];
  for (let i = 0; i < days.length; i++) {
    const d = days[i]!;
    const s = states[i]!;
    const userMeta = userMetaText(s.users, read.userMeta);
    const e = s.element;
    if (!fresh.has(d) && !(e && e.top === topText && e.keyMeta === keyMetaText && e.userMeta === userMeta))
      return null;
    if (s.sums) addTo(totals, s.sums);
    elements.push(fresh.has(d) ? new Uint8Array(0) : e!.text);
  }
  // Every check passed: build the fresh days' elements and keep their states.
  for (let i = 0; i < days.length; i++) {
    const d = days[i]!;
    if (!fresh.has(d)) {
      cache.stats.hits += 1;
      continue;
    }
    const s = states[i]!;
    const text = buildElement(read, d, keyMeta, read.userMeta);
    s.element = { top: topText, keyMeta: keyMetaText, userMeta: userMetaText(s.users, read.userMeta), text };
    s.bytes += text.byteLength + topText.length + keyMetaText.length + s.element.userMeta.length;
    elements[i] = text;
    cache.set(d, s);
    cache.stats.built += 1;
  }
  cache.lastTop.set(limit, used);
  const meta = responseOf(
    [],
    totals,
    { page: 1, total_pages: 1, has_more: false },
    { api_key_limit: limit, total_api_keys: count },
  ).metadata;
  const users = [...new Set(states.flatMap((s) => s.users))].sort(cmpCodePoint);
  return {
    stamp: days.map((d) => read.stamps.get(d)!).join(","),
    top: used,
    users,
    keyMeta: keyMetaText,
    userMeta: userMetaText(users, read.userMeta),
    ...jsonParts(
      elements.reverse().filter((e) => e.byteLength > 0),
      `],"metadata":${JSON.stringify(meta)}}`,
    ),
  };
}

const OPEN = Buffer.from('{"results":[', "utf8");
const COMMA = Buffer.from(",", "utf8");

/** `{"results":[` + the elements, comma-joined + `close`: the pieces (no copy of the elements) and their size. */
export function jsonParts(
  elements: readonly Uint8Array[],
  close: string,
): { parts: Uint8Array[]; size: number } {
  const parts: Uint8Array[] = [OPEN];
  elements.forEach((e, i) => {
    if (i) parts.push(COMMA);
    parts.push(e);
  });
  parts.push(Buffer.from(close, "utf8"));
  let size = 0;
  for (const p of parts) size += p.byteLength;
  return { parts, size };
}
