import { ident } from "./grains.ts";

/**
 * The activity rollups of migration 0009 (db/migrations/0009_activity_rollups.sql), as live code reads
 * them: their tables, dimensions and measures, and the per-row expressions the dirty-day reads compute
 * from the raw logs (activity/dailyActivity.ts). Those expressions are the migration's own, character for
 * character (its triggers and fill function compute them), so a day read raw equals a day read from the
 * rollups; a change to what the rollups hold is a new migration, and these follow it.
 *
 * - activity_daily: per (day, api_key, user, team_id, organization_id, end_user, agent_id, model,
 *   model_group, custom_llm_provider, call_type, mcp_namespaced_tool_name) — every dimension LiteLLM's
 *   Daily*Spend tables key on (call_type is LiteLLM's `endpoint`);
 * - activity_tag_daily: the same per distinct non-null tag, with the dimensions the tag route uses.
 * Measures: successful and failed requests (status = 'failure' is failed), cache read / creation tokens
 * (the `usage_object` in metadata), response time (request_duration_ms, else endTime − startTime), and
 * the cache-hit counts of /global/activity/cache_hits.
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

/** The triggers this migration adds to "LiteLLM_SpendLogs" (rollupStatus expects them once it ran). */
export const TRIGGERS_V9 = ["insert", "update", "delete", "truncate"].map(
  (e) => `LiteLLM_SpendLogs.spendlens_rollup_v9_${e}`,
);
