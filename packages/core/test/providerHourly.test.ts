import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALL,
  type Db,
  firstSpendAt,
  pauseRollups,
  planProviderWindow,
  providerBudgets,
  providerResolver,
  providerSpendRows,
  providerSpendRowsMany,
  rebuildRollups,
  resumeRollups,
  type SpendlensConfig,
  setClock,
  setRollupDeleteMode,
  spendTotals,
} from "../src/internal.ts";
import {
  createTestDb,
  insertLogs,
  makeLog,
  providerBudgetConfig,
  type TestDb,
} from "../src/testing/index.ts";

/**
 * Provider budget windows read through migration 0014's hourly rollup (budgets/providerSpend.ts): the
 * spend per provider of any window [from, to) equals an independent sum over the raw logs, and the
 * answer of the day-grain planner (`spendTotals`, what the route read before), whatever the window's
 * edges (mid-hour, mid-day, exact hours, unbounded), after updates and deletes of folded logs, on dirty
 * days, and at both ends of the calendar. Spends are multiples of 1/8, so every sum is exact in any order.
 */

const ms = (iso: string) => Date.parse(iso);
const config: SpendlensConfig = providerBudgetConfig({
  openai: "budget_limit: 100, time_period: 1d",
  anthropic: "budget_limit: 50, time_period: 1w",
  groq: "budget_limit: 10, time_period: 1h",
  vertex_ai: "budget_limit: 10, time_period: 1mo",
});
const resolve = providerResolver(config.modelList ?? []);

type Kind = "openai" | "anthropic" | "groq" | "other";
const cols: Record<Kind, { model: string; model_id?: string; custom_llm_provider?: string }> = {
  openai: { model: "gpt-4o" },
  anthropic: { model: "claude-3-5-sonnet-20241022", model_id: "dep-claude" },
  groq: { model: "llama3-70b", custom_llm_provider: "groq" },
  other: { model: "mystery-model" },
};
let seq = 0;
const log = (kind: Kind, startTime: string, spend: number) =>
  makeLog({ request_id: `ph-${++seq}`, startTime, spend, ...cols[kind] });

type ByProvider = Record<string, number>;
function byProvider(
  rows: {
    model: string | null;
    model_id: string | null;
    custom_llm_provider: string | null;
    spend: number;
  }[],
): ByProvider {
  const out: ByProvider = {};
  for (const r of rows) {
    const p = resolve({
      model: r.model ?? "",
      model_id: r.model_id,
      custom_llm_provider: r.custom_llm_provider,
    });
    out[p] = (out[p] ?? 0) + r.spend;
  }
  for (const k of Object.keys(out)) if (out[k] === 0) delete out[k];
  return out;
}
const clean = (o: ByProvider) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0));

/** The brute force: the raw logs of the window, grouped, in one plain statement. */
async function brute(db: Db, from: string, to: string | null): Promise<ByProvider> {
  const r = await sql<{
    model: string | null;
    model_id: string | null;
    custom_llm_provider: string | null;
    spend: number;
  }>`
    SELECT model, model_id, custom_llm_provider, sum(coalesce(spend, 0))::float8 AS spend FROM "LiteLLM_SpendLogs"
    WHERE "startTime" >= ${from}::timestamp AND (${to}::timestamp IS NULL OR "startTime" < ${to}::timestamp)
    GROUP BY 1, 2, 3`.execute(db);
  return byProvider(r.rows);
}
const hourly = async (db: Db, from: string, to: string | null) =>
  clean(byProvider(await providerSpendRows(db, ms(from), to === null ? null : ms(to))));
