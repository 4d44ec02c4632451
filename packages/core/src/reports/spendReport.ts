import { type RawBuilder, sql } from "kysely";
import { z } from "zod";
import { normalizeKeyFilter } from "../auth/hash.ts";
import type { Db } from "../db/connect.ts";
import { isEmbeddedDb, type StreamOptions, streamPlanned, streamRowsMerged } from "../db/stream.ts";
import {
  type Explained,
  explainStatement,
  type Plan,
  type Planned,
  planQuery,
  type RollupFilters,
  type SpendRow,
  spendDayRowsPlanned,
  windowDaysSql,
} from "../rollups/query.ts";
import { narrowToUser, type Scope, scopeUserId } from "../scope.ts";
import { checkDayRange, eachDay, type Window } from "../validation.ts";
import { type DayCache, reportDayCache, type Stamp } from "./dayCache.ts";
import { dayRangeShape, windowOf, zOptionalText } from "./sqlParts.ts";

/**
 * GET /global/spend/report: daily spend per team or customer (each with per model+key metadata), or
 * spend per api_key with per-model cost and tokens. Which answer, in the original's order of precedence:
 * 1. api_key given (raw sk- keys hashed): that key's per-key answer;
 * 2. internal_user_id given: the per-key answer over that user's logs;
 * 3. team_id and customer_id given: the per-day customer answer over logs of both;
 * 4. else by group_by (team, the default; customer; api_key), narrowed by team_id or customer_id when
 *    only one of them is given (the original ignores a lone one).
 *
 * How it is read: the answer is as big as the rollup rows it comes from (at 1M logs, 30 days:
 * ~70k metadata entries, ~13 MB of JSON), so Postgres does the grouping, the ordering and the JSON of
 * the leaves, and the answer is streamed element by element from a server-side cursor
 * (`spendReportStream`; see db/stream.ts):
 * - per day × team/customer: a nested loop over the window's days (windowDaysSql) with, per day, the
 *   day's detail_daily rows (or its raw logs when the day is dirty: spendDayRowsSql) grouped by (team
 *   alias or end_user, model, api_key), then per team/customer its total and its metadata as JSON text,
 *   ordered as the original's answer is shown (total_spend, then name; metadata by spend, model, key).
 *   One row per (day, team/customer); one element per day is assembled from them.
 * - per key: the spend statement of (api_key, model) (planQuery) grouped per key, ordered by total_cost, then key.
 * Text ties are ordered by code point (COLLATE "C"), never by the database's locale.
 */

export const SPEND_REPORT_GROUP_BY = ["team", "customer", "api_key"] as const;

export const spendReportInput = z
  .object({
    ...dayRangeShape,
    group_by: z.preprocess(
      (v) => (v === "" || v === null ? undefined : v),
      z.enum(SPEND_REPORT_GROUP_BY, { error: "must be one of team, customer, api_key" }).default("team"),
    ),
    api_key: zOptionalText(),
    internal_user_id: zOptionalText(),
    team_id: zOptionalText(),
    customer_id: zOptionalText(),
  })
  .superRefine(checkDayRange);
export type SpendReportInput = z.input<typeof spendReportInput>;

export interface ReportMetadata {
  model: string;
  api_key: string;
  spend: number;
  total_tokens: number;
}

export interface TeamSpend {
  /** The team's alias; 'Unassigned Team' for logs without a team or whose team has no alias. */
  team_name: string;
  total_spend: number;
  metadata: ReportMetadata[];
}

export interface CustomerSpend {
  /** The log's end_user; null for logs without one. */
  customer: string | null;
  total_spend: number;
  metadata: ReportMetadata[];
}

export interface TeamSpendDay {
  /** UTC day, 'YYYY-MM-DD'. */
  group_by_day: string;
  teams: TeamSpend[];
}

export interface CustomerSpendDay {
  group_by_day: string;
  customers: CustomerSpend[];
}

