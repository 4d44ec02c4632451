import { sql } from "kysely";
import { now } from "../clock.ts";
import type { ProviderBudgetConfig, SpendlensConfig } from "../config/config.ts";
import type { Db } from "../db/connect.ts";
import { SpendlensError } from "../errors.ts";
import type { Scope } from "../scope.ts";
import { addDuration, calendarWindow, type Duration, parseDuration, type WindowKind } from "./windows.ts";

/**
 * Provider budgets (LiteLLM's router_settings.provider_budget_config): spend per provider inside its
 * current window, kept in spendlens.provider_budget_windows so that every replica agrees.
 */

export interface ProviderBudget {
  budget_limit: number;
  time_period: string;
  /** Spend inside the current window; 0 when the window has expired or none has started. */
  spend: number;
  /** When the current window ends (UTC, ISO). Null for a rolling window that no spend has started yet. */
  budget_reset_at: string | null;
  /** spendlens: `rolling` (default, LiteLLM's behaviour) or `calendar`. */
  window: WindowKind;
  /** spendlens: when the current window started (UTC, ISO); null when none is running. */
  window_start: string | null;
}

export interface ProviderBudgetsResponse {
  providers: Record<string, ProviderBudget>;
}

interface WindowRow {
  provider: string;
  time_period: string;
  window_kind: string;
  window_start: string | null;
  window_end: string | null;
  spend: number;
}

const kindOf = (c: ProviderBudgetConfig): WindowKind => c.window ?? "rolling";

