import { type RawBuilder, sql } from "kysely";
import { z } from "zod";
import { normalizeKeyFilter } from "../auth/hash.ts";
import { now } from "../clock.ts";
import type { SpendlensConfig } from "../config/config.ts";
import type { Db } from "../db/connect.ts";
import { forbidden } from "../errors.ts";
import { providerResolver } from "../providers/resolve.ts";
import { type SpendDim, spendTotals } from "../rollups/index.ts";
import { ALL, type Scope, scopeUserId } from "../scope.ts";
import { addDays, DAY_MS } from "../validation.ts";
import { type ProviderWindow, providerWindows } from "./providerBudgets.ts";
import { addDuration, approxDurationMs, type Duration, parseDuration, subtractDuration } from "./windows.ts";

/**
 * Budget status of every entity that has a budget the way LiteLLM stores it: keys, internal users, teams,
 * customers (end users) and organizations (`max_budget`, `soft_budget`, `budget_duration`,
 * `budget_reset_at` on the row or through "LiteLLM_BudgetTable"), and providers (config.yaml's
 * provider_budget_config). Spend is always summed from the logs (rollups for whole days, raw logs for
 * the partial ones: exact, and it sees logs LiteLLM wrote straight into the table), never read from the
 * rows' `spend` counters.
 */

export const BUDGET_ENTITY_TYPES = ["key", "user", "team", "end_user", "organization", "provider"] as const;
export type BudgetEntityType = (typeof BUDGET_ENTITY_TYPES)[number];

/** Days of the `daily` series (today, UTC, is the last). */
export const BUDGET_DAILY_DAYS = 14;
/** The burn rate is the spend of the last 7 × 24 h, per day. */
const BURN_DAYS = 7;

export interface BudgetStatus {
  entity_type: BudgetEntityType;
  /** The key's hashed token, the user, team, customer or organization id, or the provider. */
  entity_id: string;
  /** key_alias, user_alias, team_alias, the customer's alias or organization_alias. */
  alias: string | null;
  user_id: string | null;
  team_id: string | null;
  organization_id: string | null;
  user_email: string | null;
  max_budget: number | null;
  soft_budget: number | null;
  /** LiteLLM's budget_duration (a provider's time_period); null: the budget never resets. */
  budget_duration: string | null;
  /** Spend inside the current window (the entity's whole history when the budget never resets). */
  spend: number;
  /** The current window [window_start, budget_reset_at); both null when the budget never resets. */
  window_start: string | null;
  budget_reset_at: string | null;
  /** Spend of the last 7 × 24 h divided by 7. */
  avg_daily_spend: number;
  /** spend + avg_daily_spend × the days left in the window; null when the budget never resets. */
  projected_spend: number | null;
  /** When spend reaches max_budget at avg_daily_spend, if that is inside the window; else null. */
  projected_exhausted_at: string | null;
  /** spend / max_budget × 100. */
  percent_used: number | null;
  /** `exceeded` (spend ≥ max_budget), `soft_exceeded` (≥ soft_budget), `warning` (≥ 85 %), `ok`. */
  status: "exceeded" | "soft_exceeded" | "warning" | "ok";
  /** Spend per UTC day, the last BUDGET_DAILY_DAYS days, oldest first. */
  daily: { date: string; spend: number }[];
}

export interface BudgetStatusInput {
  entity_type?: BudgetEntityType | undefined;
  entity_id?: string | undefined;
}

/** An entity's row as the query reads it: its budget fields, before the window's spend is counted. */
type EntityRow = Pick<
  BudgetStatus,
  | "entity_id"
  | "alias"
  | "user_id"
  | "team_id"
  | "organization_id"
  | "user_email"
  | "max_budget"
  | "soft_budget"
  | "budget_duration"
  | "budget_reset_at"
> & { entity_type: Exclude<BudgetEntityType, "provider"> };

/** The logs' column each entity type's spend is counted by. */
const SPEND_DIM: Record<Exclude<BudgetEntityType, "provider">, SpendDim> = {
  key: "api_key",
  user: "user",
  team: "team_id",
  end_user: "end_user",
  organization: "organization_id",
};

const iso = (ms: number) => new Date(ms).toISOString();

interface BudgetSchema {
  budgetTable: boolean;
  orgTable: boolean;
  teamSoftBudget: boolean;
}

/** Which of LiteLLM's budget tables and columns this database has (an older attached one may lack some). */
async function budgetSchema(db: Db): Promise<BudgetSchema> {
  const r = await sql<{ table_name: string; column_name: string }>`SELECT table_name, column_name
    FROM information_schema.columns WHERE table_schema = 'public'
      AND table_name IN ('LiteLLM_BudgetTable', 'LiteLLM_OrganizationTable', 'LiteLLM_TeamTable')`.execute(
    db,
  );
  const has = (t: string, c: string) => r.rows.some((x) => x.table_name === t && x.column_name === c);
  return {
    budgetTable: has("LiteLLM_BudgetTable", "soft_budget"),
    orgTable: has("LiteLLM_OrganizationTable", "budget_id"),
    teamSoftBudget: has("LiteLLM_TeamTable", "soft_budget"),
  };
}

