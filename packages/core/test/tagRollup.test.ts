import { type Kysely, sql } from "kysely";
import { describe, expect, it } from "vitest";
import {
  ALL,
  allTagNames,
  type DemoLog,
  globalSpendTags,
  pauseRollups,
  prng,
  rebuildRollups,
  resumeRollups,
  rollupStatus,
  type Scope,
  setRollupDeleteMode,
  spendTags,
  type TagRequestQuery,
  type TagRequestRow,
  tagRequestTotals,
  userScope,
} from "../src/internal.ts";
import { foldRollups } from "../src/rollups/fold.ts";
import { expectAttachedWithoutIndexes } from "../src/testing/expectations.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import {
  applyMigration,
  applyMigrationsBefore,
  createOlderSpendLogs,
  insertLogs,
  makeLog,
  type TestDb,
  testEngine,
} from "../src/testing/index.ts";
import { deleteLogs, deleteLogsBefore, LogModel, updateLogs } from "../src/testing/logModel.ts";
import {
  copyIn as copyDirect,
  insertLikeLiteLLM as insertDirect,
  logColumns,
  NON_ARRAY_TAGS,
  pick,
  randomIdAndUsage,
  randomTime,
} from "../src/testing/writePaths.ts";
import { closeTo, sameKeys } from "./sums.ts";

/**
 * Property test for the per-request tag rollups (migration 0004): random streams of logs written every
 * way a log reaches "LiteLLM_SpendLogs" (spendlens's batch insert, LiteLLM's multi-row VALUES, single
 * rows, COPY, upserts, UPDATEs of tags/spend/user/day, DELETE in both modes, TRUNCATE, paused loads and
 * rebuilds, a failing rollup write), and after each step every tag report equals a brute-force
 * computation over the logs here in JS: per request, its DISTINCT non-null tags; split = spend / their
 * number; for an admin and for internal users.
 */

type Log = Omit<DemoLog, "user" | "request_tags"> & { user: string | null; request_tags: string | null };

/** spendlens's batch insert (insertLogBatch: INSERT ... SELECT FROM unnest ... ON CONFLICT DO NOTHING). */
const insertBatch = (db: TestDb["db"], logs: Log[]) => insertLogs(db, logs as DemoLog[]);

const DAYS = ["2026-02-26", "2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02", "2026-03-03"];
const TAG_VALUES: (string | null)[] = [
  "[]",
  '["prod"]',
  '["prod", "chat"]',
  '["chat", "rag", "batch"]',
  '["prod", "prod"]', // a repeated tag counts once
  '["a", "a", null]', // and a null element is no tag
  "[null]",
  '["rag", null, "rag", "chat", "chat"]',
  '["x", 7, "7"]', // the number 7 is the tag "7": once
  '[true, "true", ""]', // "" is a tag (the reports list it)
  ...NON_ARRAY_TAGS,
];
const USERS = ["alice", "bob", "carol", "", null];

function randomLog(rnd: () => number, day = pick(rnd, DAYS)): Log {
  return {
    ...makeLog({ startTime: randomTime(rnd, day, 0.15) }),
    ...randomIdAndUsage(rnd, "tr"),
    api_key: pick(rnd, ["k1", "k2", ""]),
    user: pick(rnd, USERS),
    model: pick(rnd, ["gpt-4o", "claude"]),
    request_tags: pick(rnd, TAG_VALUES),
  };
}

// ---- the model ----

/** The logs the rollups count and the ids in the table now (see LogModel). */
const model = new LogModel<Log>();
const { counted, present } = model;

/** The reports' rule, written independently: distinct non-null elements of an array, as text. */
function tagsOf(json: string | null): string[] {
  if (json === null) return [];
  const v = JSON.parse(json) as unknown;
  if (!Array.isArray(v)) return [];
  const out = new Set<string>();
  for (const e of v) if (e !== null) out.add(typeof e === "string" ? e : JSON.stringify(e));
  return [...out];
}

/** A tag's measures (the row without its tag). */
type Sums = Omit<TagRequestRow, "tag">;

const DAY_MS = 86_400_000;

/**
 * The brute-force answer for a window [from, to) (null: unbounded). Whole UTC days inside the window
 * come from the rollups, which keep logs deleted in keep mode; a day the window covers only in part,
 * and a dirty day, come from the raw logs, where such logs are gone.
 */
