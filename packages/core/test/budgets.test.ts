import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import {
  ALL,
  addDuration,
  calendarWindow,
  emptyConfig,
  ingestSpendLogs,
  parseDuration,
  providerBudgets,
  type SpendlensConfig,
  SpendlensError,
  userScope,
} from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { providerBudgetConfig } from "../src/testing/index.ts";

const ms = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();

describe("budget windows (pure)", () => {
  it("parses LiteLLM durations and refuses others", () => {
    expect(parseDuration("30s")).toEqual({ n: 30, unit: "s" });
    expect(parseDuration("1mo")).toEqual({ n: 1, unit: "mo" });
    expect(parseDuration("12d")).toEqual({ n: 12, unit: "d" });
    for (const bad of ["0d", "1y", "d", "1.5h", ""]) expect(() => parseDuration(bad)).toThrow(SpendlensError);
  });

  it("aligns calendar windows in UTC: hour, day, week from Monday, month, quarter", () => {
    const at = ms("2026-03-15T10:20:30.000Z"); // a Sunday
    const w = (p: string) => {
      const x = calendarWindow(at, parseDuration(p));
      return [iso(x.start), iso(x.end)];
    };
    expect(w("1h")).toEqual(["2026-03-15T10:00:00.000Z", "2026-03-15T11:00:00.000Z"]);
    expect(w("30m")).toEqual(["2026-03-15T10:00:00.000Z", "2026-03-15T10:30:00.000Z"]);
    expect(w("1d")).toEqual(["2026-03-15T00:00:00.000Z", "2026-03-16T00:00:00.000Z"]);
    expect(w("1w")).toEqual(["2026-03-09T00:00:00.000Z", "2026-03-16T00:00:00.000Z"]);
    expect(w("1mo")).toEqual(["2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z"]);
    expect(w("3mo")).toEqual(["2026-01-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z"]);
    // Monday 00:00 starts a new week; the last millisecond of Sunday is still in the old one.
    expect(iso(calendarWindow(ms("2026-03-16T00:00:00.000Z"), parseDuration("1w")).start)).toBe(
      "2026-03-16T00:00:00.000Z",
    );
    expect(iso(calendarWindow(ms("2026-03-15T23:59:59.999Z"), parseDuration("1w")).end)).toBe(
      "2026-03-16T00:00:00.000Z",
    );
    // December rolls into the next year.
    const dec = calendarWindow(ms("2025-12-31T23:00:00.000Z"), parseDuration("1mo"));
    expect([iso(dec.start), iso(dec.end)]).toEqual(["2025-12-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"]);
  });

  it("ends rolling windows exactly one period later; months keep the day, clamped to the month's end", () => {
    expect(iso(addDuration(ms("2026-03-15T09:00:00.000Z"), parseDuration("1d")))).toBe(
      "2026-03-16T09:00:00.000Z",
    );
    expect(iso(addDuration(ms("2026-03-15T09:00:00.000Z"), parseDuration("2w")))).toBe(
      "2026-03-29T09:00:00.000Z",
    );
    expect(iso(addDuration(ms("2026-01-31T12:00:00.000Z"), parseDuration("1mo")))).toBe(
      "2026-02-28T12:00:00.000Z",
    );
    expect(iso(addDuration(ms("2024-01-31T12:00:00.000Z"), parseDuration("1mo")))).toBe(
      "2024-02-29T12:00:00.000Z",
    );
    expect(iso(addDuration(ms("2025-11-15T00:00:00.000Z"), parseDuration("3mo")))).toBe(
      "2026-02-15T00:00:00.000Z",
    );
  });
});

