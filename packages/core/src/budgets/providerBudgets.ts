import { type RawBuilder, sql } from "kysely";
import { now } from "../clock.ts";
import type { ProviderBudgetConfig, SpendlensConfig } from "../config/config.ts";
import type { Db } from "../db/connect.ts";
import { SpendlensError } from "../errors.ts";
import { type ProviderResolver, providerResolver } from "../providers/resolve.ts";
import { foldBeforeRead } from "../rollups/fold.ts";
import type { Scope } from "../scope.ts";
import {
  firstSpendAt,
  type ProviderColumnsSpend,
  type ProviderCombo,
  providerSpendRowsMany,
} from "./providerSpend.ts";
import {
  addDuration,
  calendarWindow,
  type Duration,
  parseDuration,
  subtractDuration,
  type WindowKind,
} from "./windows.ts";

/**
 * Provider budgets (LiteLLM's router_settings.provider_budget_config): spend per provider inside its
 * current window, summed from the logs (`providerWindows`). Ingest also keeps an incremental counter per
 * provider in spendlens.provider_budget_windows (`addProviderSpend`, `providerWindowCtes`); reads no
 * longer use it, since it misses the logs LiteLLM writes straight into the table.
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

/** A row of spendlens.provider_budget_windows (ingest's incremental counter per provider). */
export interface WindowRow {
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

/** A provider budget's current window and the spend inside it, summed from the logs. */
export interface ProviderWindow {
  provider: string;
  budget_limit: number;
  time_period: string;
  window: WindowKind;
  /** Null: a rolling window that no spend has opened (or whose window has ended with no spend since). */
  window_start: string | null;
  window_end: string | null;
  spend: number;
}

/** The spend of the rows whose provider (resolved through the config's deployments) is `provider`. */
function providerSpendOf(
  rows: readonly ProviderColumnsSpend[],
  resolve: ProviderResolver,
  provider: string,
): { spend: number; combos: ProviderCombo[] } {
  let spend = 0;
  const combos: ProviderCombo[] = [];
  for (const r of rows) {
    const log = {
      model: r.model ?? "",
      model_id: r.model_id ?? null,
      custom_llm_provider: r.custom_llm_provider ?? null,
    };
    if (resolve(log) !== provider) continue;
    spend += r.spend;
    if (r.spend > 0) combos.push({ model: r.model, model_id: r.model_id, p: r.custom_llm_provider });
  }
  return { spend, combos };
}

/**
 * Every configured provider's current window, counting every log in "LiteLLM_SpendLogs" whose
 * "startTime" lies in it however it was written (through ingest or by LiteLLM itself), summed exactly
 * from model_daily for whole days, spendlens.provider_hourly for the whole hours of the edge days and
 * the raw logs for the sub-hour slivers at both ends (`providerSpendRows`, providerSpend.ts).
 * - calendar: the UTC period holding now.
 * - rolling (LiteLLM's): opened by the first spend after the previous window ended whose window is still
 *   running now; kept in spendlens.provider_budget_state so every replica and every later read agree
 *   (the row is written only when a window opens, `persist`). An ended window with no spend since reads
 *   as no window (spend 0, no reset time), as LiteLLM.
 */
export async function providerWindows(
  db: Db,
  config: Pick<SpendlensConfig, "providerBudgets" | "modelList">,
  opts: { persist?: boolean } = {},
): Promise<ProviderWindow[]> {
  const entries = Object.entries(config.providerBudgets ?? {});
  if (!entries.length) return [];
  const at = now().getTime();
  const resolve = providerResolver(config.modelList ?? []);
  await foldBeforeRead(db); // once for every provider's reads below
  const state = await sql<{
    provider: string;
    time_period: string;
    window_kind: string;
    window_start: string;
    window_end: string;
  }>`SELECT provider, time_period, window_kind, window_start, window_end FROM spendlens.provider_budget_state
    WHERE provider = ANY(${entries.map(([p]) => p)}::text[])`.execute(db);
  const rows = new Map(state.rows.map((x) => [x.provider, x]));
  const out: ProviderWindow[] = [];
  // Reads for one statement: the windows known now (calendar, or a live rolling row), and for a rolling
  // budget with none live, the spend since the earliest instant that could open one still running now.
  const reads: { i: number; from: number; to: number | null; since: boolean }[] = [];
  for (const [provider, c] of entries) {
    const kind = kindOf(c);
    const d = parseDuration(c.time_period);
    const base = { provider, budget_limit: c.budget_limit, time_period: c.time_period, window: kind };
    const i = out.push({ ...base, window_start: null, window_end: null, spend: 0 }) - 1;
    const row = rows.get(provider);
    const same = !!row && row.time_period === c.time_period && row.window_kind === kind;
    if (kind === "calendar") {
      const { start, end } = calendarWindow(at, d);
      reads.push({ i, from: start, to: end, since: false });
    } else if (same && Date.parse(row!.window_start) <= at && Date.parse(row!.window_end) > at) {
      reads.push({ i, from: Date.parse(row!.window_start), to: Date.parse(row!.window_end), since: false });
    } else {
      // The earliest spend that would open a window still running now, after the previous one ended.
      const lo = Math.max(
        same ? Date.parse(row!.window_end) : Number.NEGATIVE_INFINITY,
        subtractDuration(at, d) + 1,
      );
      reads.push({ i, from: lo, to: null, since: true });
    }
  }
  const first = await providerSpendRowsMany(db, reads, { folded: true });
  // Rolling windows that a spend opens now: found through the first spend, persisted, then read.
  const opened: { i: number; from: number; to: number }[] = [];
  for (const [k, r] of reads.entries()) {
    const w = out[r.i]!;
    if (!r.since) {
      w.window_start = iso(r.from);
      w.window_end = iso(r.to!);
      w.spend = providerSpendOf(first[k]!, resolve, w.provider).spend;
      continue;
    }
    const { combos } = providerSpendOf(first[k]!, resolve, w.provider);
    const t = combos.length ? await firstSpendAt(db, combos, r.from) : null;
    if (!t) continue;
    const start = Date.parse(t);
    const end = addDuration(start, parseDuration(w.time_period));
    w.window_start = iso(start);
    w.window_end = iso(end);
    opened.push({ i: r.i, from: start, to: end });
    if (opts.persist !== false) {
      // Replicas that open the same window compute the same row; a live row is never replaced.
      await sql`INSERT INTO spendlens.provider_budget_state AS s
          (provider, time_period, window_kind, window_start, window_end, updated_at)
        VALUES (${w.provider}, ${w.time_period}, ${w.window}, ${iso(start)}::timestamp(3), ${iso(end)}::timestamp(3),
          ${iso(at)}::timestamp(3))
        ON CONFLICT (provider) DO UPDATE SET time_period = excluded.time_period,
          window_kind = excluded.window_kind, window_start = excluded.window_start,
          window_end = excluded.window_end, updated_at = excluded.updated_at
        WHERE NOT (s.time_period = excluded.time_period AND s.window_kind = excluded.window_kind
          AND s.window_start <= ${iso(at)}::timestamp(3) AND s.window_end > ${iso(at)}::timestamp(3))`.execute(
        db,
      );
    }
  }
  const spent = await providerSpendRowsMany(db, opened, { folded: true });
  for (const [k, o] of opened.entries()) {
    out[o.i]!.spend = providerSpendOf(spent[k]!, resolve, out[o.i]!.provider).spend;
  }
  return out;
}

/**
 * GET /provider/budgets: each provider's spend in its current window (`providerWindows`). An expired
 * window reads as spend 0 at once (no reset job needed); its budget_reset_at is then the end of the
 * current calendar period, or null for a rolling window until a spend opens the next one (as LiteLLM).
 * Provider spend is gateway-wide, the same for every caller: `scope` does not narrow it (the original lets
 * any valid key read it).
 */
export async function providerBudgets(
  db: Db,
  _scope: Scope,
  config: Pick<SpendlensConfig, "providerBudgets" | "modelList">,
): Promise<ProviderBudgetsResponse> {
  if (!Object.keys(config.providerBudgets ?? {}).length) {
    throw new SpendlensError(
      "BAD_REQUEST",
      "No provider budget config found. Please set router_settings.provider_budget_config in the config file (SPENDLENS_CONFIG).",
    );
  }
  const providers: Record<string, ProviderBudget> = {};
  for (const w of await providerWindows(db, config)) {
    providers[w.provider] = {
      budget_limit: w.budget_limit,
      time_period: w.time_period,
      spend: w.spend,
      budget_reset_at: w.window_end,
      window: w.window,
      window_start: w.window_start,
    };
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

/** A duration as a Postgres interval (`timestamp + interval` adds months as `addDuration` does: clamped). */
function intervalText(d: Duration): string {
  const unit = { s: "seconds", m: "minutes", h: "hours", d: "days", w: "days", mo: "months" }[d.unit];
  return `${d.unit === "w" ? d.n * 7 : d.n} ${unit}`;
}

/**
 * `addProviderSpend` as CTEs of the ingest statement (one round trip; `addProviderSpend` is the reference
 * and ingestFast.test.ts checks that both give the same windows). Reads the CTE `ins` (request_id, spend,
 * "endTime" of the rows the statement inserted) and the batch recordset `v` (`v.p`: the row's provider
 * when it has a budget, else null). One `INSERT … ON CONFLICT (provider) DO UPDATE` per statement, rows in
 * provider order: the upsert locks the latest version of each provider row (or creates it) and computes
 * the new window from that row, as `addProviderSpend` does after its `SELECT … FOR UPDATE`:
 * a live window takes the logs spent since its start; otherwise a calendar window opens on the period
 * holding now, and a rolling one at the earliest log after the previous window's end whose window would
 * still be running now. The CTE `pw` returns `provider, added` (the spend added to the current window).
 *
 * `providers`: the budgeted providers that the batch's rows resolve to (others are left out).
 */
export function providerWindowCtes(
  config: Pick<SpendlensConfig, "providerBudgets">,
  providers: Iterable<string>,
  at: number,
): [string, RawBuilder<unknown>][] {
  const budgets = config.providerBudgets ?? {};
  const cfg = [...new Set(providers)]
    .filter((p) => Object.hasOwn(budgets, p))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((provider) => {
      const c = budgets[provider]!;
      const kind = kindOf(c);
      const d = parseDuration(c.time_period);
      const cal = kind === "calendar" ? calendarWindow(at, d) : null;
      return {
        provider,
        time_period: c.time_period,
        kind,
        iv: intervalText(d),
        cal_start: cal ? iso(cal.start) : null,
        cal_end: cal ? iso(cal.end) : null,
      };
    });
  if (!cfg.length) return [];
  const NOW = sql`${iso(at)}::timestamp(3)`;
  /** The window step for one provider row (start, end, time_period, kind: NULLs for a new row). */
  const step = (
    rs: RawBuilder<unknown>,
    re: RawBuilder<unknown>,
    rtp: RawBuilder<unknown>,
    rk: RawBuilder<unknown>,
  ) => sql`
    pw_cfg c
    CROSS JOIN LATERAL (SELECT (${rs} IS NOT NULL AND ${re} IS NOT NULL AND ${rtp} = c.time_period
      AND ${rk} = c.kind AND ${rs} <= ${NOW} AND ${re} > ${NOW}) AS live) l
    CROSS JOIN LATERAL (SELECT CASE WHEN l.live THEN ${rs}
        WHEN c.kind = 'calendar' THEN c.cal_start
        WHEN ${re} IS NOT NULL AND ${rtp} = c.time_period AND ${rk} = c.kind THEN ${re}
        ELSE '-infinity'::timestamp END AS lo) b
    CROSS JOIN LATERAL (SELECT min(i.t) AS first, sum(i.spend) AS delta FROM pw_items i
      WHERE i.provider = c.provider AND i.t >= b.lo
        AND (l.live OR c.kind = 'calendar' OR i.t + c.iv > ${NOW})) a
    CROSS JOIN LATERAL (SELECT CASE WHEN c.kind = 'calendar' THEN c.cal_start ELSE a.first END AS start,
        CASE WHEN c.kind = 'calendar' THEN c.cal_end ELSE a.first + c.iv END AS stop) o`;
  const nul = sql`NULL::timestamp(3)`;
  const nulText = sql`NULL::text`;
  return [
    [
      "pw_items",
      sql`SELECT v.p AS provider, least(i."endTime", ${NOW}) AS t, i.spend, v.i FROM ins i
        JOIN v ON v.request_id = i.request_id WHERE v.p IS NOT NULL AND i.spend > 0`,
    ],
    [
      "pw_cfg",
      sql`SELECT c.* FROM json_to_recordset(${JSON.stringify(cfg)}::json) AS c(provider text,
          time_period text, kind text, iv interval, cal_start timestamp(3), cal_end timestamp(3))
        WHERE EXISTS (SELECT 1 FROM pw_items i WHERE i.provider = c.provider)`,
    ],
    [
      "pw",
      sql`INSERT INTO spendlens.provider_budget_windows AS w
          (provider, time_period, window_kind, window_start, window_end, spend, updated_at)
        SELECT c.provider, c.time_period, c.kind,
          CASE WHEN a.delta > 0 THEN o.start END, CASE WHEN a.delta > 0 THEN o.stop END,
          CASE WHEN a.delta > 0 THEN a.delta ELSE 0 END,
          CASE WHEN a.delta > 0 THEN ${NOW} ELSE (now() AT TIME ZONE 'UTC')::timestamp(3) END
        FROM ${step(nul, nul, nulText, nulText)}
        ORDER BY c.provider COLLATE "C"
        ON CONFLICT (provider) DO UPDATE SET
          (time_period, window_kind, window_start, window_end, spend, updated_at) = (
          SELECT CASE WHEN NOT l.live AND a.delta > 0 THEN c.time_period ELSE w.time_period END,
            CASE WHEN NOT l.live AND a.delta > 0 THEN c.kind ELSE w.window_kind END,
            CASE WHEN NOT l.live AND a.delta > 0 THEN o.start ELSE w.window_start END,
            CASE WHEN NOT l.live AND a.delta > 0 THEN o.stop ELSE w.window_end END,
            CASE WHEN a.delta > 0 THEN (CASE WHEN l.live THEN w.spend + a.delta ELSE a.delta END) ELSE w.spend END,
            CASE WHEN a.delta > 0 THEN ${NOW} ELSE w.updated_at END
          FROM ${step(sql`w.window_start`, sql`w.window_end`, sql`w.time_period`, sql`w.window_kind`)}
          WHERE c.provider = w.provider)
        RETURNING w.provider, (SELECT CASE WHEN w.window_start <= ${NOW} AND w.window_end > ${NOW}
            AND w.time_period = c.time_period AND w.window_kind = c.kind
          THEN (SELECT coalesce(sum(i.spend), 0) FROM pw_items i WHERE i.provider = w.provider AND i.t >= w.window_start)
          ELSE 0 END FROM pw_cfg c WHERE c.provider = w.provider)::float8 AS added,
          (SELECT CASE WHEN w.window_start <= ${NOW} AND w.window_end > ${NOW}
            AND w.time_period = c.time_period AND w.window_kind = c.kind
          THEN (SELECT json_agg(i.i) FROM pw_items i WHERE i.provider = w.provider AND i.t >= w.window_start)
          END FROM pw_cfg c WHERE c.provider = w.provider) AS items`,
    ],
  ];
}
