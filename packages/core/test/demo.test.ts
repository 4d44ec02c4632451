import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALL,
  buildWorld,
  generateLogs,
  globalSpend,
  restoreDeferredIndexes,
  rollupStatus,
  seedDemoData,
  setClock,
} from "../src/internal.ts";
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
const N = 3000;

beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t?.drop());

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

  it("bulk mode pauses the rollups and rebuilds the touched days once: ready, nothing dirty, totals exact", async () => {
    const u = await createTestDb();
    try {
      const n = 3000;
      const indexesBefore = await logIndexes(u.db);
      const r = await seedDemoData(u, { logs: n, seed: 5, end: END, days: 10, batchSize: 700, bulk: true });
      expect(r.logs).toBe(n);
      // On PGlite the log tables' secondary indexes were dropped for the load and built after it: the
      // same definitions are there again (and valid), and nothing is left to restore.
      if (u.engine === "pglite") expect(r.timings.create_indexes).toBeGreaterThanOrEqual(0);
      expect(await logIndexes(u.db)).toEqual(indexesBefore);
      expect(indexesBefore.filter((i) => !i.unique).length).toBeGreaterThanOrEqual(5);
      expect(await restoreDeferredIndexes(u.db)).toBe(0);
      const st = await rollupStatus(u.db);
      expect(st.status).toBe("ready");
      expect(st.dirtyDays).toEqual([]);
      const rows = [...generateLogs(buildWorld({ seed: 5 }), n, { seed: 5, end: END, days: 10 })];
      const byDay = new Map<string, number>();
      for (const x of rows) {
        const d = x.log.startTime.slice(0, 10);
        byDay.set(d, (byDay.get(d) ?? 0) + x.log.spend);
      }
      // Straight from the rollup table (no raw fallback is left to hide a missing rebuild).
      const got = await sql<{ day: string; spend: number }>`
        SELECT day::text AS day, sum(spend)::float8 AS spend FROM spendlens.model_daily GROUP BY day ORDER BY day`.execute(
        u.db,
      );
      expect(got.rows.map((x) => x.day)).toEqual([...byDay.keys()].sort());
      for (const g of got.rows) expect(g.spend).toBeCloseTo(byDay.get(g.day)!, 9);
      // Every rebuilt rollup family against a brute-force sum over the raw logs (per key and day,
      // per end user and day (no end user included), per (day, key, model) of the activity rollups, per
      // tag and day): the rows in one and not the other, both ways.
      const L = sql`"LiteLLM_SpendLogs"`;
      const families = [
        [
          "key_daily",
          sql`SELECT day, api_key, round(sum(spend)::numeric, 9), sum(requests) FROM spendlens.key_daily GROUP BY 1, 2`,
          sql`SELECT "startTime"::date, api_key, round(sum(spend)::numeric, 9), count(*) FROM ${L} GROUP BY 1, 2`,
        ],
        [
          "end_user_daily",
          sql`SELECT day, end_user, round(sum(spend)::numeric, 9), sum(requests) FROM spendlens.end_user_daily GROUP BY 1, 2`,
          sql`SELECT "startTime"::date, end_user, round(sum(spend)::numeric, 9), count(*) FROM ${L} GROUP BY 1, 2`,
        ],
        [
          "activity_daily",
          sql`SELECT day, api_key, model, round(sum(spend)::numeric, 9), sum(requests), sum(prompt_tokens)
            FROM spendlens.activity_daily GROUP BY 1, 2, 3`,
          sql`SELECT "startTime"::date, api_key, model, round(sum(spend)::numeric, 9), count(*), sum(prompt_tokens)
            FROM ${L} GROUP BY 1, 2, 3`,
        ],
        [
          "tag_daily",
          sql`SELECT day, tag, sum(requests) FROM spendlens.tag_daily GROUP BY 1, 2`,
          sql`SELECT "startTime"::date, t, count(*) FROM ${L}, jsonb_array_elements_text(request_tags) t
            WHERE jsonb_typeof(request_tags) = 'array' GROUP BY 1, 2`,
        ],
      ] as const;
      const diff = await sql<{ what: string; n: number }>`${sql.join(
        families.map(
          ([what, rollup, raw]) =>
            sql`SELECT ${what}::text AS what, count(*)::int AS n FROM ((${rollup} EXCEPT ${raw}) UNION ALL (${raw} EXCEPT ${rollup})) x`,
        ),
        sql` UNION ALL `,
      )}`.execute(u.db);
      expect(diff.rows).toEqual([
        { what: "key_daily", n: 0 },
        { what: "end_user_daily", n: 0 },
        { what: "activity_daily", n: 0 },
        { what: "tag_daily", n: 0 },
      ]);
      const keyDays = await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.key_daily`.execute(
        u.db,
      );
      expect(keyDays.rows[0]!.n).toBeGreaterThan(100);
    } finally {
      await u.drop();
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

  it("seeds in many small chunks (on Postgres: two connections at once), rollups kept live, with counters and rollups exact", async () => {
    const u = await createTestDb();
    try {
      const n = 4000;
      const r = await seedDemoData(u, { logs: n, seed: 11, end: END, days: 20, batchSize: 250, bulk: false });
      expect(r.logs).toBe(n);
      const rows = [...generateLogs(buildWorld({ seed: 11 }), n, { seed: 11, end: END, days: 20 })];
      const byKey = new Map<string, number>();
      for (const x of rows) byKey.set(x.log.api_key, (byKey.get(x.log.api_key) ?? 0) + x.log.spend);
      const stored = await sql<{ token: string; spend: number }>`
        SELECT token, spend::float8 AS spend FROM "LiteLLM_VerificationToken" WHERE spend > 0`.execute(u.db);
      expect(stored.rows).toHaveLength([...byKey.values()].filter((v) => v > 0).length);
      for (const s of stored.rows) expect(s.spend).toBeCloseTo(byKey.get(s.token)!, 9);
      const errs = await sql<{ n: number }>`SELECT count(*)::int AS n FROM "LiteLLM_ErrorLogs"`.execute(u.db);
      expect(errs.rows[0]!.n).toBe(rows.filter((x) => x.error).length);
      // The rollups (kept by the triggers while both connections wrote) equal the raw sum: all 20 days
      // fall in the 30-day window ending at END.
      const total = rows.reduce((s, x) => s + x.log.spend, 0);
      setClock(() => END);
      const g = await globalSpend(u.db, ALL, { maxBudget: null });
      expect(g.spend).toBeCloseTo(total, 6);
    } finally {
      setClock(null);
      await u.drop();
    }
  });
});
