import { type RawBuilder, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALL,
  buildWorld,
  generateLogs,
  globalSpend,
  rebuildRollups,
  restoreDeferredIndexes,
  rollupStatus,
  seedDemoData,
  setClock,
} from "../src/internal.ts";
import { ROUTE_KIND } from "../src/rollups/activityRouteRollup.ts";
import { createTestDb, type TestDb } from "../src/testing/index.ts";
import { ROLLUP_TABLES, rollupSnapshot, unlistedTables } from "../src/testing/rollupTables.ts";

const END = new Date("2026-06-30T18:00:00.000Z");
// 1,000 logs over 12 days (~85 a day, every rollup table with rows, a bulk load of 3 batches and a
// live one of 16 chunks): the same paths as the 4,000 of session 10 and the 2,000 of session 11, at a
// quarter of the first's seeding and reading.
const OPTS = { logs: 1000, seed: 11, end: END, days: 12, batchSize: 350 } as const;
/** The live path's chunk: 16 chunks, as before. */
const LIVE_BATCH = 63;

/** Every index of the log tables and of schema spendlens, with its definition. */
async function indexes(db: TestDb["db"]) {
  const r = await sql<{
    name: string;
    def: string;
    unique: boolean;
    valid: boolean;
  }>`SELECT ic.relname AS name, pg_get_indexdef(x.indexrelid) AS def, x.indisunique AS unique, x.indisvalid AS valid
    FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'spendlens' OR (n.nspname = 'public' AND t.relname IN ('LiteLLM_SpendLogs', 'LiteLLM_ErrorLogs'))
    ORDER BY 1`.execute(db);
  return r.rows;
}

let bulk: TestDb;
let live: TestDb;
let indexesBefore: { name: string; def: string; unique: boolean; valid: boolean }[];
let timings: Record<string, number>;

beforeAll(async () => {
  [bulk, live] = await Promise.all([createTestDb(), createTestDb()]);
  indexesBefore = await indexes(bulk.db);
  // The bulk path (PGlite: indexes of the log and big rollup tables dropped, rollups paused and rebuilt
  // once; Postgres: COPY with the rollups paused and rebuilt), and the ordinary path in many small chunks
  // (on Postgres two connections at once): every chunk's logs through the triggers and the fold.
  const [b, l] = await Promise.all([
    seedDemoData(bulk, { ...OPTS, bulk: true }),
    seedDemoData(live, { ...OPTS, batchSize: LIVE_BATCH, bulk: false }),
  ]);
  expect(b.logs).toBe(OPTS.logs);
  expect(l.logs).toBe(OPTS.logs);
  timings = b.timings;
}, 600_000);
afterAll(async () => {
  await Promise.all([bulk?.drop(), live?.drop()]);
});