export interface ModelDetail {
  model: string;
  total_cost: number;
  total_input_tokens: number;
  total_output_tokens: number;
}

export interface KeySpend {
  api_key: string;
  total_cost: number;
  total_input_tokens: number;
  total_output_tokens: number;
  model_details: ModelDetail[];
}

/** `group_by` says which shape `data` has (api_key and internal_user_id filters give "api_key"). */
export type SpendReport =
  | { group_by: "team"; data: TeamSpendDay[] }
  | { group_by: "customer"; data: CustomerSpendDay[] }
  | { group_by: "api_key"; data: KeySpend[] };

// ---------- SQL ----------

export interface ReportFilters {
  /** Hashed key. */
  api_key?: string | undefined;
  team_id?: string | undefined;
  customer_id?: string | undefined;
}

/** The report's filters as rollup filters (customer_id is the log's end_user). */
function rollupFilters(f: ReportFilters): RollupFilters {
  const out: RollupFilters = {};
  if (f.api_key !== undefined) out.api_key = f.api_key;
  if (f.team_id !== undefined) out.team_id = f.team_id;
  if (f.customer_id !== undefined) out.end_user = f.customer_id;
  return out;
}

/** A JSON value of a SQL expression, as text ('null' for NULL; to_json quotes a non-finite float). */
const jsonText = (expr: RawBuilder<unknown>) => sql`coalesce(to_json(${expr})::text, 'null')`;

interface DayGroupRow {
  day: string;
  /** The team's alias ('Unassigned Team' without one) or the end_user. */
  grp: string | null;
  total: number;
  /** The group's metadata entries as JSON text, comma separated, in order. */
  metadata: string;
}

/**
 * One row per (day, team or customer), days ascending, then by total_spend and name: the plan of the
 * per-day rows and the statement for any list of days (built without a query, so it can be made inside
 * a read's transaction).
 */
async function dayGroupSql(
  db: Db,
  scope: Scope,
  by: "team" | "customer",
  f: ReportFilters,
): Promise<{ plan: Plan; forDays: (days: readonly string[]) => RawBuilder<DayGroupRow> }> {
  const grpDim = by === "team" ? "team_id" : "end_user";
  const { plan, statement: src } = await spendDayRowsPlanned(
    db,
    scope,
    { dims: [grpDim, "model", "api_key"], filters: rollupFilters(f) },
    sql`d.day`,
    sql`d.dirty`,
  );
  // Teams by alias as LiteLLM's GROUP BY tt.team_alias does: teams sharing an alias (or all without
  // one, and ids missing from the team table) are one 'Unassigned Team'.
  // Text compared byte by byte (COLLATE "C"): the order is the code-point order whatever the
  // database's locale, and sorting and grouping skip strcoll (a third of the statement's time).
  const leaf =
    by === "team"
      ? sql`SELECT coalesce(tt.team_alias, 'Unassigned Team') COLLATE "C" AS grp, s.model COLLATE "C" AS model,
            s.api_key COLLATE "C" AS api_key, sum(s.spend)::float8 AS spend, sum(s.total_tokens)::float8 AS total_tokens
          FROM (${src}) s LEFT JOIN "LiteLLM_TeamTable" tt ON tt.team_id = s.team_id GROUP BY 1, 2, 3`
      : sql`SELECT s.end_user COLLATE "C" AS grp, s.model COLLATE "C" AS model, s.api_key COLLATE "C" AS api_key,
            sum(s.spend)::float8 AS spend, sum(s.total_tokens)::float8 AS total_tokens
          FROM (${src}) s GROUP BY 1, 2, 3`;
  const entry = sql`'{"model":' || ${jsonText(sql`m.model`)} || ',"api_key":' || ${jsonText(sql`m.api_key`)}
    || ',"spend":' || ${jsonText(sql`m.spend`)} || ',"total_tokens":' || ${jsonText(sql`m.total_tokens`)} || '}'`;
  const forDays = (
    days: readonly string[],
  ) => sql<DayGroupRow>`WITH days AS MATERIALIZED (${windowDaysSql(days)})
    SELECT to_char(d.day, 'YYYY-MM-DD') AS day, x.grp, x.total, x.metadata
    FROM days d CROSS JOIN LATERAL (
      SELECT m.grp, sum(m.spend)::float8 AS total,
        string_agg(${entry}, ',' ORDER BY m.spend DESC, m.model, m.api_key) AS metadata
      FROM (${leaf}) m
      GROUP BY m.grp
      ORDER BY total DESC, m.grp
    ) x`;
  return { plan, forDays };
}

