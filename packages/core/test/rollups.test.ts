import { type Kysely, sql } from "kysely";
import { describe, expect, it } from "vitest";
import {
  ALL,
  type DemoErrorLog,
  type DemoLog,
  type ErrorQuery,
  errorTotals,
  pauseRollups,
  prng,
  rebuildRollups,
  resumeRollups,
  rollupStatus,
  type Scope,
  type SpendQuery,
  setRollupDeleteMode,
  spendTotals,
  userScope,
} from "../src/internal.ts";
import { SPEND_DIMS } from "../src/rollups/grains.ts";
import { expectAttachedWithoutIndexes } from "../src/testing/expectations.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import {
  applyMigration,
  applyMigrationsBefore,
  createOlderSpendLogs,
  insertErrorLogs,
  insertLogs,
  makeErrorLog,
  makeLog,
  type TestDb,
  testEngine,
} from "../src/testing/index.ts";
import { deleteLogs, deleteLogsBefore, LogModel, swappedAll, updateLogs } from "../src/testing/logModel.ts";
import {
  copyIn as copyDirect,
  insertLikeLiteLLM as insertDirect,
  logColumns,
  NON_ARRAY_TAGS,
  pick,
  randomIdAndUsage,
  randomTime,
} from "../src/testing/writePaths.ts";
import { expectSums, type Sums, zeroSums } from "./sums.ts";

/**
 * Property test: random streams of spend and error logs, written every way a log reaches the table
 * (spendlens's batch insert, LiteLLM-style multi-row VALUES, single rows, INSERT ... ON CONFLICT DO
 * UPDATE, COPY on Postgres, late logs, duplicates, updates, deletes), and after each step every
 * rollup-derived total must equal a brute-force sum over the logs computed here in the test.
 */

type Log = DemoLog & { organization_id: string | null; request_tags: string | null };

// The days span a month boundary; times include both sides of UTC midnight.
const DAYS = ["2026-02-26", "2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02", "2026-03-03"];
const TAG_VALUES = [
  "[]",
  '["prod"]',
  '["prod", "chat"]',
  '["chat", "rag", "batch"]',
  '["prod", "prod"]', // a repeated tag counts once per element, as jsonb_array_elements_text does
  '["x", 7]', // a number element is the tag "7"
  ...NON_ARRAY_TAGS,
];

function randomLog(rnd: () => number, day = pick(rnd, DAYS)): Log {
  return {
    ...makeLog({ startTime: randomTime(rnd, day, 0.12) }),
    ...randomIdAndUsage(rnd, "p"),
    api_key: pick(rnd, ["k1", "k2", "k3", "k4", ""]),
    user: pick(rnd, ["alice", "bob", "carol", "", null]) as string,
    team_id: pick(rnd, ["t1", "t2", "", null]),
    organization_id: pick(rnd, ["o1", null]),
    end_user: pick(rnd, ["c1", "c2", "c3", "", null]),
    model: pick(rnd, ["gpt-4o", "claude", "azure/gpt-4o"]),
    model_group: pick(rnd, ["gpt-4o", "claude", "", null]) as string,
    model_id: pick(rnd, ["m1", "m2", ""]),
    custom_llm_provider: pick(rnd, ["openai", "anthropic", "azure", null]) as string,
    api_base: pick(rnd, ["https://a", "https://b", null]) as string,
    request_tags: pick(rnd, TAG_VALUES) as string,
  };
}

// ---- the model: what the rollups must reflect ----

const model = new LogModel<Log>();
const errorModel = new LogModel<DemoErrorLog>();
const { counted, present } = model;
const { counted: countedErrors, present: presentErrors } = errorModel;

function tagsOf(json: string | null): (string | null)[] {
  if (json === null) return [];
  const v = JSON.parse(json) as unknown;
  if (!Array.isArray(v)) return [];
  return v.map((e) => (e === null ? null : typeof e === "string" ? e : JSON.stringify(e)));
}