/** Every window of WINDOWS in one statement (`providerSpendRowsMany`), each as `hourly` gives it. */
async function batched(db: Db): Promise<ByProvider[]> {
  const all = await providerSpendRowsMany(
    db,
    WINDOWS.map(([from, to]) => ({ from: ms(from), to: to === null ? null : ms(to) })),
  );
  return all.map((rows) => clean(byProvider(rows)));
}
/** What the route read before 0014: the day-grain planner (whole days rolled up, partial days raw). */
const daily = async (db: Db, from: string, to: string | null) =>
  clean(
    byProvider(
      (
        await spendTotals(db, ALL, {
          window: { from, to },
          dims: ["model", "model_id", "custom_llm_provider"],
        })
      ).map((r) => ({
        model: r.model ?? null,
        model_id: r.model_id ?? null,
        custom_llm_provider: r.custom_llm_provider ?? null,
        spend: r.spend,
      })),
    ),
  );

/** Windows whose edges fall mid-hour, mid-day, on hours, on midnights, or nowhere (unbounded). */
const WINDOWS: [string, string | null][] = [
  ["2026-03-13T10:30:00.000Z", "2026-03-14T10:30:00.000Z"], // mid-hour, across one midnight, no whole day
  ["2026-03-13T10:00:00.000Z", "2026-03-15T10:00:00.000Z"], // on hours, one whole day
  ["2026-03-13T00:00:00.000Z", "2026-03-16T00:00:00.000Z"], // whole days only
  ["2026-03-13T10:15:30.500Z", "2026-03-13T10:45:00.000Z"], // inside one hour
  ["2026-03-13T10:15:00.000Z", "2026-03-13T14:50:00.000Z"], // inside one day, several hours
  ["2026-03-14T23:59:59.999Z", "2026-03-15T00:00:00.001Z"], // two milliseconds around midnight
  ["2026-03-14T00:30:00.000Z", "2026-03-15T00:30:00.000Z"], // ends in the first hour after a midnight
  ["2026-03-12T23:30:00.000Z", "2026-03-16T00:30:00.000Z"], // two whole days and two slivers
  ["2026-03-13T05:07:00.000Z", null], // unbounded
  ["2026-03-15T09:59:59.999Z", null],
];