interface KeyRow {
  api_key: string | null;
  total_cost: number;
  total_input_tokens: number;
  total_output_tokens: number;
  /** The key's model_details entries as JSON text, comma separated, in order. */
  details: string;
}

/** The per-key answer's totals: spend per (api_key, model) over the window, planned. */
function keyTotals(db: Db, scope: Scope, w: Window, f: ReportFilters): Promise<Planned<SpendRow>> {
  const query = { window: w, dims: ["api_key", "model"] as const, filters: rollupFilters(f) };
  return planQuery<SpendRow>(db, { kind: "spend", scope, query });
}

/**
 * One row per api_key, by total_cost (highest first), then key. `part`: only the keys whose hash has
 * this low bit (the report reads the two halves side by side).
 */
function keySql(totals: RawBuilder<SpendRow>, part: 0 | 1 | null): RawBuilder<KeyRow> {
  const entry = sql`'{"model":' || ${jsonText(sql`k.model`)} || ',"total_cost":' || ${jsonText(sql`k.spend`)}
    || ',"total_input_tokens":' || ${jsonText(sql`k.prompt_tokens`)}
    || ',"total_output_tokens":' || ${jsonText(sql`k.completion_tokens`)} || '}'`;
  return sql<KeyRow>`SELECT k.api_key, sum(k.spend)::float8 AS total_cost,
      sum(k.prompt_tokens)::float8 AS total_input_tokens, sum(k.completion_tokens)::float8 AS total_output_tokens,
      string_agg(${entry}, ',' ORDER BY k.spend DESC, k.model) AS details
    FROM (SELECT t.api_key COLLATE "C" AS api_key, t.model COLLATE "C" AS model, t.spend, t.prompt_tokens,
        t.completion_tokens FROM (${totals}) t
      ${part === null ? sql`` : sql`WHERE (hashtext(coalesce(t.api_key, '')) & 1) = ${part}`}) k
    GROUP BY k.api_key
    ORDER BY total_cost DESC, k.api_key`;
}

/** Per day of the window: dirty or not, its detail_daily rows and the youngest row's age (xmin). */
async function validateDays(trx: Db, days: readonly string[], teams: boolean) {
  // A bitmap scan of the window's days (the primary key's day range): ~30 ms for 70k rows at 1M logs,
  // where the planner's choice, a scan of the whole table, takes ~75 ms. For this statement only.
  const seq = await sql<{ v: string }>`SELECT current_setting('enable_seqscan') AS v`.execute(trx);
  await sql`SELECT set_config('enable_seqscan', 'off', true)`.execute(trx);
  const r = await sql<{ day: string; dirty: boolean; rows: number; min_age: number | null; xmin: string }>`
    SELECT to_char(w.day, 'YYYY-MM-DD') AS day, w.dirty, coalesce(c.rows, 0)::int8 AS rows, c.min_age,
      (txid_snapshot_xmin(txid_current_snapshot()) % 4294967296)::text AS xmin
    FROM (${windowDaysSql(days)}) w
    LEFT JOIN (SELECT r.day, count(*) AS rows, min(age(r.xmin))::int8 AS min_age FROM spendlens.detail_daily r
      WHERE r.day >= ${days[0]!}::date AND r.day <= ${days.at(-1)!}::date GROUP BY r.day) c ON c.day = w.day`.execute(
    trx,
  );
  await sql`SELECT set_config('enable_seqscan', ${seq.rows[0]!.v}, true)`.execute(trx);
  const out = new Map<string, { dirty: boolean; rows: number; minAge: number | null }>();
  for (const x of r.rows) out.set(x.day, { dirty: x.dirty, rows: x.rows, minAge: x.min_age });
  let t: { rows: number; minAge: number | null } | null = null;
  if (teams) {
    const q = await sql<{ rows: number; min_age: number | null }>`SELECT count(*)::int8 AS rows,
        min(age(xmin))::int8 AS min_age FROM "LiteLLM_TeamTable"`.execute(trx);
    t = { rows: q.rows[0]!.rows, minAge: q.rows[0]!.min_age };
  }
  return { days: out, teams: t, xmin: r.rows[0]?.xmin ?? "0" };
}

