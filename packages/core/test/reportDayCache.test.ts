import { sql } from "kysely";
import pg from "pg";
import { describe, expect, it } from "vitest";
import {
  ALL,
  type DemoLog,
  pauseRollups,
  prng,
  rebuildRollups,
  reportDayCache,
  reportItemText,
  resumeRollups,
  type SpendReportInput,
  setReportDayCache,
  setRollupDeleteMode,
  spendReportStream,
  userScope,
} from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { insertLogs, makeLog, testEngine } from "../src/testing/index.ts";
import { bruteCustomers, bruteTeams } from "../src/testing/spendReport.ts";

/**
 * The spend report's per-day cache (reports/dayCache.ts) is used only when it is provably what a fresh
 * read would give: after every kind of change (insert, update, subtract and keep deletes, a rebuild, a
 * paused/dirty day, a team alias, a transaction that commits after a read began) the cached answer
 * equals both a read without the cache and a brute-force sum over the logs; and only the changed days
 * are computed again.
 */

const START = "2026-08-01";
const END = "2026-08-07";
const TEAMS: Record<string, string | null> = { a: "Alpha", b: "Beta", c: null };
const rnd = prng(909);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
const mk = (day: number, extra: Partial<DemoLog> = {}) =>
  makeLog({
    startTime: new Date(
      Date.parse("2026-08-01T00:00:00.000Z") + day * 86_400_000 + Math.floor(rnd() * 86_400_000),
    ).toISOString(),
    api_key: pick(["k1", "k2", "k3"]),
    team_id: pick(["a", "b", "c", null]),
    end_user: pick(["e1", "e2", null]),
    user: pick(["alice", "bob"]),
    model: pick(["m1", "m2"]),
    spend: Math.floor(rnd() * 64) / 32,
    total_tokens: Math.floor(rnd() * 100),
    ...extra,
  });

/** The logs the rollups count (a keep-mode delete leaves its log here: the rollups keep it). */
let held: DemoLog[] = [];
/** Logs gone from the raw table but kept by the rollups: not to be updated or deleted again. */
const rawGone = new Set<string>();
let teams = { ...TEAMS };

async function read(raw: SpendReportInput, cache = true, scope = ALL) {
  const out: unknown[] = [];
  const s = spendReportStream(t.db, scope, raw, { cache, chunkRows: 3 });
  for await (const item of s.items()) out.push(JSON.parse(reportItemText(item)));
  return out;
}

/** The team or customer answer summed by hand over the logs the rollups hold. */
function brute(by: "team" | "customer", rows = held) {
  const inRange = rows.filter((l) => l.startTime.slice(0, 10) >= START && l.startTime.slice(0, 10) <= END);
  return by === "team"
    ? bruteTeams(inRange, (l) => (l.team_id && teams[l.team_id]) ?? "Unassigned Team")
    : bruteCustomers(inRange);
}

const range = { start_date: START, end_date: END };
const pglite = testEngine() === "pglite";
/**
 * The days computed again: exactly the changed ones on PGlite. On a Postgres server any transaction
 * running elsewhere in the cluster holds back a snapshot's xmin, so rows written after it began look
 * new and their days are computed again too (never stale, only not cached): at least the changed ones.
 */
function expectMisses(got: { team: number; customer: number }, want: { team: number; customer: number }) {
  if (pglite) expect(got).toEqual(want);
  else {
    expect(got.team).toBeGreaterThanOrEqual(want.team);
    expect(got.customer).toBeGreaterThanOrEqual(want.customer);
  }
}
const stats = () => ({ ...reportDayCache(t.db)!.stats });
/** Reads team and customer answers with the cache; checks them; returns the days computed again. */
async function check(): Promise<{ team: number; customer: number }> {
  const s0 = stats();
  expect(await read({ ...range, group_by: "team" })).toEqual(brute("team"));
  const s1 = stats();
  expect(await read({ ...range, group_by: "customer" })).toEqual(brute("customer"));
  const s2 = stats();
  // And the same as reads that do not use the cache.
  expect(await read({ ...range, group_by: "team" }, false)).toEqual(brute("team"));
  expect(await read({ ...range, group_by: "customer" }, false)).toEqual(brute("customer"));
  return { team: s1.misses - s0.misses, customer: s2.misses - s1.misses };
}

