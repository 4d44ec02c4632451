import { type Kysely, sql } from "kysely";
import { describe, expect, it } from "vitest";
import {
  ALL,
  countSpendLogs,
  type DemoLog,
  distinctEndUsers,
  explainQuery,
  globalAllEndUsers,
  globalSpendEndUsers,
  globalSpendKeys,
  pauseRollups,
  plan as planPure,
  planQuery,
  prng,
  rebuildRollups,
  render,
  resumeRollups,
  rollupStatus,
  type Scope,
  type SpendQuery,
  schemaFacts,
  setRollupDeleteMode,
  spendLogsUi,
  spendTotals,
  userScope,
} from "../src/internal.ts";
import { foldRollups } from "../src/rollups/fold.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { insertLogs, makeLog, type TestDb } from "../src/testing/index.ts";
import { deleteLogs, deleteLogsBefore, LogModel, updateLogs } from "../src/testing/logModel.ts";
import {
  insertLikeLiteLLM as insertDirect,
  logColumns,
  pick,
  randomTime,
} from "../src/testing/writePaths.ts";
import { expectSums, type Sums, zeroSums } from "./sums.ts";

/**
 * Migration 0005's derived rollups (end_user_daily from detail_daily, key_weekly from key_daily), the
 * edge days read as "whole day minus the rest of it", the log counts from the rollups (matchRaw) and
 * the all-time end-user list (a skip scan): after every way the logs change, each answer must equal a
 * brute-force sum over the logs computed here, on both engines.
 */

// 17 days, Friday 2026-02-20 to Sunday 2026-03-08: whole ISO weeks start on Mondays 02-23 and 03-02.
const DAYS = Array.from({ length: 17 }, (_, i) =>
  new Date(Date.UTC(2026, 1, 20) + i * 86_400_000).toISOString().slice(0, 10),
);
const NOW = new Date("2026-03-08T15:00:00.000Z");

type Log = DemoLog & { organization_id: string | null };