/** age() of each xid (text), now, in the transaction of the check. */
async function xminAges(trx: Db, xids: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const list = [...new Set(xids)];
  if (!list.length) return out;
  const r = await sql<{ x: string; a: number }>`SELECT x, age(x::xid)::int8 AS a
    FROM unnest(${list}::text[]) AS x`.execute(trx);
  for (const row of r.rows) out.set(row.x, row.a);
  return out;
}

// ---------- the answer ----------

/** The REST answer (the original's bare array), element by element. */
export interface SpendReportStream {
  /** Which shape the elements have (api_key and internal_user_id filters give "api_key"). */
  group_by: SpendReport["group_by"];
  /** The keys of every element, in order (CSV columns). */
  columns: readonly string[];
  /**
   * Each element of `data`, in order, as JSON text: a day (team, customer) or a key (api_key). A day
   * comes as its pieces (joined, they are the element): no string as big as a day is ever built.
   */
  items(): AsyncGenerator<ReportItem, void, undefined>;
}

/**
 * One element of a streamed answer as JSON text: a string, its pieces (joined, the element), or UTF-8
 * bytes (a cached day: written to a socket as they are).
 */
export type ReportItem = string | readonly string[] | Uint8Array;

/** The JSON text of an element. */
export const reportItemText = (i: ReportItem): string =>
  typeof i === "string"
    ? i
    : i instanceof Uint8Array
      ? Buffer.from(i.buffer, i.byteOffset, i.byteLength).toString("utf8")
      : i.join("");

/** Transaction settings of the report's cursor (see StreamOptions). */
const REPORT_SETTINGS = { jit: "off", extra_float_digits: "3" } as const;

/** Reads a big answer on this many connections at once by default (Postgres; PGlite has one). */
const PARALLEL = 2;

export interface SpendReportStreamOptions {
  /** Rows per FETCH (day × team/customer, or keys). Default 500. */
  chunkRows?: number;
  /** Per-day answers from and into the cache (dayCache.ts). Default true; false reads every day. */
  cache?: boolean;
  /**
   * Connections read side by side, in one snapshot (1 or 2; Postgres only). Default: 2 for the per-day
   * answers (days dealt out round-robin), 1 for the per-key answer (keys split by hash when 2).
   */
  parallel?: 1 | 2;
}

