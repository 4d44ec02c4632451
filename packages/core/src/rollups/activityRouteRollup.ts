/**
 * The route rollups of migration 0012 (db/migrations/0012_activity_route_rollups.sql), derived from 0009's
 * activity rollups by statement triggers on them:
 *
 * - activity_route_daily: one row per LiteLLM daily-table row, i.e. per (kind, day, entity, api_key, model,
 *   model_group, custom_llm_provider, mcp_namespaced_tool_name, call_type), with the sums the routes answer;
 *   its unique index is in the routes' page order (day DESC, then the other columns NULLS FIRST);
 * - activity_route_rows: per (kind, day, entity) the number of those rows (a route's `total_pages`);
 * - activity_key_daily: per (day, api_key) the user route's requests and spend (the aggregated route's top keys).
 */

export const ROUTE_TABLE = "activity_route_daily";
export const ROUTE_ROWS_TABLE = "activity_route_rows";
export const ROUTE_KEY_TABLE = "activity_key_daily";

/** The `kind` of each route's rows. */
export const ROUTE_KIND = {
  user: "u",
  team: "t",
  organization: "o",
  customer: "c",
  agent: "a",
  tag: "g",
} as const;

/** The sums each route row carries (the measures of activity_daily that LiteLLM's routes answer). */
export const ROUTE_MEASURES = [
  "requests",
  "successful_requests",
  "failed_requests",
  "spend",
  "prompt_tokens",
  "completion_tokens",
  "cache_read_input_tokens",
  "cache_creation_input_tokens",
  "total_response_time_ms",
  "timed_requests",
] as const;
export type RouteMeasure = (typeof ROUTE_MEASURES)[number];

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
