/**
 * The route rollups of migration 0012 (db/migrations/0012_activity_route_rollups.sql), derived from 0009's
 * activity rollups by statement triggers on them:
 *
 * - activity_route_daily: one row per LiteLLM daily-table row, i.e. per (kind, day, entity, api_key, model,
 *   model_group, custom_llm_provider, mcp_namespaced_tool_name, call_type), with the sums the routes answer;
 *   its unique index is in the routes' page order (day DESC, then the other columns NULLS FIRST);
 * - activity_route_rows: per (kind, day, entity) the number of those rows (a route's `total_pages`);
 * - activity_dim_daily: the user route's sums per (day, one dimension): `d` the day, `m` model, `g` model group,
 *   `p` provider, `x` MCP tool, `e` endpoint, `n` user, `k` api_key (the aggregated route and its top keys);
 * - a partial index (api_key, day) on the user route's rows (the top keys' per-key breakdowns).
 */

import { ACTIVITY_MEASURES, type ActivityMeasure } from "./activityRollup.ts";

export const ROUTE_TABLE = "activity_route_daily";
export const ROUTE_ROWS_TABLE = "activity_route_rows";
export const ROUTE_DIM_TABLE = "activity_dim_daily";

/** The `kind` of each route's rows. */
export const ROUTE_KIND = {
  user: "u",
  team: "t",
  organization: "o",
  customer: "c",
  agent: "a",
  tag: "g",
} as const;

/** The sums each route row carries: activity_daily's measures that LiteLLM's routes answer. */
const NOT_ROUTED = [
  "total_tokens",
  "cache_hit_requests",
  "cached_completion_tokens",
  "generated_completion_tokens",
] as const;
export type RouteMeasure = Exclude<ActivityMeasure, (typeof NOT_ROUTED)[number]>;
export const ROUTE_MEASURES = ACTIVITY_MEASURES.filter(
  (m): m is RouteMeasure => !(NOT_ROUTED as readonly string[]).includes(m),
);

/** The route row's dimensions after `day`, in page order (call_type is LiteLLM's `endpoint`). */
export const ROUTE_ORDER = [
  "entity",
  "api_key",
  "model",
  "model_group",
  "custom_llm_provider",
  "mcp_namespaced_tool_name",
  "call_type",
] as const;
