import type { DbHandle } from "@spendlens/core";
import { getMeta, setMeta } from "@spendlens/core/runtime";
import { litellmFixtureStatements as litellmFixture } from "@spendlens/core/testing";
import { sql } from "kysely";
import type { ChildServer } from "./server.ts";
import { fmtMs, percentile, table } from "./stats.ts";

/**
 * `pnpm bench -- --litellm-daily`: LiteLLM's daily-activity routes answered LiteLLM's way against
 * spendlens's, on the same 30-day window of the same logs.
 *
 * 1. Fills LiteLLM's own `LiteLLM_Daily{User,Team,Organization,EndUser,Agent,Tag}Spend` tables (DDL of
 *    packages/core/test/fixtures/litellm/schema.sql) from "LiteLLM_SpendLogs" as LiteLLM's writer (`_update_daily_spend`)
 *    would: one row per (entity, date, api_key, model, model_group, custom_llm_provider,
 *    mcp_namespaced_tool_name, endpoint) with the sums; a tag row per distinct tag of a request. Logs
 *    without the entity are kept as rows with a NULL entity, so both sides read the same logs.
 * 2. Times, interleaved call by call (LiteLLM, spendlens, LiteLLM, …):
 *    - LiteLLM: the SQL Prisma issues for `get_daily_activity` (`count(where)` then
 *      `find_many(where, order date desc, id asc, skip, take)`), its key-metadata lookups, and the Python
 *      fold of the page (`_aggregate_spend_records_sync`) ported to JS and run in this process (Python's
 *      loop is slower: the JS time is a lower bound). For `/user/daily/activity/aggregated`, the
 *      GROUPING SETS statement of today's `_build_aggregated_sql_query` plus its key lookup and the
 *      dispatch of the rows.
 *    - spendlens: the route through HTTP.
 * 3. Checks the numbers: the window's totals (spend, requests, tokens) from LiteLLM's table equal the sum
 *    of spendlens's answer (every page walked), and LiteLLM's row count equals spendlens's `total_pages`
 *    at page_size 1 (the same daily-table rows).
 * 4. Then `/spend/logs/ui` with each of its filters (logsUi.ts).
 */

interface EntityTable {
  route: string;
  table: string;
  column: string;
  /** The spend-log expression of the entity. */
  source: string;
}

const ENTITY_TABLES: EntityTable[] = [
  { route: "user", table: "LiteLLM_DailyUserSpend", column: "user_id", source: "user_id" },
  { route: "team", table: "LiteLLM_DailyTeamSpend", column: "team_id", source: "team_id" },
  {
    route: "organization",
    table: "LiteLLM_DailyOrganizationSpend",
    column: "organization_id",
    source: "organization_id",
  },
  { route: "customer", table: "LiteLLM_DailyEndUserSpend", column: "end_user_id", source: "end_user_id" },
  { route: "agent", table: "LiteLLM_DailyAgentSpend", column: "agent_id", source: "agent_id" },
];
const TAG_TABLE: EntityTable = { route: "tag", table: "LiteLLM_DailyTagSpend", column: "tag", source: "tag" };

const MEASURES = [
  "prompt_tokens",
  "completion_tokens",
  "cache_read_input_tokens",
  "cache_creation_input_tokens",
  "spend",
  "api_requests",
  "successful_requests",
  "failed_requests",
] as const;

/**
 * Every identifier this file writes into SQL text comes from the constants above (LiteLLM's daily
 * tables, their entity columns, the measures), never from input; `qi` quotes one and refuses anything
 * else.
 */
const IDENTS: ReadonlySet<string> = new Set([
  ...[...ENTITY_TABLES, TAG_TABLE].flatMap((t) => [t.table, t.column, t.source]),
  ...MEASURES,
]);
function allowed(name: string): string {
  if (!IDENTS.has(name)) throw new Error(`not an allowed identifier: ${name}`);
  return name;
}
function qi(name: string): string {
  return `"${allowed(name)}"`;
}
/** An allowed table name as a kysely reference (quoted by kysely). */
const tableRef = (name: string) => sql.table(allowed(name));

/**
 * LiteLLM's DDL for one daily table, its CREATE TABLE and CREATE INDEX statements as schema.sql has them
 * (read from the fixture, not restated here; the table name is one of the fixed list above).
 */