describe("a bulk seed's rollups", () => {
  it("leaves every index as it was, nothing kept to restore, the rollups ready and clean", async () => {
    if (bulk.engine === "pglite") {
      // The log tables' secondary indexes were dropped for the load and built after it.
      expect(timings.create_indexes).toBeGreaterThanOrEqual(0);
      expect(timings.cpu_rebuild_rollups).toBeGreaterThanOrEqual(0);
    }
    // The log tables' secondary indexes (the ones a PGlite bulk seed drops and builds again) are there
    // again, valid, with the same definitions.
    const logTable = (i: { def: string }) =>
      / ON (ONLY )?public\."LiteLLM_(SpendLogs|ErrorLogs)"/.test(i.def);
    expect(indexesBefore.filter((i) => logTable(i) && !i.unique).length).toBeGreaterThanOrEqual(5);
    expect(await indexes(bulk.db)).toEqual(indexesBefore);
    expect(await restoreDeferredIndexes(bulk.db)).toBe(0);
    for (const t of [bulk, live]) {
      const st = await rollupStatus(t.db);
      expect(st.status).toBe("ready");
      expect(st.dirtyDays).toEqual([]);
    }
  });

  it("counters equal the generator's rows on both paths: each key's spend, the error logs, the global spend", async () => {
    const rows = [...generateLogs(buildWorld({ seed: OPTS.seed }), OPTS.logs, OPTS)];
    const byKey = new Map<string, number>();
    for (const x of rows) byKey.set(x.log.api_key, (byKey.get(x.log.api_key) ?? 0) + x.log.spend);
    const total = rows.reduce((s, x) => s + x.log.spend, 0);
    for (const t of [bulk, live]) {
      const stored = await sql<{ token: string; spend: number }>`
        SELECT token, spend::float8 AS spend FROM "LiteLLM_VerificationToken" WHERE spend > 0`.execute(t.db);
      expect(stored.rows).toHaveLength([...byKey.values()].filter((v) => v > 0).length);
      for (const s of stored.rows) expect(s.spend).toBeCloseTo(byKey.get(s.token)!, 9);
      const errs = await sql<{ n: number }>`SELECT count(*)::int AS n FROM "LiteLLM_ErrorLogs"`.execute(t.db);
      expect(errs.rows[0]!.n).toBe(rows.filter((x) => x.error).length);
      // All 12 days fall in the 30-day window ending at END.
      setClock(() => END);
      try {
        expect((await globalSpend(t.db, ALL, { maxBudget: null })).spend).toBeCloseTo(total, 6);
      } finally {
        setClock(null);
      }
    }
  });

  it("every rollup table equals the ordinary path's, row for row (and again after a rebuild of every day)", async () => {
    expect(await unlistedTables(bulk.db)).toEqual([]);
    const b = await rollupSnapshot(bulk.db);
    const l = await rollupSnapshot(live.db);
    for (const t of ROLLUP_TABLES) expect(b[t]!.length, t).toBeGreaterThan(0);
    for (const t of Object.keys(l)) expect(b[t], t).toEqual(l[t]);
    await rebuildRollups(live.db, { scope: "all" });
    const r = await rollupSnapshot(live.db);
    for (const t of Object.keys(l)) expect(r[t], t).toEqual(b[t]);
  });

  it("every rollup family's totals equal a brute force over the raw logs", async () => {
    const L = sql`public."LiteLLM_SpendLogs"`;
    const week = (d: RawBuilder<unknown>) => sql`(${d} - (((${d} - DATE '2001-01-01') % 7 + 7) % 7))`;
    const day = sql`"startTime"::date`;
    const perDay = sql`SELECT ${day} AS k, count(*)::bigint AS n, sum(spend::numeric) AS s FROM ${L} GROUP BY 1`;
    const perWeek = sql`SELECT ${week(day)} AS k, count(*)::bigint AS n, sum(spend::numeric) AS s FROM ${L} GROUP BY 1`;
    const rollup = (t: string, k: RawBuilder<unknown> = sql`day`, where: RawBuilder<unknown> = sql`true`) =>
      sql`SELECT ${k} AS k, sum(requests)::bigint AS n, sum(spend)::numeric AS s FROM ${sql.id("spendlens", t)} WHERE ${where} GROUP BY 1`;
    const checks: [string, RawBuilder<unknown>, RawBuilder<unknown>][] = [
      ...["model_daily", "team_daily", "key_daily", "detail_daily", "end_user_daily", "activity_daily"].map(
        (t) => [t, rollup(t), perDay] as [string, RawBuilder<unknown>, RawBuilder<unknown>],
      ),
      ["key_weekly", rollup("key_weekly", sql`week`), perWeek],
      ["end_user_weekly", rollup("end_user_weekly", sql`week`), perWeek],
      ["provider_hourly", rollup("provider_hourly", sql`hour::date`), perDay],
      ["end_user_hourly", rollup("end_user_hourly", sql`hour::date`), perDay],
      ["activity_dim_daily d", rollup("activity_dim_daily", sql`day`, sql`dim = 'd'`), perDay],
      ...Object.values(ROUTE_KIND)
        .filter((k) => k !== "g")
        .map(
          (k) =>
            [
              `activity_route_daily ${k}`,
              rollup("activity_route_daily", sql`day`, sql`kind = ${k}`),
              perDay,
            ] as [string, RawBuilder<unknown>, RawBuilder<unknown>],
        ),
      [
        "tag_daily",
        rollup("tag_daily", sql`(day, tag)::text`),
        sql`SELECT (${day}, t)::text AS k, count(*)::bigint AS n, sum(spend::numeric) AS s
          FROM ${L}, jsonb_array_elements_text(request_tags) t WHERE jsonb_typeof(request_tags) = 'array' GROUP BY 1`,
      ],
      [
        "user_tag_request_daily",
        rollup("user_tag_request_daily", sql`(day, "user", tag)::text`),
        sql`SELECT (${day}, "user", t)::text AS k, count(*)::bigint AS n, sum(spend::numeric) AS s
          FROM ${L} l CROSS JOIN LATERAL (SELECT DISTINCT t FROM jsonb_array_elements_text(l.request_tags) t
            WHERE jsonb_typeof(l.request_tags) = 'array') x GROUP BY 1`,
      ],
      [
        "error_daily",
        sql`SELECT day AS k, sum(errors)::bigint AS n, 0::numeric AS s FROM spendlens.error_daily GROUP BY 1`,
        sql`SELECT "startTime"::date AS k, count(*)::bigint AS n, 0::numeric AS s FROM public."LiteLLM_ErrorLogs" GROUP BY 1`,
      ],
    ];
    for (const [what, r, b] of checks) {
      const got = await sql<{ keys: number; bad: number; diff: number | null }>`
        SELECT count(*)::int AS keys,
          count(*) FILTER (WHERE r.k IS NULL OR b.k IS NULL OR r.n <> b.n)::int AS bad,
          max(abs(r.s - b.s))::float8 AS diff
        FROM (${r}) r FULL JOIN (${b}) b ON b.k = r.k`.execute(bulk.db);
      const g = got.rows[0]!;
      // 12 days: 3 weeks; every other family has a row per day at least.
      expect(g.keys, what).toBeGreaterThan(what.endsWith("weekly") ? 1 : 5);
      expect(g.bad, what).toBe(0);
      expect(g.diff ?? 0, what).toBeLessThan(1e-6);
    }
  });
});