function brute(
  scope: Scope,
  from: string | null,
  to: string | null,
  dirty: ReadonlySet<string>,
  only: string[] | null = null,
): Map<string, Sums> {
  const lo = from === null ? -Infinity : Date.parse(from);
  const hi = to === null ? Infinity : Date.parse(to);
  const out = new Map<string, Sums>();
  for (const l of counted.values()) {
    const t = Date.parse(l.startTime);
    if (t < lo || t >= hi) continue;
    if (scope.kind === "user" && l.user !== scope.userId) continue;
    const day = l.startTime.slice(0, 10);
    const dayStart = Date.parse(`${day}T00:00:00.000Z`);
    const fromRollup = dayStart >= lo && dayStart + DAY_MS <= hi && !dirty.has(day);
    if (!fromRollup && !present.has(l.request_id)) continue;
    const tags = tagsOf(l.request_tags);
    for (const tag of tags) {
      if (only && !only.includes(tag)) continue;
      const s = out.get(tag) ?? {
        requests: 0,
        spend: 0,
        spend_split: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        total_tokens: 0,
      };
      s.requests += 1;
      s.spend += l.spend;
      s.spend_split += l.spend / tags.length;
      s.prompt_tokens += l.prompt_tokens;
      s.completion_tokens += l.completion_tokens;
      s.total_tokens += l.total_tokens;
      out.set(tag, s);
    }
  }
  return out;
}

// ---- the reports checked after every step ----

const SCOPES: [string, Scope][] = [
  ["admin", ALL],
  ["alice", userScope("alice")],
  ["empty-string user", userScope("")],
];
const START = "2026-02-27";
const END = "2026-03-01";
const RANGE_FROM = `${START}T00:00:00.000Z`;
const RANGE_TO = "2026-03-02T00:00:00.000Z";
const PARTIAL: TagRequestQuery["window"] = {
  from: "2026-02-26T13:30:00.000Z",
  to: "2026-03-02T06:15:00.500Z",
};
const INSIDE_ONE_DAY: TagRequestQuery["window"] = {
  from: "2026-02-28T01:00:00.000Z",
  to: "2026-02-28T23:00:00.000Z",
};
const ONLY = ["prod", "7", "", "nope"];

function reportMatches(
  got: { name: string; spend: number; log_count: number }[],
  want: Map<string, Sums>,
  a: "split" | "full",
): boolean {
  const names = got.map((g) => g.name);
  if (!sameKeys(names, want.keys())) return false;
  for (const g of got) {
    const w = want.get(g.name)!;
    if (!Object.is(g.log_count, w.requests)) return false;
    if (!closeTo(g.spend, a === "split" ? w.spend_split : w.spend, 9)) return false;
  }
  for (let i = 1; i < got.length; i++) {
    const [p, c] = [got[i - 1]!, got[i]!];
    if (!(p.spend > c.spend || (p.spend === c.spend && p.name < c.name))) return false;
  }
  return true;
}

/** The report's checks as plain comparisons first (sums.ts); only when one fails, as these assertions. */
function expectReport(
  where: string,
  got: { name: string; spend: number; log_count: number }[],
  want: Map<string, Sums>,
  a: "split" | "full",
): void {
  if (reportMatches(got, want, a)) return;
  expect(got.map((g) => g.name).sort(), where).toEqual([...want.keys()].sort());
  for (const g of got) {
    const w = want.get(g.name)!;
    expect(g.log_count, `${where} ${g.name} log_count`).toBe(w.requests);
    expect(g.spend, `${where} ${g.name} spend`).toBeCloseTo(a === "split" ? w.spend_split : w.spend, 9);
  }
  // Highest spend first, ties by name.
  for (let i = 1; i < got.length; i++) {
    const [p, c] = [got[i - 1]!, got[i]!];
    expect(p.spend > c.spend || (p.spend === c.spend && p.name < c.name), `${where} order`).toBe(true);
  }
}

