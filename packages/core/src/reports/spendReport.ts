import { sql } from "kysely";
import { z } from "zod";
import { normalizeKeyFilter } from "../auth/hash.ts";
import type { Db } from "../db/connect.ts";
import { type RollupFilters, spendTotals } from "../rollups/query.ts";
import { narrowToUser, type Scope } from "../scope.ts";
import { checkDayRange, type Window } from "../validation.ts";
import { pushGrouped } from "./group.ts";
import { dayRangeShape, windowOf, zOptionalText } from "./sqlParts.ts";

/**
 * GET /global/spend/report: daily spend per team or customer (each with per model+key metadata), or
 * spend per api_key with per-model cost and tokens. Which answer, in the seed's order of precedence:
 * 1. api_key given (raw sk- keys hashed): that key's per-key answer;
 * 2. internal_user_id given: the per-key answer over that user's logs;
 * 3. team_id and customer_id given: the per-day customer answer over logs of both;
 * 4. else by group_by (team, the default; customer; api_key), narrowed by team_id or customer_id when
 *    only one of them is given (the seed ignores a lone one).
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

// ---------- queries ----------

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

export interface DayGroupRow {
  day: string;
  /** team_name or customer. */
  grp: string | null;
  model: string;
  api_key: string;
  spend: number;
  total_tokens: number;
}

/** Spend and tokens per (UTC day, team name or customer, model, api_key). */
export async function spendReportDayRows(
  db: Db,
  scope: Scope,
  w: Window,
  by: "team" | "customer",
  f: ReportFilters,
): Promise<DayGroupRow[]> {
  // Per (day, team_id or end_user, model, api_key) from the rollups; team aliases joined after
  // aggregation, and rows of teams sharing an alias (or all without one) merged as GROUP BY did.
  const grpDim = by === "team" ? "team_id" : "end_user";
  const rows = await spendTotals(db, scope, {
    window: w,
    dims: ["day", grpDim, "model", "api_key"],
    filters: rollupFilters(f),
  });
  let nameOf = (v: string | null): string | null => v;
  if (by === "team") {
    const ids = [...new Set(rows.map((r) => r.team_id).filter((t): t is string => t != null))];
    const alias = new Map<string, string | null>();
    if (ids.length) {
      const t = await db
        .selectFrom("LiteLLM_TeamTable")
        .select(["team_id", "team_alias"])
        .where("team_id", "=", sql<string>`ANY(${ids}::text[])`)
        .execute();
      for (const x of t) alias.set(x.team_id, x.team_alias ?? null);
    }
    nameOf = (v) => (v != null ? alias.get(v) : null) ?? "Unassigned Team";
  }
  const merged = new Map<string, DayGroupRow>();
  for (const r of rows) {
    const grp = nameOf(r[grpDim] ?? null);
    const k = JSON.stringify([r.day, grp, r.model ?? null, r.api_key ?? null]);
    const m = merged.get(k);
    if (m) {
      m.spend += r.spend;
      m.total_tokens += r.total_tokens;
    } else
      merged.set(k, {
        day: r.day as string,
        grp,
        model: r.model as string,
        api_key: r.api_key as string,
        spend: r.spend,
        total_tokens: r.total_tokens,
      });
  }
  return [...merged.values()];
}

export interface KeyModelRow {
  api_key: string;
  model: string;
  total_cost: number;
  total_input_tokens: number;
  total_output_tokens: number;
}

/** Cost and prompt/completion tokens per (api_key, model). */
export async function spendReportKeyRows(
  db: Db,
  scope: Scope,
  w: Window,
  f: ReportFilters,
): Promise<KeyModelRow[]> {
  const rows = await spendTotals(db, scope, {
    window: w,
    dims: ["api_key", "model"],
    filters: rollupFilters(f),
  });
  return rows.map((r) => ({
    api_key: r.api_key as string,
    model: r.model as string,
    total_cost: r.spend,
    total_input_tokens: r.prompt_tokens,
    total_output_tokens: r.completion_tokens,
  }));
}

// ---------- shaping ----------

const cmpText = (a: string | null, b: string | null) =>
  a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1;

const byMetadata = (a: ReportMetadata, b: ReportMetadata) =>
  b.spend - a.spend || cmpText(a.model, b.model) || cmpText(a.api_key, b.api_key);

