import { type Kysely, sql } from "kysely";
import { describe, expect, it } from "vitest";
import {
  ALL,
  type DemoLog,
  foldRollups,
  prng,
  rebuildRollups,
  rollupStatus,
  setRollupDeleteMode,
  spendTotals,
  tagRequestTotals,
} from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { deadlockCount, testEngine, withOwnConnections } from "../src/testing/index.ts";
import {
  type BASE_COLUMNS,
  insertLikeLiteLLM,
  logColumns,
  pick,
  randomTime,
} from "../src/testing/writePaths.ts";

/**
 * The append-only insert path (migration 0010, rollups/fold.ts): an INSERT into "LiteLLM_SpendLogs" only
 * appends to spendlens.spend_log_pending; a fold applies pending rows to the rollups. Readers fold first,
 * so every answer equals a brute-force sum over the logs at any moment: right after an insert, after an
 * update or delete of logs not folded yet, and with writers and folds racing on two connections.
 */

const t = useTestDb();

/** The columns COLS writes, typed as the demo generator's logs. */
type Log = Pick<DemoLog, (typeof BASE_COLUMNS)[number] | "api_key" | "model" | "user" | "request_tags">;

const DAYS = ["2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04"];
const COLS = logColumns(["api_key", "model", "user"], "jsonb");
/** The logs in the table now, by id (the brute force's input). */
const present = new Map<string, Log>();

let seq = 0;
function randomLog(rnd: () => number, prefix: string): Log {
  const at = randomTime(rnd, pick(rnd, DAYS), 0.05);
  const prompt = Math.floor(rnd() * 500);
  const completion = Math.floor(rnd() * 200);
  return {
    request_id: `${prefix}-${seq++}`,
    spend: Math.round(rnd() * 1e6) / 1e7,
    total_tokens: prompt + completion,
    prompt_tokens: prompt,
    completion_tokens: completion,
    startTime: at,
    endTime: at,
    api_key: pick(rnd, ["k1", "k2", "k3", "k4"]),
    model: pick(rnd, ["m1", "m2", "m3"]),
    user: pick(rnd, ["u1", "u2"]),
    request_tags: JSON.stringify(pick(rnd, [[], ["a"], ["a", "b"], ["b", "b"]])),
  };
}

/** `n` random logs written as LiteLLM writes them (pending until a fold), and in the model. */
async function writeLogs(rnd: () => number, n: number, prefix: string): Promise<Log[]> {
  const logs = Array.from({ length: n }, () => randomLog(rnd, prefix));
  await insertLikeLiteLLM(t.db as Kysely<any>, COLS, logs);
  for (const l of logs) present.set(l.request_id, l);
  return logs;
}

/** Brute force: per (day, api_key, model) over the logs present. */
function brute(): Map<string, { requests: number; spend: number; tokens: number }> {
  const out = new Map<string, { requests: number; spend: number; tokens: number }>();
  for (const l of present.values()) {
    const k = `${l.startTime.slice(0, 10)}|${l.api_key}|${l.model}`;
    const s = out.get(k) ?? { requests: 0, spend: 0, tokens: 0 };
    s.requests++;
    s.spend += l.spend;
    s.tokens += l.total_tokens;
    out.set(k, s);
  }
  return out;
}

async function expectExact(db: Kysely<any>, label: string): Promise<void> {
  const rows = await spendTotals(db as never, ALL, {
    window: { from: null, to: null },
    dims: ["day", "api_key", "model"],
  });
  const got = new Map(rows.map((r) => [`${r.day}|${r.api_key}|${r.model}`, r]));
  const want = brute();
  expect([...got.keys()].sort(), label).toEqual([...want.keys()].sort());
  for (const [k, w] of want) {
    const g = got.get(k)!;
    expect(g.requests, `${label} ${k}`).toBe(w.requests);
    expect(g.total_tokens, `${label} ${k}`).toBe(w.tokens);
    expect(g.spend, `${label} ${k}`).toBeCloseTo(w.spend, 9);
  }
  // Tag grain: a request counts once per distinct tag.
  const tags = await tagRequestTotals(db as never, ALL, { window: { from: null, to: null } });
  const wantTags = new Map<string, number>();
  for (const l of present.values())
    for (const tag of new Set(JSON.parse(l.request_tags) as string[]))
      wantTags.set(tag, (wantTags.get(tag) ?? 0) + 1);
  expect(Object.fromEntries(tags.map((r) => [r.tag, r.requests])), `${label} tags`).toEqual(
    Object.fromEntries(wantTags),
  );
}

/** Every rollup table (after a fold) equals its GROUP BY over the raw logs. */
async function expectTablesEqualRaw(db: Kysely<any>, label: string): Promise<void> {
  await foldRollups(db as never);
  // The rows of a rollup per (day, key, model) that its GROUP BY over the raw logs lacks, and back.
  const differ = (table: "detail_daily" | "activity_daily") => {
    const rollup = sql`SELECT day, api_key, model, sum(requests)::int8, sum(total_tokens)::int8
      FROM ${sql.table(`spendlens.${table}`)} GROUP BY 1, 2, 3`;
    return sql`SELECT ${table}::text AS t, count(*)::int AS bad
      FROM ((${rollup} EXCEPT SELECT * FROM raw) UNION ALL (SELECT * FROM raw EXCEPT ${rollup})) x`;
  };
  const r = await sql<{ t: string; bad: number }>`
    WITH raw AS (SELECT ("startTime")::date AS day, api_key, model, count(*)::int8 AS requests,
        sum(total_tokens)::int8 AS tokens FROM "LiteLLM_SpendLogs" GROUP BY 1, 2, 3)
    ${differ("detail_daily")}
    UNION ALL
    ${differ("activity_daily")}
    UNION ALL
    SELECT 'key_weekly', count(*)::int FROM (
      SELECT 1 FROM (SELECT sum(requests) AS n FROM spendlens.key_weekly) a, (SELECT count(*) AS n FROM "LiteLLM_SpendLogs") b
      WHERE a.n IS DISTINCT FROM b.n AND b.n > 0) x
    UNION ALL
    SELECT 'pending', count(*)::int FROM spendlens.spend_log_pending`.execute(db);
  expect(r.rows, label).toEqual([
    { t: "detail_daily", bad: 0 },
    { t: "activity_daily", bad: 0 },
    { t: "key_weekly", bad: 0 },
    { t: "pending", bad: 0 },
  ]);
}

