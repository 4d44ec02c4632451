import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALL,
  alertsFor,
  type BudgetStatus,
  budgetStatus,
  entityWindow,
  ingestSpendLogs,
  parseConfig,
  providerBudgets,
  SpendlensError,
  setClock,
  userScope,
} from "../src/internal.ts";
import { createTestDb, insertLogs, makeLog, type TestDb } from "../src/testing/index.ts";

const DAY = 86_400_000;
const ms = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();

describe("budget windows (pure)", () => {
  const at = ms("2026-05-20T12:00:00.000Z");
  // [budget_duration, budget_reset_at, the window's start and end (UTC minutes)]: a window ends at
  // budget_reset_at and lasts budget_duration; a reset time in the past (the reset job has not run)
  // moves on by whole durations (the last two).
  it.each([
    ["1d", "2026-05-21T00:00:00.000Z", "2026-05-20T00:00", "2026-05-21T00:00"],
    ["30d", "2026-05-25T06:00:00.000Z", "2026-04-25T06:00", "2026-05-25T06:00"],
    ["1mo", "2026-06-01T00:00:00.000Z", "2026-05-01T00:00", "2026-06-01T00:00"],
    ["1mo", "2026-02-01T00:00:00.000Z", "2026-05-01T00:00", "2026-06-01T00:00"],
    ["1d", "2026-05-20T12:00:00.000Z", "2026-05-20T12:00", "2026-05-21T12:00"],
  ])("a window of %s reset at %s is [%s, %s)", (duration, resetAt, start, end) => {
    expect(entityWindow(duration, resetAt, at)).toEqual({
      start: ms(`${start}:00.000Z`),
      end: ms(`${end}:00.000Z`),
    });
  });
  it("a reset time long past moves on to a window that holds now", () => {
    expect(entityWindow("7d", "2025-01-01T00:00:00.000Z", at).end! > at).toBe(true);
    expect(entityWindow("7d", "2025-01-01T00:00:00.000Z", at).end! - at <= 7 * DAY).toBe(true);
  });
  it("no duration, an unreadable one or no reset time: the budget never resets", () => {
    expect(entityWindow(null, "2026-06-01T00:00:00.000Z", at)).toEqual({ start: null, end: null });
    expect(entityWindow("monthly", "2026-06-01T00:00:00.000Z", at)).toEqual({ start: null, end: null });
    expect(entityWindow("1d", null, at)).toEqual({ start: null, end: null });
  });
});