let counter = 0;
function randomLog(rnd: () => number, day = pick(rnd, DAYS)): Log {
  counter++;
  const prompt = Math.floor(rnd() * 3000);
  const completion = Math.floor(rnd() * 900);
  return {
    ...makeLog({ startTime: randomTime(rnd, day, 0.1) }),
    request_id: `d-${counter}-${Math.floor(rnd() * 1e9)}`,
    api_key: pick(rnd, ["k1", "k2", "k3", "k4", "k5", ""]),
    user: pick(rnd, ["alice", "bob", "carol", ""]),
    team_id: pick(rnd, ["t1", "t2", null]),
    organization_id: null,
    end_user: pick(rnd, ["c1", "c2", "c3", "c4", "c5", "", null]),
    model: pick(rnd, ["gpt-4o", "claude"]),
    model_group: pick(rnd, ["gpt-4o", "claude"]),
    spend: rnd() < 0.1 ? 0 : Math.round(rnd() * 1e7) / 1e6,
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
}

// ---- the model ----

/** The logs the rollups count and the ids in the table now (see LogModel). */
const model = new LogModel<Log>();
const { counted, present } = model;

const dayStartMs = (iso: string) => Date.parse(`${iso.slice(0, 10)}T00:00:00.000Z`);

/**
 * The brute-force answer. Reports (`matchRaw` false) keep the totals of whole days (deleted logs in
 * keep mode still count); a day the window covers in part counts the logs in the table. Log counts
 * (`matchRaw`) count the logs in the table.
 */
function brute(
  dim: "end_user" | "api_key" | null,
  w: SpendQuery["window"],
  opts: { scope?: Scope; filters?: Partial<Record<"api_key" | "team_id", string>>; matchRaw?: boolean } = {},
): Map<string, Sums> {
  const from = w.from === null ? -Infinity : Date.parse(w.from);
  const to = w.to === null ? Infinity : Date.parse(w.to);
  const out = new Map<string, Sums>();
  if (dim === null) out.set("total", zeroSums());
  for (const l of counted.values()) {
    const t = Date.parse(l.startTime);
    if (t < from || t >= to) continue;
    const d0 = dayStartMs(l.startTime);
    const whole = d0 >= from && d0 + 86_400_000 <= to;
    if ((opts.matchRaw || !whole) && !present.has(l.request_id)) continue;
    if (opts.scope?.kind === "user" && l.user !== opts.scope.userId) continue;
    if (opts.filters?.api_key !== undefined && l.api_key !== opts.filters.api_key) continue;
    if (opts.filters?.team_id !== undefined && l.team_id !== opts.filters.team_id) continue;
    const key = dim === null ? "total" : JSON.stringify(l[dim] ?? null);
    const s = out.get(key) ?? zeroSums();
    s.requests += 1;
    s.spend += l.spend;
    s.prompt_tokens += l.prompt_tokens;
    s.completion_tokens += l.completion_tokens;
    s.total_tokens += l.total_tokens;
    out.set(key, s);
  }
  return out;
}

// ---- the windows and queries checked after every step ----

const WHOLE = { from: null, to: null };
const WEEKS = { from: "2026-02-21T00:00:00.000Z", to: "2026-03-08T00:00:00.000Z" }; // week 02-23 whole
const OPEN_END = { from: "2026-02-22T00:00:00.000Z", to: null }; // weeks from 02-23 on
const PARTIAL = { from: "2026-02-21T20:30:00.000Z", to: "2026-03-06T03:15:00.500Z" };
const LATE_EDGES = { from: "2026-02-22T01:00:00.000Z", to: "2026-03-07T23:00:00.000Z" };
const FIRST_DAYS = { from: "2026-02-20T09:00:00.000Z", to: "2026-02-21T17:00:00.000Z" }; // retention days
const EDGE_MODES = ["raw", "complement", "auto"] as const;

/**
 * Each derived table is exactly the aggregate of its source table (no row missing, none extra, no row
 * left with zero requests): what 0005's triggers keep and 0006's guarded update must not break when an
 * update moves requests out of a week or a day.
 */
async function expectDerivedEqualSources(db: TestDb["db"], label: string): Promise<void> {
  await foldRollups(db); // inserted logs reach the rollup tables through the fold (migration 0010)
  const diff = await sql<{ t: string; n: number }>`
    WITH eu AS (SELECT day, end_user, sum(requests)::int8 AS requests, sum(total_tokens)::int8 AS tokens
        FROM spendlens.detail_daily GROUP BY 1, 2 HAVING sum(requests) <> 0),
      kw AS (SELECT (day - (((day - DATE '2001-01-01') % 7 + 7) % 7)) AS week, api_key, "user", team_id,
          organization_id, sum(requests)::int8 AS requests, sum(total_tokens)::int8 AS tokens
        FROM spendlens.key_daily GROUP BY 1, 2, 3, 4, 5 HAVING sum(requests) <> 0)
    SELECT 'end_user_daily' AS t, count(*)::int AS n FROM (
      (SELECT day, end_user, requests, total_tokens FROM spendlens.end_user_daily EXCEPT SELECT * FROM eu)
      UNION ALL (SELECT * FROM eu EXCEPT SELECT day, end_user, requests, total_tokens FROM spendlens.end_user_daily)) x
    UNION ALL
    SELECT 'key_weekly', count(*)::int FROM (
      (SELECT week, api_key, "user", team_id, organization_id, requests, total_tokens FROM spendlens.key_weekly
        EXCEPT SELECT * FROM kw)
      UNION ALL (SELECT * FROM kw EXCEPT SELECT week, api_key, "user", team_id, organization_id, requests,
        total_tokens FROM spendlens.key_weekly)) x
    UNION ALL
    SELECT 'empty rows', count(*)::int FROM (SELECT 1 FROM spendlens.end_user_daily WHERE requests <= 0
      UNION ALL SELECT 1 FROM spendlens.key_weekly WHERE requests <= 0) x`.execute(db);
  expect({ label, diff: diff.rows }).toEqual({
    label,
    diff: [
      { t: "end_user_daily", n: 0 },
      { t: "key_weekly", n: 0 },
      { t: "empty rows", n: 0 },
    ],
  });
}

async function checkAll(db: TestDb["db"], label: string): Promise<void> {
  // Spend per end user (end_user_daily), every edge mode, and a top-3 ranking over the same rows.
  for (const w of [WHOLE, WEEKS, PARTIAL, LATE_EDGES, FIRST_DAYS]) {
    for (const edges of EDGE_MODES) {
      const where = `${label}: end users ${JSON.stringify(w)} ${edges}`;
      const rows = await spendTotals(db, ALL, { window: w, dims: ["end_user"], edges });
      expectSums(
        new Map(rows.map((r) => [JSON.stringify(r.end_user ?? null), r])),
        brute("end_user", w),
        where,
      );
      const top = await spendTotals(db, ALL, {
        window: w,
        dims: ["end_user"],
        edges,
        orderBy: [{ by: "requests", desc: true }, { by: "end_user" }],
        limit: 3,
      });
      const want = [...brute("end_user", w).entries()]
        .sort((a, b) => b[1].requests - a[1].requests || (a[0] < b[0] ? -1 : 1))
        .slice(0, 3);
      expect(
        top.map((r) => r.requests),
        `${where} top 3`,
      ).toEqual(want.map(([, s]) => s.requests));
    }
    // Internal users never read end_user_daily (it has no user): detail_daily through its user index.
    const mine = await spendTotals(db, userScope("bob"), { window: w, dims: ["end_user"] });
    expectSums(
      new Map(mine.map((r) => [JSON.stringify(r.end_user ?? null), r])),
      brute("end_user", w, { scope: userScope("bob") }),
      `${label}: bob's end users ${JSON.stringify(w)}`,
    );
  }
  // Spend per key: whole weeks from key_weekly, the other days from key_daily.
  for (const w of [WHOLE, WEEKS, OPEN_END, PARTIAL]) {
    const q: SpendQuery = { window: w, dims: ["api_key"] };
    if (w !== PARTIAL) expect((await planOf(db, ALL, q)).weekly?.table, JSON.stringify(w)).toBe("key_weekly");
    const rows = await spendTotals(db, ALL, q);
    expectSums(
      new Map(rows.map((r) => [JSON.stringify(r.api_key ?? null), r])),
      brute("api_key", w),
      `${label}: keys ${JSON.stringify(w)}`,
    );
  }
  // A key's total (a filter: key_daily by its api_key index, never the weekly table).
  expect((await planOf(db, ALL, { window: WEEKS, filters: { api_key: "k2" } })).weekly).toBeNull();
  const [k2] = await spendTotals(db, ALL, { window: WEEKS, filters: { api_key: "k2" } });
  expectSums(new Map([["total", k2!]]), brute(null, WEEKS, { filters: { api_key: "k2" } }), `${label}: k2`);
  // Every end user ever: the skip scan (admins) and the grouped read (an internal user).
  const allEver = [...new Set([...counted.values()].map((l) => l.end_user))]
    .filter((u): u is string => u != null && u !== "")
    .sort();
  expect(await distinctEndUsers(db, ALL), `${label}: every end user`).toEqual(allEver);
  expect((await globalAllEndUsers(db, ALL)).end_users).toEqual(allEver);
  const bobEver = [...new Set([...counted.values()].filter((l) => l.user === "bob").map((l) => l.end_user))]
    .filter((u): u is string => u != null && u !== "")
    .sort();
  expect(await distinctEndUsers(db, userScope("bob")), `${label}: bob's end users ever`).toEqual(bobEver);
  // Log counts from the rollups equal a COUNT over the logs in the table, whatever the filters.
  const countCases: [SpendQuery["window"], Scope, Partial<Record<"api_key" | "team_id", string>>][] = [
    [WHOLE, ALL, {}],
    [PARTIAL, ALL, {}],
    [LATE_EDGES, ALL, { api_key: "k3" }],
    [FIRST_DAYS, ALL, {}],
    [WEEKS, ALL, { team_id: "t1" }],
    [PARTIAL, userScope("alice"), {}],
    [OPEN_END, userScope("carol"), { api_key: "k1" }],
  ];
  for (const [w, scope, filters] of countCases) {
    const toInclusive = w.to === null ? undefined : new Date(Date.parse(w.to) - 1).toISOString();
    const f = {
      ...filters,
      ...(w.from !== null ? { from: w.from } : {}),
      ...(toInclusive !== undefined ? { toInclusive } : {}),
    };
    // scanLimit 0: always from the rollups; the default counts these few logs directly.
    const n = await countSpendLogs(db, scope, f, { scanLimit: 0 });
    const direct = await countSpendLogs(db, scope, f);
    const want = brute(null, w, { scope, filters, matchRaw: true }).get("total")!.requests;
    const raw = await sql<{ n: number }>`SELECT count(*)::int AS n FROM "LiteLLM_SpendLogs"
      WHERE (${w.from}::text IS NULL OR "startTime" >= ${w.from}) AND (${w.to}::text IS NULL OR "startTime" < ${w.to})
        AND (${filters.api_key ?? null}::text IS NULL OR api_key = ${filters.api_key ?? null})
        AND (${filters.team_id ?? null}::text IS NULL OR team_id = ${filters.team_id ?? null})
        AND (${scope.kind === "user" ? scope.userId : null}::text IS NULL OR "user" = ${scope.kind === "user" ? scope.userId : null})`.execute(
      db,
    );
    expect(raw.rows[0]!.n, `${label}: the model matches the table`).toBe(want);
    expect(n, `${label}: count ${JSON.stringify([w, scope, filters])}`).toBe(want);
    expect(direct, `${label}: direct count ${JSON.stringify([w, scope, filters])}`).toBe(want);
  }
  // The derived tables equal their sources, row for row.
  await foldRollups(db);
  const eu = await sql<{ bad: number }>`SELECT count(*)::int AS bad FROM (
      SELECT day, end_user, sum(requests) AS r, sum(prompt_tokens) AS p, sum(total_tokens) AS t, sum(spend) AS s
      FROM spendlens.detail_daily GROUP BY 1, 2) a
    FULL JOIN spendlens.end_user_daily e ON e.day = a.day AND e.end_user IS NOT DISTINCT FROM a.end_user
    WHERE a.r IS DISTINCT FROM e.requests OR a.p IS DISTINCT FROM e.prompt_tokens OR a.t IS DISTINCT FROM e.total_tokens
      OR abs(a.s - e.spend) > 1e-9 OR a.s IS NULL OR e.spend IS NULL`.execute(db);
  expect(eu.rows[0]!.bad, `${label}: end_user_daily = detail_daily grouped`).toBe(0);
  const kw = await sql<{ bad: number }>`SELECT count(*)::int AS bad FROM (
      SELECT (day - (((day - DATE '2001-01-01') % 7 + 7) % 7)) AS week, api_key, "user", team_id, organization_id,
        sum(requests) AS r, sum(completion_tokens) AS c, sum(spend) AS s
      FROM spendlens.key_daily GROUP BY 1, 2, 3, 4, 5) a
    FULL JOIN spendlens.key_weekly k ON k.week = a.week AND k.api_key IS NOT DISTINCT FROM a.api_key
      AND k."user" IS NOT DISTINCT FROM a."user" AND k.team_id IS NOT DISTINCT FROM a.team_id
      AND k.organization_id IS NOT DISTINCT FROM a.organization_id
    WHERE a.r IS DISTINCT FROM k.requests OR a.c IS DISTINCT FROM k.completion_tokens
      OR abs(a.s - k.spend) > 1e-9 OR a.s IS NULL OR k.spend IS NULL`.execute(db);
  expect(kw.rows[0]!.bad, `${label}: key_weekly = key_daily per week`).toBe(0);
  const mondays = await sql<{ bad: number }>`SELECT count(*)::int AS bad FROM spendlens.key_weekly
    WHERE extract(isodow FROM week) <> 1`.execute(db);
  expect(mondays.rows[0]!.bad, `${label}: weeks are named by their Monday`).toBe(0);
}

// ---- the ways logs change ----

async function insertBatch(db: TestDb["db"], logs: Log[]): Promise<void> {
  await insertLogs(db, logs);
  model.inserted(logs);
}

/** As LiteLLM writes: one multi-row INSERT … VALUES, ON CONFLICT DO NOTHING. */
async function insertLikeLiteLLM(db: Kysely<any>, logs: Log[]): Promise<void> {
  await insertDirect(
    db,
    logColumns(["api_key", "model", "model_group", "user", "team_id", "organization_id", "end_user"]),
    logs,
  );
  model.inserted(logs);
}

/** The plan that runs for a spend query (the executor's own: schema facts of `db` included). */
async function planOf(db: TestDb["db"], scope: Scope, query: SpendQuery) {
  return (await planQuery(db, { kind: "spend", scope, query })).plan;
}

// ---- the test ----

const t = useTestDb({ now: NOW });
const rnd = prng(20260308);

describe("derived rollups, edge days and log counts equal brute-force sums over the logs", () => {
  it("the planner reads whole weeks of a per-key query from key_weekly and edge days by whichever part is smaller", async () => {
    const plan = (scope: Scope, q: SpendQuery) => planOf(t.db, scope, q);
    expect(await plan(ALL, { window: WEEKS, dims: ["api_key"] })).toEqual({
      measures: "spend",
      logTable: "LiteLLM_SpendLogs",
      dims: ["api_key"],
      filters: [],
      user: null,
      tags: null,
      table: "key_daily",
      fallback: null,
      rollupDays: { from: "2026-02-21", to: "2026-03-08" },
      rawRanges: [],
      complements: [],
      weekly: { table: "key_weekly", from: "2026-02-23", to: "2026-03-02" },
      dirtyDays: { matchRaw: false },
      nullColumns: [],
      orderBy: [],
      limit: null,
    });
    // Per day, per user scope, or filtered: key_daily alone.
    expect((await plan(ALL, { window: WEEKS, dims: ["api_key", "day"] })).weekly).toBeNull();
    expect((await plan(userScope("bob"), { window: WEEKS, dims: ["api_key"] })).weekly).toBeNull();
    // Fewer than one whole week: no weekly table.
    const short = { from: "2026-02-24T00:00:00.000Z", to: "2026-03-01T00:00:00.000Z" };
    expect((await plan(ALL, { window: short, dims: ["api_key"] })).weekly).toBeNull();
    // End users: end_user_daily. The window ends 3 h before now: the rest of that day up to now (3 h)
    // is less than the 12 h inside the window, so it is subtracted; the start edge (the last 3.5 h of
    // its day) is read raw.
    const p = await plan(ALL, {
      window: { from: "2026-02-21T20:30:00.000Z", to: "2026-03-08T12:00:00.000Z" },
      dims: ["end_user"],
    });
    expect(p.table).toBe("end_user_daily");
    expect(p.rawRanges).toEqual([{ from: "2026-02-21T20:30:00.000Z", to: "2026-02-22T00:00:00.000Z" }]);
    expect(p.complements).toEqual([
      {
        day: "2026-03-08",
        part: { from: "2026-03-08T00:00:00.000Z", to: "2026-03-08T12:00:00.000Z" },
        complement: { from: "2026-03-08T12:00:00.000Z", to: "2026-03-09T00:00:00.000Z" },
      },
    ]);
    expect(
      (await plan(ALL, { window: PARTIAL, dims: ["end_user"], edges: "complement" })).complements,
    ).toHaveLength(2);
    // A database without migration 0005's tables: the same queries read the derived tables' sources,
    // and the plan says so (the planner is a pure function of the request and the schema facts).
    const old = { ...(await schemaFacts(t.db)), derivedGrains: false };
    const endUsers = planPure(
      { kind: "spend", scope: ALL, query: { window: WEEKS, dims: ["end_user"] } },
      old,
    );
    expect(endUsers.table).toBe("detail_daily");
    expect(endUsers.fallback).toBe(
      "end_user_daily is missing (migration 0005 not run): detail_daily instead",
    );
    const keys = planPure({ kind: "spend", scope: ALL, query: { window: WEEKS, dims: ["api_key"] } }, old);
    expect([keys.table, keys.weekly, keys.fallback]).toEqual(["key_daily", null, null]);
    // An older LiteLLM's table without organization_id: read as NULL from the raw logs.
    const noOrg = {
      ...old,
      spendLogColumns: new Set([...old.spendLogColumns].filter((c) => c !== "organization_id")),
    };
    const org = planPure(
      { kind: "spend", scope: ALL, query: { window: PARTIAL, dims: ["organization_id"] } },
      noOrg,
    );
    expect([org.table, org.nullColumns]).toEqual(["team_daily", ["organization_id"]]);
    expect(render(org).compile(t.db).sql).toContain('NULL::text AS "organization_id"');
    // The same planner and renderer for the other measure sets (explainQuery: plan + SQL, not run).
    const errors = await explainQuery(t.db, {
      kind: "errors",
      scope: ALL,
      query: { window: PARTIAL, dims: ["day"] },
    });
    expect(errors.plan).toMatchObject({
      measures: "errors",
      logTable: "LiteLLM_ErrorLogs",
      table: "error_daily",
    });
    expect([errors.plan.rawRanges.length, errors.plan.complements.length]).toEqual([2, 0]);
    expect(errors.sql).toContain('"error_daily"');
    const bobTags = await explainQuery(t.db, {
      kind: "tagRequests",
      scope: userScope("bob"),
      query: { window: WEEKS },
    });
    expect(bobTags.plan).toMatchObject({ table: "user_tag_request_daily", user: "bob", tags: "distinct" });
    expect(bobTags.parameters).toContain("bob");
    await expect(
      explainQuery(t.db, { kind: "errors", scope: userScope("bob"), query: { window: WEEKS } }),
    ).rejects.toThrow(/admins only/);
  });

  it("after inserts (batches, LiteLLM-style VALUES, duplicates, late logs)", async () => {
    for (let b = 0; b < 3; b++)
      await insertBatch(
        t.db,
        Array.from({ length: 150 }, () => randomLog(rnd)),
      );
    await insertLikeLiteLLM(
      t.db,
      Array.from({ length: 120 }, () => randomLog(rnd)),
    );
    for (let i = 0; i < 5; i++) await insertLikeLiteLLM(t.db, [randomLog(rnd)]);
    await insertLogs(
      t.db,
      [...counted.values()].slice(0, 30).map((l) => ({ ...l, spend: l.spend + 5 })),
    );
    await insertBatch(
      t.db,
      Array.from({ length: 40 }, () => randomLog(rnd, DAYS[1]!)),
    );
    expect((await rollupStatus(t.db)).dirtyDays).toEqual([]);
    await checkAll(t.db, "inserts");
  });

  it("after updates that move logs between end users, keys, days and weeks", async () => {
    const upd = model
      .presentLogs()
      .filter(() => rnd() < 0.3)
      .map((l) => ({
        ...l,
        spend: Math.round(rnd() * 1e6) / 1e5,
        end_user: rnd() < 0.4 ? pick(rnd, ["c1", "c6", "", null]) : l.end_user,
        api_key: rnd() < 0.3 ? pick(rnd, ["k1", "k6"]) : l.api_key,
        startTime: rnd() < 0.3 ? randomTime(rnd, pick(rnd, DAYS), 0.1) : l.startTime,
      }));
    await updateLogs(t.db, model, upd, ["spend", "end_user", "api_key", "startTime"]);
    await checkAll(t.db, "updates");
    await expectDerivedEqualSources(t.db, "updates");
  });

  it("an update that takes every request out of a derived row removes that row", async () => {
    // One (day, end user) and one (ISO week, key) that hold logs: move all of them elsewhere.
    const withEndUser = [...present].map((id) => counted.get(id)!).filter((l) => l.end_user);
    const victim = withEndUser[0]!;
    const day = victim.startTime.slice(0, 10);
    const sameDayUser = withEndUser.filter(
      (l) => l.end_user === victim.end_user && l.startTime.slice(0, 10) === day,
    );
    await foldRollups(t.db);
    const before = await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.end_user_daily
      WHERE day = ${day}::date AND end_user = ${victim.end_user}`.execute(t.db);
    expect(before.rows[0]!.n).toBe(1);
    const ids = sameDayUser.map((l) => l.request_id);
    await sql`UPDATE "LiteLLM_SpendLogs" SET end_user = 'c-moved' WHERE request_id = ANY(${ids}::text[])`.execute(
      t.db,
    );
    for (const id of ids) counted.set(id, { ...counted.get(id)!, end_user: "c-moved" });
    const after = await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.end_user_daily
      WHERE day = ${day}::date AND end_user = ${victim.end_user}`.execute(t.db);
    expect(after.rows[0]!.n).toBe(0);
    // Every log of one key moves to a new key: its key_weekly rows go.
    const key = victim.api_key;
    const ofKey = [...present].filter((id) => counted.get(id)!.api_key === key);
    await sql`UPDATE "LiteLLM_SpendLogs" SET api_key = 'k-moved' WHERE request_id = ANY(${ofKey}::text[])`.execute(
      t.db,
    );
    for (const id of ofKey) counted.set(id, { ...counted.get(id)!, api_key: "k-moved" });
    const left = await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.key_weekly
      WHERE api_key = ${key}`.execute(t.db);
    expect(left.rows[0]!.n).toBe(0);
    await expectDerivedEqualSources(t.db, "emptied by updates");
    await checkAll(t.db, "emptied by updates");
  });

  it("retention in keep mode: reports keep the totals, log counts follow the table, edge days stay raw", async () => {
    // Drop the raw logs of the first day and of the second day's morning.
    const cutoff = `${DAYS[1]}T10:00:00.000Z`;
    await deleteLogsBefore(t.db, model, cutoff);
    expect((await rollupStatus(t.db)).rawDeletedDays).toEqual([DAYS[0], DAYS[1]]);
    expect(present.size).toBeLessThan(counted.size);
    // FIRST_DAYS and PARTIAL have edges on those days: "complement" must fall back to raw there.
    await checkAll(t.db, "retention");
  });

  it("subtract-mode deletes", async () => {
    await setRollupDeleteMode(t.db, "subtract");
    await deleteLogs(
      t.db,
      model,
      [...present].filter(() => rnd() < 0.15),
      "subtracted",
    );
    await checkAll(t.db, "subtract");
    await expectDerivedEqualSources(t.db, "subtract");
    await setRollupDeleteMode(t.db, "keep");
  });

  it("while paused the touched days (and weeks) are read raw; a rebuild refills every table", async () => {
    await pauseRollups(t.db);
    await insertBatch(
      t.db,
      Array.from({ length: 80 }, () => randomLog(rnd, pick(rnd, DAYS.slice(5, 12)))),
    );
    const st = await rollupStatus(t.db);
    expect(st.dirtyDays.length).toBeGreaterThan(0);
    await checkAll(t.db, "paused");
    await resumeRollups(t.db);
    await rebuildRollups(t.db);
    expect((await rollupStatus(t.db)).dirtyDays).toEqual([]);
    await checkAll(t.db, "rebuilt");
  });

  it("a wrong rollup row on a dirty day is never read, through the derived tables either", async () => {
    // Corrupt one day in detail_daily and key_daily (the derived triggers carry it into end_user_daily
    // and key_weekly), then mark it dirty: every answer must come from the raw logs for that day.
    const day = DAYS[9]!;
    await foldRollups(t.db);
    await sql`UPDATE spendlens.detail_daily SET spend = spend + 100, requests = requests + 7 WHERE day = ${day}::date`.execute(
      t.db,
    );
    await sql`UPDATE spendlens.key_daily SET spend = spend + 100, requests = requests + 7 WHERE day = ${day}::date`.execute(
      t.db,
    );
    const bad = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM spendlens.end_user_daily WHERE day = ${day}::date
      AND requests > 7`.execute(t.db);
    expect(bad.rows[0]!.n).toBeGreaterThan(0);
    await sql`SELECT spendlens.rollups_mark_dirty(ARRAY[${day}::date], 'test')`.execute(t.db);
    await checkAll(t.db, "dirty day");
    await rebuildRollups(t.db);
    await checkAll(t.db, "repaired");
  });

  it("the reports that read them: top end users, every end user, top keys, the logs page total", async () => {
    const top = await globalSpendEndUsers(t.db, ALL, {
      startTime: { kind: "instant", iso: "2026-02-22T13:00:00.000Z" },
      endTime: { kind: "instant", iso: "2026-03-08T14:00:00.000Z" },
    });
    const w = { from: "2026-02-22T13:00:00.000Z", to: "2026-03-08T14:00:00.000Z" };
    const want = [...brute("end_user", w).entries()]
      .filter(([k]) => k !== "null" && k !== '""')
      .map(([k, s]) => ({ end_user: JSON.parse(k) as string, total_count: s.requests, total_spend: s.spend }))
      .sort((a, b) => b.total_spend - a.total_spend || (a.end_user < b.end_user ? -1 : 1));
    expect(top.map((r) => [r.end_user, r.total_count])).toEqual(want.map((r) => [r.end_user, r.total_count]));
    for (const [i, r] of top.entries()) expect(r.total_spend).toBeCloseTo(want[i]!.total_spend, 9);

    // Top keys over the last 30 days (from UTC midnight 30 days before NOW: every day here).
    const keys = await globalSpendKeys(t.db, ALL, { limit: 3 });
    const wantKeys = [...brute("api_key", { from: "2026-02-06T00:00:00.000Z", to: null }).entries()]
      .map(([k, s]) => ({ api_key: JSON.parse(k) as string, spend: s.spend }))
      .sort((a, b) => b.spend - a.spend || (a.api_key < b.api_key ? -1 : 1))
      .slice(0, 3);
    expect(keys.map((k) => k.api_key)).toEqual(wantKeys.map((k) => k.api_key));
    for (const [i, k] of keys.entries()) expect(k.total_spend).toBeCloseTo(wantKeys[i]!.spend, 9);

    // /spend/logs/ui: the total and the first page (from the logs) agree.
    const page = await spendLogsUi(t.db, ALL, {
      start_date: "2026-02-21T06:00:00.000Z",
      end_date: "2026-03-08T23:59:59.000Z",
      page: 1,
      page_size: 5,
    });
    const n = brute(
      null,
      { from: "2026-02-21T06:00:00.000Z", to: "2026-03-08T23:59:59.001Z" },
      { matchRaw: true },
    );
    expect(page.total).toBe(n.get("total")!.requests);
    expect(page.total_pages).toBe(Math.ceil(page.total / 5));
    expect(page.data).toHaveLength(5);
    // A spend bound cannot come from the rollups: counted over the logs, still exact.
    const bounded = await spendLogsUi(t.db, ALL, {
      start_date: "2026-02-21T06:00:00.000Z",
      end_date: "2026-03-08T23:59:59.000Z",
      min_spend: 5,
      page: 1,
      page_size: 2,
    });
    const wantBounded = [...counted.values()].filter(
      (l) =>
        present.has(l.request_id) &&
        l.spend >= 5 &&
        l.startTime >= "2026-02-21T06:00:00.000Z" &&
        l.startTime <= "2026-03-08T23:59:59.000Z",
    ).length;
    expect(bounded.total).toBe(wantBounded);
  });

  it("TRUNCATE in subtract mode empties the derived tables with their sources", async () => {
    await setRollupDeleteMode(t.db, "subtract");
    await sql`TRUNCATE "LiteLLM_SpendLogs"`.execute(t.db);
    model.clear();
    const n = await sql<{ n: number }>`SELECT (SELECT count(*) FROM spendlens.end_user_daily)
      + (SELECT count(*) FROM spendlens.key_weekly) AS n`.execute(t.db);
    expect(Number(n.rows[0]!.n)).toBe(0);
    await checkAll(t.db, "truncated");
    await setRollupDeleteMode(t.db, "keep");
  });
});