describe("provider budget windows through the hourly rollup (0014)", () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
    const logs = [];
    const kinds: Kind[] = ["openai", "anthropic", "groq", "other"];
    // Three days, a log every 37 minutes (so every hour boundary falls between logs differently).
    for (
      let i = 0, at = ms("2026-03-13T00:03:00.000Z");
      at < ms("2026-03-16T00:00:00.000Z");
      i++, at += 37 * 60_000
    )
      logs.push(log(kinds[i % 4]!, new Date(at).toISOString(), ((i % 7) + 1) / 8));
    // Logs exactly on the edges the windows use, and a millisecond either side of an hour and a midnight.
    for (const at of [
      "2026-03-13T10:00:00.000Z",
      "2026-03-13T10:30:00.000Z",
      "2026-03-14T10:29:59.999Z",
      "2026-03-14T10:30:00.000Z",
      "2026-03-14T23:59:59.999Z",
      "2026-03-15T00:00:00.000Z",
      "2026-03-15T09:59:59.999Z",
      "2026-03-15T10:00:00.000Z",
    ])
      logs.push(log("openai", at, 2), log("groq", at, 0.5));
    await insertLogs(t.db, logs);
  });
  afterAll(async () => {
    setClock(null);
    await t?.drop();
  });

  it("plans whole days, whole hours inside one day each, and raw slivers", () => {
    const p = planProviderWindow(ms("2026-03-13T10:30:00.000Z"), ms("2026-03-14T10:30:00.000Z"));
    const isoR = (r: { from: number; to: number | null }) => [
      new Date(r.from).toISOString(),
      r.to === null ? null : new Date(r.to).toISOString(),
    ];
    expect(p.days).toBeNull();
    expect(p.hours.map(isoR)).toEqual([
      ["2026-03-13T11:00:00.000Z", "2026-03-14T00:00:00.000Z"],
      ["2026-03-14T00:00:00.000Z", "2026-03-14T10:00:00.000Z"],
    ]);
    expect(p.raw.map(isoR)).toEqual([
      ["2026-03-13T10:30:00.000Z", "2026-03-13T11:00:00.000Z"],
      ["2026-03-14T10:00:00.000Z", "2026-03-14T10:30:00.000Z"],
    ]);
    const q = planProviderWindow(ms("2026-03-12T23:30:00.000Z"), null);
    expect(isoR(q.days!)).toEqual(["2026-03-13T00:00:00.000Z", null]);
    expect(q.hours).toEqual([]);
    expect(q.raw.map(isoR)).toEqual([["2026-03-12T23:30:00.000Z", "2026-03-13T00:00:00.000Z"]]);
    expect(planProviderWindow(5, 5)).toEqual({ days: null, hours: [], raw: [] });
    // A sliver longer than the rest of its hour: the hour's row minus the rest, read raw (and subtracted);
    // time after now counts as empty (a window ending in the future reads its last sliver raw: nothing).
    const nowMs = ms("2026-03-14T12:00:00.000Z");
    const s = planProviderWindow(ms("2026-03-13T10:15:00.000Z"), ms("2026-03-14T14:50:00.000Z"), nowMs);
    expect(s.hours.map(isoR).sort()).toEqual([
      ["2026-03-13T10:00:00.000Z", "2026-03-13T11:00:00.000Z"],
      ["2026-03-13T11:00:00.000Z", "2026-03-14T00:00:00.000Z"],
      ["2026-03-14T00:00:00.000Z", "2026-03-14T14:00:00.000Z"],
    ]);
    expect(s.raw.map((r) => [...isoR(r), r.sign ?? 1])).toEqual([
      ["2026-03-13T10:00:00.000Z", "2026-03-13T10:15:00.000Z", -1],
      ["2026-03-14T14:00:00.000Z", "2026-03-14T14:50:00.000Z", 1],
    ]);
    const past = planProviderWindow(ms("2026-03-13T10:15:00.000Z"), ms("2026-03-13T14:50:00.000Z"), nowMs);
    expect(past.raw.map((r) => [...isoR(r), r.sign ?? 1])).toEqual([
      ["2026-03-13T10:00:00.000Z", "2026-03-13T10:15:00.000Z", -1],
      ["2026-03-13T14:50:00.000Z", "2026-03-13T15:00:00.000Z", -1],
    ]);
  });

  it("a mid-hour window has the exact spend of its logs (hand-counted)", async () => {
    // [09:50, 10:30) on 2026-03-13: the 37-minute log at 09:55 (i = 16: openai, (16 % 7 + 1) / 8 = 0.375)
    // and the edge logs at 10:00 (openai 2, groq 0.5); the next 37-minute log is at 10:32.
    expect(await hourly(t.db, "2026-03-13T09:50:00.000Z", "2026-03-13T10:30:00.000Z")).toEqual({
      openai: 2.375,
      groq: 0.5,
    });
    // Half-open: 10:30 itself is out of [10:00, 10:30) and in [10:30, 10:31).
    expect(await hourly(t.db, "2026-03-13T10:30:00.000Z", "2026-03-13T10:31:00.000Z")).toEqual({
      openai: 2,
      groq: 0.5,
    });
  });

  it("every window equals the raw logs and the day-grain planner", async () => {
    for (const [from, to] of WINDOWS) {
      const want = await brute(t.db, from, to);
      expect(Object.keys(want).length, `${from}..${to} has logs`).toBeGreaterThan(0);
      expect(await hourly(t.db, from, to), `${from}..${to}`).toEqual(want);
      expect(await daily(t.db, from, to), `${from}..${to} (daily)`).toEqual(want);
    }
    const all = await batched(t.db);
    for (const [i, [from, to]] of WINDOWS.entries())
      expect(all[i], `${from}..${to} (all windows in one statement)`).toEqual(await brute(t.db, from, to));
  });

  it("the hour table holds exactly the logs per UTC hour", async () => {
    await expectHourTableExact(t.db);
  });

  it("updates and deletes after the fold (delete mode subtract) keep every window exact", async () => {
    await setRollupDeleteMode(t.db, "subtract");
    // A spend change, a provider change (openai → groq), a move across an hour and a day, deletes.
    await sql`UPDATE "LiteLLM_SpendLogs" SET spend = spend + 1.25 WHERE request_id IN ('ph-3', 'ph-40')`.execute(
      t.db,
    );
    await sql`UPDATE "LiteLLM_SpendLogs" SET custom_llm_provider = 'groq' WHERE request_id = 'ph-17'`.execute(
      t.db,
    );
    await sql`UPDATE "LiteLLM_SpendLogs" SET "startTime" = '2026-03-15T10:20:00' WHERE request_id = 'ph-20'`.execute(
      t.db,
    );
    await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id IN ('ph-5', 'ph-60', 'ph-61')`.execute(t.db);
    // A whole hour emptied: its rows leave the table.
    await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE "startTime" >= '2026-03-14T03:00' AND "startTime" < '2026-03-14T04:00'`.execute(
      t.db,
    );
    // New logs after the fold, in hours that already have rows.
    await insertLogs(t.db, [
      log("anthropic", "2026-03-14T10:31:00.000Z", 4),
      log("openai", "2026-03-13T10:59:00.000Z", 8),
    ]);
    for (const [from, to] of WINDOWS) {
      const want = await brute(t.db, from, to);
      expect(await hourly(t.db, from, to), `${from}..${to}`).toEqual(want);
      expect(await daily(t.db, from, to), `${from}..${to} (daily)`).toEqual(want);
    }
    await expectHourTableExact(t.db);
    const emptied = await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.provider_hourly
      WHERE hour = '2026-03-14T03:00'`.execute(t.db);
    expect(emptied.rows[0]!.n).toBe(0);
  });

  it("delete mode keep: the answer stays the day-grain planner's (totals kept for whole days, edge days raw)", async () => {
    await setRollupDeleteMode(t.db, "keep");
    await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id = 'ph-70'`.execute(t.db); // 2026-03-14T18:36, anthropic 0.875
    for (const [from, to] of WINDOWS) {
      expect(await hourly(t.db, from, to), `${from}..${to}`).toEqual(await daily(t.db, from, to));
    }
    const all = await batched(t.db);
    for (const [i, [from, to]] of WINDOWS.entries())
      expect(all[i], `${from}..${to} (one statement)`).toEqual(await daily(t.db, from, to));
    // A window made only of edge days reads 2026-03-14 (raw_deleted) from the logs: the deleted log is out;
    // a window holding that day whole keeps its total (the daily rollup's), 0.875 more than the logs.
    const w: [string, string] = ["2026-03-14T10:30:00.000Z", "2026-03-15T10:30:00.000Z"];
    expect(await hourly(t.db, ...w)).toEqual(await brute(t.db, ...w));
    const whole: [string, string] = ["2026-03-13T10:30:00.000Z", "2026-03-15T10:30:00.000Z"];
    expect((await hourly(t.db, ...whole)).anthropic).toBe((await brute(t.db, ...whole)).anthropic! + 0.875);
    // The hour table kept the deleted log too; rebuilding the day (raw_deleted included) drops it everywhere.
    await rebuildRollups(t.db, { from: "2026-03-14", to: "2026-03-14", includeRawDeleted: true });
    expect(await hourly(t.db, ...whole)).toEqual(await brute(t.db, ...whole));
    await expectHourTableExact(t.db);
    await setRollupDeleteMode(t.db, "subtract");
  });

  it("dirty days (rollups paused) are read raw until a rebuild refills their hours", async () => {
    await pauseRollups(t.db);
    await insertLogs(t.db, [
      log("openai", "2026-03-15T11:11:00.000Z", 16),
      log("groq", "2026-03-13T22:22:00.000Z", 32),
    ]);
    await sql`UPDATE "LiteLLM_SpendLogs" SET spend = 0.125 WHERE request_id = 'ph-30'`.execute(t.db);
    await resumeRollups(t.db);
    const all = await batched(t.db);
    for (const [i, [from, to]] of WINDOWS.entries()) {
      const want = await brute(t.db, from, to);
      expect(await hourly(t.db, from, to), `${from}..${to}`).toEqual(want);
      expect(all[i], `${from}..${to} (one statement)`).toEqual(want);
    }
    await rebuildRollups(t.db);
    await expectHourTableExact(t.db);
    for (const [from, to] of WINDOWS)
      expect(await hourly(t.db, from, to)).toEqual(await brute(t.db, from, to));
  });

  it("UTC hours whatever the session's time zone (a DST change in New York)", async () => {
    await t.db.connection().execute(async (c) => {
      await sql`SET TIME ZONE 'America/New_York'`.execute(c);
      try {
        // 2026-03-08 07:00Z is 03:00 EDT, an hour after 02:00 EST: the local clock skips an hour.
        await insertLogs(c, [
          log("openai", "2026-03-08T06:30:00.000Z", 1),
          log("openai", "2026-03-08T06:59:59.999Z", 2),
          log("openai", "2026-03-08T07:00:00.000Z", 4),
          log("groq", "2026-03-08T07:45:00.000Z", 8),
          log("openai", "2026-03-08T08:15:00.000Z", 16),
        ]);
        expect(await hourly(c, "2026-03-08T06:45:00.000Z", "2026-03-08T08:20:00.000Z")).toEqual({
          openai: 22,
          groq: 8,
        });
        const hours = await sql<{
          h: string;
          spend: number;
        }>`SELECT to_char(hour, 'YYYY-MM-DD"T"HH24:MI') AS h,
            sum(spend)::float8 AS spend FROM spendlens.provider_hourly WHERE hour::date = '2026-03-08' GROUP BY 1 ORDER BY 1`.execute(
          c,
        );
        expect(hours.rows).toEqual([
          { h: "2026-03-08T06:00", spend: 3 },
          { h: "2026-03-08T07:00", spend: 12 },
          { h: "2026-03-08T08:00", spend: 16 },
        ]);
      } finally {
        await sql`RESET TIME ZONE`.execute(c);
      }
    });
  });

  it("the first spend of a window: hour candidates, dirty days, and the scan when every candidate is empty", async () => {
    const openai = [{ model: "gpt-4o", model_id: "", p: "" }];
    const first = async (lo: string) => {
      const r = await sql<{
        t: string | null;
      }>`SELECT to_char(min("startTime"), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t
        FROM "LiteLLM_SpendLogs" WHERE "startTime" >= ${lo}::timestamp AND spend > 0 AND model = 'gpt-4o'
          AND model_id = '' AND custom_llm_provider = ''`.execute(t.db);
      return r.rows[0]!.t;
    };
    const lo = "2026-03-13T13:13:00.000Z";
    expect(await firstSpendAt(t.db, openai, ms(lo))).toBe(await first(lo));
    expect(await firstSpendAt(t.db, openai, ms("2026-03-16T00:00:00.000Z"))).toBeNull();
    expect(await firstSpendAt(t.db, [], ms(lo))).toBeNull();
    // Mode keep: the next six openai logs deleted, their hours still counted: every candidate is empty.
    await setRollupDeleteMode(t.db, "keep");
    await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id IN (SELECT request_id FROM "LiteLLM_SpendLogs"
      WHERE "startTime" >= ${lo}::timestamp AND spend > 0 AND model = 'gpt-4o' AND custom_llm_provider = ''
      ORDER BY "startTime" LIMIT 6)`.execute(t.db);
    const after = await first(lo);
    expect(after).not.toBeNull();
    expect(await firstSpendAt(t.db, openai, ms(lo))).toBe(after);
    await rebuildRollups(t.db, { from: "2026-03-13", to: "2026-03-14", includeRawDeleted: true });
    await setRollupDeleteMode(t.db, "subtract");
    // Paused: a log the hour table does not hold yet, on a dirty day, is found.
    await pauseRollups(t.db);
    await insertLogs(t.db, [log("openai", "2026-03-13T13:14:00.000Z", 0.25)]);
    await resumeRollups(t.db);
    expect(await firstSpendAt(t.db, openai, ms(lo))).toBe("2026-03-13T13:14:00.000Z");
    await rebuildRollups(t.db);
    await expectHourTableExact(t.db);
  });

  it("both ends of the calendar: 1970-01-01 and 9998-12-31", async () => {
    await insertLogs(t.db, [
      log("openai", "1970-01-01T00:00:00.000Z", 1),
      log("openai", "1970-01-01T00:59:59.999Z", 2),
      log("groq", "1970-01-02T03:00:00.000Z", 4),
      log("openai", "9998-12-31T00:00:00.000Z", 8),
      log("groq", "9998-12-31T23:59:59.999Z", 16),
    ]);
    const cases: [string, string | null, ByProvider][] = [
      ["1970-01-01T00:00:00.000Z", "1970-01-01T00:30:00.000Z", { openai: 1 }],
      ["1970-01-01T00:30:00.000Z", "1970-01-03T01:30:00.000Z", { openai: 2, groq: 4 }],
      ["9998-12-30T12:34:00.000Z", "9999-01-01T00:00:00.000Z", { openai: 8, groq: 16 }],
      ["9998-12-31T23:30:00.000Z", null, { groq: 16 }],
    ];
    for (const [from, to, want] of cases) {
      expect(await brute(t.db, from, to)).toEqual(want);
      expect(await hourly(t.db, from, to), `${from}..${to}`).toEqual(want);
    }
  });

  it("GET /provider/budgets: rolling windows opened mid-hour equal the raw logs; a provider with no logs is 0", async () => {
    setClock(() => new Date("2026-03-15T10:40:00.000Z"));
    const b = await providerBudgets(t.db, ALL, config);
    for (const p of ["openai", "anthropic", "groq"] as const) {
      const w = b.providers[p]!;
      expect(w.window_start, p).not.toBeNull();
      expect(w.spend, p).toBe((await brute(t.db, w.window_start!, w.budget_reset_at!))[p] ?? 0);
    }
    // Each rolling window opened at its provider's first log with spend > 0 after now - period.
    for (const [p, lo] of [
      ["openai", "2026-03-14T10:40:00.001Z"],
      ["anthropic", "2026-03-08T10:40:00.001Z"],
      ["groq", "2026-03-15T09:40:00.001Z"],
    ] as const) {
      const logs = await sql<{
        t: string;
        model: string;
        model_id: string | null;
        custom_llm_provider: string | null;
      }>`
        SELECT to_char("startTime", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t, model, model_id, custom_llm_provider FROM "LiteLLM_SpendLogs"
        WHERE "startTime" >= ${lo}::timestamp AND spend > 0 ORDER BY "startTime"`.execute(t.db);
      const first = logs.rows.find((r) => resolve(r) === p);
      expect(b.providers[p]!.window_start, p).toBe(first!.t);
    }
    expect(b.providers.vertex_ai).toEqual({
      budget_limit: 10,
      time_period: "1mo",
      spend: 0,
      budget_reset_at: null,
      window: "rolling",
      window_start: null,
    });
  });
});

/** provider_hourly equals the raw logs grouped by UTC hour and provider columns (no empty row either). */
async function expectHourTableExact(db: Db): Promise<void> {
  const table = await sql<{ k: string; requests: number; spend: number; pos: number }>`
    SELECT concat_ws('|', hour::text, model, model_id, custom_llm_provider) AS k, requests::int AS requests,
      spend, spend_requests::int AS pos FROM spendlens.provider_hourly ORDER BY 1`.execute(db);
  const raw = await sql<{ k: string; requests: number; spend: number; pos: number }>`
    SELECT concat_ws('|', date_trunc('hour', "startTime")::text, model, model_id, custom_llm_provider) AS k,
      count(*)::int AS requests, sum(coalesce(spend, 0))::float8 AS spend, count(*) FILTER (WHERE spend > 0)::int AS pos
    FROM "LiteLLM_SpendLogs" GROUP BY date_trunc('hour', "startTime"), model, model_id, custom_llm_provider ORDER BY 1`.execute(
    db,
  );
  expect(table.rows.length).toBeGreaterThan(0);
  expect(table.rows).toEqual(raw.rows);
}