const pendingCount = async () =>
  (await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.spend_log_pending`.execute(t.db))
    .rows[0]!.n;

describe("append-only rollups: inserts wait in spend_log_pending until a fold", () => {
  it("an insert appends only; the rollup tables change at the fold; a read right after the insert is exact", async () => {
    const rnd = prng(1);
    await writeLogs(rnd, 120, "a");
    expect(await pendingCount()).toBe(120);
    const before = await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.detail_daily`.execute(
      t.db,
    );
    expect(before.rows[0]!.n).toBe(0);
    await expectExact(t.db as Kysely<any>, "right after the insert"); // folds first
    expect(await pendingCount()).toBe(0);
    expect(await foldRollups(t.db)).toBe(0);
    const st = await rollupStatus(t.db);
    expect(st.missingTriggers).toEqual([]);
    expect(st.dirtyDays).toEqual([]);
    await expectTablesEqualRaw(t.db as Kysely<any>, "folded");
  });

  it("updates and subtracting deletes of logs that are still pending fold them first", async () => {
    const rnd = prng(2);
    const logs = await writeLogs(rnd, 60, "b");
    // Move some of them (not folded yet) to another day and key: the old rows must not be left behind.
    const moved = logs.slice(0, 20).map((l) => l.request_id);
    await sql`UPDATE "LiteLLM_SpendLogs" SET api_key = 'k-moved', "startTime" = '2026-05-04T12:00:00'
      WHERE request_id = ANY(${moved}::text[])`.execute(t.db);
    for (const id of moved)
      present.set(id, { ...present.get(id)!, api_key: "k-moved", startTime: "2026-05-04T12:00:00.000Z" });
    await expectExact(t.db as Kysely<any>, "after updating pending logs");
    // More pending logs, then a subtracting delete of some of them.
    const more = await writeLogs(rnd, 40, "c");
    await setRollupDeleteMode(t.db, "subtract");
    const gone = more.slice(0, 15).map((l) => l.request_id);
    await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id = ANY(${gone}::text[])`.execute(t.db);
    for (const id of gone) present.delete(id);
    await setRollupDeleteMode(t.db, "keep");
    await expectExact(t.db as Kysely<any>, "after deleting pending logs");
    expect((await rollupStatus(t.db)).dirtyDays).toEqual([]);
    await expectTablesEqualRaw(t.db as Kysely<any>, "after update and delete");
  });

  it("a fold of at most N rows takes N, leaves the rest pending, and answers stay exact", async () => {
    const rnd = prng(4);
    await writeLogs(rnd, 30, "e");
    const r = await sql<{ n: number }>`SELECT spendlens.rollups_fold(12)::int AS n`.execute(t.db);
    expect(r.rows[0]!.n).toBe(12);
    expect(await pendingCount()).toBe(18);
    await expectExact(t.db as Kysely<any>, "after a partial fold");
    expect(await pendingCount()).toBe(0);
  });

  it("a rebuild folds first: pending logs of the rebuilt days are counted once", async () => {
    const rnd = prng(3);
    await writeLogs(rnd, 50, "d");
    expect(await pendingCount()).toBe(50);
    await rebuildRollups(t.db, { scope: "all" });
    expect(await pendingCount()).toBe(0);
    await expectExact(t.db as Kysely<any>, "after rebuild");
    await expectTablesEqualRaw(t.db as Kysely<any>, "after rebuild");
  });

  it.skipIf(testEngine() !== "postgres")(
    "two connections inserting and folding at once: no deadlock, no double count, no lost row (Postgres)",
    async () => {
      const before = await deadlockCount(t.db);
      await withOwnConnections(t, 2, async ([a, b]) => {
        const lane = async (db: Kysely<any>, seed: number, prefix: string) => {
          const rnd = prng(seed);
          for (let i = 0; i < 25; i++) {
            const logs = Array.from({ length: 40 }, () => randomLog(rnd, prefix));
            // Half the statements in a transaction that also folds (as a reader of the same replica would).
            if (i % 2)
              await db.transaction().execute(async (trx) => {
                await insertLikeLiteLLM(trx, COLS, logs);
                await sql`SELECT spendlens.rollups_fold()`.execute(trx);
              });
            else await insertLikeLiteLLM(db, COLS, logs);
            for (const l of logs) present.set(l.request_id, l);
            if (i % 3 === 0) await foldRollups(db as never);
          }
        };
        const reader = async () => {
          for (let i = 0; i < 10; i++) {
            await spendTotals(t.db, ALL, { window: { from: null, to: null }, dims: ["api_key"] });
            await new Promise((r) => setTimeout(r, 20));
          }
        };
        await Promise.all([lane(a as Kysely<any>, 10, "x"), lane(b as Kysely<any>, 11, "y"), reader()]);
      });
      await expectExact(t.db as Kysely<any>, "after concurrent writers and folds");
      await expectTablesEqualRaw(t.db as Kysely<any>, "after concurrent writers and folds");
      expect((await rollupStatus(t.db)).dirtyDays).toEqual([]);
      expect(await deadlockCount(t.db)).toBe(before);
    },
  );
});
