import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL, globalSpend, setClock, userScope } from "../src/index.ts";
import { createTestDb, insertLogs, makeLog, type TestDb } from "../src/testing/index.ts";

// Pinned clock: "now" is 2026-03-15 10:00 UTC, so the window starts 2026-02-13 00:00:00.000 UTC.
const NOW = new Date("2026-03-15T10:00:00.000Z");
let t: TestDb;

const logs = [
  makeLog({ startTime: "2026-02-13T00:00:00.000Z", spend: 1.25, user: "alice" }), // first instant in
  makeLog({ startTime: "2026-02-12T23:59:59.999Z", spend: 100, user: "alice" }), // last instant out
  makeLog({ startTime: "2026-03-15T09:59:59.000Z", spend: 0.5, user: "bob" }),
  makeLog({ startTime: "2026-03-01T12:00:00.000Z", spend: 2.125, user: "alice" }),
  makeLog({ startTime: "2026-03-16T00:00:00.000Z", spend: 0.0625, user: "bob" }), // future rows count (no upper bound)
];

beforeAll(async () => {
  setClock(() => NOW);
  t = await createTestDb();
  await insertLogs(t.db, logs);
});
afterAll(async () => {
  setClock(null);
  await t?.drop();
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
