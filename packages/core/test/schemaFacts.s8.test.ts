import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { LOG_COLUMNS_SQL } from "../src/db/schemaFacts.ts";
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

describe("the probe's column list", () => {
  let t: TestDb;
  afterAll(() => t?.drop());

  it("is information_schema.columns' own, on the migrated table and on tables of every kind of column type", async () => {
    t = await createTestDb();
    type Col = { name: string; type: string; precision: number | null; nullable: string };
    const both = async () => {
      const ours = await sql<{ cols: Col[] | null }>`SELECT (${LOG_COLUMNS_SQL}) AS cols`.execute(t.db);
      const view = await sql<{ cols: Col[] | null }>`SELECT (SELECT json_agg(json_build_object('name',
          column_name, 'type', data_type, 'precision', datetime_precision, 'nullable', is_nullable))
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = 'LiteLLM_SpendLogs') AS cols`.execute(t.db);
      const sorted = (c: Col[] | null) => (c ?? []).sort((x, y) => (x.name < y.name ? -1 : 1));
      return [sorted(ours.rows[0]!.cols), sorted(view.rows[0]!.cols)];
    };
    const [ours, view] = await both();
    expect(ours!.length).toBeGreaterThan(20);
    expect(ours).toEqual(view);
    await sql`ALTER TABLE "LiteLLM_SpendLogs" RENAME TO spend_logs_migrated`.execute(t.db);
    // No such table: both are empty.
    expect(await both()).toEqual([[], []]);
    // A table of odd column types in its place (domains, arrays, enums, every datetime precision).
    await sql`CREATE TYPE probe_mood AS ENUM ('ok')`.execute(t.db);
    await sql`CREATE DOMAIN probe_ts3 AS timestamptz(3) NOT NULL`.execute(t.db);
    await sql`CREATE DOMAIN probe_tags AS text[]`.execute(t.db);
    await sql`CREATE TABLE "LiteLLM_SpendLogs" (request_id text PRIMARY KEY, "startTime" probe_ts3,
        "endTime" timestamp(0), d date, t time(2), tz timetz, i interval, i2 interval second(3),
        im interval minute, tags text[], tags2 probe_tags, mood probe_mood, n numeric(10, 2), j jsonb,
        gone int, "😀 x" varchar(5) NOT NULL DEFAULT 'a')`.execute(t.db);
    await sql`ALTER TABLE "LiteLLM_SpendLogs" DROP COLUMN gone`.execute(t.db);
    const [ours2, view2] = await both();
    expect(ours2!.map((c) => c.name)).toContain("😀 x");
    expect(ours2).toEqual(view2);
  });
});