async function checkAll(db: TestDb["db"], label: string): Promise<void> {
  const dirty = new Set((await rollupStatus(db)).dirtyDays.map((d) => d.day));
  for (const [who, scope] of SCOPES) {
    for (const a of ["split", "full"] as const) {
      const where = `${label} / ${who} / ${a}`;
      const all = await spendTags(db, scope, { attribution: a });
      expectReport(
        `${where} /spend/tags all time`,
        all.map((r) => ({ name: r.individual_request_tag, spend: r.total_spend, log_count: r.log_count })),
        brute(scope, null, null, dirty),
        a,
      );
      const dated = await spendTags(db, scope, { start_date: START, end_date: END, attribution: a });
      expectReport(
        `${where} /spend/tags dated`,
        dated.map((r) => ({ name: r.individual_request_tag, spend: r.total_spend, log_count: r.log_count })),
        brute(scope, RANGE_FROM, RANGE_TO, dirty),
        a,
      );
      const g = await globalSpendTags(db, scope, { start_date: START, end_date: END, attribution: a });
      expectReport(
        `${where} /global/spend/tags`,
        g.spend_per_tag,
        brute(scope, RANGE_FROM, RANGE_TO, dirty),
        a,
      );
      const f = await globalSpendTags(db, scope, {
        start_date: DAYS[0]!,
        end_date: DAYS[5]!,
        tags: ONLY.join(","),
        attribution: a,
      });
      // tagFilterOf drops "" (an empty filter entry is not a tag to filter on).
      expectReport(
        `${where} /global/spend/tags filtered`,
        f.spend_per_tag,
        brute(scope, `${DAYS[0]}T00:00:00.000Z`, "2026-03-04T00:00:00.000Z", dirty, ["prod", "7", "nope"]),
        a,
      );
    }
    expect((await allTagNames(db, scope)).tag_names, `${label} / ${who} tag names`).toEqual(
      [...brute(scope, null, null, dirty).keys()].sort(),
    );
    // The core read with windows that are not whole days (edges from the raw logs) and every measure.
    for (const [wname, w] of [
      ["partial", PARTIAL],
      ["inside one day", INSIDE_ONE_DAY],
    ] as const) {
      const rows = await tagRequestTotals(db, scope, { window: w });
      const want = brute(scope, w.from, w.to, dirty);
      const where = `${label} / ${who} / ${wname}`;
      expect(
        rows.map((r) => r.tag),
        where,
      ).toEqual([...want.keys()].sort());
      for (const r of rows) {
        const x = want.get(r.tag)!;
        expect(r.requests, `${where} ${r.tag}`).toBe(x.requests);
        expect(r.prompt_tokens, `${where} ${r.tag}`).toBe(x.prompt_tokens);
        expect(r.completion_tokens, `${where} ${r.tag}`).toBe(x.completion_tokens);
        expect(r.total_tokens, `${where} ${r.tag}`).toBe(x.total_tokens);
        expect(r.spend, `${where} ${r.tag}`).toBeCloseTo(x.spend, 9);
        expect(r.spend_split, `${where} ${r.tag}`).toBeCloseTo(x.spend_split, 9);
      }
    }
  }
}

/** The rollup tables themselves hold the counted logs (so the answers above did not all come raw). */
async function checkTables(db: TestDb["db"], label: string): Promise<void> {
  await foldRollups(db); // inserted logs reach the rollup tables through the fold (migration 0010)
  const want = brute(ALL, null, null, new Set());
  const per = await sql<{ tag: string; requests: number; spend: number; users_requests: number }>`
    SELECT a.tag, a.requests::int AS requests, a.spend::float8 AS spend, u.requests::int AS users_requests
    FROM (SELECT tag, sum(requests) AS requests, sum(spend) AS spend FROM spendlens.tag_request_daily GROUP BY tag) a
    FULL JOIN (SELECT tag, sum(requests) AS requests FROM spendlens.user_tag_request_daily GROUP BY tag) u USING (tag)
    ORDER BY 1`.execute(db);
  expect(
    per.rows.map((r) => r.tag),
    label,
  ).toEqual([...want.keys()].sort());
  for (const r of per.rows) {
    expect(r.requests, `${label} ${r.tag}`).toBe(want.get(r.tag)!.requests);
    expect(r.users_requests, `${label} ${r.tag} per user`).toBe(want.get(r.tag)!.requests);
    expect(r.spend, `${label} ${r.tag}`).toBeCloseTo(want.get(r.tag)!.spend, 9);
  }
}

// ---- the ways logs reach the table ----

/** As LiteLLM writes: one multi-row INSERT ... VALUES ... ON CONFLICT DO NOTHING. */
async function insertLikeLiteLLM(db: Kysely<any>, logs: Log[]): Promise<void> {
  await insertDirect(db, logColumns(["api_key", "model", "user"], "jsonb"), logs);
}

