import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import {
  foldRollups,
  hasDayMarks,
  hasRouteRollups,
  migrate,
  type SchemaFacts,
  schemaFacts,
} from "../src/internal.ts";
import { createTestDb, insertLogs, makeLog, type TestDb } from "../src/testing/index.ts";

/** Which of the facts later migrations turn on are on, by name. */
const LATER = ["derivedGrains", "fold", "routeRollups", "dayMarks", "routeMarks", "foldGuard"] as const;
const later = (f: SchemaFacts) => LATER.filter((k) => f[k]).join(" ");

describe("schema facts of later migrations (fold, route rollups, day and route markers)", () => {
  let t: TestDb;
  afterAll(() => t?.drop());

  it("are off on a database migrated part of the way, and seen at once when the rest is migrated", async () => {
    t = await createTestDb({ migrate: false });
    await migrate(t.db, { upTo: "0009_activity_rollups" });
    const part = await schemaFacts(t.db);
    expect(later(part)).toEqual("derivedGrains");
    // No fold function yet: nothing to fold, and no statement that would fail.
    expect(await foldRollups(t.db)).toBe(0);
    expect(await hasRouteRollups(t.db)).toBe(false);
    expect(await hasDayMarks(t.db)).toBe(false);

    // The rest of the migrations: the facts are probed again (by `migrate`, and by any call while one is off).
    await migrate(t.db);
    const all = await schemaFacts(t.db);
    expect(later(all)).toEqual("derivedGrains fold routeRollups dayMarks routeMarks foldGuard");
    expect(await hasRouteRollups(t.db)).toBe(true);
    expect(await hasDayMarks(t.db)).toBe(true);

    // The fold runs now: two inserted logs wait in the pending table, one fold applies both.
    await insertLogs(t.db, [
      makeLog({ startTime: "2026-05-20T10:00:00.000Z", spend: 1.5 }),
      makeLog({ startTime: "2026-05-20T11:00:00.000Z", spend: 2 }),
    ]);
    const pending = async () =>
      (await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.spend_log_pending`.execute(t.db))
        .rows[0]!.n;
    expect(await pending()).toBe(2);
    expect(await foldRollups(t.db)).toBe(2);
    expect(await pending()).toBe(0);
  });
});
