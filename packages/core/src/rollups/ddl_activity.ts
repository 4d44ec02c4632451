import {
  createTable,
  daysOf,
  dropEmpty,
  keyHash,
  lit,
  REBUILD_ATTRS,
  TRIGGER_ATTRS,
  triggerFunction,
} from "./ddl_v1.ts";
import { ident } from "./grains.ts";

/**
 * The SQL of migration 0009_activity_rollups: the daily rollups behind LiteLLM's Usage page
 * (`/{user,team,tag,organization,customer,agent}/daily/activity`). FROZEN once the migration has shipped.
 *
 * Two tables, kept exact by their own statement-level AFTER triggers on "LiteLLM_SpendLogs"
 * (spendlens_rollup_v9_*: Postgres fires one event's triggers in name order and "v9" sorts after the
 * version-1 and version-2 triggers, so every writer takes its row locks in one global order):
 * - activity_daily: per (day, api_key, user, team_id, organization_id, end_user, agent_id, model,
 *   model_group, custom_llm_provider, call_type, mcp_namespaced_tool_name) — every dimension LiteLLM's
 *   Daily*Spend tables key on (call_type is LiteLLM's `endpoint`), so every daily-activity route is a
 *   GROUP BY over it;
 * - activity_tag_daily: the same per distinct non-null tag (a request counts once for each of its tags,
 *   as LiteLLM's tag table does), with the dimensions the tag route filters and breaks down by.
 * Measures LiteLLM's daily tables keep and the older rollups do not: successful and failed requests
 * (status = 'failure' is failed, anything else successful), cache read / creation tokens (the
 * `usage_object` in metadata), response time (request_duration_ms, else endTime − startTime), and the
 * cache-hit counts of /global/activity/cache_hits.
 * Paused, failing (→ dirty days, read raw), deadlock retries and SECURITY DEFINER are the version-1
 * trigger body's; delete keep mode is flagged by the version-1 delete trigger.
 */

export const ACTIVITY_TABLE = "activity_daily";
export const ACTIVITY_TAG_TABLE = "activity_tag_daily";

export const ACTIVITY_DIMS = [
  "api_key",
  "user",
  "team_id",
  "organization_id",
  "end_user",
  "agent_id",
  "model",
  "model_group",
  "custom_llm_provider",
  "call_type",
  "mcp_namespaced_tool_name",
] as const;
export type ActivityDim = (typeof ACTIVITY_DIMS)[number];

export const ACTIVITY_TAG_DIMS = [
  "tag",
  "api_key",
  "user",
  "model",
  "model_group",
  "custom_llm_provider",
  "call_type",
  "mcp_namespaced_tool_name",
] as const;

export const ACTIVITY_MEASURES = [
  "requests",
  "successful_requests",
  "failed_requests",
  "spend",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
  "cache_read_input_tokens",
  "cache_creation_input_tokens",
  "total_response_time_ms",
  "timed_requests",
  "cache_hit_requests",
  "cached_completion_tokens",
  "generated_completion_tokens",
] as const;
export type ActivityMeasure = (typeof ACTIVITY_MEASURES)[number];

const MEASURE_TYPES: [string, string][] = ACTIVITY_MEASURES.map((m) => [
  m,
  m === "spend" ? "double precision" : "bigint",
]);

/** Columns of "LiteLLM_SpendLogs" the activity rollups read (an older LiteLLM may lack some: read as NULL). */
export const ACTIVITY_SOURCE_COLUMNS = [
  ...ACTIVITY_DIMS.filter((d) => d !== "call_type"),
  "call_type",
  "status",
  "metadata",
  "request_duration_ms",
  "endTime",
  "cache_hit",
  "request_tags",
] as const;

const quoteCol = (c: string) => (c === "startTime" || c === "endTime" ? `"${c}"` : ident(c));

/**
 * One spend-log row (alias `s`) as the activity rollups see it: `day`, the dimensions, and one value per
 * measure. Used by the triggers, the fill function and the reads of dirty days, so all three agree.
 */