/** A stored window is current when it was opened under the same config and has not ended. */
function isLive(row: WindowRow | undefined, c: ProviderBudgetConfig, at: number): boolean {
  return (
    !!row &&
    row.window_start !== null &&
    row.window_end !== null &&
    row.time_period === c.time_period &&
    row.window_kind === kindOf(c) &&
    Date.parse(row.window_start) <= at &&
    Date.parse(row.window_end) > at
  );
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * GET /provider/budgets. An expired window reads as spend 0 at once (no reset job needed); its
 * budget_reset_at is then the end of the current calendar period, or null for a rolling window until a
 * spend starts the next one (as LiteLLM). Provider spend is a global counter, the same for every caller:
 * `scope` does not narrow it (the seed lets any valid key read it).
 */
export async function providerBudgets(
  db: Db,
  _scope: Scope,
  config: Pick<SpendlensConfig, "providerBudgets">,
): Promise<ProviderBudgetsResponse> {
  const entries = Object.entries(config.providerBudgets ?? {});
  if (!entries.length) {
    throw new SpendlensError(
      "BAD_REQUEST",
      "No provider budget config found. Please set router_settings.provider_budget_config in the config file (SPENDLENS_CONFIG).",
    );
  }
  const at = now().getTime();
  const r = await sql<WindowRow>`SELECT provider, time_period, window_kind, window_start, window_end,
      spend::float8 AS spend
    FROM spendlens.provider_budget_windows WHERE provider = ANY(${entries.map(([p]) => p)}::text[])`.execute(
    db,
  );
  const rows = new Map(r.rows.map((x) => [x.provider, x]));
  const providers: Record<string, ProviderBudget> = {};
  for (const [provider, c] of entries) {
    const row = rows.get(provider);
    const kind = kindOf(c);
    const base = { budget_limit: c.budget_limit, time_period: c.time_period, window: kind };
    if (isLive(row, c, at)) {
      providers[provider] = {
        ...base,
        spend: row!.spend,
        budget_reset_at: iso(Date.parse(row!.window_end!)),
        window_start: iso(Date.parse(row!.window_start!)),
      };
    } else if (kind === "calendar") {
      const w = calendarWindow(at, parseDuration(c.time_period));
      providers[provider] = { ...base, spend: 0, budget_reset_at: iso(w.end), window_start: iso(w.start) };
    } else {
      providers[provider] = { ...base, spend: 0, budget_reset_at: null, window_start: null };
    }
  }
  return { providers };
}

/** One inserted log's share of a provider budget: its provider, spend and when it was spent (endTime). */
export interface ProviderSpendItem {
  provider: string;
  spend: number;
  /** ISO instant; later than `now` is taken as now (gateway clocks run a little ahead). */
  at: string;
}

/**
 * Adds inserted logs' spend to their providers' current windows. Run inside the transaction that inserted
 * the logs. Each provider row is locked (`FOR UPDATE`, providers in sorted order so concurrent batches
 * cannot deadlock) and its spend incremented with `spend = spend + delta`.
 *
 * Which logs count: those spent inside the window that is current now. A live window takes the logs
 * spent since its start. When none is live, a calendar window opens on the period holding now and takes
 * the logs spent since the period began; a rolling window opens at the earliest spend after the previous
 * window's end whose window would still be running now (LiteLLM: the window starts at the first spend)
 * and takes the logs from there. Older logs (a backfill, or a late log of an ended window) belong to
 * windows that are over and are not added.
 *
 * Providers without a budget in the config are not tracked. Returns the spend added per provider.
 */
export async function addProviderSpend(
  db: Db,
  config: Pick<SpendlensConfig, "providerBudgets">,
  items: ProviderSpendItem[],
): Promise<Record<string, number>> {
  const budgets = config.providerBudgets ?? {};
  const at = now().getTime();
  const byProvider = new Map<string, { t: number; spend: number }[]>();
  for (const it of items) {
    if (!(it.spend > 0) || !Object.hasOwn(budgets, it.provider)) continue;
    const t = Math.min(Date.parse(it.at), at);
    if (!Number.isFinite(t)) continue;
    const list = byProvider.get(it.provider) ?? [];
    list.push({ t, spend: it.spend });
    byProvider.set(it.provider, list);
  }
  const added: Record<string, number> = {};
  const providers = [...byProvider.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const provider of providers) {
    const c = budgets[provider]!;
    const kind = kindOf(c);
    const d: Duration = parseDuration(c.time_period);
    const logs = byProvider.get(provider)!;
    await sql`INSERT INTO spendlens.provider_budget_windows (provider, time_period, window_kind)
      VALUES (${provider}, ${c.time_period}, ${kind}) ON CONFLICT (provider) DO NOTHING`.execute(db);
    const locked = await sql<WindowRow>`SELECT provider, time_period, window_kind, window_start, window_end,
        spend::float8 AS spend
      FROM spendlens.provider_budget_windows WHERE provider = ${provider} FOR UPDATE`.execute(db);
    const row = locked.rows[0];
    let delta = 0;
    if (isLive(row, c, at)) {
      const start = Date.parse(row!.window_start!);
      for (const l of logs) if (l.t >= start) delta += l.spend;
      if (delta > 0) {
        await sql`UPDATE spendlens.provider_budget_windows SET spend = spend + ${delta}::float8,
            updated_at = ${iso(at)}::timestamp
          WHERE provider = ${provider}`.execute(db);
      }
    } else {
      let start: number;
      let end: number;
      let counted: { t: number; spend: number }[];
      if (kind === "calendar") {
        ({ start, end } = calendarWindow(at, d));
        counted = logs.filter((l) => l.t >= start);
      } else {
        // Spend before the previous window's end belonged to that window, which is over.
        const prevEnd =
          row?.window_end && row.time_period === c.time_period && row.window_kind === kind
            ? Date.parse(row.window_end)
            : Number.NEGATIVE_INFINITY;
        counted = logs.filter((l) => l.t >= prevEnd && addDuration(l.t, d) > at);
        start = Math.min(...counted.map((l) => l.t));
        end = addDuration(start, d);
      }
      for (const l of counted) delta += l.spend;
      if (delta > 0) {
        // The previous window has ended: the new one starts from this batch's spend (row locked above).
        await sql`UPDATE spendlens.provider_budget_windows SET time_period = ${c.time_period},
            window_kind = ${kind}, window_start = ${iso(start)}::timestamp, window_end = ${iso(end)}::timestamp,
            spend = ${delta}::float8, updated_at = ${iso(at)}::timestamp
          WHERE provider = ${provider}`.execute(db);
      }
    }
    if (delta > 0) added[provider] = delta;
  }
  return added;
}