/** LiteLLM-style upsert: existing rows get the new spend and tags, new ids are inserted. */
async function upsertLikeLiteLLM(db: Kysely<any>, logs: Log[]): Promise<void> {
  await insertDirect(db, logColumns(["user"], "jsonb"), logs, { update: ["spend", "request_tags"] });
  model.upserted(logs, ["spend", "request_tags"]);
}

async function copyIn(t: TestDb, logs: Log[]): Promise<void> {
  await copyDirect(t, logColumns(["user"], "text"), logs);
  model.inserted(logs);
}

/** One UPDATE statement moving tags, spend, user and day of some logs (old and new rows meet). */
async function updateSome(db: Kysely<any>, rnd: () => number, share: number): Promise<void> {
  const upd = model
    .presentLogs()
    .filter(() => rnd() < share)
    .map((l) => ({
      ...l,
      spend: rnd() < 0.5 ? Math.round(rnd() * 1e6) / 1e5 : l.spend,
      startTime: rnd() < 0.3 ? randomTime(rnd, pick(rnd, DAYS), 0.15) : l.startTime,
      user: rnd() < 0.3 ? pick(rnd, USERS) : l.user,
      request_tags: rnd() < 0.6 ? pick(rnd, TAG_VALUES) : l.request_tags,
    }));
  await updateLogs(db, model, upd, ["spend", "startTime", "user", "request_tags"]);
}

// ---- the stream ----

const t = useTestDb();
const rnd = prng(20260406);

