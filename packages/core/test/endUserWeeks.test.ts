import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALL,
  type Db,
  globalSpendEndUsers,
  globalSpendEndUsersInput,
  pauseRollups,
  planEdgeDay,
  rebuildRollups,
  resumeRollups,
  setClock,
  setRollupDeleteMode,
  wholeWeeks,
} from "../src/internal.ts";
import { createTestDb, insertLogs, makeLog, type TestDb } from "../src/testing/index.ts";

/**
 * POST /global/spend/end_users through end_user_weekly (migration 0014): the top end users of a window
 * holding whole ISO weeks equal an independent ranking of the raw logs, and end_user_weekly equals
 * end_user_daily summed per week, after inserts, updates, subtract-mode deletes, a dirty week and a
 * rebuild. Spends are multiples of 1/8, so every sum is exact in any order.
 */

const ms = (iso: string) => Date.parse(iso);
let seq = 0;
const log = (end_user: string | null, startTime: string, spend: number) =>
  makeLog({ request_id: `euw-${++seq}`, startTime, spend, end_user, model: "gpt-4o" });

/** The brute force: the raw logs of [from, to), ranked as the route ranks them. */
async function brute(db: Db, from: string, to: string) {
  const r = await sql<{ end_user: string; total_count: number; total_spend: number }>`
    SELECT end_user, count(*)::int AS total_count, sum(coalesce(spend, 0))::float8 AS total_spend
    FROM "LiteLLM_SpendLogs" WHERE "startTime" >= ${from}::timestamp AND "startTime" < ${to}::timestamp
      AND end_user IS NOT NULL AND end_user <> ''
    GROUP BY end_user ORDER BY total_spend DESC, end_user LIMIT 100`.execute(db);
  return r.rows;
}

/** end_user_hourly (0016) equals the raw logs per UTC hour and end user (no empty row either). */
async function expectHoursExact(db: Db): Promise<void> {
  const hourly =
    await sql`SELECT to_char(hour, 'YYYY-MM-DD"T"HH24') AS h, end_user, requests::int AS requests, spend
    FROM spendlens.end_user_hourly ORDER BY 1, 2`.execute(db);
  const raw = await sql`SELECT to_char(date_trunc('hour', "startTime"), 'YYYY-MM-DD"T"HH24') AS h, end_user,
      count(*)::int AS requests, sum(coalesce(spend, 0))::float8 AS spend
    FROM "LiteLLM_SpendLogs" GROUP BY 1, 2 ORDER BY 1, 2`.execute(db);
  expect(hourly.rows.length).toBeGreaterThan(0);
  expect(hourly.rows).toEqual(raw.rows);
}

/** end_user_weekly equals end_user_daily per ISO week (no empty row either). */
async function expectWeeksExact(db: Db): Promise<void> {
  const weekly =
    await sql`SELECT week::text, end_user, requests::int AS requests, spend FROM spendlens.end_user_weekly
    ORDER BY 1, 2`.execute(db);
  const daily =
    await sql`SELECT date_trunc('week', day::timestamp)::date::text AS week, end_user, sum(requests)::int AS requests,
      sum(spend)::float8 AS spend FROM spendlens.end_user_daily GROUP BY 1, 2 ORDER BY 1, 2`.execute(db);
  expect(weekly.rows.length).toBeGreaterThan(0);
  expect(weekly.rows).toEqual(daily.rows);
}