function matches(v: string | null, f: string | null | readonly (string | null)[]): boolean {
  return typeof f === "string" || f === null ? v === f : f.includes(v);
}

function wholeDayInside(startTime: string, from: number, to: number): boolean {
  const dayStart = Date.parse(`${startTime.slice(0, 10)}T00:00:00.000Z`);
  return dayStart >= from && dayStart + 86_400_000 <= to;
}

/**
 * The brute-force answer: a plain loop over the model. `rawOnly`: a query no rollup grain covers reads
 * the raw logs alone, so logs deleted by retention are not in it.
 */
function bruteSpend(q: SpendQuery, scope: Scope, rawOnly: boolean): Map<string, Sums> {
  const dims = q.dims ?? [];
  const filters = (q.filters ?? {}) as Record<string, string | null | (string | null)[]>;
  const tagQuery = dims.includes("tag") || "tag" in filters;
  const split = (q.attribution ?? "split") === "split";
  const from = q.window.from === null ? -Infinity : Date.parse(q.window.from);
  const to = q.window.to === null ? Infinity : Date.parse(q.window.to);
  const out = new Map<string, Sums>();
  if (!dims.length) out.set("[]", zeroSums());
  for (const l of counted.values()) {
    const t = Date.parse(l.startTime);
    if (t < from || t >= to) continue;
    // Totals are kept per whole UTC day; a day the window covers only in part is read from the raw
    // logs, so logs deleted by retention are gone from it.
    if ((rawOnly || !wholeDayInside(l.startTime, from, to)) && !present.has(l.request_id)) continue;
    if (scope.kind === "user" && l.user !== scope.userId) continue;
    const tags = tagsOf(l.request_tags);
    const units: { tag: string | null; share: number }[] = tagQuery
      ? tags.map((tag) => ({ tag, share: split ? 1 / tags.length : 1 }))
      : [{ tag: null, share: 1 }];
    for (const u of units) {
      const value = (d: string): string | null =>
        d === "day" ? l.startTime.slice(0, 10) : d === "tag" ? u.tag : ((l as any)[d] ?? null);
      if (!Object.entries(filters).every(([k, f]) => matches(value(k), f))) continue;
      const key = JSON.stringify(dims.map(value));
      const s = out.get(key) ?? zeroSums();
      s.requests += 1;
      s.spend += split && tagQuery ? l.spend / tags.length : l.spend;
      s.prompt_tokens += l.prompt_tokens;
      s.completion_tokens += l.completion_tokens;
      s.total_tokens += l.total_tokens;
      out.set(key, s);
    }
  }
  return out;
}