describe("per-request tag rollups equal a brute-force computation over the logs", () => {
  it("after inserts by every path: batches, LiteLLM VALUES, single rows, COPY, duplicates, late logs", async () => {
    for (let b = 0; b < 3; b++) {
      const logs = Array.from({ length: 120 }, () => randomLog(rnd, pick(rnd, DAYS.slice(3))));
      await insertBatch(t.db, logs);
      model.inserted(logs);
    }
    await checkAll(t.db, "batches");
    const direct = Array.from({ length: 100 }, () => randomLog(rnd));
    await insertLikeLiteLLM(t.db, direct);
    model.inserted(direct);
    for (let i = 0; i < 6; i++) {
      const one = randomLog(rnd);
      await insertLikeLiteLLM(t.db, [one]);
      model.inserted([one]);
    }
    // Duplicates with other content count once, as first written.
    const dups = [...counted.values()]
      .slice(0, 30)
      .map((l) => ({ ...l, spend: l.spend + 1, request_tags: '["dup"]' }));
    await insertBatch(t.db, dups);
    await insertLikeLiteLLM(t.db, dups.slice(0, 10));
    // Late logs: the oldest day, after the newer ones.
    const late = Array.from({ length: 60 }, () => randomLog(rnd, DAYS[0]!));
    await insertBatch(t.db, late);
    model.inserted(late);
    if (testEngine() === "postgres")
      await copyIn(
        t,
        Array.from({ length: 150 }, () => randomLog(rnd)),
      );
    await checkAll(t.db, "inserts");
    await checkTables(t.db, "inserts tables");
    expect((await rollupStatus(t.db)).dirtyDays).toEqual([]);
  });

  it("after UPDATEs of tags, spend, user and day, upserts, and an update that changes nothing relevant", async () => {
    await updateSome(t.db, rnd, 0.3);
    await checkAll(t.db, "update");
    await sql`UPDATE "LiteLLM_SpendLogs" SET metadata = '{"touched": true}'::jsonb, model = 'other'`.execute(
      t.db,
    );
    const existing = [...present].slice(0, 20).map((id) => ({
      ...counted.get(id)!,
      spend: Math.round(rnd() * 1e6) / 1e5,
      request_tags: pick(rnd, TAG_VALUES),
    }));
    await upsertLikeLiteLLM(t.db, [...existing, ...Array.from({ length: 10 }, () => randomLog(rnd))]);
    await checkAll(t.db, "upserts");
    await checkTables(t.db, "upserts tables");
    expect((await rollupStatus(t.db)).dirtyDays).toEqual([]);
  });

  it("DELETE keeps the totals by default (retention) and subtracts in subtract mode", async () => {
    expect((await rollupStatus(t.db)).deleteMode).toBe("keep");
    const cutoff = `${DAYS[1]}T12:00:00.000Z`;
    await deleteLogsBefore(t.db, model, cutoff);
    expect(present.size).toBeLessThan(counted.size);
    await checkAll(t.db, "retention");
    await checkTables(t.db, "retention tables"); // the kept totals are in the tables
    // A full rebuild leaves the kept day alone (DAYS[1] still has raw logs after noon).
    const rb = await rebuildRollups(t.db, { scope: "all", chunkDays: 2 });
    expect(rb.skippedRawDeleted).toEqual([DAYS[1]]);
    await checkAll(t.db, "rebuild after retention");

    await setRollupDeleteMode(t.db, "subtract");
    await deleteLogs(
      t.db,
      model,
      [...present].filter(() => rnd() < 0.2),
      "subtracted",
    );
    await checkAll(t.db, "subtract deletes");
    await checkTables(t.db, "subtract tables");
    await setRollupDeleteMode(t.db, "keep");
  });

  it("paused: inserts, updates and deletes mark days dirty, answers stay exact; a rebuild makes them clean", async () => {
    await pauseRollups(t.db);
    const logs = Array.from({ length: 80 }, () => randomLog(rnd, pick(rnd, DAYS.slice(1))));
    await insertBatch(t.db, logs);
    model.inserted(logs);
    await updateSome(t.db, rnd, 0.1);
    // A keep-mode delete while paused (a day that also lost logs to retention above).
    const gone = [...present].filter((id) => counted.get(id)!.startTime.startsWith(DAYS[1]!)).slice(0, 5);
    await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id = ANY(${gone}::text[])`.execute(t.db);
    for (const id of gone) present.delete(id);
    const st = await rollupStatus(t.db);
    expect(st.status).toBe("paused");
    expect(st.dirtyDays.length).toBeGreaterThan(0);
    await checkAll(t.db, "paused");
    await resumeRollups(t.db);
    await rebuildRollups(t.db);
    model.forgetDeletedOn(st.dirtyDays.map((d) => d.day));
    expect((await rollupStatus(t.db)).dirtyDays).toEqual([]);
    await checkAll(t.db, "rebuilt");
    await checkTables(t.db, "rebuilt tables");
  });

  it("a failing write to the new grain marks its days dirty, the log write succeeds, answers stay exact", async () => {
    await sql`ALTER TABLE spendlens.user_tag_request_daily ADD CONSTRAINT test_refuse CHECK (spend < 1000)`.execute(
      t.db,
    );
    const big = { ...randomLog(rnd, DAYS[4]!), spend: 5000, request_tags: '["prod", "big", "big"]' };
    await insertBatch(t.db, [big]);
    model.inserted([big]);
    const st = await rollupStatus(t.db);
    expect(st.dirtyDays.map((d) => d.day)).toEqual([DAYS[4]]);
    expect(st.dirtyDays[0]!.reason).toMatch(/test_refuse/);
    await checkAll(t.db, "dirty day");
    await sql`ALTER TABLE spendlens.user_tag_request_daily DROP CONSTRAINT test_refuse`.execute(t.db);
    await rebuildRollups(t.db);
    model.forgetDeletedOn([DAYS[4]!]);
    expect((await rollupStatus(t.db)).dirtyDays).toEqual([]);
    await checkAll(t.db, "repaired");
    await checkTables(t.db, "repaired tables");
  });

  it("concurrent inserts, upserts and updates on the same days neither deadlock nor lose a log", async () => {
    const batches = Array.from({ length: 6 }, (_, i) => {
      const logs = Array.from({ length: 50 }, () => randomLog(rnd, pick(rnd, DAYS.slice(2))));
      return i % 2 ? logs.reverse() : logs;
    });
    const ids = [...present].filter((id) => counted.get(id)!.startTime >= DAYS[2]!);
    const updIds = ids.filter(() => rnd() < 0.3);
    for (const id of updIds)
      counted.set(id, { ...counted.get(id)!, request_tags: '["conc", "prod", "conc"]' });
    await Promise.all([
      ...batches.map((logs, i) =>
        i % 2 ? insertBatch(t.db, logs) : t.db.transaction().execute((trx) => insertLikeLiteLLM(trx, logs)),
      ),
      sql`UPDATE "LiteLLM_SpendLogs" SET request_tags = '["conc", "prod", "conc"]'::jsonb
        WHERE request_id = ANY(${updIds}::text[])`.execute(t.db),
    ]);
    for (const b of batches) model.inserted(b);
    expect((await rollupStatus(t.db)).dirtyDays).toEqual([]);
    await checkAll(t.db, "concurrent");
    await checkTables(t.db, "concurrent tables");
  });

  it("TRUNCATE keeps the totals by default and empties the new grain in subtract mode", async () => {
    await sql`TRUNCATE "LiteLLM_SpendLogs"`.execute(t.db);
    present.clear();
    await checkAll(t.db, "truncate kept");
    // Subtract mode: refill a little, then truncate.
    await setRollupDeleteMode(t.db, "subtract");
    counted.clear();
    await rebuildRollups(t.db, { scope: "all", includeRawDeleted: true, from: DAYS[0], to: DAYS[5] });
    const logs = Array.from({ length: 40 }, () => randomLog(rnd));
    await insertLikeLiteLLM(t.db, logs);
    model.inserted(logs);
    await checkAll(t.db, "refilled");
    await sql`TRUNCATE "LiteLLM_SpendLogs"`.execute(t.db);
    counted.clear();
    present.clear();
    await checkAll(t.db, "truncate subtracted");
    const n = await sql<{ n: number }>`SELECT (SELECT count(*) FROM spendlens.tag_request_daily)
      + (SELECT count(*) FROM spendlens.user_tag_request_daily) AS n`.execute(t.db);
    expect(Number(n.rows[0]!.n)).toBe(0);
    await setRollupDeleteMode(t.db, "keep");
  });
});

/** `n` more logs written straight into `db`, a fifth of its logs updated: reports and tables stay exact. */
async function writeMoreAndCheck(db: TestDb["db"], rnd: () => number, n: number, label: string) {
  const more = Array.from({ length: n }, () => randomLog(rnd));
  await insertLikeLiteLLM(db as Kysely<any>, more);
  model.inserted(more);
  await updateSome(db as Kysely<any>, rnd, 0.2);
  await checkAll(db, label);
  await checkTables(db, `${label} tables`);
}

describe("migration 0004 on a database that already holds logs", () => {
  const db = useTestDb({ migrate: false });

  it("fills the new grain from the existing logs; later writes are counted", async () => {
    await applyMigrationsBefore(db.db, "0004");
    const local = prng(11);
    const logs = Array.from({ length: 250 }, () => randomLog(local));
    await insertLikeLiteLLM(db.db as Kysely<any>, logs);
    await applyMigration(db.db, "0004_tag_request_rollups");
    await model.swapped(logs, async () => {
      await checkAll(db.db, "backfill");
      await checkTables(db.db, "backfill tables");
      const st = await rollupStatus(db.db);
      expect(st.dirtyDays).toEqual([]);
      expect(st.missingTriggers).toEqual([]);
      await writeMoreAndCheck(db.db, local, 40, "after backfill");
      // The rebuild function (replaced by 0004) rebuilds the new grain too.
      await sql`DELETE FROM spendlens.user_tag_request_daily`.execute(db.db);
      await sql`DELETE FROM spendlens.tag_request_daily`.execute(db.db);
      await rebuildRollups(db.db, { scope: "all" });
      await checkTables(db.db, "rebuilt tables");
      // A dropped trigger of the new grain shows in the status.
      await sql`DROP TRIGGER spendlens_rollup_v2_insert ON "LiteLLM_SpendLogs"`.execute(db.db);
      expect((await rollupStatus(db.db)).missingTriggers).toEqual([
        "LiteLLM_SpendLogs.spendlens_rollup_v2_insert",
      ]);
    });
  });
});

describe("attach mode: LiteLLM's table without organization_id, written to directly", () => {
  const db = useTestDb({ migrate: false });

  it("adds triggers but no index; backfill and direct inserts are counted", async () => {
    await createOlderSpendLogs(db.db);
    const local = prng(5);
    const before = Array.from({ length: 120 }, () => randomLog(local));
    await insertLikeLiteLLM(db.db as Kysely<any>, before);
    await expectAttachedWithoutIndexes(db.db);
    await model.swapped(before, async () => {
      await checkAll(db.db, "attach backfill");
      await checkTables(db.db, "attach backfill tables");
      await writeMoreAndCheck(db.db, local, 60, "attach direct writes");
      expect((await rollupStatus(db.db)).dirtyDays).toEqual([]);
    });
  });
});
