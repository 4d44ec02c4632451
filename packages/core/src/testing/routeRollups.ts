/**
 * The route rollups (spendlens.activity_route_daily) as tests read them back: a row's key is LiteLLM's
 * daily-table row, (day, entity, api_key, model, model_group, custom_llm_provider, MCP tool, endpoint).
 */
export const ROUTE_ROW_COLUMNS = [
  "day",
  "entity",
  "api_key",
  "model",
  "model_group",
  "custom_llm_provider",
  "mcp_namespaced_tool_name",
  "call_type",
] as const;

/** A route row's key (JSON of `before`, then its ROUTE_ROW_COLUMNS), for comparing with a brute force. */
export const routeRowKey = (r: Record<string, unknown>, ...before: unknown[]): string =>
  JSON.stringify([...before, ...ROUTE_ROW_COLUMNS.map((c) => r[c])]);