describe("POST /global/spend/end_users through end_user_weekly (0014) and end_user_hourly (0016)", () => {
  let t: TestDb;
  const now = "2026-03-26T09:30:00.000Z"; // a Thursday
  beforeAll(async () => {
    setClock(() => new Date(now));
    t = await createTestDb();
    const logs = [];
    // Five weeks and a bit, a log every 7 hours, nine end users (and logs without one).
    const users = ["ann", "bob", "cy", "dee", "eve", "fay", "gus", null, ""];
    for (let i = 0, at = ms("2026-02-18T01:00:00.000Z"); at < ms(now); i++, at += 7 * 3_600_000)
      logs.push(log(users[i % users.length]!, new Date(at).toISOString(), ((i % 5) + 1) / 8));
    // Denser logs at odd minutes around the cuts the windows use (every 23 minutes for the last 3 days
    // and around 2026-02-20), so every sliver, hour and complement holds logs of several end users.
    for (const [lo, hi] of [
      ["2026-03-23T00:01:00.000Z", now],
      ["2026-02-19T22:00:00.000Z", "2026-02-21T02:00:00.000Z"],
      ["2026-02-23T20:00:00.000Z", "2026-02-24T03:00:00.000Z"],
    ] as const)
      for (let i = 0, at = ms(lo); at < ms(hi); i++, at += 23 * 60_000)
        logs.push(log(users[(i * 4) % users.length]!, new Date(at).toISOString(), ((i % 3) + 1) / 4));
    // Logs exactly on cuts and a millisecond before them.
    for (const at of ["2026-03-25T08:15:00.000Z", "2026-03-25T08:14:59.999Z", "2026-02-20T13:00:00.000Z"])
      logs.push(log("bob", at, 2), log("eve", at, 0.5));
    await insertLogs(t.db, logs);
  });
  afterAll(async () => {
    setClock(null);
    await t?.drop();
  });

  const windows: [string | null, string | null][] = [
    [null, null], // the default: UTC midnight 30 days ago to now
    ["2026-02-23", "2026-03-22"], // exactly four weeks (Monday to Sunday, days inclusive)
    ["2026-02-20 13:00:00", "2026-03-25 08:15:00"], // mid-day edges around three whole weeks
    ["2026-03-02", "2026-03-04"], // no whole week
    ["2026-02-20 13:17:00", "2026-03-25 08:15:00"], // a mid-hour start
    ["2026-02-23 21:40:00", "2026-03-26 09:30:00"], // 30 days ending now (the bench's call), mid-hour both ends
    ["2026-02-23 21:40:00", "2026-03-26 09:11:00"], // ends mid-hour before now
    ["2026-03-24 05:05:00", "2026-03-24 17:55:00"], // inside one day
    ["2026-03-24 10:10:00", "2026-03-24 10:50:00"], // inside one hour
    ["2026-03-23 22:30:00", "2026-03-24 01:45:00"], // two partial days around a midnight, no whole day
    ["2026-03-24 00:00:00", "2026-03-25 23:59:59"], // a millisecond short of two whole days
  ];
  const body = (from: string | null, to: string | null) => ({
    ...(from ? { startTime: from } : {}),
    ...(to ? { endTime: to } : {}),
  });
  const bounds = (from: string | null, to: string | null): [string, string] => [
    from === null
      ? "2026-02-24T00:00:00.000Z"
      : from.length === 10
        ? `${from}T00:00:00.000Z`
        : `${from.replace(" ", "T")}.000Z`,
    to === null
      ? now
      : to.length === 10
        ? new Date(ms(`${to}T00:00:00.000Z`) + 86_400_000).toISOString()
        : `${to.replace(" ", "T")}.000Z`,
  ];

  it("finds the whole ISO weeks of a window", () => {
    const w = wholeWeeks(ms("2026-02-24T00:00:00.000Z"), ms(now))!;
    expect([new Date(w.from).toISOString(), new Date(w.to).toISOString()]).toEqual([
      "2026-03-02T00:00:00.000Z",
      "2026-03-23T00:00:00.000Z",
    ]);
    expect(wholeWeeks(ms("2026-03-02T00:00:00.000Z"), ms("2026-03-09T00:00:00.000Z"))).toEqual({
      from: ms("2026-03-02T00:00:00.000Z"),
      to: ms("2026-03-09T00:00:00.000Z"),
    });
    expect(wholeWeeks(ms("2026-03-02T00:00:00.001Z"), ms("2026-03-09T00:00:00.000Z"))).toBeNull();
  });

  const expectAll = async () => {
    for (const [from, to] of windows) {
      const want = await brute(t.db, ...bounds(from, to));
      expect(want.length, `${from}..${to} has end users`).toBeGreaterThan(0);
      expect(
        await globalSpendEndUsers(t.db, ALL, globalSpendEndUsersInput.parse(body(from, to))),
        `${from}..${to}`,
      ).toEqual(want);
    }
  };

  it("plans an edge day as its own hours or the day minus the rest, slivers from the shorter side", () => {
    const h = (x: string) => ms(`2026-03-24T${x}:00.000Z`);
    const nowMs = ms(now);
    const show = (e: ReturnType<typeof planEdgeDay>) =>
      e.terms.map((x) =>
        x.kind === "day"
          ? `${x.sign > 0 ? "+" : "-"}day`
          : `${x.sign > 0 ? "+" : "-"}${x.kind} ${new Date(x.from).toISOString().slice(11, 16)}-${new Date(x.to).toISOString().slice(11, 16)}`,
      );
    // 21:15 to midnight: the part's hours, the sliver as 21:00's hour minus its first 15 minutes (raw);
    // from 21:40 the 20 minutes are read raw.
    expect(show(planEdgeDay(h("21:15"), ms("2026-03-25T00:00:00.000Z"), nowMs))).toEqual([
      "+hours 21:00-22:00",
      "-raw 21:00-21:15",
      "+hours 22:00-00:00",
    ]);
    expect(show(planEdgeDay(h("21:40"), ms("2026-03-25T00:00:00.000Z"), nowMs))).toEqual([
      "+raw 21:40-22:00",
      "+hours 22:00-00:00",
    ]);
    // 05:05 to midnight: the day minus its first five hours and five minutes (raw).
    expect(show(planEdgeDay(h("05:05"), ms("2026-03-25T00:00:00.000Z"), nowMs))).toEqual([
      "+day",
      "-hours 00:00-05:00",
      "-raw 05:00-05:05",
    ]);
    // Today up to now (09:30): the day minus the rest of today (all after now: nothing to read).
    const today = planEdgeDay(ms("2026-03-26T00:00:00.000Z"), nowMs, nowMs);
    expect(show(today)).toEqual(["+day", "-raw 09:30-10:00", "-hours 10:00-00:00"]);
    // Inside one hour: the raw logs of the shorter side.
    expect(show(planEdgeDay(h("10:10"), h("10:50"), nowMs))).toEqual([
      "+hours 10:00-11:00",
      "-raw 10:00-10:10",
      "-raw 10:50-11:00",
    ]);
    expect(show(planEdgeDay(h("10:10"), h("10:20"), nowMs))).toEqual(["+raw 10:10-10:20"]);
  });

  it("every window equals the raw logs, ranked the same", async () => {
    await expectAll();
    await expectWeeksExact(t.db);
    await expectHoursExact(t.db);
    // The whole weeks are read from end_user_weekly (a marked row shows through), the rest is not.
    await sql`UPDATE spendlens.end_user_weekly SET spend = spend + 1000 WHERE end_user = 'ann' AND week = '2026-03-09'`.execute(
      t.db,
    );
    const top = await globalSpendEndUsers(t.db, ALL, undefined);
    expect(top[0]).toMatchObject({ end_user: "ann" });
    expect(top[0]!.total_spend).toBe(
      (await brute(t.db, "2026-02-24T00:00:00.000Z", now)).find((x) => x.end_user === "ann")!.total_spend +
        1000,
    );
    const noWeek = globalSpendEndUsersInput.parse({ startTime: "2026-03-10", endTime: "2026-03-12" });
    expect(await globalSpendEndUsers(t.db, ALL, noWeek)).toEqual(
      await brute(t.db, "2026-03-10T00:00:00.000Z", "2026-03-13T00:00:00.000Z"),
    );
    await sql`UPDATE spendlens.end_user_weekly SET spend = spend - 1000 WHERE end_user = 'ann' AND week = '2026-03-09'`.execute(
      t.db,
    );
  });

  it("a hand-counted week: 2026-03-02 to 2026-03-08", async () => {
    const r = await globalSpendEndUsers(
      t.db,
      ALL,
      globalSpendEndUsersInput.parse({ startTime: "2026-03-02", endTime: "2026-03-08" }),
    );
    const want = await brute(t.db, "2026-03-02T00:00:00.000Z", "2026-03-09T00:00:00.000Z");
    // The week's logs with an end user, counted directly, are the ranking's requests.
    expect(want.reduce((a, x) => a + x.total_count, 0)).toBe(
      (
        await sql<{
          n: number;
        }>`SELECT count(*)::int AS n FROM "LiteLLM_SpendLogs" WHERE "startTime" >= '2026-03-02'
        AND "startTime" < '2026-03-09' AND end_user <> ''`.execute(t.db)
      ).rows[0]!.n,
    );
    expect(r).toEqual(want);
  });

  it("updates and subtract-mode deletes after the fold reach the weeks", async () => {
    await setRollupDeleteMode(t.db, "subtract");
    await sql`UPDATE "LiteLLM_SpendLogs" SET spend = spend + 10 WHERE request_id IN ('euw-30', 'euw-31')`.execute(
      t.db,
    );
    await sql`UPDATE "LiteLLM_SpendLogs" SET end_user = 'zed' WHERE request_id = 'euw-40'`.execute(t.db);
    await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE end_user = 'cy' AND "startTime" < '2026-03-16'`.execute(
      t.db,
    );
    await insertLogs(t.db, [
      log("new-user", "2026-03-10T10:00:00.000Z", 50),
      log("ann", "2026-03-26T09:00:00.000Z", 1),
    ]);
    await expectAll();
    await expectWeeksExact(t.db);
    await expectHoursExact(t.db);
    await setRollupDeleteMode(t.db, "keep");
  });

  it("a dirty week is read through the planner, then rebuilt", async () => {
    await pauseRollups(t.db);
    await insertLogs(t.db, [log("late", "2026-03-11T11:00:00.000Z", 64)]);
    await resumeRollups(t.db);
    const dirty = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM spendlens.rollup_days WHERE dirty_at IS NOT NULL`.execute(t.db);
    expect(dirty.rows[0]!.n).toBe(1);
    await expectAll();
    expect((await globalSpendEndUsers(t.db, ALL, undefined))[0]).toMatchObject({
      end_user: "late",
      total_spend: 64,
    });
    await rebuildRollups(t.db);
    await expectWeeksExact(t.db);
    await expectHoursExact(t.db);
    await expectAll();
  });

  it("an edge day paused or raw_deleted (delete mode keep) is read raw; a rebuild refills its hours", async () => {
    await pauseRollups(t.db);
    await insertLogs(t.db, [
      log("late2", "2026-03-24T10:40:00.000Z", 96),
      log("late2", "2026-03-26T09:00:00.000Z", 1),
    ]);
    await resumeRollups(t.db);
    await expectAll();
    await rebuildRollups(t.db);
    await expectHoursExact(t.db);
    await expectAll();
    // Keep mode: a deleted log stays in the hours and days, the edge day is flagged raw_deleted and read raw.
    const del =
      await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id IN (SELECT request_id FROM "LiteLLM_SpendLogs"
      WHERE "startTime" = '2026-03-24T10:40' AND end_user = 'late2')`.execute(t.db);
    expect(Number(del.numAffectedRows)).toBe(1);
    const w = globalSpendEndUsersInput.parse({
      startTime: "2026-03-24 05:05:00",
      endTime: "2026-03-24 17:55:00",
    });
    expect(await globalSpendEndUsers(t.db, ALL, w)).toEqual(
      await brute(t.db, "2026-03-24T05:05:00.000Z", "2026-03-24T17:55:00.000Z"),
    );
    await rebuildRollups(t.db, { from: "2026-03-24", to: "2026-03-24", includeRawDeleted: true });
    await expectHoursExact(t.db);
    await expectAll();
  });
});