describe("budget status (database)", () => {
  let t: TestDb;
  let now = new Date("2026-05-20T12:00:00.000Z");
  const config = parseConfig(
    `
router_settings:
  provider_budget_config:
    openai: { budget_limit: 40, time_period: 1d }
    anthropic: { budget_limit: 300, time_period: 1mo, window: calendar }
`,
    "test.yaml",
  );
  type Log = ReturnType<typeof makeLog>;
  const logs: Log[] = [];
  const add = (p: Partial<Log> & { startTime: string; spend: number }) => {
    const l = makeLog({ model: "gpt-4o", ...p });
    logs.push(l);
    return l;
  };
  /** Independent brute force over the rows this test wrote. */
  const sum = (pred: (l: Log) => boolean, from: number | null, to: number | null) =>
    logs
      .filter(
        (l) => pred(l) && (from === null || ms(l.startTime) >= from) && (to === null || ms(l.startTime) < to),
      )
      .reduce((s, l) => s + l.spend, 0);
  const byId = (all: BudgetStatus[], type: string, id: string) =>
    all.find((b) => b.entity_type === type && b.entity_id === id)!;

  beforeAll(async () => {
    setClock(() => now);
    t = await createTestDb();
    await sql`INSERT INTO "LiteLLM_BudgetTable" (budget_id, max_budget, soft_budget, budget_duration, budget_reset_at)
      VALUES ('b-k1', NULL, 6, NULL, NULL),
        ('b-c1', 8, NULL, '30d', '2026-05-25T06:00:00'),
        ('b-o1', 1000, 900, NULL, NULL)`.execute(t.db);
    await sql`INSERT INTO "LiteLLM_VerificationToken" (token, key_alias, user_id, team_id, max_budget, budget_duration,
        budget_reset_at, budget_id)
      VALUES ('hash-k1', 'alpha', 'u1', 't1', 10, '1d', '2026-05-21T00:00:00', 'b-k1'),
        ('hash-k2', 'beta', 'u2', NULL, 100, NULL, NULL, NULL),
        ('hash-k3', 'nobudget', 'u1', NULL, NULL, NULL, NULL, NULL)`.execute(t.db);
    await sql`INSERT INTO "LiteLLM_UserTable" (user_id, user_email, max_budget, budget_duration, budget_reset_at)
      VALUES ('u1', 'u1@x.io', 50, '30d', '2026-06-01T00:00:00'),
        ('u2', NULL, 5, '1mo', '2026-04-01T00:00:00')`.execute(t.db);
    await sql`INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, max_budget, soft_budget, budget_duration, budget_reset_at)
      VALUES ('t1', 'team one', 20, 15, '1d', '2026-05-21T00:00:00')`.execute(t.db);
    await sql`INSERT INTO "LiteLLM_EndUserTable" (user_id, alias, budget_id) VALUES ('c1', 'cust', 'b-c1')`.execute(
      t.db,
    );
    await sql`INSERT INTO "LiteLLM_OrganizationTable" (organization_id, organization_alias, budget_id)
      VALUES ('o1', 'org one', 'b-o1')`.execute(t.db);
    // Hand-made history: k1 (user u1, team t1) spends 1.25 a day at 09:00 for 20 days, 3 × 1.5 today;
    // k2 (user u2, customer c1) 0.5 at 23:30 on 60 days; k3 (u1) 2 at 06:00 on 05-02 and 05-01 (window edges).
    for (let d = 0; d < 20; d++) {
      const day = iso(ms("2026-05-19T09:00:00.000Z") - d * DAY);
      add({ api_key: "hash-k1", user: "u1", team_id: "t1", startTime: day, spend: 1.25 });
    }
    for (const h of ["01", "05", "11"])
      add({
        api_key: "hash-k1",
        user: "u1",
        team_id: "t1",
        startTime: `2026-05-20T${h}:00:00.000Z`,
        spend: 1.5,
      });
    for (let d = 0; d < 60; d++) {
      const day = iso(ms("2026-05-19T23:30:00.000Z") - d * DAY);
      add({ api_key: "hash-k2", user: "u2", end_user: "c1", startTime: day, spend: 0.5 });
    }
    add({ api_key: "hash-k3", user: "u1", startTime: "2026-05-02T06:00:00.000Z", spend: 2 });
    add({ api_key: "hash-k3", user: "u1", startTime: "2026-05-01T06:00:00.000Z", spend: 2 });
    // c1's window starts at 04-25T06:00: one log just before, one exactly at it.
    add({
      api_key: "hash-k2",
      user: "u2",
      end_user: "c1",
      startTime: "2026-04-25T05:59:59.999Z",
      spend: 0.25,
    });
    add({
      api_key: "hash-k2",
      user: "u2",
      end_user: "c1",
      startTime: "2026-04-25T06:00:00.000Z",
      spend: 0.125,
    });
    // Provider logs, written straight into the table as LiteLLM does (anthropic by its model).
    add({ model: "claude-3-5-sonnet-20241022", startTime: "2026-05-03T10:00:00.000Z", spend: 7 });
    add({ model: "claude-3-5-sonnet-20241022", startTime: "2026-04-30T10:00:00.000Z", spend: 70 });
    add({ startTime: "2026-05-20T08:00:00.000Z", spend: 4 });
    add({ startTime: "2026-05-20T09:30:00.000Z", spend: 8 });
    add({ startTime: "2026-05-19T08:00:00.000Z", spend: 16 });
    await insertLogs(t.db, logs);
    // Organization spend: logs carrying organization_id (written with it, as LiteLLM does).
    await sql`INSERT INTO "LiteLLM_SpendLogs" (request_id, "startTime", "endTime", spend, organization_id, model)
      VALUES ('org-1', '2026-05-10T10:00:00', '2026-05-10T10:00:00', 2.25, 'o1', 'groq/llama3-70b'),
        ('org-2', '2026-05-20T10:00:00', '2026-05-20T10:00:00', 1.25, 'o1', 'groq/llama3-70b')`.execute(t.db);
  });
  afterAll(async () => {
    setClock(null);
    await t?.drop();
  });

  it("each entity's spend, window, burn rate and projection equal a brute force over the logs", async () => {
    const { budgets } = await budgetStatus(t.db, ALL, config);
    const at = now.getTime();
    // An entity's budget row against the brute force over its logs (by the log column of its type) in
    // the window [start, end) (ISO; null: a budget that never resets).
    const column = { key: "api_key", user: "user", team: "team_id", end_user: "end_user" } as const;
    const expectEntity = (
      type: keyof typeof column,
      id: string,
      window: [string, string] | null,
      max: number | null,
      soft: number | null,
    ) => {
      const pred = (l: Log) => l[column[type]] === id;
      const win = window ? { start: ms(window[0]), end: ms(window[1]) } : { start: null, end: null };
      const b = byId(budgets, type, id);
      expect(b, `${type} ${id}`).toBeDefined();
      const spend = sum(pred, win.start, win.end);
      const avg = sum(pred, at - 7 * DAY, at) / 7;
      expect(b.spend).toBeCloseTo(spend, 10);
      expect(b.window_start).toBe(win.start === null ? null : iso(win.start));
      expect(b.budget_reset_at).toBe(win.end === null ? null : iso(win.end));
      expect(b.avg_daily_spend).toBeCloseTo(avg, 10);
      const projected = win.end === null ? null : spend + (avg * (win.end - at)) / DAY;
      if (projected === null) expect(b.projected_spend).toBeNull();
      else expect(b.projected_spend).toBeCloseTo(projected, 10);
      const runOut = max !== null && spend < max && avg > 0 ? at + ((max - spend) / avg) * DAY : null;
      expect(b.projected_exhausted_at).toBe(
        runOut !== null && (win.end === null || runOut < win.end) ? iso(Math.ceil(runOut)) : null,
      );
      expect(b.max_budget).toBe(max);
      expect(b.soft_budget).toBe(soft);
      expect(b.daily).toHaveLength(14);
      for (const d of b.daily) {
        expect(d.spend).toBeCloseTo(
          sum(pred, ms(`${d.date}T00:00:00.000Z`), ms(`${d.date}T00:00:00.000Z`) + DAY),
          10,
        );
      }
      return b;
    };
    const k1 = expectEntity(
      "key",
      "hash-k1",
      ["2026-05-20T00:00:00.000Z", "2026-05-21T00:00:00.000Z"],
      10,
      6,
    );
    // By hand: today 3 × 1.5 = 4.5; last 7 × 24 h (from 05-13 12:00): 4.5 + 1.25 × 6 (05-14 … 05-19) = 12.
    expect(k1.spend).toBe(4.5);
    expect(k1.avg_daily_spend).toBeCloseTo(12 / 7, 12);
    expect(k1.projected_spend).toBeCloseTo(4.5 + 12 / 7 / 2, 12);
    expect(k1.status).toBe("ok");
    expect(k1.alias).toBe("alpha");
    expect(k1.user_id).toBe("u1");
    const k2 = expectEntity("key", "hash-k2", null, 100, null);
    expect(k2.spend).toBe(30.375);
    expectEntity("user", "u1", ["2026-05-02T00:00:00.000Z", "2026-06-01T00:00:00.000Z"], 50, null);
    const u2 = expectEntity("user", "u2", ["2026-05-01T00:00:00.000Z", "2026-06-01T00:00:00.000Z"], 5, null);
    // 0.5 on each of 05-01 … 05-19: 9.5 ≥ 5.
    expect(u2.spend).toBe(9.5);
    expect(u2.status).toBe("exceeded");
    expect(u2.projected_exhausted_at).toBeNull();
    const t1 = expectEntity("team", "t1", ["2026-05-20T00:00:00.000Z", "2026-05-21T00:00:00.000Z"], 20, 15);
    expect(t1.alias).toBe("team one");
    const c1 = expectEntity(
      "end_user",
      "c1",
      ["2026-04-25T06:00:00.000Z", "2026-05-25T06:00:00.000Z"],
      8,
      null,
    );
    // 0.5 × 25 days (04-25 … 05-19 23:30) + 0.125 at the window's first instant; not the 0.25 before it.
    expect(c1.spend).toBe(12.625);
    const o1 = byId(budgets, "organization", "o1");
    expect(o1).toMatchObject({ spend: 3.5, alias: "org one", max_budget: 1000, soft_budget: 900 });
    expect(o1.window_start).toBeNull();
    expect(o1.projected_spend).toBeNull();
    expect(budgets.find((b) => b.entity_id === "hash-k3")).toBeUndefined();
  });

  it("providers count the logs written straight into the table: rolling from the first spend, calendar by month", async () => {
    const { budgets } = await budgetStatus(t.db, ALL, config, { entity_type: "provider" });
    const openai = byId(budgets, "provider", "openai");
    // Every log above without a claude model is openai (gpt-4o); the rolling 1d window opened at the
    // first of them whose window still runs now.
    const isOpenai = (l: Log) => l.model === "gpt-4o";
    const firstLive = logs
      .filter((l) => isOpenai(l) && l.spend > 0 && ms(l.startTime) > now.getTime() - DAY)
      .map((l) => ms(l.startTime))
      .sort((a, b) => a - b)[0]!;
    expect(openai.window_start).toBe(iso(firstLive));
    expect(openai.budget_reset_at).toBe(iso(firstLive + DAY));
    expect(openai.spend).toBeCloseTo(sum(isOpenai, firstLive, firstLive + DAY), 10);
    const anthropic = byId(budgets, "provider", "anthropic");
    expect(anthropic.spend).toBe(7);
    expect(anthropic.window_start).toBe("2026-05-01T00:00:00.000Z");
    expect(anthropic.budget_reset_at).toBe("2026-06-01T00:00:00.000Z");
    const pb = await providerBudgets(t.db, ALL, config);
    expect(pb.providers.anthropic?.spend).toBe(7);
    expect(pb.providers.openai?.spend).toBeCloseTo(openai.spend, 10);
  });

  it("internal users see only their own user and keys", async () => {
    const { budgets } = await budgetStatus(t.db, userScope("u1"), config);
    expect(budgets.map((b) => `${b.entity_type}:${b.entity_id}`).sort()).toEqual(["key:hash-k1", "user:u1"]);
    const e = await budgetStatus(t.db, userScope("u1"), config, { entity_type: "team" }).catch((x) => x);
    expect(e).toBeInstanceOf(SpendlensError);
    expect(e.code).toBe("FORBIDDEN");
    const e2 = await budgetStatus(t.db, userScope("u1"), config, {
      entity_type: "user",
      entity_id: "u2",
    }).catch((x) => x);
    expect(e2.code).toBe("FORBIDDEN");
    const other = await budgetStatus(t.db, userScope("u1"), config, {
      entity_type: "key",
      entity_id: "hash-k2",
    });
    expect(other.budgets).toEqual([]);
  });

  it("windows reset: daily at midnight, 30d at its reset time, 1mo on the 1st; the new window holds only its own spend", async () => {
    now = new Date("2026-05-21T00:00:00.000Z");
    let k1 = (await budgetStatus(t.db, ALL, config, { entity_type: "key", entity_id: "hash-k1" }))
      .budgets[0]!;
    expect(k1.spend).toBe(0);
    expect(k1.window_start).toBe("2026-05-21T00:00:00.000Z");
    expect(k1.budget_reset_at).toBe("2026-05-22T00:00:00.000Z");
    now = new Date("2026-05-21T06:00:00.000Z");
    const r = await ingestSpendLogs(
      t.db,
      ALL,
      {
        logs: [
          {
            ...makeLog({
              api_key: "hash-k1",
              user: "u1",
              team_id: "t1",
              startTime: "2026-05-21T05:00:00.000Z",
              spend: 2.5,
            }),
            metadata: {},
            request_tags: [],
          },
        ],
      },
      config,
    );
    expect(r.invalid).toEqual([]);
    expect(r.inserted).toBe(1);
    k1 = (await budgetStatus(t.db, ALL, config, { entity_type: "key", entity_id: "hash-k1" })).budgets[0]!;
    expect(k1.spend).toBe(2.5);
    // A 30d window resets at its reset time: c1's next window starts at 05-25 06:00 with no spend in it.
    now = new Date("2026-05-25T06:00:00.000Z");
    const c1 = (await budgetStatus(t.db, ALL, config, { entity_type: "end_user", entity_id: "c1" }))
      .budgets[0]!;
    expect(c1).toMatchObject({
      spend: 0,
      window_start: "2026-05-25T06:00:00.000Z",
      budget_reset_at: "2026-06-24T06:00:00.000Z",
    });
    // One instant earlier it is still the old window, with all its spend.
    now = new Date("2026-05-25T05:59:59.999Z");
    expect(
      (await budgetStatus(t.db, ALL, config, { entity_type: "end_user", entity_id: "c1" })).budgets[0]!.spend,
    ).toBe(12.625);
    // A 1mo window resets on the 1st: u2's June holds nothing yet.
    now = new Date("2026-06-01T00:00:00.000Z");
    const u2 = (await budgetStatus(t.db, ALL, config, { entity_type: "user", entity_id: "u2" })).budgets[0]!;
    expect(u2).toMatchObject({
      spend: 0,
      window_start: "2026-06-01T00:00:00.000Z",
      budget_reset_at: "2026-07-01T00:00:00.000Z",
      status: "ok",
    });
    now = new Date("2026-05-20T12:00:00.000Z");
  });

  it("alert conditions: thresholds at 85 % and 95 %, the soft and the hard budget, the projection", () => {
    const base: BudgetStatus = {
      entity_type: "team",
      entity_id: "t9",
      alias: "nine",
      user_id: null,
      team_id: "t9",
      organization_id: null,
      user_email: null,
      max_budget: 10,
      soft_budget: null,
      budget_duration: "1d",
      spend: 0,
      window_start: "2026-05-20T00:00:00.000Z",
      budget_reset_at: "2026-05-21T00:00:00.000Z",
      avg_daily_spend: 0,
      projected_spend: 0,
      projected_exhausted_at: null,
      percent_used: 0,
      status: "ok",
      daily: [],
    };
    const levels = (p: Partial<BudgetStatus>) => alertsFor({ ...base, ...p }).map((a) => a.level);
    expect(levels({ spend: 8.49 })).toEqual([]);
    expect(levels({ spend: 8.5 })).toEqual(["threshold_crossed_85"]);
    expect(levels({ spend: 9.5 })).toEqual(["threshold_crossed_85", "threshold_crossed_95"]);
    expect(levels({ spend: 10 })).toEqual(["threshold_crossed_85", "threshold_crossed_95", "budget_crossed"]);
    expect(levels({ spend: 5, soft_budget: 5 })).toEqual(["soft_budget_crossed"]);
    expect(levels({ spend: 4.99, soft_budget: 5 })).toEqual([]);
    expect(
      levels({ spend: 5, projected_spend: 10.5, projected_exhausted_at: "2026-05-20T20:00:00.000Z" }),
    ).toEqual(["projected_limit_exceeded"]);
    expect(levels({ spend: 5, max_budget: null, soft_budget: null, projected_spend: 99 })).toEqual([]);
    const [crossed] = alertsFor({ ...base, spend: 10 }).filter((a) => a.level === "budget_crossed");
    expect(crossed!.payload).toEqual({
      spend: 10,
      max_budget: 10,
      soft_budget: null,
      token: null,
      customer_id: null,
      user_id: null,
      team_id: "t9",
      team_alias: "nine",
      user_email: null,
      key_alias: null,
      organization_id: null,
      projected_exceeded_date: null,
      projected_spend: null,
      event_group: "team",
      event: "budget_crossed",
      event_message: "Team Budget: Budget Crossed\n Total Budget:`10.0`",
    });
    const [proj] = alertsFor({
      ...base,
      entity_type: "key",
      entity_id: "hash-x",
      alias: "x",
      spend: 5,
      projected_spend: 10.5,
      projected_exhausted_at: "2026-05-20T20:00:00.000Z",
    });
    expect(proj!.payload).toMatchObject({
      event: "projected_limit_exceeded",
      event_group: "key",
      token: "hash-x",
      key_alias: "x",
      projected_spend: 10.5,
      projected_exceeded_date: "2026-05-20",
      event_message: "Key Budget: Projected Limit Exceeded",
    });
  });
});
