import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { pgPoolOf } from "../src/db/connect.ts";
import {
  ALL,
  analyticsQuery,
  countSpendLogs,
  dailyActivityAggregated,
  distinctEndUsers,
  foldRollups,
  globalSpendTeams,
  plan,
  render,
  schemaFacts,
  spendTotals,
  tagRequestTotals,
} from "../src/internal.ts";
import { countEndUserLogs } from "../src/logs/endUserCount.ts";
import { endFoldFirstWindow, FOLD_FIRST_MS, LOGS_PENDING } from "../src/rollups/fold.ts";
import { topEndUsersByWeeks } from "../src/spend/endUserWeeks.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { insertLogs, makeLog } from "../src/testing/index.ts";

/**
 * A report over the rollups carries the "nothing waits for a fold" check in its own statement
 * (migration 0022's spendlens.logs_folded(), render's `guard`): one round trip when nothing is pending;
 * when a log is pending the statement fails with SLF01 and the reader folds and reads again. Either way
 * the answer holds every log committed before the call (brute force over the inserted logs).
 */

const t = useTestDb();

const pending = async () =>
  (await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.spend_log_pending`.execute(t.db))
    .rows[0]!.n;

const day = (i: number) => new Date(Date.parse("2026-06-01T00:00:00Z") + i * 3_600_000).toISOString();
const july = (i: number) => new Date(Date.parse("2026-07-01T00:00:00Z") + i * 3_600_000).toISOString();
const window = { from: "2026-06-01T00:00:00.000Z", to: "2026-06-03T00:00:00.000Z" };

describe("the fold check inside a report's statement", () => {
  it("a report right after an insert counts it; a report with nothing pending answers the same", async () => {
    const logs = Array.from({ length: 30 }, (_, i) =>
      makeLog({
        request_id: `fg-${i}`,
        startTime: day(i),
        spend: (i % 5) / 8,
        request_tags: JSON.stringify(["a", `t${i % 3}`]),
      }),
    );
    await insertLogs(t.db, logs.slice(0, 20));
    expect(await pending()).toBe(20);
    const first = await spendTotals(t.db, ALL, { window });
    expect(first[0]?.requests).toBe(20);
    expect(first[0]?.spend).toBeCloseTo(
      logs.slice(0, 20).reduce((s, l) => s + l.spend, 0),
      9,
    );
    expect(await pending()).toBe(0); // folded on the way
    // Nothing pending now: the same answer from the one-statement read.
    expect(await spendTotals(t.db, ALL, { window })).toEqual(first);
    // More logs, read at once: counted (the check fails, the reader folds, reads again).
    await insertLogs(t.db, logs.slice(20));
    const tags = await tagRequestTotals(t.db, ALL, { window });
    expect(Object.fromEntries(tags.map((r) => [r.tag, r.requests]))).toEqual({
      a: 30,
      t0: 10,
      t1: 10,
      t2: 10,
    });
    const all = await spendTotals(t.db, ALL, { window });
    expect(all[0]?.requests).toBe(30);
    expect(all[0]?.spend).toBeCloseTo(
      logs.reduce((s, l) => s + l.spend, 0),
      9,
    );
  });

  it("the guarded statement fails with SLF01 while a log is pending, and answers as the plain one otherwise", async () => {
    const p = plan({ kind: "spend", scope: ALL, query: { window } }, await schemaFacts(t.db));
    await foldRollups(t.db);
    const plain = (await render(p).execute(t.db)).rows;
    expect((await render(p, { guard: true }).execute(t.db)).rows).toEqual(plain);
    await insertLogs(t.db, [makeLog({ request_id: "fg-late", startTime: day(40), spend: 1 })]);
    await expect(render(p, { guard: true }).execute(t.db)).rejects.toMatchObject({ code: LOGS_PENDING });
    await foldRollups(t.db);
    const after = (await render(p, { guard: true }).execute(t.db)).rows as { requests: number }[];
    expect(after[0]?.requests).toBe(31);
  });

  it("a log page's count: under the cap from the raw logs without folding, over it from the rollups with the check (one statement on Postgres)", async () => {
    const logs = Array.from({ length: 24 }, (_, i) =>
      makeLog({
        request_id: `fc-${i}`,
        startTime: july(i),
        team_id: i % 2 ? "team-a" : "team-b",
        spend: i / 4,
      }),
    );
    // Past the fold-first second the reads above started on this handle, so the one-statement count runs.
    await new Promise((r) => setTimeout(r, FOLD_FIRST_MS + 50));
    await insertLogs(t.db, logs);
    expect(await pending()).toBe(24);
    // Its own days (the tests above wrote June's).
    const filter = { from: "2026-07-01T00:00:00.000Z", toInclusive: "2026-07-02T23:59:59.999Z" };
    const inWindow = logs.filter((l) => l.startTime <= filter.toInclusive);
    // 24 logs, cap 30: the capped count answers; the rollups are neither read nor folded.
    expect(await countSpendLogs(t.db, ALL, filter, { scanLimit: 30 })).toBe(inWindow.length);
    expect(await pending()).toBe(24);
    const teamA = { ...filter, team_id: "team-a" };
    expect(await countSpendLogs(t.db, ALL, teamA, { scanLimit: 30 })).toBe(
      inWindow.filter((l) => l.team_id === "team-a").length,
    );
    expect(await pending()).toBe(24);
    // Cap 5: over it, so the rollups count, after the fold their check asks for.
    expect(await countSpendLogs(t.db, ALL, filter, { scanLimit: 5 })).toBe(inWindow.length);
    expect(await pending()).toBe(0);
    // More logs: counted at once (the check fails, the reader folds, counts again).
    const more = Array.from({ length: 6 }, (_, i) =>
      makeLog({ request_id: `fc-more-${i}`, startTime: july(30 + i), team_id: "team-a", spend: 1 }),
    );
    await insertLogs(t.db, more);
    expect(await countSpendLogs(t.db, ALL, teamA, { scanLimit: 5 })).toBe(
      [...inWindow, ...more].filter((l) => l.team_id === "team-a" && l.startTime <= filter.toInclusive)
        .length,
    );
    expect(await pending()).toBe(0);
  });

  it("analytics over the rollups and the teams report count a log inserted just before them", async () => {
    const recent = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
    const logs = Array.from({ length: 12 }, (_, i) =>
      makeLog({
        request_id: `fa-${i}`,
        startTime: recent(30 + i),
        model_group: i % 3 ? "g1" : "g2",
        team_id: i % 2 ? "team-x" : null,
        spend: (i + 1) / 8,
      }),
    );
    await insertLogs(t.db, logs);
    expect(await pending()).toBe(12);
    const end = new Date().toISOString().slice(0, 10);
    const start = new Date(Date.now() - 5 * 86_400_000).toISOString().slice(0, 10);
    const a = await analyticsQuery(t.db, ALL, { dims: ["model_group"], start, end });
    expect(a.source).toBe("rollups");
    expect(Object.fromEntries(a.rows.map((r) => [r.model_group, r.requests]))).toEqual({ g1: 8, g2: 4 });
    expect(await pending()).toBe(0);
    await insertLogs(t.db, [
      makeLog({ request_id: "fa-late", startTime: recent(2), team_id: "team-x", spend: 2 }),
    ]);
    const teams = await globalSpendTeams(t.db, ALL);
    const spendOf = (team: string | null) =>
      [...logs, { team_id: "team-x", spend: 2 }]
        .filter((l) => l.team_id === team)
        .reduce((s, l) => s + l.spend, 0);
    // No team table rows: every team is "Unassigned".
    expect(teams.total_spend_per_team).toEqual([
      { team_id: "Unassigned", total_spend: Math.round((spendOf("team-x") + spendOf(null)) * 100) / 100 },
    ]);
    expect(await pending()).toBe(0);
  });

  it("the end-user readers and the aggregated activity count a log inserted just before them", async () => {
    // On Postgres each read below runs its one checked statement (the fold-first window a failed check
    // starts is ended first: the test above waits it out once), finds the new log pending, folds and
    // reads again: an answer without the log would mean the check in its statement was not evaluated.
    // On PGlite the handle folds first.
    const settle = async () => {
      if (pgPoolOf(t.db) !== undefined) endFoldFirstWindow(t.db);
    };
    const aug = (h: number) => new Date(Date.parse("2026-08-01T00:00:00Z") + h * 3_600_000).toISOString();
    const from = "2026-08-01T05:00:00.000Z";
    const to = "2026-08-12T07:30:00.000Z"; // a whole ISO week (Aug 3-9), whole days and two edge days
    const users = ["eu-a", "eu-b", "eu-c"];
    const logs = Array.from({ length: 40 }, (_, i) =>
      makeLog({
        request_id: `fe-${i}`,
        startTime: aug(i * 7 + 1),
        end_user: users[i % 3]!,
        spend: (i % 4) / 8 + 0.125,
      }),
    );
    const inWindow = (l: { startTime: string }) => l.startTime >= from && l.startTime < to;
    const bruteEndUsers = async () =>
      (
        await sql<{ end_user: string }>`SELECT DISTINCT end_user FROM "LiteLLM_SpendLogs"
          WHERE end_user <> '' ORDER BY 1`.execute(t.db)
      ).rows.map((r) => r.end_user);
    const bruteTop = (all: typeof logs) => {
      const m = new Map<string, { requests: number; spend: number }>();
      for (const l of all.filter(inWindow)) {
        const e = m.get(l.end_user!) ?? { requests: 0, spend: 0 };
        e.requests += 1;
        e.spend += l.spend;
        m.set(l.end_user!, e);
      }
      return [...m.entries()]
        .map(([end_user, e]) => ({ end_user, ...e }))
        .sort((a, b) => b.spend - a.spend || (a.end_user < b.end_user ? -1 : 1));
    };

    await settle();
    await insertLogs(t.db, logs.slice(0, 30));
    expect(await distinctEndUsers(t.db, ALL)).toEqual(await bruteEndUsers());
    expect(await distinctEndUsers(t.db, ALL)).toEqual(users);
    expect(await pending()).toBe(0);

    await settle();
    const late = makeLog({ request_id: "fe-late", startTime: aug(50), end_user: "eu-late", spend: 3 });
    await insertLogs(t.db, [late]);
    expect(await pending()).toBe(1);
    expect(await distinctEndUsers(t.db, ALL)).toEqual(["eu-a", "eu-b", "eu-c", "eu-late"]);
    expect(await pending()).toBe(0);

    await settle();
    await insertLogs(t.db, logs.slice(30, 35));
    const all35 = [...logs.slice(0, 35), late];
    expect(await countEndUserLogs(t.db, "eu-a", from, to)).toBe(
      all35.filter((l) => l.end_user === "eu-a" && inWindow(l)).length,
    );
    expect(await pending()).toBe(0);

    await settle();
    await insertLogs(t.db, logs.slice(35));
    const all40 = [...logs, late];
    const top = await topEndUsersByWeeks(t.db, from, to, 10);
    const want = bruteTop(all40);
    expect(top.map((r) => [r.end_user, r.requests])).toEqual(want.map((r) => [r.end_user, r.requests]));
    for (const [i, r] of top.entries()) expect(r.spend).toBeCloseTo(want[i]!.spend, 9);
    expect(await pending()).toBe(0);

    await settle();
    await insertLogs(t.db, [
      makeLog({ request_id: "fe-agg", startTime: aug(60), end_user: "eu-b", spend: 0.5 }),
    ]);
    const range = { start_date: "2026-08-01", end_date: "2026-08-31" };
    const agg = await dailyActivityAggregated(t.db, ALL, { ...range, page: null, page_size: 1 }, 5, {
      cache: false,
    });
    const august = [...all40, { startTime: aug(60), spend: 0.5 }].filter(
      (l) => l.startTime >= "2026-08-01" && l.startTime < "2026-09-01",
    );
    expect(agg.metadata.total_api_requests).toBe(august.length);
    expect(agg.metadata.total_spend).toBeCloseTo(
      august.reduce((s, l) => s + l.spend, 0),
      9,
    );
    expect(await pending()).toBe(0);
  });
});