/** The entities with a budget that the caller may see. */
async function budgetedEntities(db: Db, scope: Scope, input: BudgetStatusInput): Promise<EntityRow[]> {
  const me = scopeUserId(scope);
  const schema = await budgetSchema(db);
  const want = (t: BudgetEntityType) => !input.entity_type || input.entity_type === t;
  const idIs = (col: RawBuilder<unknown>) =>
    input.entity_id !== undefined ? sql` AND ${col} = ${input.entity_id}` : sql``;
  const mine = (col: RawBuilder<unknown>) => (me !== null ? sql` AND ${col} = ${me}` : sql``);
  const parts: RawBuilder<EntityRow>[] = [];
  const hasBudget = sql`(max_budget IS NOT NULL OR soft_budget IS NOT NULL)`;
  if (want("key")) {
    const b = schema.budgetTable;
    parts.push(sql<EntityRow>`SELECT * FROM (SELECT 'key' AS entity_type, t.token AS entity_id,
        t.key_alias AS alias, t.user_id, t.team_id, t.organization_id, NULL::text AS user_email,
        ${b ? sql`coalesce(t.max_budget, b.max_budget)` : sql`t.max_budget`}::float8 AS max_budget,
        ${b ? sql`b.soft_budget` : sql`NULL`}::float8 AS soft_budget,
        ${b ? sql`coalesce(t.budget_duration, b.budget_duration)` : sql`t.budget_duration`} AS budget_duration,
        ${b ? sql`coalesce(t.budget_reset_at, b.budget_reset_at)` : sql`t.budget_reset_at`} AS budget_reset_at
      FROM "LiteLLM_VerificationToken" t
      ${b ? sql`LEFT JOIN "LiteLLM_BudgetTable" b ON b.budget_id = t.budget_id` : sql``}
      WHERE true${mine(sql`t.user_id`)}${idIs(sql`t.token`)}) x WHERE ${hasBudget}`);
  }
  if (want("user")) {
    parts.push(sql<EntityRow>`SELECT * FROM (SELECT 'user' AS entity_type, u.user_id AS entity_id,
        u.user_alias AS alias, u.user_id, NULL::text AS team_id, u.organization_id, u.user_email,
        u.max_budget::float8 AS max_budget, NULL::float8 AS soft_budget, u.budget_duration, u.budget_reset_at
      FROM "LiteLLM_UserTable" u WHERE true${mine(sql`u.user_id`)}${idIs(sql`u.user_id`)}) x WHERE ${hasBudget}`);
  }
  // Teams, customers and organizations are not any one internal user's own.
  if (me === null && want("team")) {
    parts.push(sql<EntityRow>`SELECT * FROM (SELECT 'team' AS entity_type, t.team_id AS entity_id,
        t.team_alias AS alias, NULL::text AS user_id, t.team_id, t.organization_id, NULL::text AS user_email,
        t.max_budget::float8 AS max_budget, ${schema.teamSoftBudget ? sql`t.soft_budget` : sql`NULL`}::float8 AS soft_budget,
        t.budget_duration, t.budget_reset_at
      FROM "LiteLLM_TeamTable" t WHERE true${idIs(sql`t.team_id`)}) x WHERE ${hasBudget}`);
  }
  if (me === null && schema.budgetTable && want("end_user")) {
    parts.push(sql<EntityRow>`SELECT * FROM (SELECT 'end_user' AS entity_type, e.user_id AS entity_id,
        e.alias, NULL::text AS user_id, NULL::text AS team_id, NULL::text AS organization_id,
        NULL::text AS user_email, b.max_budget::float8 AS max_budget, b.soft_budget::float8 AS soft_budget,
        b.budget_duration, b.budget_reset_at
      FROM "LiteLLM_EndUserTable" e JOIN "LiteLLM_BudgetTable" b ON b.budget_id = e.budget_id
      WHERE true${idIs(sql`e.user_id`)}) x WHERE ${hasBudget}`);
  }
  if (me === null && schema.budgetTable && schema.orgTable && want("organization")) {
    parts.push(sql<EntityRow>`SELECT * FROM (SELECT 'organization' AS entity_type, o.organization_id AS entity_id,
        o.organization_alias AS alias, NULL::text AS user_id, NULL::text AS team_id, o.organization_id,
        NULL::text AS user_email, b.max_budget::float8 AS max_budget, b.soft_budget::float8 AS soft_budget,
        b.budget_duration, b.budget_reset_at
      FROM "LiteLLM_OrganizationTable" o JOIN "LiteLLM_BudgetTable" b ON b.budget_id = o.budget_id
      WHERE true${idIs(sql`o.organization_id`)}) x WHERE ${hasBudget}`);
  }
  if (!parts.length) return [];
  const r = await sql<EntityRow>`${sql.join(parts, sql` UNION ALL `)} ORDER BY 1, 2`.execute(db);
  return r.rows;
}

