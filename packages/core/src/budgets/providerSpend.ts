import { type RawBuilder, sql } from "kysely";
import { now } from "../clock.ts";
import type { Db } from "../db/connect.ts";
import { executeNamed } from "../db/named.ts";
import { schemaFacts } from "../db/schemaFacts.ts";
import { foldBeforeRead } from "../rollups/fold.ts";
import { plan } from "../rollups/plan.ts";
import { render } from "../rollups/render.ts";
import { ALL } from "../scope.ts";
import { DAY_MS } from "../validation.ts";

/**
 * Spend per (model, model_id, custom_llm_provider) inside a window [from, to) that starts and ends at
 * any instant (a provider budget's rolling window), read as
 *   - whole UTC days from model_daily (the planner, rollups/plan.ts, which reads dirty days raw),
 *   - whole UTC hours of the edge days from spendlens.provider_hourly (migration 0014),
 *   - the sub-hour slivers at both ends from the raw logs (a short "startTime" index range), or as the
 *     hour's row minus the rest of the hour, read raw, when the rest is shorter (`planProviderWindow`).
 * An edge day that is dirty (a failed or paused trigger) or raw_deleted (delete mode `keep`) has its
 * hours read from the raw logs instead, decided inside the statement: the answer is one snapshot and
 * always the same as the raw logs for the partial days, the rollup for the whole days (what
 * `spendTotals` gives for the same window).
 */

const HOUR_MS = 3_600_000;

export interface ProviderColumnsSpend {
  model: string | null;
  model_id: string | null;
  custom_llm_provider: string | null;
  spend: number;
}

/** A half-open range of UTC milliseconds; `to` null is unbounded. */
interface Range {
  from: number;
  to: number | null;
}

/** How a window is read: whole days, hour ranges (each inside one UTC day), raw slivers (-1: subtracted). */
export interface ProviderWindowPlan {
  days: Range | null;
  hours: { from: number; to: number }[];
  raw: (Range & { sign?: -1 })[];
}

const ceilTo = (t: number, unit: number) => Math.ceil(t / unit) * unit;
const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;

/**
 * Splits [from, to) (UTC ms; `to` null = unbounded) into whole days, whole hours and raw slivers. A
 * sliver [a, b) inside one hour is read raw, or as the hour's row minus the raw logs of the rest of that
 * hour when the rest holds less time up to `nowMs` (logs are written at their start time: time after now
 * holds next to none), so at most half an hour of logs is read raw at each cut.
 */
export function planProviderWindow(
  from: number,
  to: number | null,
  nowMs: number = now().getTime(),
): ProviderWindowPlan {
  const plan: ProviderWindowPlan = { days: null, hours: [], raw: [] };
  if (to !== null && to <= from) return plan;
  const hF = ceilTo(from, HOUR_MS);
  const dF = ceilTo(from, DAY_MS);
  const hour = (a: number, b: number) => {
    if (a < b) plan.hours.push({ from: a, to: b });
  };
  const live = (a: number, b: number) => Math.max(0, Math.min(b, nowMs) - a);
  const raw = (a: number, b: number) => {
    if (a >= b) return;
    const hs = floorTo(a, HOUR_MS);
    const he = hs + HOUR_MS;
    if (live(hs, a) + live(b, he) >= live(a, b)) plan.raw.push({ from: a, to: b });
    else {
      hour(hs, he);
      if (hs < a) plan.raw.push({ from: hs, to: a, sign: -1 });
      if (b < he) plan.raw.push({ from: b, to: he, sign: -1 });
    }
  };
  if (to === null) {
    plan.days = { from: dF, to: null };
    hour(hF, dF);
    raw(from, hF);
    return plan;
  }
  const dT = floorTo(to, DAY_MS);
  const hT = floorTo(to, HOUR_MS);
  if (dF < dT) {
    plan.days = { from: dF, to: dT };
    hour(hF, dF);
    hour(dT, hT);
    raw(from, hF);
    raw(hT, to);
  } else if (hF < hT) {
    // No whole day: the whole hours, cut at the midnight between them (when there is one).
    if (dF > hF && dF < hT) {
      hour(hF, dF);
      hour(dF, hT);
    } else hour(hF, hT);
    raw(from, hF);
    raw(hT, to);
  } else raw(from, to);
  return plan;
}