function bruteErrors(q: ErrorQuery): Map<string, number> {
  const dims = q.dims ?? [];
  const filters = (q.filters ?? {}) as Record<string, string | null | (string | null)[]>;
  const from = q.window.from === null ? -Infinity : Date.parse(q.window.from);
  const to = q.window.to === null ? Infinity : Date.parse(q.window.to);
  const out = new Map<string, number>();
  if (!dims.length) out.set("[]", 0);
  for (const e of countedErrors.values()) {
    const t = Date.parse(e.startTime);
    if (t < from || t >= to) continue;
    if (!wholeDayInside(e.startTime, from, to) && !presentErrors.has(e.request_id)) continue;
    const value = (d: string): string | null => (d === "day" ? e.startTime.slice(0, 10) : (e as any)[d]);
    if (!Object.entries(filters).every(([k, f]) => matches(value(k), f))) continue;
    const key = JSON.stringify(dims.map(value));
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

// ---- the queries checked after every step ----

const WHOLE: SpendQuery["window"] = { from: null, to: null };
const DAYS_WINDOW = { from: "2026-02-27T00:00:00.000Z", to: "2026-03-02T00:00:00.000Z" };
const PARTIAL = { from: "2026-02-26T13:30:00.000Z", to: "2026-03-02T06:15:00.500Z" };
const INSIDE_ONE_DAY = { from: "2026-02-28T01:00:00.000Z", to: "2026-02-28T23:00:00.000Z" };
const OPEN_END = { from: "2026-03-01T00:00:00.000Z", to: null };

/** [name, query, scope, answered from the raw logs only (no grain covers it)] */
const SPEND_QUERIES: [string, SpendQuery, Scope, boolean?][] = [
  ["total", { window: WHOLE }, ALL],
  ["per day", { window: WHOLE, dims: ["day"] }, ALL],
  ["per key", { window: DAYS_WINDOW, dims: ["api_key"] }, ALL],
  ["per model_group per day", { window: PARTIAL, dims: ["day", "model_group"] }, ALL],
  ["per team", { window: OPEN_END, dims: ["team_id", "organization_id"] }, ALL],
  ["per end user", { window: PARTIAL, dims: ["end_user"] }, ALL],
  ["per provider", { window: WHOLE, dims: ["custom_llm_provider", "model_id"] }, ALL],
  ["per tag (split)", { window: WHOLE, dims: ["tag"] }, ALL],
  ["per tag (full)", { window: PARTIAL, dims: ["tag"], attribution: "full" }, ALL],
  ["per tag per day", { window: DAYS_WINDOW, dims: ["day", "tag"] }, ALL],
  ["one tag, no dims", { window: WHOLE, filters: { tag: "prod" }, attribution: "full" }, ALL],
  ["tag with another dim (raw)", { window: PARTIAL, dims: ["tag", "model"] }, ALL, true],
  ["every dim", { window: PARTIAL, dims: ["day", ...SPEND_DIMS] }, ALL],
  [
    "filters with NULL and lists",
    { window: WHOLE, dims: ["user"], filters: { team_id: [null, "t1"], end_user: null } },
    ALL,
  ],
  ["key filter per day", { window: DAYS_WINDOW, dims: ["day"], filters: { api_key: "k2" } }, ALL],
  ["within one day (raw)", { window: INSIDE_ONE_DAY, dims: ["model_group"] }, ALL, true],
  ["scoped total", { window: WHOLE }, userScope("alice")],
  ["scoped per day per model", { window: PARTIAL, dims: ["day", "model_group"] }, userScope("bob")],
  ["scoped per tag (raw)", { window: WHOLE, dims: ["tag"] }, userScope("carol"), true],
  ["scoped empty-string user", { window: WHOLE, dims: ["api_key"] }, userScope("")],
];

const ERROR_QUERIES: [string, ErrorQuery][] = [
  ["errors per day", { window: WHOLE, dims: ["day"] }],
  [
    "429s of a group per day",
    { window: PARTIAL, dims: ["day"], filters: { model_group: "gpt-4o", status_code: "429" } },
  ],
  ["per deployment", { window: DAYS_WINDOW, dims: ["api_base", "model_group"] }],
  ["total", { window: OPEN_END }],
];

async function checkAll(db: TestDb["db"], label: string): Promise<void> {
  for (const [name, q, scope, rawOnly] of SPEND_QUERIES) {
    const rows = await spendTotals(db, scope, q);
    const got = new Map(rows.map((r) => [JSON.stringify((q.dims ?? []).map((d) => r[d] ?? null)), r]));
    expectSums(got, bruteSpend(q, scope, rawOnly ?? false), `${label}: ${name}`);
  }
  for (const [name, q] of ERROR_QUERIES) {
    const rows = await errorTotals(db, ALL, q);
    const got = new Map(rows.map((r) => [JSON.stringify((q.dims ?? []).map((d) => r[d] ?? null)), r.errors]));
    expect(got, `${label}: ${name}`).toEqual(bruteErrors(q));
  }
}

// ---- the ways logs reach the table ----

/** Every column the rollup grains group by, as the full-width write paths write them. */
const DIMENSION_COLUMNS = SPEND_DIMS;

/** spendlens's batch insert (insertLogBatch) writes no organization_id. */
async function insertBatch(db: TestDb["db"], logs: Log[]): Promise<void> {
  for (const l of logs) l.organization_id = null;
  await insertLogs(db, logs);
  model.inserted(logs);
}

/** As LiteLLM writes: one multi-row INSERT ... VALUES with ON CONFLICT DO NOTHING (prisma skipDuplicates). */
const insertLikeLiteLLM = (db: Kysely<any>, logs: Log[]) =>
  insertDirect(db, logColumns(["call_type", ...DIMENSION_COLUMNS], "jsonb"), logs);

/** LiteLLM-style upsert: new rows are inserted, existing ones get the new spend and tags. */
async function upsertLikeLiteLLM(db: Kysely<any>, logs: Log[]): Promise<void> {
  await insertDirect(
    db,
    logColumns(["api_key", "model", "model_group", "user", "team_id", "end_user"], "jsonb"),
    logs,
    { update: ["spend", "request_tags"] },
  );
  model.upserted(logs, ["spend", "request_tags"], (l) => ({
    ...l,
    model_id: "",
    custom_llm_provider: "",
    api_base: "",
    organization_id: null,
  }));
}

async function copyIn(t: TestDb, logs: Log[]): Promise<void> {
  await copyDirect(t, logColumns(DIMENSION_COLUMNS, "text"), logs);
  model.inserted(logs);
}

async function insertErrorsDirect(db: Kysely<any>, errs: DemoErrorLog[]): Promise<void> {
  const rows = errs.map(
    (e) =>
      sql`(${e.request_id}, ${e.startTime}, ${e.endTime}, ${e.api_base}, ${e.model_group}, ${e.model_id}, ${e.exception_type}, ${e.status_code})`,
  );
  await sql`INSERT INTO "LiteLLM_ErrorLogs" (request_id, "startTime", "endTime", api_base, model_group, model_id,
      exception_type, status_code) VALUES ${sql.join(rows)}`.execute(db);
  errorModel.inserted(errs);
}

let errorSeq = 0;
function randomError(rnd: () => number, day = pick(rnd, DAYS)): DemoErrorLog {
  errorSeq++;
  return makeErrorLog({
    request_id: `pe-${errorSeq}-${Math.floor(rnd() * 1e9)}`,
    startTime: randomTime(rnd, day, 0.12),
    model_group: pick(rnd, ["gpt-4o", "claude", ""]),
    api_base: pick(rnd, ["https://a", "https://b", ""]),
    model_id: pick(rnd, ["m1", "m2"]),
    status_code: pick(rnd, ["429", "429", "500"]),
    exception_type: pick(rnd, ["RateLimitError", "InternalServerError"]),
  });
}

// ---- the test ----

const t = useTestDb();
const rnd = prng(20260301);

describe("rollups equal a brute-force sum over the logs", () => {
  it("after inserts by every path: batches, LiteLLM-style VALUES, single rows, COPY, duplicates, late logs", async () => {
    // spendlens's batch insert (INSERT ... SELECT FROM unnest ON CONFLICT DO NOTHING)
    for (let b = 0; b < 4; b++) {
      const logs = Array.from({ length: 150 }, () => randomLog(rnd, pick(rnd, DAYS.slice(3))));
      await insertBatch(t.db, logs);
    }
    await checkAll(t.db, "batches");
    // LiteLLM writing straight into the table, and single-row statements
    const direct = Array.from({ length: 120 }, () => randomLog(rnd));
    await insertLikeLiteLLM(t.db, direct);
    model.inserted(direct);
    for (let i = 0; i < 8; i++) {
      const one = randomLog(rnd);
      await insertLikeLiteLLM(t.db, [one]);
      model.inserted([one]);
    }
    // duplicates: the same request ids again (some with other content) count once
    const dups = [...counted.values()].slice(0, 40).map((l) => ({ ...l, spend: l.spend + 1 }));
    await insertLogs(t.db, dups);
    await insertLikeLiteLLM(t.db, dups.slice(0, 10));
    // late logs: old days arriving after newer ones
    const late = Array.from({ length: 60 }, () => randomLog(rnd, DAYS[0]!));
    await insertBatch(t.db, late);
    if (testEngine() === "postgres") {
      const copied = Array.from({ length: 200 }, () => randomLog(rnd));
      await copyIn(t, copied);
    }
    const errs = Array.from({ length: 80 }, () => randomError(rnd));
    await insertErrorLogs(t.db, errs.slice(0, 50));
    errorModel.inserted(errs.slice(0, 50));
    await insertErrorsDirect(t.db, errs.slice(50));
    await checkAll(t.db, "inserts");
    expect((await rollupStatus(t.db)).dirtyDays).toEqual([]);
  });

  it("after updates: spend, day, user and tags changed in place, upserts, and updates that change nothing relevant", async () => {
    const upd = model
      .presentLogs()
      .filter(() => rnd() < 0.25)
      .map((l) => ({
        ...l,
        spend: Math.round(rnd() * 1e6) / 1e5,
        startTime: rnd() < 0.3 ? randomTime(rnd, pick(rnd, DAYS), 0.12) : l.startTime,
        user: rnd() < 0.3 ? (pick(rnd, ["alice", "bob", null]) as string) : l.user,
        request_tags: rnd() < 0.3 ? (pick(rnd, TAG_VALUES) as string) : l.request_tags,
      }));
    // One UPDATE statement for all of them (old and new rows meet in the transition tables).
    await updateLogs(t.db, model, upd, ["spend", "startTime", "user", "request_tags"]);
    await checkAll(t.db, "update");
    // An update of columns rollups do not read changes nothing.
    await sql`UPDATE "LiteLLM_SpendLogs" SET metadata = '{"touched": true}'::jsonb, status = 'success'`.execute(
      t.db,
    );
    // Upserts: some existing ids get new spend and tags, some ids are new.
    const existing = [...present].slice(0, 15).map((id) => ({
      ...counted.get(id)!,
      spend: Math.round(rnd() * 1e6) / 1e5,
      request_tags: pick(rnd, TAG_VALUES) as string,
    }));
    const fresh = Array.from({ length: 10 }, () => randomLog(rnd));
    await upsertLikeLiteLLM(t.db, [...existing, ...fresh]);
    // Error logs: a status change moves a row between groups.
    const eids = [...presentErrors].slice(0, 20);
    await sql`UPDATE "LiteLLM_ErrorLogs" SET status_code = '503' WHERE request_id = ANY(${eids}::text[])`.execute(
      t.db,
    );
    for (const id of eids) countedErrors.set(id, { ...countedErrors.get(id)!, status_code: "503" });
    await checkAll(t.db, "upserts");
  });

  it("deletes keep the totals by default (retention); subtract mode subtracts; a rebuild leaves kept days alone", async () => {
    const st0 = await rollupStatus(t.db);
    expect(st0.deleteMode).toBe("keep");
    // Retention: drop the raw logs before noon of the third day; totals stay (the model keeps them counted).
    const cutoff = `${DAYS[2]}T12:00:00.000Z`;
    await deleteLogsBefore(t.db, model, cutoff);
    await deleteLogsBefore(t.db, errorModel, cutoff, "LiteLLM_ErrorLogs");
    await checkAll(t.db, "after retention");
    const raw = await sql<{ n: number }>`SELECT count(*)::int AS n FROM "LiteLLM_SpendLogs"`.execute(t.db);
    expect(raw.rows[0]!.n).toBe(present.size); // the raw table did shrink
    expect(present.size).toBeLessThan(counted.size);
    const st1 = await rollupStatus(t.db);
    expect(st1.rawDeletedDays).toEqual([DAYS[0], DAYS[1], DAYS[2]]);
    // A full rebuild recomputes the days that have raw logs, but skips a day whose totals were kept
    // (the third day still has raw logs after noon); the emptied days are outside its range anyway.
    const rb = await rebuildRollups(t.db, { scope: "all", chunkDays: 2 });
    expect(rb.skippedRawDeleted).toEqual([DAYS[2]]);
    expect(rb.days).toBe(3);
    await checkAll(t.db, "after rebuild");

    // Subtract mode: a delete takes the rows out of the totals.
    await setRollupDeleteMode(t.db, "subtract");
    await deleteLogs(
      t.db,
      model,
      [...present].filter(() => rnd() < 0.2),
      "subtracted",
    );
    const evictims = [...presentErrors].slice(0, 5);
    await deleteLogs(t.db, errorModel, evictims, "subtracted", "LiteLLM_ErrorLogs");
    await checkAll(t.db, "subtract deletes");
    await setRollupDeleteMode(t.db, "keep");
  });

  it("while paused, the touched days are answered from the raw logs; a rebuild makes them clean", async () => {
    await pauseRollups(t.db);
    const logs = Array.from({ length: 100 }, () => randomLog(rnd, pick(rnd, DAYS.slice(3))));
    await insertBatch(t.db, logs);
    // Error logs too: while paused only the raw table has them (read through error_logs_of_days).
    await insertErrorsDirect(
      t.db,
      Array.from({ length: 40 }, () => randomError(rnd, pick(rnd, DAYS.slice(3)))),
    );
    const st = await rollupStatus(t.db);
    expect(st.status).toBe("paused");
    expect(st.dirtyDays.length).toBeGreaterThan(0);
    expect(st.dirtyDays.every((d) => d.reason === "paused")).toBe(true);
    await checkAll(t.db, "paused");
    await resumeRollups(t.db);
    const r = await rebuildRollups(t.db);
    expect(r.days).toBe(st.dirtyDays.length);
    expect((await rollupStatus(t.db)).dirtyDays).toEqual([]);
    await checkAll(t.db, "rebuilt");
  });

  it("a failing rollup write marks its days dirty and lets the log write succeed; answers stay exact", async () => {
    // Make one rollup table refuse rows (as a bug or a full disk on that table would).
    await sql`ALTER TABLE spendlens.key_daily ADD CONSTRAINT test_refuse CHECK (spend < 1000)`.execute(t.db);
    const big = randomLog(rnd, DAYS[4]!);
    big.spend = 5000;
    await insertBatch(t.db, [big]);
    const st = await rollupStatus(t.db);
    expect(st.dirtyDays.map((d) => d.day)).toEqual([DAYS[4]]);
    expect(st.dirtyDays[0]!.reason).toMatch(/test_refuse/);
    await checkAll(t.db, "dirty day");
    await sql`ALTER TABLE spendlens.key_daily DROP CONSTRAINT test_refuse`.execute(t.db);
    await rebuildRollups(t.db);
    expect((await rollupStatus(t.db)).dirtyDays).toEqual([]);
    await checkAll(t.db, "repaired");
  });

  it("concurrent writers with overlapping keys in opposite orders neither deadlock nor lose a log", async () => {
    const batches = Array.from({ length: 8 }, (_, i) => {
      const logs = Array.from({ length: 60 }, () => randomLog(rnd, pick(rnd, DAYS.slice(2))));
      return i % 2 ? logs.reverse() : logs;
    });
    for (const [i, b] of batches.entries()) if (i % 2) for (const l of b) l.organization_id = null;
    await Promise.all(
      batches.map((logs, i) =>
        i % 2 ? insertLogs(t.db, logs) : t.db.transaction().execute((trx) => insertLikeLiteLLM(trx, logs)),
      ),
    );
    for (const b of batches) model.inserted(b);
    expect((await rollupStatus(t.db)).dirtyDays).toEqual([]);
    await checkAll(t.db, "concurrent");
  });

  it("TRUNCATE keeps the totals by default and empties them in subtract mode", async () => {
    await sql`TRUNCATE "LiteLLM_ErrorLogs"`.execute(t.db);
    presentErrors.clear();
    await checkAll(t.db, "truncate kept");
    await setRollupDeleteMode(t.db, "subtract");
    await sql`TRUNCATE "LiteLLM_SpendLogs"`.execute(t.db);
    model.clear();
    await checkAll(t.db, "truncate subtracted");
    await setRollupDeleteMode(t.db, "keep");
  });
});

describe("migration 0003 on a database that already holds logs", () => {
  const db = useTestDb({ migrate: false });

  it("fills the rollups from the existing logs", async () => {
    await applyMigrationsBefore(db.db, "0003");
    const local = prng(7);
    const logs = Array.from({ length: 300 }, () => randomLog(local));
    await insertLikeLiteLLM(db.db as Kysely<any>, logs);
    const errs = Array.from({ length: 30 }, () => randomError(local));
    await insertErrorsDirect(db.db as Kysely<any>, errs);
    await applyMigration(db.db, "0003_rollups");
    // The model above describes the other database: swap in this one's logs while checking.
    await swappedAll(
      [
        [model, logs],
        [errorModel, errs],
      ],
      async () => {
        await checkAll(db.db, "backfill");
        const n = await sql<{
          n: number;
        }>`SELECT sum(requests)::int AS n FROM spendlens.detail_daily`.execute(db.db);
        expect(n.rows[0]!.n).toBe(300); // read from the rollup, not only from the raw fallback
        expect((await rollupStatus(db.db)).dirtyDays).toEqual([]);
        expect((await rollupStatus(db.db)).missingTriggers).toEqual([]);
        // A table recreated or altered behind spendlens's back shows up in the status.
        await sql`DROP TRIGGER spendlens_rollup_update ON "LiteLLM_SpendLogs"`.execute(db.db);
        await sql`ALTER TABLE "LiteLLM_ErrorLogs" DISABLE TRIGGER spendlens_rollup_insert`.execute(db.db);
        expect((await rollupStatus(db.db)).missingTriggers).toEqual([
          "LiteLLM_SpendLogs.spendlens_rollup_update",
          "LiteLLM_ErrorLogs.spendlens_rollup_insert",
        ]);
      },
    );
  });
});

describe("attach mode: a LiteLLM database without organization_id", () => {
  const db = useTestDb({ migrate: false });

  it("adds triggers but no index to LiteLLM's table, and reads the missing column as NULL", async () => {
    // An older LiteLLM's SpendLogs: every column spendlens requires, but no organization_id.
    await createOlderSpendLogs(db.db);
    await sql`INSERT INTO "LiteLLM_SpendLogs" (request_id, spend, "startTime", "endTime", "user", request_tags)
      VALUES ('old-1', 1.5, '2026-02-01 10:00:00', '2026-02-01 10:00:01', 'alice', '["a"]')`.execute(db.db);
    await expectAttachedWithoutIndexes(db.db);
    // A log written after the migration, straight into the table, joins the one backfilled.
    await sql`INSERT INTO "LiteLLM_SpendLogs" (request_id, spend, "startTime", "endTime", "user", request_tags)
      VALUES ('new-1', 2.25, '2026-02-01 23:00:00', '2026-02-01 23:00:01', 'alice', '["a", "b"]')`.execute(
      db.db,
    );
    const w = { from: "2026-02-01T00:00:00.000Z", to: "2026-02-02T00:00:00.000Z" };
    expect(await spendTotals(db.db, ALL, { window: w, dims: ["organization_id", "user"] })).toEqual([
      {
        organization_id: null,
        user: "alice",
        requests: 2,
        spend: 3.75,
        prompt_tokens: 0,
        completion_tokens: 0,
        total_tokens: 0,
      },
    ]);
    expect(await spendTotals(db.db, ALL, { window: w, dims: ["tag"], orderBy: [{ by: "tag" }] })).toEqual([
      { tag: "a", requests: 2, spend: 2.625, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      { tag: "b", requests: 1, spend: 1.125, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    ]);
  });
});