/**
 * The current window of a LiteLLM budget: it ends at `budget_reset_at` and lasts `budget_duration`. A
 * reset time already past (LiteLLM's reset job has not run yet, or no LiteLLM resets this database) is
 * moved on by whole durations, as the job would. No duration, an unreadable one, or no reset time: the
 * budget never resets and its window is the whole history.
 */
export function entityWindow(
  duration: string | null,
  resetAt: string | null,
  at: number,
): { start: number | null; end: number | null } {
  if (!duration || !resetAt) return { start: null, end: null };
  let d: Duration;
  try {
    d = parseDuration(duration);
  } catch {
    return { start: null, end: null };
  }
  const reset = Date.parse(resetAt);
  if (!Number.isFinite(reset)) return { start: null, end: null };
  let end = reset;
  if (end <= at) {
    // Skip whole durations at once (long-idle budgets), then step to the first end after now.
    const k = Math.max(0, Math.floor((at - end) / approxDurationMs(d)) - 1);
    if (k > 0) end = addDuration(reset, { n: d.n * k, unit: d.unit });
    while (end <= at) end = addDuration(end, d);
  }
  return { start: subtractDuration(end, d), end };
}

/** Burn rate, projection and status from a window's spend. */
export function project(
  spend: number,
  maxBudget: number | null,
  softBudget: number | null,
  spendLast7Days: number,
  windowEnd: number | null,
  at: number,
): Pick<
  BudgetStatus,
  "avg_daily_spend" | "projected_spend" | "projected_exhausted_at" | "percent_used" | "status"
> {
  const avg = spendLast7Days / BURN_DAYS;
  const daysLeft = windowEnd === null ? null : Math.max(0, windowEnd - at) / DAY_MS;
  const projected = daysLeft === null ? null : spend + avg * daysLeft;
  let exhausted: string | null = null;
  if (maxBudget !== null && spend < maxBudget && avg > 0) {
    const t = at + ((maxBudget - spend) / avg) * DAY_MS;
    if (windowEnd === null || t < windowEnd) exhausted = iso(Math.ceil(t));
  }
  const status =
    maxBudget !== null && spend >= maxBudget
      ? "exceeded"
      : softBudget !== null && spend >= softBudget
        ? "soft_exceeded"
        : maxBudget !== null && spend >= 0.85 * maxBudget
          ? "warning"
          : "ok";
  return {
    avg_daily_spend: avg,
    projected_spend: projected,
    projected_exhausted_at: exhausted,
    percent_used: maxBudget !== null && maxBudget > 0 ? (spend / maxBudget) * 100 : null,
    status,
  };
}

/** The last BUDGET_DAILY_DAYS UTC days, oldest first. */
function dailyDays(at: number): string[] {
  const today = iso(at).slice(0, 10);
  return Array.from({ length: BUDGET_DAILY_DAYS }, (_, i) => addDays(today, i - BUDGET_DAILY_DAYS + 1));
}

/**
 * GET /budget/status. Admins see every budgeted entity; an internal user sees their own user and keys
 * only (asking for a team, customer, organization or provider is a 403).
 */