const t = useTestDb({
  setup: async (t) => {
    setReportDayCache(t.db, 4 * 2 ** 20);
    for (const [id, alias] of Object.entries(TEAMS))
      await sql`INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias) VALUES (${id}, ${alias})`.execute(t.db);
    const logs = Array.from({ length: 300 }, (_, i) => mk(i % 8));
    await insertLogs(t.db, logs);
    held = [...logs];
  },
});

describe("the spend report's per-day cache", () => {
  it("a first read computes every day; the next one answers every day from the cache", async () => {
    expectMisses(await check(), { team: 7, customer: 7 });
    const before = stats();
    expectMisses(await check(), { team: 0, customer: 0 });
    if (pglite) expect(stats().hits - before.hits).toBe(14);
  });

  it("a log written on a day: that day only is computed again", async () => {
    const l = mk(2, { spend: 100 });
    await insertLogs(t.db, [l]);
    held.push(l);
    expectMisses(await check(), { team: 1, customer: 1 });
    expectMisses(await check(), { team: 0, customer: 0 });
  });

  it("a log updated (model and customer changed): its day is computed again", async () => {
    const l = held.find((x) => x.startTime.startsWith("2026-08-04"))!;
    await sql`UPDATE "LiteLLM_SpendLogs" SET model = 'm9', end_user = 'e9' WHERE request_id = ${l.request_id}`.execute(
      t.db,
    );
    held = held.map((x) => (x === l ? { ...x, model: "m9", end_user: "e9" } : x));
    expectMisses(await check(), { team: 1, customer: 1 });
  });

  it("a delete in subtract mode changes the day; one in keep mode keeps the totals and the cache", async () => {
    await setRollupDeleteMode(t.db, "subtract");
    const gone = held.filter((x) => x.startTime.startsWith("2026-08-05")).slice(0, 3);
    await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id = ANY(${gone.map((x) => x.request_id)}::text[])`.execute(
      t.db,
    );
    held = held.filter((x) => !gone.includes(x));
    expectMisses(await check(), { team: 1, customer: 1 });
    await setRollupDeleteMode(t.db, "keep");
    const kept = held.find((x) => x.startTime.startsWith("2026-08-06"))!;
    await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id = ${kept.request_id}`.execute(t.db);
    rawGone.add(kept.request_id);
    // The rollups keep the deleted log's totals (keep mode): so does the report, cached or not.
    expectMisses(await check(), { team: 0, customer: 0 });
  });

  it("a rebuilt day is computed again, with the same numbers", async () => {
    await rebuildRollups(t.db, { from: "2026-08-03", to: "2026-08-03" });
    // keep mode: the rebuild of 08-03 (no raw delete there) gives the same rows, rewritten.
    expectMisses(await check(), { team: 1, customer: 1 });
  });

  it("a dirty day is read from the raw logs and never cached", async () => {
    await pauseRollups(t.db);
    try {
      const l = mk(1, { spend: 7 });
      await insertLogs(t.db, [l]);
      held.push(l);
      expectMisses(await check(), { team: 0, customer: 0 }); // the dirty day is neither hit nor stored
      expectMisses(await check(), { team: 0, customer: 0 });
    } finally {
      await resumeRollups(t.db);
    }
    await rebuildRollups(t.db);
    expectMisses(await check(), { team: 1, customer: 1 });
  });

  it("a team alias changed: every day of the team answer is computed again, the customer answer not", async () => {
    await sql`UPDATE "LiteLLM_TeamTable" SET team_alias = 'Gamma' WHERE team_id = 'c'`.execute(t.db);
    teams = { ...teams, c: "Gamma" };
    expectMisses(await check(), { team: 7, customer: 0 });
  });

  it("filters and scopes are cached apart", async () => {
    const f = { ...range, group_by: "team" as const, team_id: "a" };
    const want = brute(
      "team",
      held.filter((x) => x.team_id === "a"),
    );
    expect(await read(f)).toEqual(want);
    expect(await read(f)).toEqual(want);
    const bob = await read({ ...range, group_by: "customer" }, true, userScope("bob"));
    expect(bob).toEqual(
      brute(
        "customer",
        held.filter((x) => x.user === "bob"),
      ),
    );
  });

  it.runIf(testEngine() === "postgres")(
    "a transaction running while a day is computed, and committing after, is seen by the next read",
    async () => {
      const c = new pg.Client({ connectionString: t.url! });
      await c.connect();
      try {
        const l = mk(6, { spend: 50 });
        await c.query("BEGIN");
        await c.query(
          `INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, total_tokens, prompt_tokens,
             completion_tokens, "startTime", "endTime", model, model_id, model_group, custom_llm_provider, api_base,
             "user", metadata, cache_hit, request_tags, team_id, end_user, status)
           VALUES ($1, 'acompletion', $2, $3, $4, 0, 0, $5, $5, $6, '', '', '', '', $7, '{}', 'False', '[]', $8, $9, 'success')`,
          [
            l.request_id,
            l.api_key,
            l.spend,
            l.total_tokens,
            l.startTime,
            l.model,
            l.user,
            l.team_id,
            l.end_user,
          ],
        );
        // Every day computed again while the insert is in progress: the entries are stamped with a
        // snapshot that does not see it (its xid is not older than that snapshot's xmin).
        setReportDayCache(t.db, 4 * 2 ** 20);
        expect(await read({ ...range, group_by: "team" })).toEqual(brute("team"));
        expect(await read({ ...range, group_by: "customer" })).toEqual(brute("customer"));
        await c.query("COMMIT");
        held.push(l);
        // 2026-08-07's rows now carry the committed insert: that day is computed again.
        expectMisses(await check(), { team: 1, customer: 1 });
      } finally {
        await c.end();
      }
    },
  );

  it("a cache too small for the answer keeps what fits and answers the same", async () => {
    setReportDayCache(t.db, 3000);
    expectMisses(await check(), { team: 7, customer: 7 });
    const again = await check();
    expect(again.team + again.customer).toBeGreaterThan(0); // evicted days are computed again
    expect(reportDayCache(t.db)!.size).toBeLessThanOrEqual(3000);
    setReportDayCache(t.db, 4 * 2 ** 20);
  });

  it("random writes between reads: the cached answer always equals the brute force", async () => {
    await setRollupDeleteMode(t.db, "subtract");
    const live = () => held.filter((x) => !rawGone.has(x.request_id));
    await check(); // a fresh cache (the test before) fills up
    for (let step = 0; step < 12; step++) {
      const op = step % 3;
      if (op === 0) {
        const l = mk(Math.floor(rnd() * 7));
        await insertLogs(t.db, [l]);
        held.push(l);
      } else if (op === 1) {
        const l = pick(live());
        const spend = Math.floor(rnd() * 64) / 32;
        await sql`UPDATE "LiteLLM_SpendLogs" SET spend = ${spend}, api_key = 'k4' WHERE request_id = ${l.request_id}`.execute(
          t.db,
        );
        held = held.map((x) => (x === l ? { ...x, spend, api_key: "k4" } : x));
      } else {
        const l = pick(live());
        await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id = ${l.request_id}`.execute(t.db);
        held = held.filter((x) => x !== l);
      }
      const d = await check();
      if (pglite) {
        expect(d.team).toBeLessThanOrEqual(1);
        expect(d.customer).toBeLessThanOrEqual(1);
      }
    }
  });
});