/** Days ascending; groups by total_spend, highest first (ties by name); metadata by spend. */
function shapeDays(rows: DayGroupRow[]) {
  const days = new Map<string, Map<string | null, ReportMetadata[]>>();
  for (const r of rows) {
    let d = days.get(r.day);
    if (!d) {
      d = new Map();
      days.set(r.day, d);
    }
    pushGrouped(d, r.grp, {
      model: r.model,
      api_key: r.api_key,
      spend: r.spend,
      total_tokens: r.total_tokens,
    });
  }
  return [...days.entries()]
    .sort(([a], [b]) => cmpText(a, b))
    .map(([day, groups]) => ({
      day,
      groups: [...groups.entries()]
        .map(([name, metadata]) => ({
          name,
          total_spend: metadata.reduce((s, m) => s + m.spend, 0),
          metadata: metadata.sort(byMetadata),
        }))
        .sort((a, b) => b.total_spend - a.total_spend || cmpText(a.name, b.name)),
    }));
}

export function shapeTeamDays(rows: DayGroupRow[]): TeamSpendDay[] {
  return shapeDays(rows).map((d) => ({
    group_by_day: d.day,
    teams: d.groups.map((g) => ({
      team_name: g.name ?? "Unassigned Team",
      total_spend: g.total_spend,
      metadata: g.metadata,
    })),
  }));
}

export function shapeCustomerDays(rows: DayGroupRow[]): CustomerSpendDay[] {
  return shapeDays(rows).map((d) => ({
    group_by_day: d.day,
    customers: d.groups.map((g) => ({ customer: g.name, total_spend: g.total_spend, metadata: g.metadata })),
  }));
}

/** Keys by total_cost, highest first (ties by key); model_details by cost, then model. */
export function shapeKeys(rows: KeyModelRow[]): KeySpend[] {
  const keys = new Map<string, ModelDetail[]>();
  for (const r of rows) {
    pushGrouped(keys, r.api_key, {
      model: r.model,
      total_cost: r.total_cost,
      total_input_tokens: r.total_input_tokens,
      total_output_tokens: r.total_output_tokens,
    });
  }
  return [...keys.entries()]
    .map(([api_key, model_details]) => ({
      api_key,
      total_cost: model_details.reduce((s, m) => s + m.total_cost, 0),
      total_input_tokens: model_details.reduce((s, m) => s + m.total_input_tokens, 0),
      total_output_tokens: model_details.reduce((s, m) => s + m.total_output_tokens, 0),
      model_details: model_details.sort((a, b) => b.total_cost - a.total_cost || cmpText(a.model, b.model)),
    }))
    .sort((a, b) => b.total_cost - a.total_cost || cmpText(a.api_key, b.api_key));
}

// ---------- report ----------

export async function spendReport(db: Db, scope: Scope, raw: SpendReportInput): Promise<SpendReport> {
  const input = spendReportInput.parse(raw);
  const w = windowOf(input);
  if (input.api_key !== undefined) {
    const rows = await spendReportKeyRows(db, scope, w, { api_key: normalizeKeyFilter(input.api_key) });
    return { group_by: "api_key", data: shapeKeys(rows) };
  }
  if (input.internal_user_id !== undefined) {
    const rows = await spendReportKeyRows(db, narrowToUser(scope, input.internal_user_id), w, {});
    return { group_by: "api_key", data: shapeKeys(rows) };
  }
  const f: ReportFilters = { team_id: input.team_id, customer_id: input.customer_id };
  if (input.team_id !== undefined && input.customer_id !== undefined) {
    return {
      group_by: "customer",
      data: shapeCustomerDays(await spendReportDayRows(db, scope, w, "customer", f)),
    };
  }
  switch (input.group_by) {
    case "team":
      return { group_by: "team", data: shapeTeamDays(await spendReportDayRows(db, scope, w, "team", f)) };
    case "customer":
      return {
        group_by: "customer",
        data: shapeCustomerDays(await spendReportDayRows(db, scope, w, "customer", f)),
      };
    case "api_key":
      return { group_by: "api_key", data: shapeKeys(await spendReportKeyRows(db, scope, w, f)) };
  }
}