export function activityExprs(missing: ReadonlySet<string>, alias = "s"): { name: string; expr: string }[] {
  const col = (c: string, type = "text") => (missing.has(c) ? `NULL::${type}` : `${alias}.${quoteCol(c)}`);
  const failed = missing.has("status") ? "0" : `CASE WHEN ${col("status")} = 'failure' THEN 1 ELSE 0 END`;
  const duration = `coalesce(${col("request_duration_ms", "bigint")}::bigint,
      round(extract(epoch FROM (${col("endTime", "timestamp")} - ${alias}."startTime")) * 1000)::bigint)`;
  const usage = (k: string) =>
    missing.has("metadata")
      ? "0::bigint"
      : `spendlens.json_count(${col("metadata", "jsonb")} #> '{usage_object,${k}}')`;
  return [
    { name: "day", expr: `spendlens.utc_day(${alias}."startTime")` },
    ...ACTIVITY_DIMS.map((d) => ({ name: d, expr: col(d) })),
    { name: "requests", expr: "1::bigint" },
    { name: "successful_requests", expr: `(1 - ${failed})::bigint` },
    { name: "failed_requests", expr: `(${failed})::bigint` },
    { name: "spend", expr: `coalesce(${alias}.spend, 0)::float8` },
    { name: "prompt_tokens", expr: `coalesce(${alias}.prompt_tokens, 0)::bigint` },
    { name: "completion_tokens", expr: `coalesce(${alias}.completion_tokens, 0)::bigint` },
    { name: "total_tokens", expr: `coalesce(${alias}.total_tokens, 0)::bigint` },
    { name: "cache_read_input_tokens", expr: usage("cache_read_input_tokens") },
    { name: "cache_creation_input_tokens", expr: usage("cache_creation_input_tokens") },
    { name: "total_response_time_ms", expr: `coalesce(${duration}, 0)` },
    { name: "timed_requests", expr: `CASE WHEN ${duration} IS NULL THEN 0 ELSE 1 END::bigint` },
    // /global/activity/cache_hits: LiteLLM's `cache_hit = 'True'` and `cache_hit != 'True'` (NULL is neither).
    { name: "cache_hit_requests", expr: `CASE WHEN ${col("cache_hit")} = 'True' THEN 1 ELSE 0 END::bigint` },
    {
      name: "cached_completion_tokens",
      expr: `CASE WHEN ${col("cache_hit")} = 'True' THEN coalesce(${alias}.completion_tokens, 0) ELSE 0 END::bigint`,
    },
    {
      name: "generated_completion_tokens",
      expr: `CASE WHEN ${col("cache_hit")} <> 'True' THEN coalesce(${alias}.completion_tokens, 0) ELSE 0 END::bigint`,
    },
    { name: "request_tags", expr: missing.has("request_tags") ? "NULL::jsonb" : `${alias}.request_tags` },
  ];
}

/** A signed relation of activity rows from a transition table (or the raw table between literals %1$L, %2$L). */
function source(missing: ReadonlySet<string>, kind: "new" | "old" | "raw"): string {
  const cols = activityExprs(missing, "t")
    .map((e) => `${e.expr} AS ${ident(e.name)}`)
    .join(", ");
  if (kind === "new") return `(SELECT ${cols}, 1 AS sign FROM new_rows t)`;
  if (kind === "old") return `(SELECT ${cols}, -1 AS sign FROM old_rows t)`;
  return `(SELECT ${cols}, 1 AS sign FROM public."LiteLLM_SpendLogs" t WHERE t."startTime" >= %1$L AND t."startTime" < %2$L)`;
}

function upsert(table: string, dims: readonly string[], src: string, tag: boolean): string {
  const d = dims.map(ident);
  const a = d.map((x) => `a.${x}`);
  const ms = [...ACTIVITY_MEASURES];
  const inner = d.map((x) => (x === `"tag"` ? "e.tag" : `s.${x}`));
  const from = tag ? `${src} s CROSS JOIN LATERAL spendlens.request_tag_set(s.request_tags) e` : `${src} s`;
  return `INSERT INTO spendlens.${ident(table)} AS r (day, key_hash, ${d.join(", ")}, ${ms.join(", ")})
    SELECT a.day, ${keyHash(a)}, ${a.join(", ")}, ${ms.map((m) => `a.${m}`).join(", ")}
    FROM (SELECT s.day, ${inner.map((x, i) => `${x} AS ${d[i]}`).join(", ")},
        ${ms.map((m) => `sum(s.sign * s.${m})::${m === "spend" ? "float8" : "bigint"} AS ${m}`).join(",\n        ")}
      FROM ${from} GROUP BY 1, ${d.map((_, i) => i + 2).join(", ")}) a
    WHERE ${ms.map((m) => `a.${m} <> 0`).join(" OR ")}
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET ${ms.map((m) => `${m} = r.${m} + excluded.${m}`).join(", ")}`;
}

const TABLES = [ACTIVITY_TABLE, ACTIVITY_TAG_TABLE];

function apply(missing: ReadonlySet<string>, kinds: ("new" | "old")[]): string[] {
  const src =
    kinds.length === 1
      ? source(missing, kinds[0]!)
      : `(${kinds.map((k) => source(missing, k)).join(" UNION ALL ")})`;
  return [
    upsert(ACTIVITY_TABLE, ACTIVITY_DIMS, src, false),
    upsert(ACTIVITY_TAG_TABLE, ACTIVITY_TAG_DIMS, src, true),
  ];
}