const iso = (ms: number) => new Date(ms).toISOString();
const dayOf = (ms: number) => iso(floorTo(ms, DAY_MS)).slice(0, 10);

/** A window [from, to) in UTC milliseconds; `to` null is unbounded. */
export type SpendWindow = Range;

/**
 * The spend per (model, model_id, custom_llm_provider) of the logs whose "startTime" lies in [from, to)
 * (UTC ms; `to` null = unbounded), rollups included up to the last committed insert (folded first,
 * unless the caller has just folded: `opts.folded`).
 */
export async function providerSpendRows(
  db: Db,
  from: number,
  to: number | null,
  opts: { folded?: boolean } = {},
): Promise<ProviderColumnsSpend[]> {
  return (await providerSpendRowsMany(db, [{ from, to }], opts))[0]!;
}

/**
 * `providerSpendRows` for several windows in one statement (one snapshot, one plan whose size does not
 * grow with the number of windows): the whole days of every window are one read of the day-grain
 * planner per UTC day over their span, joined with each window's day range; the edge hours of every
 * window are one join of their ranges with the hour table; every raw sliver (and every edge hour of an
 * unclean day) is one join of the ranges with the logs, an index range scan per range. The answer's
 * i-th list is the i-th window's.
 */
export async function providerSpendRowsMany(
  db: Db,
  windows: readonly SpendWindow[],
  opts: { folded?: boolean } = {},
): Promise<ProviderColumnsSpend[][]> {
  const plans = windows.map((w) => planProviderWindow(w.from, w.to));
  const out: ProviderColumnsSpend[][] = windows.map(() => []);
  if (plans.every((p) => !p.days && !p.hours.length && !p.raw.length)) return out;
  if (!opts.folded) await foldBeforeRead(db);
  const facts = await schemaFacts(db);
  const cols = facts.spendLogColumns;
  const rawCol = (c: "model_id" | "custom_llm_provider") =>
    cols.has(c) ? sql.ref(`l.${c}`) : sql`NULL::text`;
  // The logs' own time type, so the range bounds compare without a cast on the column (index ranges).
  const tsArray = facts.startTimeHasZone ? sql`timestamptz[]` : sql`timestamp[]`;
  const parts: RawBuilder<unknown>[] = [];
  const hours = { a: [] as string[], b: [] as string[], w: [] as number[] };
  const raw = { a: [] as string[], b: [] as (string | null)[], s: [] as number[], w: [] as number[] };
  const days = { a: [] as string[], b: [] as (string | null)[], w: [] as number[] };
  for (const [w, p] of plans.entries()) {
    if (p.days) {
      days.a.push(iso(p.days.from).slice(0, 10));
      days.b.push(p.days.to === null ? null : iso(p.days.to).slice(0, 10));
      days.w.push(w);
    }
    for (const h of p.hours) {
      hours.a.push(iso(h.from));
      hours.b.push(iso(h.to));
      hours.w.push(w);
    }
    for (const r of p.raw) {
      raw.a.push(iso(r.from));
      raw.b.push(r.to === null ? null : iso(r.to));
      raw.s.push(r.sign ?? 1);
      raw.w.push(w);
    }
  }
  if (days.a.length) {
    // Whole days of every window: one read of the day-grain planner over their span, per UTC day
    // (model_daily, dirty days raw), each day counted for the windows that cover it.
    const from = [...days.a].sort()[0]!;
    const to = days.b.includes(null) ? null : ([...days.b] as string[]).sort().at(-1)!;
    const byDay = render(
      plan(
        {
          kind: "spend",
          scope: ALL,
          query: {
            window: { from: `${from}T00:00:00.000Z`, to: to === null ? null : `${to}T00:00:00.000Z` },
            dims: ["day", "model", "model_id", "custom_llm_provider"],
          },
        },
        facts,
      ),
    );
    parts.push(sql`SELECT dr.w, d.model, d.model_id, d.custom_llm_provider, d.spend
      FROM (${byDay}) d JOIN dr ON d.day::date >= dr.a AND d.day::date < dr.b`);
  }
  const edgeDays = [...new Set(hours.a.map((a) => a.slice(0, 10)))];
  // Edge hours of a clean day from the hour table; of an unclean day (dirty, or raw_deleted in delete
  // mode keep) from the logs: `unclean` is one value for the statement.
  const uncleanDay = sql`hr.a::date = ANY((SELECT u.days FROM unclean u)::date[])`;
  if (hours.a.length) {
    parts.push(sql`SELECT hr.w, h.model, h.model_id, h.custom_llm_provider, h.spend
      FROM hr JOIN spendlens.provider_hourly h ON h.hour >= hr.a AND h.hour < hr.b WHERE NOT ${uncleanDay}`);
  }
  if (raw.a.length || hours.a.length) {
    parts.push(sql`SELECT rr.w, l.model::text AS model, ${rawCol("model_id")}::text AS model_id,
        ${rawCol("custom_llm_provider")}::text AS custom_llm_provider, rr.s * coalesce(l.spend, 0)::float8 AS spend
      FROM rr JOIN "LiteLLM_SpendLogs" l ON l."startTime" >= rr.a AND l."startTime" < rr.b`);
  }
  // The hour ranges are UTC wall times (the hour table's type); as the logs' type when that has a zone.
  const utcBounds = facts.startTimeHasZone
    ? sql`hr.a AT TIME ZONE 'UTC', hr.b AT TIME ZONE 'UTC'`
    : sql`hr.a, hr.b`;
  // The same window gives the same float to the last bit whatever else the statement reads: each
  // group's terms are summed in value order (not the plan's), and the rows come out in one order, so
  // the caller's per-provider sum adds them in one order too (two calls, one that opens the window and
  // one that reads it with other providers' windows, differed in the 17th digit).
  const statement = sql<ProviderColumnsSpend & { w: number }>`WITH
    unclean AS MATERIALIZED (SELECT coalesce(array_agg(rd.day), '{}') AS days
      FROM spendlens.rollup_days rd WHERE rd.day = ANY(${edgeDays}::date[])
        AND (rd.dirty_at IS NOT NULL OR rd.raw_deleted)),
    dr AS MATERIALIZED (SELECT t.a, coalesce(t.b, 'infinity') AS b, t.w
      FROM unnest(${days.a}::date[], ${days.b}::date[], ${days.w}::int[]) AS t(a, b, w)),
    hr AS MATERIALIZED (SELECT t.a::timestamp AS a, t.b::timestamp AS b, t.w
      FROM unnest(${hours.a}::text[], ${hours.b}::text[], ${hours.w}::int[]) AS t(a, b, w)),
    rr AS MATERIALIZED (SELECT t.a, coalesce(t.b, 'infinity') AS b, t.s, t.w
      FROM unnest(${raw.a}::${tsArray}, ${raw.b}::${tsArray}, ${raw.s}::int[], ${raw.w}::int[]) AS t(a, b, s, w)
      UNION ALL SELECT ${utcBounds}, 1, hr.w FROM hr WHERE ${uncleanDay})
    SELECT u.w, u.model, u.model_id, u.custom_llm_provider, sum(u.spend ORDER BY u.spend)::float8 AS spend
    FROM (${sql.join(parts, sql` UNION ALL `)}) u GROUP BY 1, 2, 3, 4
    ORDER BY 1, u.model COLLATE "C", u.model_id COLLATE "C", u.custom_llm_provider COLLATE "C"`;
  const r = await executeNamed(db, statement, "pglite");
  for (const row of r.rows) {
    const { w, ...rest } = row;
    out[w]!.push(rest);
  }
  return out;
}