function ddl(t: EntityTable): { table: string; indexes: string[] } {
  const all = litellmFixture("schema.sql");
  const table = all.find((s) => s.startsWith(`CREATE TABLE ${qi(t.table)} (`));
  if (!table) throw new Error(`schema.sql has no table ${t.table}`);
  const indexes = all.filter((s) => /^CREATE (UNIQUE )?INDEX /.test(s) && s.includes(` ON ${qi(t.table)}(`));
  return { table, indexes };
}

const FILL_KEY = "bench_litellm_daily";

export interface FillReport {
  filled: boolean;
  ms: number;
  rows: Record<string, number>;
  notes: string[];
}

/** Creates and fills LiteLLM's daily tables once per data set (kept between runs). */
export async function fillLiteLLMDaily(
  h: DbHandle,
  dataset: string,
  log: (s: string) => void,
): Promise<FillReport> {
  const db = h.db;
  const notes: string[] = [];
  const counts = async () => {
    const rows: Record<string, number> = {};
    for (const t of [...ENTITY_TABLES, TAG_TABLE]) {
      const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${tableRef(t.table)}`.execute(db);
      rows[t.table] = r.rows[0]!.n;
    }
    return rows;
  };
  if ((await getMeta(db, FILL_KEY)) === dataset) return { filled: false, ms: 0, rows: await counts(), notes };
  const t0 = performance.now();
  for (const t of [...ENTITY_TABLES, TAG_TABLE]) {
    await sql`DROP TABLE IF EXISTS ${tableRef(t.table)}`.execute(db);
    await sql.raw(ddl(t).table).execute(db);
  }
  const have = new Set(
    (
      await sql<{ c: string }>`SELECT column_name AS c FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = 'LiteLLM_SpendLogs'`.execute(db)
    ).rows.map((r) => r.c),
  );
  const col = (c: string) => (have.has(c) ? `l.${c === "user" ? '"user"' : c}` : "NULL::text");
  // LiteLLM's writer: date = startTime's ISO date; cache tokens from the usage object; a request is
  // failed when its status is 'failure' (spendlens's rule, docs/litellm-usage.md).
  const usage = (k: string) =>
    have.has("metadata")
      ? `CASE WHEN jsonb_typeof(l.metadata #> '{usage_object,${k}}') = 'number'
          THEN trunc((l.metadata #>> '{usage_object,${k}}')::numeric)::bigint ELSE 0 END`
      : "0";
  const perLog = `to_char(l."startTime", 'YYYY-MM-DD') AS date, coalesce(l.api_key, '') AS api_key,
      ${col("model")} AS model, ${col("model_group")} AS model_group,
      ${col("custom_llm_provider")} AS custom_llm_provider,
      ${col("mcp_namespaced_tool_name")} AS mcp_namespaced_tool_name, ${col("call_type")} AS endpoint,
      coalesce(l.prompt_tokens, 0)::bigint AS prompt_tokens, coalesce(l.completion_tokens, 0)::bigint AS completion_tokens,
      ${usage("cache_read_input_tokens")} AS cache_read_input_tokens,
      ${usage("cache_creation_input_tokens")} AS cache_creation_input_tokens,
      coalesce(l.spend, 0)::float8 AS spend, 1::bigint AS api_requests,
      CASE WHEN ${col("status")} = 'failure' THEN 0 ELSE 1 END::bigint AS successful_requests,
      CASE WHEN ${col("status")} = 'failure' THEN 1 ELSE 0 END::bigint AS failed_requests`;
  const dims = `date, api_key, model, model_group, custom_llm_provider, mcp_namespaced_tool_name, endpoint`;
  const sums = MEASURES.map((m) => `sum(${qi(m)})`).join(", ");
  const cols = `"id", %E, "date", "api_key", "model", "model_group", "custom_llm_provider",
      "mcp_namespaced_tool_name", "endpoint", ${MEASURES.map(qi).join(", ")}, "updated_at"`;
  log("LiteLLM daily tables: grouping the logs (one pass)");
  await sql`DROP TABLE IF EXISTS bench_litellm_stage`.execute(db);
  await sql
    .raw(`CREATE UNLOGGED TABLE bench_litellm_stage AS
      SELECT ${col("user")} AS user_id, ${col("team_id")} AS team_id, ${col("organization_id")} AS organization_id,
        ${col("end_user")} AS end_user_id, ${col("agent_id")} AS agent_id, ${dims}, ${MEASURES.map((m) => `sum(${qi(m)}) AS ${qi(m)}`).join(", ")}
      FROM (SELECT ${perLog}, ${col("user")}, ${col("team_id")}, ${col("organization_id")}, ${col("end_user")}, ${col("agent_id")}
            FROM "LiteLLM_SpendLogs" l) l
      GROUP BY 1, 2, 3, 4, 5, ${dims}`)
    .execute(db);
  for (const t of ENTITY_TABLES) {
    log(`  ${t.table}`);
    await sql
      .raw(`INSERT INTO ${qi(t.table)} (${cols.replace("%E", qi(t.column))})
        SELECT gen_random_uuid()::text, ${qi(t.source)}, ${dims}, ${sums}, now() FROM bench_litellm_stage
        GROUP BY ${qi(t.source)}, ${dims}`)
      .execute(db);
  }
  log(`  ${TAG_TABLE.table}`);
  const tags = have.has("request_tags")
    ? `CROSS JOIN LATERAL (SELECT DISTINCT e AS tag FROM jsonb_array_elements_text(
          CASE WHEN jsonb_typeof(l.request_tags) = 'array' THEN l.request_tags ELSE '[]'::jsonb END) e
          WHERE e IS NOT NULL) t`
    : "CROSS JOIN (SELECT NULL::text AS tag WHERE false) t";
  await sql
    .raw(`INSERT INTO ${qi(TAG_TABLE.table)} (${cols.replace("%E", qi(TAG_TABLE.column))})
      SELECT gen_random_uuid()::text, tag, ${dims}, ${sums}, now()
      FROM (SELECT t.tag, ${perLog} FROM "LiteLLM_SpendLogs" l ${tags}) x
      GROUP BY tag, ${dims}`)
    .execute(db);
  await sql`DROP TABLE bench_litellm_stage`.execute(db);
  for (const t of [...ENTITY_TABLES, TAG_TABLE]) {
    for (const s of ddl(t).indexes) {
      try {
        await sql.raw(s).execute(db);
      } catch (e) {
        // LiteLLM's unique key leaves model_group out: two model groups under one key would be one row
        // there, two here. Say so rather than fail.
        notes.push(`${t.table}: ${s.split(" ON ")[0]} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    await sql`ANALYZE ${tableRef(t.table)}`.execute(db);
  }
  await setMeta(db, FILL_KEY, dataset);
  return { filled: true, ms: performance.now() - t0, rows: await counts(), notes };
}

// ---------- LiteLLM's read path ----------

type Rec = Record<string, any>;
interface Metrics {
  spend: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  api_requests: number;
  successful_requests: number;
  failed_requests: number;
}
const zero = (): Metrics => ({
  spend: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  total_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation_input_tokens: 0,
  api_requests: 0,
  successful_requests: 0,
  failed_requests: 0,
});
const n = (v: unknown) => (v == null ? 0 : Number(v));
function update(m: Metrics, r: Rec): void {
  m.spend += n(r.spend);
  m.prompt_tokens += n(r.prompt_tokens);
  m.completion_tokens += n(r.completion_tokens);
  m.total_tokens += n(r.prompt_tokens) + n(r.completion_tokens);
  m.cache_read_input_tokens += n(r.cache_read_input_tokens);
  m.cache_creation_input_tokens += n(r.cache_creation_input_tokens);
  m.api_requests += n(r.api_requests);
  m.successful_requests += n(r.successful_requests);
  m.failed_requests += n(r.failed_requests);
}

/** `_aggregate_spend_records_sync` + `update_breakdown_metrics`, ported: one pass over the page's rows. */
function foldLikeLiteLLM(records: Rec[], keyMeta: Map<string, Rec>, entityField: string) {
  type Bucket = {
    metrics: Metrics;
    metadata: Rec;
    api_key_breakdown: Record<string, { metrics: Metrics; metadata: Rec }>;
  };
  const byDate = new Map<string, { metrics: Metrics; breakdown: Record<string, Record<string, Bucket>> }>();
  const totals = zero();
  const meta = (k: string) => keyMeta.get(k) ?? { key_alias: null, team_id: null, key_exists: false };
  const bucket = (target: Record<string, Bucket>, name: string, r: Rec, withKey = true) => {
    target[name] ??= { metrics: zero(), metadata: {}, api_key_breakdown: {} };
    const b = target[name]!;
    update(b.metrics, r);
    if (withKey) {
      b.api_key_breakdown[r.api_key] ??= { metrics: zero(), metadata: meta(r.api_key) };
      update(b.api_key_breakdown[r.api_key]!.metrics, r);
    }
  };
  for (const r of records) {
    let d = byDate.get(r.date);
    if (!d) {
      d = {
        metrics: zero(),
        breakdown: {
          models: {},
          model_groups: {},
          mcp_servers: {},
          providers: {},
          endpoints: {},
          api_keys: {},
          entities: {},
        },
      };
      byDate.set(r.date, d);
    }
    update(d.metrics, r);
    const b = d.breakdown;
    if (r.model) bucket(b.models!, r.model, r);
    const g = r.model_group || r.model;
    if (g) bucket(b.model_groups!, g, r);
    if (r.mcp_namespaced_tool_name) bucket(b.mcp_servers!, r.mcp_namespaced_tool_name, r);
    bucket(b.providers!, r.custom_llm_provider || "unknown", r);
    if (r.endpoint) bucket(b.endpoints!, r.endpoint, r);
    b.api_keys![r.api_key] ??= { metrics: zero(), metadata: meta(r.api_key), api_key_breakdown: {} };
    update(b.api_keys![r.api_key]!.metrics, r);
    bucket(b.entities!, r[entityField] || "Unassigned", r);
    update(totals, r);
  }
  const results = [...byDate.entries()].sort((a, b) => (a[0] < b[0] ? 1 : -1));
  return { results, totals };
}

/** `get_api_key_metadata`: active keys, then the user emails of their owners. */
async function keyMetadata(h: DbHandle, keys: string[]): Promise<Map<string, Rec>> {
  const out = new Map<string, Rec>();
  if (!keys.length) return out;
  const placeholders = keys.map((_, i) => `$${i + 1}`).join(", ");
  const r = await h.pool!.query(
    `SELECT "public"."LiteLLM_VerificationToken"."token", "public"."LiteLLM_VerificationToken"."key_alias",
       "public"."LiteLLM_VerificationToken"."team_id", "public"."LiteLLM_VerificationToken"."user_id"
     FROM "public"."LiteLLM_VerificationToken" WHERE "public"."LiteLLM_VerificationToken"."token" IN (${placeholders}) OFFSET $${keys.length + 1}`,
    [...keys, 0],
  );
  const users = [...new Set(r.rows.map((x) => x.user_id).filter(Boolean))];
  const emails = new Map<string, string | null>();
  if (users.length) {
    const u = await h.pool!.query(
      `SELECT "user_id", "user_email" FROM "public"."LiteLLM_UserTable" WHERE "user_id" IN (${users.map((_, i) => `$${i + 1}`).join(", ")})`,
      users,
    );
    for (const x of u.rows) emails.set(x.user_id, x.user_email);
  }
  for (const x of r.rows)
    out.set(x.token, { ...x, user_email: emails.get(x.user_id) ?? null, key_exists: true });
  return out;
}

interface Filter {
  /** Only these entities (`IN`). */
  ids?: string[];
  /** Not these (`NOT IN`). */
  exclude?: string[];
}

function whereOf(t: EntityTable, start: string, end: string, f: Filter): { text: string; values: unknown[] } {
  const T = `"public".${qi(t.table)}`;
  const values: unknown[] = [start, end];
  const parts = [`${T}."date" >= $1`, `${T}."date" <= $2`];
  const list = (xs: string[]) => xs.map((x) => `$${values.push(x)}`).join(", ");
  if (f.ids) parts.push(`${T}.${qi(t.column)} IN (${list(f.ids)})`);
  if (f.exclude?.length)
    parts.push(`(${T}.${qi(t.column)} NOT IN (${list(f.exclude)}) AND ${T}.${qi(t.column)} IS NOT NULL)`);
  return { text: parts.join(" AND "), values };
}

/** One `get_daily_activity` call: Prisma's count + find_many, key metadata, the Python fold (in JS). */
async function litellmPage(
  h: DbHandle,
  t: EntityTable,
  start: string,
  end: string,
  f: Filter,
  page: number,
  pageSize: number,
) {
  const T = `"public".${qi(t.table)}`;
  const w = whereOf(t, start, end, f);
  const k = w.values.length;
  const count = await h.pool!.query(
    `SELECT COUNT(*) AS "_count._all" FROM (SELECT ${T}."id" FROM ${T} WHERE (${w.text}) OFFSET $${k + 1}) AS "sub"`,
    [...w.values, 0],
  );
  const cols = [
    "id",
    t.column,
    "date",
    "api_key",
    "model",
    "model_group",
    "custom_llm_provider",
    "mcp_namespaced_tool_name",
    "endpoint",
    ...MEASURES,
    "created_at",
    "updated_at",
  ]
    .map((c) => `${T}.${c === t.column ? qi(c) : `"${c}"`}`) // LiteLLM's fixed column names, and the entity's
    .join(", ");
  const rows = await h.pool!.query(
    `SELECT ${cols} FROM ${T} WHERE (${w.text}) ORDER BY ${T}."date" DESC, ${T}."id" ASC LIMIT $${k + 1} OFFSET $${k + 2}`,
    [...w.values, pageSize, (page - 1) * pageSize],
  );
  const keys = await keyMetadata(h, [...new Set(rows.rows.map((r) => r.api_key as string).filter(Boolean))]);
  const fold = foldLikeLiteLLM(rows.rows, keys, t.column);
  return { total: Number(count.rows[0]["_count._all"]), fold };
}

/** Today's `_build_aggregated_sql_query` (the columns the shared schema has), its key lookup and dispatch. */
export async function litellmAggregated(h: DbHandle, start: string, end: string) {
  const where = "date >= $1 AND date <= $2";
  const metrics = `SUM(spend)::float AS spend, SUM(prompt_tokens)::bigint AS prompt_tokens,
      SUM(completion_tokens)::bigint AS completion_tokens, SUM(cache_read_input_tokens)::bigint AS cache_read_input_tokens,
      SUM(cache_creation_input_tokens)::bigint AS cache_creation_input_tokens, SUM(api_requests)::bigint AS api_requests,
      SUM(successful_requests)::bigint AS successful_requests, SUM(failed_requests)::bigint AS failed_requests`;
  const mg = "COALESCE(NULLIF(model_group, ''), model)";
  const text = `
    (SELECT date, NULL::text AS api_key, model, ${mg} AS model_group, custom_llm_provider, mcp_namespaced_tool_name, endpoint,
        (GROUPING(date) << 6) | 32 | GROUPING(model, ${mg}, custom_llm_provider, mcp_namespaced_tool_name, endpoint) AS group_level,
        NULL::bigint AS distinct_api_keys, ${metrics}
      FROM "LiteLLM_DailyUserSpend" WHERE ${where}
      GROUP BY GROUPING SETS ((date), (date, model), (date, ${mg}), (date, custom_llm_provider),
        (date, mcp_namespaced_tool_name), (date, endpoint), ()))
    UNION ALL
    (WITH top_api_keys AS (
        SELECT api_key, COUNT(*) OVER () AS distinct_api_keys FROM "LiteLLM_DailyUserSpend"
        WHERE ${where} AND api_key <> $3 GROUP BY api_key ORDER BY SUM(spend) DESC, api_key LIMIT 100)
      SELECT date, api_key, model, ${mg} AS model_group, custom_llm_provider, mcp_namespaced_tool_name, endpoint,
        GROUPING(date, api_key, model, ${mg}, custom_llm_provider, mcp_namespaced_tool_name, endpoint) AS group_level,
        MAX(top_api_keys.distinct_api_keys) AS distinct_api_keys, ${metrics}
      FROM "LiteLLM_DailyUserSpend" JOIN top_api_keys USING (api_key) WHERE ${where}
      GROUP BY GROUPING SETS ((date, api_key), (date, model, api_key), (date, ${mg}, api_key),
        (date, custom_llm_provider, api_key), (date, mcp_namespaced_tool_name, api_key), (date, endpoint, api_key)))`;
  const r = await h.pool!.query(text, [start, end, "litellm-ptu-sentinel"]);
  const keys = await keyMetadata(h, [...new Set(r.rows.map((x) => x.api_key as string).filter(Boolean))]);
  // `_aggregate_grouping_sets_records_sync`: each row lands in its bucket by its GROUPING() level.
  let totals = zero();
  const days = new Map<string, { metrics: Metrics; b: Record<string, Map<string, Metrics>> }>();
  const day = (d: string) => {
    let x = days.get(d);
    if (!x) {
      x = { metrics: zero(), b: {} };
      days.set(d, x);
    }
    return x;
  };
  const put = (d: string, kind: string, key: string, r: Rec) => {
    const m = zero();
    update(m, r);
    const b = day(d).b;
    b[kind] ??= new Map();
    b[kind].set(key, m);
  };
  for (const row of r.rows) {
    const lvl = Number(row.group_level);
    if (lvl === 127) {
      totals = zero();
      update(totals, row);
    } else if (lvl === 63) update(day(row.date).metrics, row);
    else if (lvl === 31) put(row.date, "api_keys", row.api_key, row);
    else if (lvl === 47 && row.model) put(row.date, "models", row.model, row);
    else if (lvl === 15 && row.model) put(row.date, "models/key", `${row.model}/${row.api_key}`, row);
    else if (lvl === 55 && row.model_group) put(row.date, "model_groups", row.model_group, row);
    else if (lvl === 23 && row.model_group)
      put(row.date, "model_groups/key", `${row.model_group}/${row.api_key}`, row);
    else if (lvl === 59) put(row.date, "providers", row.custom_llm_provider || "unknown", row);
    else if (lvl === 27)
      put(row.date, "providers/key", `${row.custom_llm_provider || "unknown"}/${row.api_key}`, row);
    else if (lvl === 61 && row.mcp_namespaced_tool_name)
      put(row.date, "mcp", row.mcp_namespaced_tool_name, row);
    else if (lvl === 29 && row.mcp_namespaced_tool_name)
      put(row.date, "mcp/key", `${row.mcp_namespaced_tool_name}/${row.api_key}`, row);
    else if (lvl === 62 && row.endpoint) put(row.date, "endpoints", row.endpoint, row);
    else if (lvl === 30 && row.endpoint)
      put(row.date, "endpoints/key", `${row.endpoint}/${row.api_key}`, row);
  }
  const topKeys = new Set(
    r.rows.filter((x) => Number(x.group_level) === 31 && x.api_key).map((x) => x.api_key),
  );
  const distinctKeys = n(r.rows.find((x) => x.distinct_api_keys != null)?.distinct_api_keys);
  const perDay = new Map([...days].map(([d, x]) => [d, x.metrics]));
  return { totals, days: days.size, perDay, keys: keys.size, rows: r.rowCount ?? 0, topKeys, distinctKeys };
}

// ---------- the comparison ----------

interface RouteCase {
  label: string;
  table: EntityTable;
  path: string;
  /** Extra query of the spendlens call. */
  query: Record<string, string>;
  filter: Filter;
  aggregated?: boolean;
}

export interface LiteLLMDailyOptions {
  server: ChildServer;
  /** `--baseline <checkout>`: the same routes on another checkout's server, interleaved with the others. */
  baseline?: ChildServer | null;
  /** `--no-aggregated`: only the paginated routes (the aggregated one answers megabytes). */
  noAggregated?: boolean;
  key: string;
  start: string;
  end: string;
  calls: number;
  warmup: number;
  pageSize: number;
  log: (s: string) => void;
}

export async function getJson(
  o: Pick<LiteLLMDailyOptions, "server" | "key">,
  path: string,
  q: Record<string, string>,
) {
  const t0 = performance.now();
  const res = await fetch(`${o.server.url}${path}?${new URLSearchParams(q)}`, {
    headers: { authorization: `Bearer ${o.key}` },
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return { ms, body: JSON.parse(text) as any };
}

const TOTAL_KEYS = [
  "spend",
  "api_requests",
  "prompt_tokens",
  "completion_tokens",
  "failed_requests",
] as const;
const metaKey = (k: string) => (k === "spend" ? "total_spend" : `total_${k}`);

/** The window's totals over LiteLLM's table (independent of any page). */
async function litellmWindowTotals(h: DbHandle, t: EntityTable, start: string, end: string, f: Filter) {
  const w = whereOf(t, start, end, f);
  const r = await h.pool!.query(
    `SELECT count(*)::int AS rows, ${TOTAL_KEYS.map((k) => `sum(${qi(k)})::float8 AS ${qi(k)}`).join(", ")}
     FROM "public".${qi(t.table)} WHERE ${w.text}`,
    w.values,
  );
  return r.rows[0] as Rec;
}

/** spendlens's totals over every page (walked untimed), and its row count (total_pages at page_size 1). */
async function spendlensWindowTotals(
  o: LiteLLMDailyOptions,
  c: RouteCase,
  start: string,
  end: string,
): Promise<Rec> {
  const base = { start_date: start, end_date: end, ...c.query };
  const sums: Rec = Object.fromEntries(TOTAL_KEYS.map((k) => [k, 0]));
  if (c.aggregated) {
    const { body } = await getJson(o, c.path, base);
    for (const k of TOTAL_KEYS) sums[k] += n(body.metadata[metaKey(k)]);
  } else {
    for (let page = 1; ; page++) {
      const { body } = await getJson(o, c.path, { ...base, page: String(page), page_size: "1000" });
      for (const k of TOTAL_KEYS) sums[k] += n(body.metadata[metaKey(k)]);
      if (!body.metadata.has_more) break;
    }
  }
  return sums;
}

/** spendlens's row count of the window: `total_pages` at page_size 1 (LiteLLM's daily-table rows). */
async function spendlensRows(o: LiteLLMDailyOptions, c: RouteCase): Promise<number> {
  const path = c.aggregated ? "/user/daily/activity" : c.path;
  const q = { start_date: o.start, end_date: o.end, ...c.query, page_size: "1" };
  return n((await getJson(o, path, q)).body.metadata.total_pages);
}

export async function benchLiteLLMDaily(h: DbHandle, o: LiteLLMDailyOptions): Promise<string> {
  const team = ENTITY_TABLES[1]!;
  const cases: RouteCase[] = [
    {
      label: "GET /user/daily/activity",
      table: ENTITY_TABLES[0]!,
      path: "/user/daily/activity",
      query: {},
      filter: {},
    },
    {
      label: "GET /team/daily/activity?exclude_team_ids=litellm-dashboard",
      table: team,
      path: "/team/daily/activity",
      query: { exclude_team_ids: "litellm-dashboard" },
      filter: { exclude: ["litellm-dashboard"] },
    },
    { label: "GET /team/daily/activity", table: team, path: "/team/daily/activity", query: {}, filter: {} },
    {
      label: "GET /organization/daily/activity",
      table: ENTITY_TABLES[2]!,
      path: "/organization/daily/activity",
      query: {},
      filter: {},
    },
    {
      label: "GET /customer/daily/activity",
      table: ENTITY_TABLES[3]!,
      path: "/customer/daily/activity",
      query: {},
      filter: {},
    },
    {
      label: "GET /agent/daily/activity",
      table: ENTITY_TABLES[4]!,
      path: "/agent/daily/activity",
      query: {},
      filter: {},
    },
    {
      label: "GET /tag/daily/activity",
      table: TAG_TABLE,
      path: "/tag/daily/activity",
      query: {},
      filter: {},
    },
    {
      label: "GET /user/daily/activity/aggregated",
      table: ENTITY_TABLES[0]!,
      path: "/user/daily/activity/aggregated",
      query: {},
      filter: {},
      aggregated: true,
    },
  ];
  const out: Rec[] = [];
  for (const c of cases) {
    if (o.noAggregated && c.aggregated) continue;
    o.log(`timing ${c.label}`);
    // page_size 0: the route's own default, as the UI sends none (50 on /user, 10 elsewhere).
    const pageSize = o.pageSize || (c.table === ENTITY_TABLES[0] ? 50 : 10);
    const q = {
      start_date: o.start,
      end_date: o.end,
      ...c.query,
      ...(c.aggregated ? {} : { page: "1", ...(o.pageSize ? { page_size: String(o.pageSize) } : {}) }),
    };
    const lite = () =>
      c.aggregated
        ? litellmAggregated(h, o.start, o.end)
        : litellmPage(h, c.table, o.start, o.end, c.filter, 1, pageSize);
    const warmup = o.warmup;
    const calls = o.calls;
    const base = o.baseline ? { ...o, server: o.baseline } : null;
    for (let i = 0; i < warmup; i++) {
      await lite();
      if (base) await getJson(base, c.path, q);
      await getJson(o, c.path, q);
    }
    const ls: number[] = [];
    const ss: number[] = [];
    const bs: number[] = [];
    // Each server's CPU over the timed calls (less load-dependent than wall time; 10 ms ticks).
    const cpu0 = [o.server.cpuMs(), o.baseline?.cpuMs() ?? Number.NaN];
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      await lite();
      ls.push(performance.now() - t0);
      // The baseline and this checkout take turns going first.
      if (base && i % 2 === 0) bs.push((await getJson(base, c.path, q)).ms);
      ss.push((await getJson(o, c.path, q)).ms);
      if (base && i % 2 === 1) bs.push((await getJson(base, c.path, q)).ms);
    }
    const cpu = [
      (o.server.cpuMs() - cpu0[0]!) / calls,
      ((o.baseline?.cpuMs() ?? Number.NaN) - cpu0[1]!) / calls,
    ];
    // The totals are compared over the whole window on the aggregated route (one call) and over the
    // window's last day on the paginated ones (walking every page of 30 days would group the window
    // once per page); the daily-table row count over the whole window on every route.
    const checkStart = c.aggregated ? o.start : o.end;
    const want = await litellmWindowTotals(h, c.table, checkStart, o.end, c.filter);
    const got = await spendlensWindowTotals(o, c, checkStart, o.end);
    const wantRows = n((await litellmWindowTotals(h, c.table, o.start, o.end, c.filter)).rows);
    const gotRows = await spendlensRows(o, c);
    const diffs: string[] = [];
    for (const k of TOTAL_KEYS) {
      const x = n(want[k]);
      const y = n(got[k]);
      if (!(x === y || Math.abs(x - y) <= 1e-6 * Math.max(Math.abs(x), Math.abs(y))))
        diffs.push(`${k} ${x} vs ${y}`);
    }
    if (wantRows !== gotRows) diffs.push(`30-day rows ${wantRows} vs ${gotRows}`);
    if (c.aggregated) {
      // The top keys (LiteLLM's USAGE_TOP_API_KEYS_LIMIT) and the number of keys: the same on both sides.
      const lite = await litellmAggregated(h, o.start, o.end);
      const { body } = await getJson(o, c.path, { start_date: o.start, end_date: o.end, ...c.query });
      const mine = new Set<string>();
      for (const d of body.results) for (const k of Object.keys(d.breakdown.api_keys)) if (k) mine.add(k);
      const same = mine.size === lite.topKeys.size && [...mine].every((k) => lite.topKeys.has(k));
      if (!same) diffs.push(`top keys differ (${mine.size} vs ${lite.topKeys.size})`);
      if (n(body.metadata.total_api_keys) !== lite.distinctKeys)
        diffs.push(`total_api_keys ${body.metadata.total_api_keys} vs ${lite.distinctKeys}`);
    }
    out.push({
      route: c.label,
      s50: percentile(ss, 50),
      s99: percentile(ss, 99),
      l50: percentile(ls, 50),
      l99: percentile(ls, 99),
      b50: percentile(bs, 50),
      cpu: cpu[0],
      bcpu: cpu[1],
      b99: percentile(bs, 99),
      same: diffs.length ? `NO: ${diffs.join("; ")}` : "yes",
      totals: `${checkStart === o.start ? "30 days" : `day ${o.end}`}: spend ${n(want.spend).toFixed(4)}, requests ${n(want.api_requests).toLocaleString("en-US")}, prompt ${n(want.prompt_tokens).toLocaleString("en-US")}, completion ${n(want.completion_tokens).toLocaleString("en-US")}; daily-table rows in 30 days ${wantRows.toLocaleString("en-US")}`,
    });
  }
  const lines: string[] = [];
  const withBase = !!o.baseline;
  lines.push(
    table(
      [
        "route (30 days)",
        "spendlens p50 / p99 (HTTP)",
        ...(withBase ? ["baseline p50 / p99 (HTTP)"] : []),
        "LiteLLM p50 / p99 (SQL + fold)",
        "ratio (p50)",
        ...(withBase ? ["baseline ratio (p50)"] : []),
        withBase ? "server CPU / call (this / baseline)" : "server CPU / call",
        "same totals",
      ],
      out.map((r) => [
        r.route,
        `${fmtMs(r.s50)} / ${fmtMs(r.s99)}`,
        ...(withBase ? [`${fmtMs(r.b50)} / ${fmtMs(r.b99)}`] : []),
        `${fmtMs(r.l50)} / ${fmtMs(r.l99)}`,
        `${(r.l50 / r.s50).toFixed(1)}×`,
        ...(withBase ? [`${(r.l50 / r.b50).toFixed(1)}×`] : []),
        withBase ? `${r.cpu.toFixed(1)} / ${r.bcpu.toFixed(1)} ms` : `${r.cpu.toFixed(1)} ms`,
        r.same,
      ]),
    ),
  );
  lines.push("");
  lines.push(
    "Checked totals (LiteLLM's table; spendlens's answer, every page walked, equals them where 'same totals' is yes):",
  );
  for (const r of out) lines.push(`- ${r.route}: ${r.totals}`);
  return lines.join("\n");
}