/** The triggers this migration adds to "LiteLLM_SpendLogs" (rollupStatus expects them once it ran). */
export const TRIGGERS_V9 = ["insert", "update", "delete", "truncate"].map(
  (e) => `LiteLLM_SpendLogs.spendlens_rollup_v9_${e}`,
);

export function activityDdl(missing: ReadonlySet<string>): string[] {
  const out: string[] = [
    // A token count from JSON: a non-negative whole number, anything else (absent, text, fraction, huge) 0.
    `CREATE FUNCTION spendlens.json_count(v jsonb) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
      $$SELECT CASE WHEN jsonb_typeof(v) = 'number' AND (v #>> '{}')::numeric BETWEEN 0 AND 1e15
        THEN trunc((v #>> '{}')::numeric)::bigint ELSE 0 END$$`,
  ];
  out.push(...createTable(ACTIVITY_TABLE, [...ACTIVITY_DIMS], MEASURE_TYPES, [["user"], ["team_id"]]));
  out.push(...createTable(ACTIVITY_TAG_TABLE, [...ACTIVITY_TAG_DIMS], MEASURE_TYPES, [["tag"], ["user"]]));
  const oldDays = daysOf(["old_rows"]);
  out.push(triggerFunction("spendlogs_rollup_v9_insert", apply(missing, ["new"]), daysOf(["new_rows"])));
  out.push(
    triggerFunction(
      "spendlogs_rollup_v9_update",
      [...apply(missing, ["old", "new"]), ...dropEmpty(TABLES, "requests", oldDays)],
      daysOf(["old_rows", "new_rows"]),
    ),
  );
  out.push(`CREATE FUNCTION spendlens.spendlogs_rollup_v9_delete() RETURNS trigger ${TRIGGER_ATTRS} AS $fn$
BEGIN
  -- Keep mode: the version-1 delete trigger flags the days raw_deleted. Paused: it marks them dirty.
  IF spendlens.rollups_subtract_deletes() AND spendlens.rollups_active() THEN
    BEGIN
      ${[...apply(missing, ["old"]), ...dropEmpty(TABLES, "requests", oldDays)].join(";\n      ")};
    EXCEPTION WHEN OTHERS THEN
      PERFORM spendlens.rollups_mark_dirty(${oldDays}, SQLERRM);
    END;
  END IF;
  RETURN NULL;
END $fn$`);
  out.push(`CREATE FUNCTION spendlens.spendlogs_rollup_v9_truncate() RETURNS trigger ${TRIGGER_ATTRS} AS $fn$
BEGIN
  IF spendlens.rollups_subtract_deletes() THEN
    ${TABLES.map((t) => `DELETE FROM spendlens.${ident(t)}`).join(";\n    ")};
  END IF;
  RETURN NULL;
END $fn$`);
  // Fill (or refill) a day range from the raw logs; rebuildRollups calls it after rollups_rebuild_days
  // in the same transaction (the log tables stay locked against writers until it commits).
  const raw = source(missing, "raw");
  out.push(`CREATE FUNCTION spendlens.activity_rollups_fill_days(p_from date, p_to date) RETURNS void ${REBUILD_ATTRS} AS $fn$
DECLARE
  lo text := to_char(p_from, 'YYYY-MM-DD') || 'T00:00:00Z';
  hi text := to_char(p_to + 1, 'YYYY-MM-DD') || 'T00:00:00Z';
BEGIN
  LOCK TABLE public."LiteLLM_SpendLogs" IN SHARE ROW EXCLUSIVE MODE;
  ${TABLES.map((t) => `DELETE FROM spendlens.${ident(t)} WHERE day BETWEEN p_from AND p_to`).join(";\n  ")};
  -- Bounds are passed as literals so they take the column's own type (timestamp or timestamptz).
  EXECUTE format(${lit(upsert(ACTIVITY_TABLE, ACTIVITY_DIMS, raw, false))}, lo, hi);
  EXECUTE format(${lit(upsert(ACTIVITY_TAG_TABLE, ACTIVITY_TAG_DIMS, raw, true))}, lo, hi);
END $fn$`);
  for (const e of ["insert", "update", "delete", "truncate"] as const) {
    const ref =
      e === "insert"
        ? "REFERENCING NEW TABLE AS new_rows "
        : e === "update"
          ? "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
          : e === "delete"
            ? "REFERENCING OLD TABLE AS old_rows "
            : "";
    out.push(
      `CREATE TRIGGER spendlens_rollup_v9_${e} AFTER ${e.toUpperCase()} ON public."LiteLLM_SpendLogs" ${ref}FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_v9_${e}()`,
    );
  }
  return out;
}