describe("provider budgets (database)", () => {
  let now = new Date("2026-03-15T10:00:00.000Z");
  const t = useTestDb({ now: () => now });
  const config: SpendlensConfig = providerBudgetConfig({
    openai: "budget_limit: 100, time_period: 1d",
    anthropic: "budget_limit: 50, time_period: 1w, window: calendar",
    azure: "budget_limit: 10, time_period: 1mo, window: calendar",
  });
  let seq = 0;
  const log = (provider: "openai" | "anthropic" | "groq", endTime: string, spend: number) => {
    seq += 1;
    const p =
      provider === "openai"
        ? { model: "gpt-4o" }
        : provider === "anthropic"
          ? { model: "claude-3-5-sonnet-20241022", model_id: "dep-claude" }
          : { model: "llama3-70b", custom_llm_provider: "groq" };
    return { request_id: `pb-${seq}`, spend, startTime: endTime, endTime, ...p };
  };
  const windowRow = async (provider: string) =>
    (
      await sql<{
        spend: number;
        window_start: string;
        window_end: string;
      }>`SELECT spend, window_start, window_end
      FROM spendlens.provider_budget_windows WHERE provider = ${provider}`.execute(t.db)
    ).rows[0];

  it("says clearly when no provider budget is configured", async () => {
    const e = await providerBudgets(t.db, ALL, emptyConfig()).catch((x) => x);
    expect(e).toBeInstanceOf(SpendlensError);
    expect(e.code).toBe("BAD_REQUEST");
    expect(e.message).toContain("No provider budget config found");
  });

  it("before any spend: rolling windows have no reset time, calendar windows the end of their period", async () => {
    expect(await providerBudgets(t.db, ALL, config)).toEqual({
      providers: {
        openai: {
          budget_limit: 100,
          time_period: "1d",
          spend: 0,
          budget_reset_at: null,
          window: "rolling",
          window_start: null,
        },
        anthropic: {
          budget_limit: 50,
          time_period: "1w",
          spend: 0,
          budget_reset_at: "2026-03-16T00:00:00.000Z",
          window: "calendar",
          window_start: "2026-03-09T00:00:00.000Z",
        },
        azure: {
          budget_limit: 10,
          time_period: "1mo",
          spend: 0,
          budget_reset_at: "2026-04-01T00:00:00.000Z",
          window: "calendar",
          window_start: "2026-03-01T00:00:00.000Z",
        },
      },
    });
  });

  it("ingest adds only the current window's spend: a rolling window starts at the first spend", async () => {
    const logs = [
      log("openai", "2026-03-15T09:30:00.000Z", 2),
      log("openai", "2026-03-15T09:00:00.000Z", 1), // first spend: the window starts here
      log("openai", "2026-03-15T10:00:05.000Z", 0.25), // a gateway clock 5 s ahead: counted as now
      log("openai", "2026-03-14T09:00:00.000Z", 64), // ended more than 1d ago: a backfill, not counted
      log("anthropic", "2026-03-15T08:00:00.000Z", 0.5), // this calendar week
      log("anthropic", "2026-03-08T23:59:59.999Z", 32), // last week
      log("groq", "2026-03-15T09:00:00.000Z", 4), // no budget configured for groq
    ];
    const r = await ingestSpendLogs(t.db, ALL, { logs }, config);
    expect(r.inserted).toBe(7);
    expect(r.provider_spend_added).toEqual({ openai: 3.25, anthropic: 0.5 });
    const b = await providerBudgets(t.db, userScope("anyone"), config);
    expect(b.providers.openai).toEqual({
      budget_limit: 100,
      time_period: "1d",
      spend: 3.25,
      budget_reset_at: "2026-03-16T09:00:00.000Z",
      window: "rolling",
      window_start: "2026-03-15T09:00:00.000Z",
    });
    expect(b.providers.anthropic).toMatchObject({ spend: 0.5, budget_reset_at: "2026-03-16T00:00:00.000Z" });
    expect(b.providers.azure).toMatchObject({ spend: 0 });
    expect(await windowRow("groq")).toBeUndefined();
  });

  it("a live window keeps adding; a resend adds nothing", async () => {
    now = new Date("2026-03-15T20:00:00.000Z");
    const logs = [
      log("openai", "2026-03-15T19:00:00.000Z", 0.5),
      log("anthropic", "2026-03-15T19:00:00.000Z", 1),
    ];
    await ingestSpendLogs(t.db, ALL, { logs }, config);
    const again = await ingestSpendLogs(t.db, ALL, { logs }, config);
    expect(again.provider_spend_added).toEqual({});
    const b = await providerBudgets(t.db, ALL, config);
    expect(b.providers.openai).toMatchObject({ spend: 3.75, budget_reset_at: "2026-03-16T09:00:00.000Z" });
    expect(b.providers.anthropic).toMatchObject({ spend: 1.5 });
  });

  it("an expired window reads as spend 0 at once, with no job: rolling → null, calendar → next period", async () => {
    now = new Date("2026-03-16T09:00:00.000Z"); // the openai window ends exactly now
    const b = await providerBudgets(t.db, ALL, config);
    expect(b.providers.openai).toMatchObject({ spend: 0, budget_reset_at: null, window_start: null });
    expect(b.providers.anthropic).toMatchObject({
      spend: 0,
      budget_reset_at: "2026-03-23T00:00:00.000Z",
      window_start: "2026-03-16T00:00:00.000Z",
    });
    // The stored row still holds the old window until a spend replaces it.
    expect((await windowRow("openai"))?.spend).toBe(3.75);
    now = new Date("2026-03-16T08:59:59.999Z");
    expect((await providerBudgets(t.db, ALL, config)).providers.openai?.spend).toBe(3.75);
  });

  it("the next spend after expiry starts a new window; late logs of the old window are not added", async () => {
    now = new Date("2026-03-16T12:00:00.000Z");
    const r = await ingestSpendLogs(
      t.db,
      ALL,
      {
        logs: [
          log("openai", "2026-03-16T08:30:00.000Z", 16), // before the old window's end: belongs to it
          log("openai", "2026-03-16T11:15:00.000Z", 0.125),
          log("openai", "2026-03-16T10:45:00.000Z", 0.5),
          log("anthropic", "2026-03-15T23:00:00.000Z", 8), // last week (by calendar)
          log("anthropic", "2026-03-16T01:00:00.000Z", 2),
        ],
      },
      config,
    );
    expect(r.provider_spend_added).toEqual({ openai: 0.625, anthropic: 2 });
    const b = await providerBudgets(t.db, ALL, config);
    expect(b.providers.openai).toMatchObject({
      spend: 0.625,
      window_start: "2026-03-16T10:45:00.000Z",
      budget_reset_at: "2026-03-17T10:45:00.000Z",
    });
    expect(b.providers.anthropic).toMatchObject({ spend: 2, budget_reset_at: "2026-03-23T00:00:00.000Z" });
  });

  it("a changed window kind reads the new window from the logs: every log of the calendar day counts", async () => {
    const changed: SpendlensConfig = {
      ...config,
      providerBudgets: {
        ...config.providerBudgets,
        openai: { budget_limit: 100, time_period: "1d", window: "calendar" },
      },
    };
    // 2026-03-16's openai logs so far: 16 (08:30), 0.5 (10:45), 0.125 (11:15).
    const b = await providerBudgets(t.db, ALL, changed);
    expect(b.providers.openai).toMatchObject({ spend: 16.625, budget_reset_at: "2026-03-17T00:00:00.000Z" });
    await ingestSpendLogs(t.db, ALL, { logs: [log("openai", "2026-03-16T11:00:00.000Z", 1)] }, changed);
    expect((await providerBudgets(t.db, ALL, changed)).providers.openai).toMatchObject({
      spend: 17.625,
      window_start: "2026-03-16T00:00:00.000Z",
      budget_reset_at: "2026-03-17T00:00:00.000Z",
    });
  });

  it("concurrent batches add to the provider window exactly", async () => {
    now = new Date("2026-03-20T12:00:00.000Z");
    const batches = Array.from({ length: 10 }, (_, b) =>
      Array.from({ length: 100 }, (_, i) =>
        log("anthropic", "2026-03-20T11:00:00.000Z", ((b * 100 + i) % 13) / 32),
      ),
    );
    const expected = batches.flat().reduce((s, l) => s + l.spend, 0);
    await Promise.all(batches.map((logs) => ingestSpendLogs(t.db, ALL, { logs }, config)));
    // Week of Monday 2026-03-16: the earlier spend of 2 (2026-03-16T01:00) is in it too.
    expect((await providerBudgets(t.db, ALL, config)).providers.anthropic).toMatchObject({
      spend: expected + 2,
      window_start: "2026-03-16T00:00:00.000Z",
      budget_reset_at: "2026-03-23T00:00:00.000Z",
    });
  });
});