/** One (model, model_id, custom_llm_provider) that resolves to a provider. */
export interface ProviderCombo {
  model: string | null;
  model_id: string | null;
  p: string | null;
}

/** How many candidate hours (and dirty days) one statement searches before falling back to a scan. */
const FIRST_SPEND_CANDIDATES = 4;

/**
 * The "startTime" (ISO) of the first log at or after `lo` with spend > 0 whose columns are one of
 * `combos`, or null. The hour table names the hours holding such a log (spend_requests > 0; deletes in
 * mode `keep` can only leave extra hours, never miss one) and the dirty days may hold logs it lacks:
 * the first few of those are searched through the "startTime" index, each stopping at its first match.
 * The answer is certain when it lies before the end of the searched candidates; otherwise (every
 * candidate empty) the logs from `lo` on are scanned as before.
 */
export async function firstSpendAt(
  db: Db,
  combos: readonly ProviderCombo[],
  lo: number,
): Promise<string | null> {
  if (!combos.length) return null;
  const cols = (await schemaFacts(db)).spendLogColumns;
  const rawCol = (c: "model_id" | "custom_llm_provider") =>
    cols.has(c) ? sql.ref(`l.${c}`) : sql`NULL::text`;
  const combo = sql`unnest(${combos.map((x) => x.model)}::text[], ${combos.map((x) => x.model_id)}::text[],
    ${combos.map((x) => x.p)}::text[]) AS c(m, mi, p)`;
  const logMatch = sql`l.spend > 0 AND EXISTS (SELECT 1 FROM ${combo} WHERE c.m IS NOT DISTINCT FROM l.model
    AND c.mi IS NOT DISTINCT FROM ${rawCol("model_id")} AND c.p IS NOT DISTINCT FROM ${rawCol("custom_llm_provider")})`;
  const loIso = iso(lo);
  const n = FIRST_SPEND_CANDIDATES;
  const r = await sql<{ t: string | null; horizon: string | null }>`
    WITH cand AS MATERIALIZED (
      (SELECT h.hour AS a, h.hour + interval '1 hour' AS b, 'h' AS kind FROM spendlens.provider_hourly h
        WHERE h.hour >= ${iso(floorTo(lo, HOUR_MS))}::timestamp AND h.spend_requests > 0
          AND EXISTS (SELECT 1 FROM ${combo} WHERE c.m IS NOT DISTINCT FROM h.model
            AND c.mi IS NOT DISTINCT FROM h.model_id AND c.p IS NOT DISTINCT FROM h.custom_llm_provider)
        GROUP BY h.hour ORDER BY h.hour LIMIT ${n})
      UNION ALL
      (SELECT rd.day::timestamp, rd.day::timestamp + interval '1 day', 'd' FROM spendlens.rollup_days rd
        WHERE rd.day >= ${dayOf(lo)}::date AND rd.dirty_at IS NOT NULL ORDER BY rd.day LIMIT ${n})),
    found AS (SELECT (SELECT l."startTime" FROM "LiteLLM_SpendLogs" l
        WHERE l."startTime" >= greatest(cand.a, ${loIso}::timestamp) AND l."startTime" < cand.b AND ${logMatch}
        ORDER BY l."startTime" LIMIT 1) AS t FROM cand)
    SELECT to_char((SELECT min(found.t) FROM found), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t,
      to_char(least(
        (SELECT max(cand.b) FROM cand WHERE cand.kind = 'h' HAVING count(*) >= ${n}),
        (SELECT max(cand.b) FROM cand WHERE cand.kind = 'd' HAVING count(*) >= ${n})),
        'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS horizon`.execute(db);
  const { t, horizon } = r.rows[0] ?? { t: null, horizon: null };
  // Every hour with such a log and every dirty day before the horizon was searched.
  if (horizon === null || (t !== null && t < horizon)) return t;
  const all = await sql<{
    t: string | null;
  }>`SELECT to_char(min(l."startTime"), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t
    FROM "LiteLLM_SpendLogs" l WHERE l."startTime" >= ${loIso}::timestamp AND ${logMatch}`.execute(db);
  return all.rows[0]?.t ?? null;
}