/** Text in code-point order, nulls last: the order of COLLATE "C" (UTF-8 bytes). */
export function cmpCodePoint(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 puts surrogates (code points above U+FFFF) before U+E000..U+FFFF; code points do not.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

const str = (v: string | null) => JSON.stringify(v);
const num = (v: number) => JSON.stringify(v);

/** Which answer an input asks for (by the precedence at the top of this file), for whom, filtered how. */
interface ReportRoute {
  shape: SpendReport["group_by"];
  scope: Scope;
  filters: ReportFilters;
}

function routeOf(scope: Scope, input: z.output<typeof spendReportInput>): ReportRoute {
  const shape = spendReportShape(input);
  if (input.api_key !== undefined)
    return { shape, scope, filters: { api_key: normalizeKeyFilter(input.api_key) } };
  if (input.internal_user_id !== undefined)
    return { shape, scope: narrowToUser(scope, input.internal_user_id), filters: {} };
  return { shape, scope, filters: { team_id: input.team_id, customer_id: input.customer_id } };
}

/** A per-key element of the answer as JSON text. */
const keyItem = (r: KeyRow) =>
  `{"api_key":${str(r.api_key)},"total_cost":${num(r.total_cost)},"total_input_tokens":${num(r.total_input_tokens)},"total_output_tokens":${num(r.total_output_tokens)},"model_details":[${r.details}]}`;

/** The per-key answer: one element per key, from one statement (or two halves by key hash). */
function keyStream(
  db: Db,
  route: ReportRoute,
  w: Window,
  opts: SpendReportStreamOptions,
  stream: StreamOptions,
): SpendReportStream {
  return {
    group_by: "api_key",
    columns: ["api_key", "total_cost", "total_input_tokens", "total_output_tokens", "model_details"],
    async *items() {
      const { statement: totals } = await keyTotals(db, route.scope, w, route.filters);
      // One statement unless asked: the per-key answer is small (a row per key) and its second
      // connection and exported snapshot cost more than they save (measured at 1M logs).
      const two = opts.parallel !== undefined && (await parallelOf(db, opts)) >= 2;
      const stmts = two ? [keySql(totals, 0), keySql(totals, 1)] : [keySql(totals, null)];
      const order = (a: KeyRow, b: KeyRow) =>
        b.total_cost - a.total_cost || cmpCodePoint(a.api_key, b.api_key);
      for await (const rows of streamRowsMerged(db, stmts, order, stream))
        for (const r of rows) yield keyItem(r);
    },
  };
}

/** Connections to read on: 1 on PGlite, else as asked (default PARALLEL). */
async function parallelOf(db: Db, opts: SpendReportStreamOptions): Promise<number> {
  return (await isEmbeddedDb(db)) ? 1 : (opts.parallel ?? PARALLEL);
}

/** Which days of a per-day answer are served from the cache, and the stamps of those read now. */
interface CachedDays {
  /** Days to read, in order. */
  missing: string[];
  /** Cached days proven unchanged: their element's text. */
  hits: Map<string, Buffer>;
  /** Clean days read now, with the stamps their cache entries get. */
  fresh: Map<string, { day: Stamp; teams: Stamp | null }>;
}

/**
 * The cache check, in the read's own snapshot (dayCache.ts has the proof): a cached day is used when it
 * is clean and its detail_daily rows (and, for teams, the team table) number what they did and are all
 * older than the entry's snapshot (xmin ages). Other clean days get stamps for their new entries.
 */
async function checkCachedDays(
  trx: Db,
  cache: DayCache,
  days: readonly string[],
  keyOf: (day: string) => string,
  teams: boolean,
): Promise<CachedDays> {
  const v = await validateDays(trx, days, teams);
  const entries = days.map((d) => cache.get(keyOf(d)));
  const ages = await xminAges(
    trx,
    entries.flatMap((e) => (e ? [e.day.xmin] : [])),
  );
  const unchanged = (st: Stamp | null, rows: number, minAge: number | null) =>
    !!st && st.rows === rows && (rows === 0 || (minAge !== null && minAge > ages.get(st.xmin)!));
  const out: CachedDays = { missing: [], hits: new Map(), fresh: new Map() };
  days.forEach((d, i) => {
    const s = v.days.get(d)!;
    const e = entries[i];
    if (
      e &&
      !s.dirty &&
      unchanged(e.day, s.rows, s.minAge) &&
      (v.teams === null || unchanged(e.teams, v.teams.rows, v.teams.minAge))
    ) {
      out.hits.set(d, e.text);
      cache.stats.hits += 1;
      return;
    }
    out.missing.push(d);
    if (!s.dirty) {
      const teamStamp = v.teams ? { rows: v.teams.rows, xmin: v.xmin } : null;
      out.fresh.set(d, { day: { rows: s.rows, xmin: v.xmin }, teams: teamStamp });
      cache.stats.misses += 1;
    }
  });
  return out;
}

/** The days dealt out round-robin to at most `k` statements (merged back in day order by the reader). */
function dealDays<R>(days: readonly string[], k: number, forDays: (d: readonly string[]) => R): R[] {
  const n = Math.min(k, days.length);
  const out: R[] = [];
  for (let j = 0; j < n; j++) out.push(forDays(days.filter((_, i) => i % n === j)));
  return out;
}

/** Rows of a chunked read looked at one at a time (`peek`, then `take`). */
class RowCursor<R> {
  private buf: R[] = [];
  private at = 0;
  private ended = false;
  constructor(private readonly rows: AsyncGenerator<R[], void, undefined>) {}
  async peek(): Promise<R | null> {
    while (this.at >= this.buf.length) {
      if (this.ended) return null;
      const r = await this.rows.next();
      if (r.done) {
        this.ended = true;
        return null;
      }
      this.buf = r.value;
      this.at = 0;
    }
    return this.buf[this.at]!;
  }
  take(): void {
    this.at += 1;
  }
  async close(): Promise<void> {
    await this.rows.return(undefined);
  }
}

/** A day's element as its pieces: the day, then per team/customer its total and metadata (JSON text). */
async function dayPieces(
  rows: RowCursor<DayGroupRow>,
  day: string,
  list: "teams" | "customers",
  name: "team_name" | "customer",
): Promise<string[]> {
  const parts: string[] = [];
  for (let r = await rows.peek(); r && r.day === day; r = await rows.peek()) {
    parts.push(
      parts.length ? "," : `{"group_by_day":${str(day)},"${list}":[`,
      `{"${name}":${str(r.grp)},"total_spend":${num(r.total)},"metadata":[`,
      r.metadata,
      "]}",
    );
    rows.take();
  }
  const r = await rows.peek();
  // The nested loop yields the days in the order given; anything else is a bug, not an answer.
  if (r && r.day < day) throw new Error("spend report rows out of day order");
  if (parts.length) parts.push("]}");
  return parts;
}

/** The per-day answer (team or customer): cached days as they are, the others read and cached. */
function dayStream(
  db: Db,
  route: ReportRoute & { shape: "team" | "customer" },
  days: readonly string[],
  opts: SpendReportStreamOptions,
  stream: StreamOptions,
): SpendReportStream {
  const by = route.shape;
  const f = route.filters;
  const list = by === "team" ? "teams" : "customers";
  const name = by === "team" ? "team_name" : "customer";
  return {
    group_by: by,
    columns: ["group_by_day", list],
    async *items() {
      const cache = opts.cache === false ? null : reportDayCache(db);
      const keyOf = (d: string) =>
        JSON.stringify([by, d, f.team_id ?? null, f.customer_id ?? null, scopeUserId(route.scope)]);
      // Decided in the read's own snapshot (streamPlanned): which days the cache holds unchanged, and
      // the stamps of the days computed now.
      let cached: CachedDays = { missing: [...days], hits: new Map(), fresh: new Map() };
      // Everything that queries `db` itself happens before the read's transaction opens (PGlite has
      // one connection: a query on `db` inside it would wait for it forever).
      const { forDays } = await dayGroupSql(db, route.scope, by, f);
      const k = await parallelOf(db, opts);
      const plan = async (trx: Db) => {
        if (cache) cached = await checkCachedDays(trx, cache, days, keyOf, by === "team");
        return dealDays(cached.missing, k, forDays);
      };
      const byDay = (a: DayGroupRow, b: DayGroupRow) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0);
      const rows = new RowCursor(streamPlanned(db, plan, byDay, stream));
      try {
        await rows.peek(); // runs the plan
        for (const d of days) {
          const hit = cached.hits.get(d);
          if (hit !== undefined) {
            if (hit.length) yield hit;
            continue;
          }
          const parts = await dayPieces(rows, d, list, name);
          const stamp = cached.fresh.get(d);
          if (cache && stamp) {
            const text = Buffer.from(parts.join(""), "utf8");
            cache.set(keyOf(d), { text, ...stamp, at: Date.now() });
            if (text.length) yield text;
          } else if (parts.length) yield parts;
        }
        if (await rows.peek()) throw new Error("spend report rows for a day not asked for");
      } finally {
        await rows.close();
      }
    },
  };
}

