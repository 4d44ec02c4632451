import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWorld, generateLogs, restoreDeferredIndexes, seedDemoData } from "../src/internal.ts";
import { createTestDb, type TestDb } from "../src/testing/index.ts";

let t: TestDb;

/** The log tables' indexes with their definitions and validity (partition indexes included). */
async function logIndexes(db: TestDb["db"]) {
  const r = await sql<{ name: string; def: string; unique: boolean; valid: boolean; parts: number }>`
    SELECT ic.relname AS name, pg_get_indexdef(x.indexrelid) AS def, x.indisunique AS unique, x.indisvalid AS valid,
      (SELECT count(*)::int FROM pg_inherits i WHERE i.inhparent = x.indexrelid) AS parts
    FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND t.relname IN ('LiteLLM_SpendLogs', 'LiteLLM_ErrorLogs') ORDER BY 1`.execute(
    db,
  );
  return r.rows;
}
const END = new Date("2026-06-30T18:00:00.000Z");
// 1,000 logs over 30 days (~33 a day, every day with logs): the COPY path, the counters and a resend
// prove the same as 3,000 did, at a third of the writing.
const N = 1000;

beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t?.drop());

// A bulk seed's indexes, rollups and counters, and a live seed in many small chunks (two connections at
// once on Postgres): seedRollups.test.ts, on one pair of seeds.
describe("demo data", () => {
  it("is deterministic from the seed", () => {
    const w = buildWorld({ seed: 7 });
    const a = [...generateLogs(w, 50, { seed: 7, end: END })];
    const b = [...generateLogs(buildWorld({ seed: 7 }), 50, { seed: 7, end: END })];
    expect(a).toEqual(b);
    const c = [...generateLogs(w, 50, { seed: 8, end: END })];
    expect(c.map((x) => x.log.spend)).not.toEqual(a.map((x) => x.log.spend));
  });

  it("writes N logs (COPY on both engines) with counters equal to the logs", async () => {
    // Passing the handle takes the COPY path (Postgres: COPY FROM STDIN; PGlite: COPY FROM '/dev/blob',
    // in bulk mode unless told).
    const r = await seedDemoData(t, { logs: N, seed: 7, end: END, days: 30 });
    expect(r.logs).toBe(N);
    // Brute force in JS over the same generator's rows.
    const rows = [...generateLogs(buildWorld({ seed: 7 }), N, { seed: 7, end: END, days: 30 })];
    const spend = rows.reduce((s, x) => s + x.log.spend, 0);
    const errors = rows.filter((x) => x.error).length;
    expect(r.errorLogs).toBe(errors);
    const db = await sql<{
      n: number;
      spend: number;
      keys: number;
      users: number;
      teams: number;
      ends: number;
    }>`
      SELECT (SELECT count(*)::int FROM "LiteLLM_SpendLogs") AS n,
             (SELECT sum(spend)::float8 FROM "LiteLLM_SpendLogs") AS spend,
             (SELECT sum(spend)::float8 FROM "LiteLLM_VerificationToken") AS keys,
             (SELECT sum(spend)::float8 FROM "LiteLLM_UserTable") AS users,
             (SELECT sum(spend)::float8 FROM "LiteLLM_TeamTable") AS teams,
             (SELECT sum(spend)::float8 FROM "LiteLLM_EndUserTable") AS ends`.execute(t.db);
    const got = db.rows[0]!;
    expect(got.n).toBe(N);
    expect(got.spend).toBeCloseTo(spend, 9);
    expect(got.keys).toBeCloseTo(spend, 9);
    expect(got.users).toBeCloseTo(spend, 9);
    const teamSpend = rows.filter((x) => x.log.team_id).reduce((s, x) => s + x.log.spend, 0);
    const endSpend = rows.filter((x) => x.log.end_user).reduce((s, x) => s + x.log.spend, 0);
    expect(got.teams).toBeCloseTo(teamSpend, 9);
    expect(got.ends).toBeCloseTo(endSpend, 9);
    // The rows round-trip exactly: one log checked column by column.
    const first = rows[0]!.log;
    const stored = await t.db
      .selectFrom("LiteLLM_SpendLogs")
      .selectAll()
      .where("request_id", "=", first.request_id)
      .executeTakeFirstOrThrow();
    expect(stored).toMatchObject({
      spend: first.spend,
      startTime: first.startTime,
      model: first.model,
      user: first.user,
      team_id: first.team_id,
      end_user: first.end_user,
      request_tags: JSON.parse(first.request_tags),
    });
  });

  it("adds nothing when the same seed runs again", async () => {
    const before = await sql<{
      keys: number;
    }>`SELECT sum(spend)::float8 AS keys FROM "LiteLLM_VerificationToken"`.execute(t.db);
    const r = await seedDemoData(t, { logs: N, seed: 7, end: END, days: 30 });
    expect(r.logs).toBe(0);
    expect(r.errorLogs).toBe(0);
    const after = await sql<{ keys: number; n: number }>`SELECT sum(spend)::float8 AS keys,
      (SELECT count(*)::int FROM "LiteLLM_SpendLogs") AS n FROM "LiteLLM_VerificationToken"`.execute(t.db);
    expect(after.rows[0]!.n).toBe(N);
    expect(after.rows[0]!.keys).toBe(before.rows[0]!.keys);
  });

  it("generates the days in order, each day's count in proportion to its weight, summing to N", () => {
    const rows = [...generateLogs(buildWorld({ seed: 3 }), 5000, { seed: 3, end: END, days: 30 })];
    expect(rows).toHaveLength(5000);
    const days = rows.map((r) => r.log.startTime.slice(0, 10));
    for (let i = 1; i < days.length; i++) expect(days[i]! >= days[i - 1]!).toBe(true);
    const distinct = new Set(days);
    expect(distinct.size).toBe(30);
    expect([...distinct][0]).toBe("2026-06-01");
    expect(days.at(-1)).toBe("2026-06-30");
    // Nothing after `end`, and every error log shares its request's time.
    for (const r of rows) {
      expect(r.log.startTime <= END.toISOString()).toBe(true);
      if (r.error) expect(r.error.startTime).toBe(r.log.startTime);
    }
  });

  it("an index a seed dropped and did not build (the original died) is built by the next seed from the kept definition; a tampered definition is refused", async () => {
    const u = await createTestDb();
    try {
      const before = await logIndexes(u.db);
      const victim = before.find((i) => i.name === "LiteLLM_SpendLogs_end_user_idx")!;
      expect(victim).toBeDefined();
      // As deferLogIndexes leaves it: the definition kept in spendlens.meta, the index gone.
      await sql`INSERT INTO spendlens.meta (key, value) VALUES ('seed.deferred_indexes', ${JSON.stringify([
        { name: victim.name, def: victim.def },
      ])})`.execute(u.db);
      await sql`DROP INDEX public."LiteLLM_SpendLogs_end_user_idx"`.execute(u.db);
      expect((await logIndexes(u.db)).map((i) => i.name)).not.toContain(victim.name);
      const r = await seedDemoData(u, { logs: 500, seed: 9, end: END, days: 5 });
      expect(r.logs).toBe(500);
      if (u.engine === "postgres") expect(await restoreDeferredIndexes(u.db)).toBe(1); // the PGlite seed did it
      expect(await logIndexes(u.db)).toEqual(before);
      const left = await sql`SELECT 1 FROM spendlens.meta WHERE key = 'seed.deferred_indexes'`.execute(u.db);
      expect(left.rows).toEqual([]);
      // Only a plain btree index on a log table is ever executed from spendlens.meta.
      await sql`INSERT INTO spendlens.meta (key, value) VALUES ('seed.deferred_indexes', ${JSON.stringify([
        {
          name: "x",
          def: 'CREATE INDEX x ON public."LiteLLM_SpendLogs" USING btree (end_user); DROP TABLE "LiteLLM_TeamTable"',
        },
      ])})`.execute(u.db);
      await expect(restoreDeferredIndexes(u.db)).rejects.toThrow(/refusing to run a kept index definition/);
      const team = await sql<{
        oid: string | null;
      }>`SELECT to_regclass('public."LiteLLM_TeamTable"')::text AS oid`.execute(u.db);
      expect(team.rows[0]!.oid).not.toBeNull();
    } finally {
      await u.drop();
    }
  });
});
