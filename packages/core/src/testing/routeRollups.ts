import { ROUTE_ORDER } from "../rollups/activityRouteRollup.ts";

/**
 * The route rollups (spendlens.activity_route_daily) as tests read them back: a row's key is LiteLLM's
 * daily-table row, (day, entity, api_key, model, model_group, custom_llm_provider, MCP tool, endpoint).
 */
export const ROUTE_ROW_COLUMNS = ["day", ...ROUTE_ORDER] as const;

/** A route row's key (JSON of `before`, then its ROUTE_ROW_COLUMNS), for comparing with a brute force. */
export const routeRowKey = (r: Record<string, unknown>, ...before: unknown[]): string =>
  JSON.stringify([...before, ...ROUTE_ROW_COLUMNS.map((c) => r[c])]);

/**
 * The per-(day, dimension) sums of the user route (spendlens.activity_dim_daily) a log adds to, as
 * [dim, value] (brute force, from LiteLLM's definitions): the day's total, model, model group (the model
 * when none), provider, MCP tool, endpoint, user and key.
 */
export function dimValues(l: {
  model: string | null;
  model_group: string | null;
  custom_llm_provider: string | null;
  mcp_namespaced_tool_name: string | null;
  call_type: string | null;
  user: string | null;
  api_key: string | null;
}): [string, string | null][] {
  return [
    ["d", null],
    ["m", l.model],
    ["g", l.model_group || l.model],
    ["p", l.custom_llm_provider],
    ["x", l.mcp_namespaced_tool_name],
    ["e", l.call_type],
    ["n", l.user],
    ["k", l.api_key],
  ];
}