/**
 * The spend report, streamed: input is checked here (a 400 or 403 is thrown before anything is read);
 * `items()` then reads from a server-side cursor, `opts.chunkRows` rows (day × team/customer, or keys)
 * at a time, and yields each element once it is complete. Memory: one day (or one chunk of keys).
 */
export function spendReportStream(
  db: Db,
  scope: Scope,
  raw: SpendReportInput,
  opts: SpendReportStreamOptions = {},
): SpendReportStream {
  const input = spendReportInput.parse(raw);
  const route = routeOf(scope, input);
  const stream: StreamOptions = { settings: REPORT_SETTINGS };
  if (opts.chunkRows !== undefined) stream.chunkRows = opts.chunkRows;
  if (route.shape === "api_key") return keyStream(db, route, windowOf(input), opts, stream);
  return dayStream(
    db,
    { ...route, shape: route.shape },
    eachDay(input.start_date, input.end_date),
    opts,
    stream,
  );
}

/** Which shape the answer to a (parsed) input has, by the precedence at the top of this file. */
export function spendReportShape(input: z.output<typeof spendReportInput>): SpendReport["group_by"] {
  if (input.api_key !== undefined || input.internal_user_id !== undefined) return "api_key";
  if (input.team_id !== undefined && input.customer_id !== undefined) return "customer";
  return input.group_by;
}