export async function budgetStatus(
  db: Db,
  scope: Scope,
  config: Pick<SpendlensConfig, "providerBudgets" | "modelList">,
  input: BudgetStatusInput = {},
  opts: { persist?: boolean } = {},
): Promise<{ budgets: BudgetStatus[] }> {
  const me = scopeUserId(scope);
  if (me !== null && input.entity_type && input.entity_type !== "key" && input.entity_type !== "user") {
    throw forbidden("internal users may only see their own user's and keys' budgets");
  }
  if (
    me !== null &&
    input.entity_type === "user" &&
    input.entity_id !== undefined &&
    input.entity_id !== me
  ) {
    throw forbidden("internal users may only see their own data");
  }
  const at = now().getTime();
  const days = dailyDays(at);
  const burnFrom = iso(at - BURN_DAYS * DAY_MS);
  const out: BudgetStatus[] = [];

  const entities = await budgetedEntities(db, scope, input);
  // The caller may see these entities; their spend is every log of theirs, so the sums are unscoped.
  for (const type of ["key", "user", "team", "end_user", "organization"] as const) {
    const rows = entities.filter((e) => e.entity_type === type);
    if (!rows.length) continue;
    const dim = SPEND_DIM[type];
    const ids = [...new Set(rows.map((r) => r.entity_id))];
    const windows = new Map<string, { start: number | null; end: number | null; ids: string[] }>();
    const windowOf = new Map<string, { start: number | null; end: number | null }>();
    for (const r of rows) {
      const w = entityWindow(r.budget_duration, r.budget_reset_at, at);
      windowOf.set(r.entity_id, w);
      const k = `${w.start}|${w.end}`;
      const g = windows.get(k) ?? { ...w, ids: [] };
      g.ids.push(r.entity_id);
      windows.set(k, g);
    }
    const spendOf = new Map<string, number>();
    for (const g of windows.values()) {
      const got = await spendTotals(db, ALL, {
        window: { from: g.start === null ? null : iso(g.start), to: g.end === null ? null : iso(g.end) },
        dims: [dim],
        filters: { [dim]: g.ids },
      });
      for (const x of got) spendOf.set(x[dim] as string, x.spend);
    }
    const burn = new Map<string, number>();
    for (const x of await spendTotals(db, ALL, {
      window: { from: burnFrom, to: iso(at) },
      dims: [dim],
      filters: { [dim]: ids },
    }))
      burn.set(x[dim] as string, x.spend);
    const daily = new Map<string, number>();
    for (const x of await spendTotals(db, ALL, {
      window: { from: `${days[0]}T00:00:00.000Z`, to: null },
      dims: [dim, "day"],
      filters: { [dim]: ids },
    }))
      daily.set(`${x[dim]}|${x.day}`, x.spend);
    for (const r of rows) {
      const w = windowOf.get(r.entity_id)!;
      const spend = spendOf.get(r.entity_id) ?? 0;
      out.push({
        ...r,
        spend,
        window_start: w.start === null ? null : iso(w.start),
        budget_reset_at: w.end === null ? null : iso(w.end),
        ...project(spend, r.max_budget, r.soft_budget, burn.get(r.entity_id) ?? 0, w.end, at),
        daily: days.map((date) => ({ date, spend: daily.get(`${r.entity_id}|${date}`) ?? 0 })),
      });
    }
  }

  const providersWanted = me === null && (!input.entity_type || input.entity_type === "provider");
  if (providersWanted && Object.keys(config.providerBudgets ?? {}).length) {
    let windows: ProviderWindow[] = await providerWindows(db, config, opts);
    if (input.entity_id !== undefined) windows = windows.filter((w) => w.provider === input.entity_id);
    if (windows.length) {
      const resolve = providerResolver(config.modelList ?? []);
      const burn = new Map<string, number>();
      const daily = new Map<string, number>();
      const rows = await spendTotals(db, ALL, {
        window: { from: `${days[0]}T00:00:00.000Z`, to: null },
        dims: ["day", "model", "model_id", "custom_llm_provider"],
      });
      for (const x of rows) {
        const p = resolve({
          model: x.model ?? "",
          model_id: x.model_id ?? null,
          custom_llm_provider: x.custom_llm_provider ?? null,
        });
        daily.set(`${p}|${x.day}`, (daily.get(`${p}|${x.day}`) ?? 0) + x.spend);
      }
      for (const x of await spendTotals(db, ALL, {
        window: { from: burnFrom, to: iso(at) },
        dims: ["model", "model_id", "custom_llm_provider"],
      })) {
        const p = resolve({
          model: x.model ?? "",
          model_id: x.model_id ?? null,
          custom_llm_provider: x.custom_llm_provider ?? null,
        });
        burn.set(p, (burn.get(p) ?? 0) + x.spend);
      }
      for (const w of windows) {
        const end = w.window_end === null ? null : Date.parse(w.window_end);
        out.push({
          entity_type: "provider",
          entity_id: w.provider,
          alias: null,
          user_id: null,
          team_id: null,
          organization_id: null,
          user_email: null,
          max_budget: w.budget_limit,
          soft_budget: null,
          budget_duration: w.time_period,
          spend: w.spend,
          window_start: w.window_start,
          budget_reset_at: w.window_end,
          ...project(w.spend, w.budget_limit, null, burn.get(w.provider) ?? 0, end, at),
          daily: days.map((date) => ({ date, spend: daily.get(`${w.provider}|${date}`) ?? 0 })),
        });
      }
    }
  }
  return { budgets: out };
}

/** GET /budget/status's query: both optional; a raw `sk-…` key as entity_id is hashed. */
export const budgetStatusInput = z
  .object({
    entity_type: z.enum(BUDGET_ENTITY_TYPES).optional(),
    entity_id: z.string().min(1).max(512).transform(normalizeKeyFilter).optional(),
  })
  .strip();
