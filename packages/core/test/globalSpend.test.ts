import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { ALL, globalSpend, pauseRollups, rebuildRollups, resumeRollups, userScope } from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { insertLogs, makeLog } from "../src/testing/index.ts";

// Pinned clock: "now" is 2026-03-15 10:00 UTC, so the window starts 2026-02-13 00:00:00.000 UTC.
const NOW = new Date("2026-03-15T10:00:00.000Z");

const logs = [
  makeLog({ startTime: "2026-02-13T00:00:00.000Z", spend: 1.25, user: "alice" }), // first instant in
  makeLog({ startTime: "2026-02-12T23:59:59.999Z", spend: 100, user: "alice" }), // last instant out
  makeLog({ startTime: "2026-03-15T09:59:59.000Z", spend: 0.5, user: "bob" }),
  makeLog({ startTime: "2026-03-01T12:00:00.000Z", spend: 2.125, user: "alice" }),
  makeLog({ startTime: "2026-03-16T00:00:00.000Z", spend: 0.0625, user: "bob" }), // future rows count (no upper bound)
];

const t = useTestDb({
  now: NOW,
  setup: async (t) => {
    await insertLogs(t.db, logs);
  },
});

describe("globalSpend", () => {
  it("sums spend from UTC midnight 30 days ago, equal to a brute-force sum", async () => {
    const from = Date.parse("2026-02-13T00:00:00.000Z");
    const expected = logs.filter((l) => Date.parse(l.startTime) >= from).reduce((s, l) => s + l.spend, 0);
    expect(expected).toBe(3.9375);
    const r = await globalSpend(t.db, ALL, { maxBudget: 250 });
    expect(r).toEqual({ spend: 3.9375, max_budget: 250 });
  });

  it("answers 0 max_budget when none is configured, and narrows to a user's rows", async () => {
    expect(await globalSpend(t.db, userScope("alice"), { maxBudget: null })).toEqual({
      spend: 3.375,
      max_budget: 0,
    });
    expect(await globalSpend(t.db, userScope("nobody"), { maxBudget: null })).toEqual({
      spend: 0,
      max_budget: 0,
    });
  });
});

describe("globalSpend reads the rollups and stays equal to the raw logs", () => {
  // Each case changes the logs, then compares with a brute-force sum over the rows the test knows of.
  const known = [...logs];
  const from = Date.parse("2026-02-13T00:00:00.000Z");
  const brute = (user?: string) =>
    known
      .filter((l) => Date.parse(l.startTime) >= from && (user === undefined || l.user === user))
      .reduce((s, l) => s + l.spend, 0);

  it("counts a log LiteLLM writes straight into the table, and a late log for an old day", async () => {
    await sql`INSERT INTO "LiteLLM_SpendLogs" (request_id, spend, "startTime", "endTime", "user")
      VALUES ('gs-direct', 4, '2026-03-15 09:00:00', '2026-03-15 09:00:01', 'carol')`.execute(t.db);
    known.push(
      makeLog({ request_id: "gs-direct", startTime: "2026-03-15T09:00:00.000Z", spend: 4, user: "carol" }),
    );
    const late = makeLog({ startTime: "2026-02-14T03:00:00.000Z", spend: 0.25, user: "alice" });
    await insertLogs(t.db, [late]);
    known.push(late);
    expect(brute()).toBe(8.1875);
    expect((await globalSpend(t.db, ALL, { maxBudget: null })).spend).toBe(8.1875);
    expect((await globalSpend(t.db, userScope("carol"), { maxBudget: null })).spend).toBe(4);
    expect((await globalSpend(t.db, userScope("alice"), { maxBudget: null })).spend).toBe(brute("alice"));
  });

  it("follows an UPDATE of spend, and keeps the total when old raw logs are deleted (retention)", async () => {
    await sql`UPDATE "LiteLLM_SpendLogs" SET spend = 6 WHERE request_id = 'gs-direct'`.execute(t.db);
    known.find((l) => l.request_id === "gs-direct")!.spend = 6;
    expect((await globalSpend(t.db, ALL, { maxBudget: null })).spend).toBe(brute());
    // Retention deletes a whole old day inside the window: the rollup keeps its total.
    const before = brute();
    await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE "startTime" < '2026-02-15 00:00:00'`.execute(t.db);
    const raw = await sql<{ s: number }>`SELECT coalesce(sum(spend), 0)::float8 AS s FROM "LiteLLM_SpendLogs"
      WHERE "startTime" >= '2026-02-13'`.execute(t.db);
    expect(raw.rows[0]!.s).toBe(before - 1.25 - 0.25); // the raw table lost those rows
    expect((await globalSpend(t.db, ALL, { maxBudget: null })).spend).toBe(before);
  });

  it("answers days written while rollups are paused from the raw logs, before and after the rebuild", async () => {
    await pauseRollups(t.db);
    const more = makeLog({ startTime: "2026-03-10T12:00:00.000Z", spend: 0.5, user: "bob" });
    await insertLogs(t.db, [more]);
    known.push(more);
    // Days deleted by retention above still count (their raw rows are gone, the rollup keeps them).
    const expected = brute();
    expect((await globalSpend(t.db, ALL, { maxBudget: null })).spend).toBe(expected);
    await resumeRollups(t.db);
    await rebuildRollups(t.db);
    expect((await globalSpend(t.db, ALL, { maxBudget: null })).spend).toBe(expected);
    expect((await globalSpend(t.db, userScope("bob"), { maxBudget: null })).spend).toBe(brute("bob"));
  });
});