/** What the spend report would run: its shape, and per statement the plan and the SQL with parameters. */
export interface SpendReportExplained {
  group_by: SpendReport["group_by"];
  /**
   * The statements, in order. The per-day answers run one statement over the days not in the day cache
   * (shown here over every day of the window, as with the cache off), dealt out to two connections on
   * Postgres; the per-key answer runs one.
   */
  statements: Explained[];
}

/** The plan and SQL of the spend report for an input, without running it (admins; `reports.explain`). */
export async function explainSpendReport(
  db: Db,
  scope: Scope,
  raw: SpendReportInput,
): Promise<SpendReportExplained> {
  const input = spendReportInput.parse(raw);
  const route = routeOf(scope, input);
  if (route.shape === "api_key") {
    const { plan, statement } = await keyTotals(db, route.scope, windowOf(input), route.filters);
    return { group_by: route.shape, statements: [explainStatement(db, plan, keySql(statement, null))] };
  }
  const { plan, forDays } = await dayGroupSql(db, route.scope, route.shape, route.filters);
  const days = eachDay(input.start_date, input.end_date);
  return { group_by: route.shape, statements: [explainStatement(db, plan, forDays(days))] };
}

/** The whole report (tRPC and small callers): the streamed elements, parsed. */
export async function spendReport(db: Db, scope: Scope, raw: SpendReportInput): Promise<SpendReport> {
  const s = spendReportStream(db, scope, raw, { chunkRows: 5000 });
  const data: unknown[] = [];
  for await (const item of s.items()) {
    // Cached days arrive back to back without I/O: a turn of the event loop per day keeps a server
    // answering other requests while a whole answer (tRPC's plain httpLink) is built.
    await new Promise<void>((resolve) => setImmediate(resolve));
    data.push(JSON.parse(reportItemText(item)));
  }
  return { group_by: s.group_by, data } as SpendReport;
}
