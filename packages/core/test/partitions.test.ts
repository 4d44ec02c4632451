import { type Kysely, Migrator, sql } from "kysely";
import { describe, expect, it } from "vitest";
import { migrations } from "../src/db/migrations.ts";
import {
  ALL,
  type Db,
  emptyConfig,
  ensurePartitions,
  globalActivity,
  globalActivityExceptions,
  ingestErrorLogs,
  ingestSpendLogs,
  logsPartitioned,
  migrate,
  openDatabase,
  rebuildRollups,
  setRollupDeleteMode,
  spendLogs,
  spendReport,
} from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { makeErrorLog, makeLog, testEngine } from "../src/testing/index.ts";
import { insertLikeLiteLLM as insertDirect, logColumns } from "../src/testing/writePaths.ts";

/**
 * Partitioned log tables in standalone mode (migration 0011, spendlens.ensure_partitions): partitions
 * made ahead, rows of the DEFAULT partition moved into their month, idempotent ingest across partitions,
 * retention drops that keep every report's totals, and the conversion of an existing install.
 * Expected numbers are brute-force sums over the rows the test wrote.
 */

const config = emptyConfig();
const NOW = new Date("2026-05-10T12:00:00.000Z");

async function partitionsOf(db: Db, table: string): Promise<{ name: string; bound: string }[]> {
  const r = await sql<{ name: string; bound: string }>`
    SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
    FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
    WHERE h.inhparent = to_regclass(${`public."${table}"`}) ORDER BY c.relname`.execute(db);
  return r.rows;
}

/** Rows per partition (by tableoid), for the given request_id prefix. */
async function rowsPerPartition(db: Db, table: string, prefix: string): Promise<Record<string, number>> {
  const r = await sql<{ part: string; n: number }>`SELECT tableoid::regclass::text AS part, count(*)::int AS n
    FROM ${sql.table(table)} WHERE request_id LIKE ${`${prefix}%`} GROUP BY 1 ORDER BY 1`.execute(db);
  return Object.fromEntries(r.rows.map((x) => [x.part.replaceAll('"', ""), x.n]));
}

interface Wire {
  request_id: string;
  startTime: string;
  spend: number;
  model: string;
  user: string;
  team_id: string;
}

/** Deterministic logs: `n` per month Jan–Apr 2026, spread over the days and hours. */
function wireLogs(prefix: string, n: number): Wire[] {
  const out: Wire[] = [];
  for (let m = 1; m <= 4; m++)
    for (let k = 0; k < n; k++) {
      const day = 1 + ((k * 7) % 28);
      const hour = (k * 5) % 24;
      out.push({
        request_id: `${prefix}-${m}-${k}`,
        startTime: `2026-0${m}-${String(day).padStart(2, "0")}T${String(hour).padStart(2, "0")}:15:00Z`,
        spend: (k % 9) * 0.125 + m,
        model: k % 3 === 0 ? "gpt-4o" : "claude-3",
        user: k % 2 ? "alice" : "bob",
        team_id: k % 4 ? "team-a" : "team-b",
      });
    }
  return out;
}

/** The spend report's total per day (all teams). */
function reportDays(r: Awaited<ReturnType<typeof reports>>): Map<string, number> {
  const m = new Map<string, number>();
  for (const d of r.byTeam.data as { group_by_day: string; teams: { total_spend: number }[] }[])
    m.set(
      d.group_by_day,
      d.teams.reduce((s, x) => s + x.total_spend, 0),
    );
  return m;
}

function expectSameDays(got: Map<string, number>, want: Map<string, number>): void {
  expect([...got.keys()].filter((d) => (got.get(d) ?? 0) !== 0).sort()).toEqual([...want.keys()].sort());
  for (const [d, v] of want) expect(got.get(d)).toBeCloseTo(v, 10);
}

/** Brute force: spend per UTC day of the rows. */
function spendPerDay(rows: { startTime: string; spend: number }[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) {
    const d = r.startTime.slice(0, 10);
    m.set(d, (m.get(d) ?? 0) + r.spend);
  }
  return m;
}

/**
 * Every report this test compares before and after a change of partitions (they read the rollups).
 * /spend/logs's per-day summary reads the raw logs, so it is not among them.
 */
async function reports(db: Db) {
  return {
    byTeam: await spendReport(db, ALL, {
      start_date: "2026-01-01",
      end_date: "2026-04-30",
      group_by: "team",
    }),
    activity: await globalActivity(db, ALL, { start_date: "2026-01-01", end_date: "2026-04-30" }),
    exceptions: await globalActivityExceptions(db, ALL, {
      start_date: "2026-01-01",
      end_date: "2026-04-30",
      model_group: "gpt-4o",
    }),
  };
}

describe("partitioned logs, standalone", () => {
  const t = useTestDb({ now: NOW });
  const logs = wireLogs("pl", 30);
  const errs = logs
    .filter((_, i) => i % 5 === 0)
    .map((l) => ({
      request_id: `err-${l.request_id}`,
      startTime: l.startTime,
      model_group: "gpt-4o",
      api_base: "https://api.openai.com",
      exception_type: "RateLimitError",
      status_code: 429,
    }));

  it("the migration made both log tables partitioned by startTime, with a DEFAULT partition", async () => {
    const kinds = await sql<{ relname: string; relkind: string }>`SELECT relname, relkind::text AS relkind
      FROM pg_class WHERE relname IN ('LiteLLM_SpendLogs', 'LiteLLM_ErrorLogs') ORDER BY relname`.execute(
      t.db,
    );
    expect(kinds.rows).toEqual([
      { relname: "LiteLLM_ErrorLogs", relkind: "p" },
      { relname: "LiteLLM_SpendLogs", relkind: "p" },
    ]);
    const pk = await sql<{ cols: string }>`SELECT pg_get_constraintdef(oid) AS cols FROM pg_constraint
      WHERE conrelid = '"LiteLLM_SpendLogs"'::regclass AND contype = 'p'`.execute(t.db);
    expect(pk.rows[0]!.cols).toBe('PRIMARY KEY (request_id, "startTime")');
    for (const table of ["LiteLLM_SpendLogs", "LiteLLM_ErrorLogs"]) {
      const parts = await partitionsOf(t.db, table);
      expect(parts.find((p) => p.name === `${table}_default`)?.bound).toBe("DEFAULT");
    }
    expect(await logsPartitioned(t.db)).toBe(true);
  });

  it("makes the partitions of this month and `ahead` months after it, once", async () => {
    const first = await ensurePartitions(t.db, { today: "2031-02-20", ahead: 2 });
    expect(first).toEqual([
      { action: "created", partition: "LiteLLM_SpendLogs_p2031_02" },
      { action: "created", partition: "LiteLLM_SpendLogs_p2031_03" },
      { action: "created", partition: "LiteLLM_SpendLogs_p2031_04" },
      { action: "created", partition: "LiteLLM_ErrorLogs_p2031_02" },
      { action: "created", partition: "LiteLLM_ErrorLogs_p2031_03" },
      { action: "created", partition: "LiteLLM_ErrorLogs_p2031_04" },
    ]);
    const parts = await partitionsOf(t.db, "LiteLLM_SpendLogs");
    expect(parts.find((p) => p.name === "LiteLLM_SpendLogs_p2031_03")?.bound).toBe(
      "FOR VALUES FROM ('2031-03-01 00:00:00') TO ('2031-04-01 00:00:00')",
    );
    expect(await ensurePartitions(t.db, { today: "2031-02-28", ahead: 2 })).toEqual([]);
    for (const [k, v] of [
      ["ahead", -1],
      ["ahead", 1.5],
      ["retention_days", 0],
    ] as const) {
      const e = await ensurePartitions(
        t.db,
        k === "ahead" ? { ahead: v } : { retentionDays: v, today: "2031-02-20" },
      ).catch((x) => x);
      expect(e.field).toBe(k);
    }
  });

  it("rows outside every month partition go to the DEFAULT one and move to their month when it is made", async () => {
    const r = await ingestSpendLogs(t.db, ALL, { logs }, config);
    expect(r.inserted).toBe(logs.length);
    expect((await ingestErrorLogs(t.db, ALL, { logs: errs })).inserted).toBe(errs.length);
    expect(await rowsPerPartition(t.db, "LiteLLM_SpendLogs", "pl-")).toEqual({
      LiteLLM_SpendLogs_default: logs.length,
    });
    const before = await reports(t.db);
    const changes = await ensurePartitions(t.db, { today: "2026-05-10", ahead: 1 });
    expect(changes.filter((c) => c.partition.startsWith("LiteLLM_SpendLogs"))).toEqual(
      ["2026_01", "2026_02", "2026_03", "2026_04", "2026_05", "2026_06"].map((m) => ({
        action: "created",
        partition: `LiteLLM_SpendLogs_p${m}`,
      })),
    );
    expect(await rowsPerPartition(t.db, "LiteLLM_SpendLogs", "pl-")).toEqual({
      LiteLLM_SpendLogs_p2026_01: 30,
      LiteLLM_SpendLogs_p2026_02: 30,
      LiteLLM_SpendLogs_p2026_03: 30,
      LiteLLM_SpendLogs_p2026_04: 30,
    });
    expect(Object.keys(await rowsPerPartition(t.db, "LiteLLM_ErrorLogs", "err-")).sort()).toEqual(
      ["01", "02", "03", "04"].map((m) => `LiteLLM_ErrorLogs_p2026_${m}`),
    );
    // The partitions that received rows are analyzed at once (the planner sees their rows), and the
    // DEFAULT partition they left is vacuumed (no dead rows left for a scan to step over).
    const stats = await sql<{ name: string; tuples: number; dead: number }>`SELECT c.relname AS name,
        c.reltuples::int AS tuples, pg_stat_get_dead_tuples(c.oid)::int AS dead
      FROM pg_class c WHERE c.relname IN ('LiteLLM_SpendLogs_p2026_01', 'LiteLLM_SpendLogs_default')
      ORDER BY 1`.execute(t.db);
    expect(stats.rows.map((x) => [x.name, x.tuples])).toEqual([
      ["LiteLLM_SpendLogs_default", 0],
      ["LiteLLM_SpendLogs_p2026_01", 30],
    ]);
    // Moving rows is no write as far as the rollups and the id registry are concerned.
    expect(await reports(t.db)).toEqual(before);
    const ids = await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.spend_log_ids
      WHERE request_id LIKE 'pl-%'`.execute(t.db);
    expect(ids.rows[0]!.n).toBe(logs.length);
    // The totals are the brute-force sums.
    expectSameDays(reportDays(before), spendPerDay(logs));
  });

  it("ingest stays idempotent across partitions: a resend, the same id in another month, concurrent writers", async () => {
    const again = await ingestSpendLogs(t.db, ALL, { logs: logs.slice(0, 50) }, config);
    expect(again.inserted).toBe(0);
    expect(again.duplicates.length).toBe(50);
    // The same request_id with a "startTime" in another month (another partition): a conflict, not a row.
    const moved = { ...logs[0]!, startTime: "2026-04-02T10:00:00Z", spend: 99 };
    const c = await ingestSpendLogs(t.db, ALL, { logs: [moved] }, config);
    expect(c.inserted).toBe(0);
    expect(c.conflicts.map((x) => x.request_id)).toEqual([logs[0]!.request_id]);
    expect(c.conflicts[0]!.fields).toEqual(expect.arrayContaining(["spend", "startTime"]));
    const n = await sql<{ n: number; s: number }>`SELECT count(*)::int AS n, sum(spend)::float8 AS s
      FROM "LiteLLM_SpendLogs" WHERE request_id = ${logs[0]!.request_id}`.execute(t.db);
    expect(n.rows[0]).toEqual({ n: 1, s: logs[0]!.spend });
    // A direct writer cannot add the id again either: the registry's key refuses it.
    const direct = await sql`INSERT INTO "LiteLLM_SpendLogs" (request_id, "startTime", "endTime")
      VALUES (${logs[0]!.request_id}, '2026-03-03T00:00:00', '2026-03-03T00:00:00')`
      .execute(t.db)
      .catch((e) => e);
    expect(direct.code).toBe("23505");
    // Concurrent writers of the same new batch (rows in three partitions and the DEFAULT one).
    const fresh: Wire[] = ["2026-03-09", "2026-04-11", "2026-06-01", "2032-01-01"].flatMap((d, j) =>
      Array.from({ length: 25 }, (_, k) => ({
        request_id: `cc-${j}-${k}`,
        startTime: `${d}T0${k % 10}:00:00Z`,
        spend: 0.5,
        model: "gpt-4o",
        user: "alice",
        team_id: "team-a",
      })),
    );
    const results = await Promise.all(
      Array.from({ length: 6 }, () => ingestSpendLogs(t.db, ALL, { logs: fresh }, config)),
    );
    expect(results.reduce((s, x) => s + x.inserted, 0)).toBe(fresh.length);
    expect(results.reduce((s, x) => s + x.duplicates.length, 0)).toBe(5 * fresh.length);
    expect(await rowsPerPartition(t.db, "LiteLLM_SpendLogs", "cc-")).toEqual({
      LiteLLM_SpendLogs_default: 25,
      LiteLLM_SpendLogs_p2026_03: 25,
      LiteLLM_SpendLogs_p2026_04: 25,
      LiteLLM_SpendLogs_p2026_06: 25,
    });
    if (testEngine() === "postgres") {
      // Separate pools (as server replicas): their statements race for the same new ids; the loser's
      // registry insert fails on its key, the statement is run again and reports duplicates.
      const pools = await Promise.all(
        Array.from({ length: 4 }, () => openDatabase({ databaseUrl: t.url!, maxConnections: 2 })),
      );
      try {
        const racing = fresh.map((l) => ({ ...l, request_id: `race-${l.request_id}` }));
        for (let round = 0; round < 3; round++) {
          const batch = racing.map((l) => ({ ...l, request_id: `${l.request_id}-${round}` }));
          const rs = await Promise.all(pools.map((p) => ingestSpendLogs(p.db, ALL, { logs: batch }, config)));
          expect(rs.reduce((s, x) => s + x.inserted, 0)).toBe(batch.length);
          expect(rs.reduce((s, x) => s + x.duplicates.length, 0)).toBe(3 * batch.length);
        }
        const n = await sql<{ n: number; ids: number }>`SELECT count(*)::int AS n,
          (SELECT count(*)::int FROM spendlens.spend_log_ids WHERE request_id LIKE 'race-%') AS ids
          FROM "LiteLLM_SpendLogs" WHERE request_id LIKE 'race-%'`.execute(t.db);
        expect(n.rows[0]).toEqual({ n: 3 * racing.length, ids: 3 * racing.length });
      } finally {
        for (const p of pools) await p.close();
      }
      await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id LIKE 'race-%'`.execute(t.db);
    }
    // Take them out again (a DELETE frees their ids), so the next test sees only `logs`.
    await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id LIKE 'cc-%'`.execute(t.db);
    await rebuildRollups(t.db, { from: "2026-03-09", to: "2026-06-01", includeRawDeleted: true });
    const ids = await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.spend_log_ids
      WHERE request_id LIKE 'cc-%'`.execute(t.db);
    expect(ids.rows[0]!.n).toBe(0);
  });

  it("retention drops whole months; every report keeps the totals it had (brute force), raw reads find nothing", async () => {
    const before = await reports(t.db);
    // Even in 'subtract' mode (a DELETE would subtract): dropping a partition fires no DELETE trigger.
    await setRollupDeleteMode(t.db, "subtract");
    const changes = await ensurePartitions(t.db, { today: "2026-05-10", ahead: 1, retentionDays: 60 });
    // Horizon 2026-03-11: January and February end before it, March does not.
    expect(changes).toEqual([
      { action: "dropped", partition: "LiteLLM_SpendLogs_p2026_01" },
      { action: "dropped", partition: "LiteLLM_SpendLogs_p2026_02" },
      { action: "dropped", partition: "LiteLLM_ErrorLogs_p2026_01" },
      { action: "dropped", partition: "LiteLLM_ErrorLogs_p2026_02" },
    ]);
    await setRollupDeleteMode(t.db, "keep");
    const after = await reports(t.db);
    expect(after).toEqual(before);
    expectSameDays(reportDays(after), spendPerDay(logs));
    // The payloads are gone: raw-log reads of January and February (the logs, /spend/logs's summary).
    const raw = await spendLogs(t.db, ALL, {
      start_date: "2026-01-01",
      end_date: "2026-02-28",
      summarize: false,
    });
    expect(raw.mode === "logs" ? raw.data : null).toEqual([]);
    const summary = await spendLogs(t.db, ALL, { start_date: "2026-01-01", end_date: "2026-03-31" });
    const days = summary.mode === "summary" ? summary.days : [];
    expect(days.filter((d) => d.date < "2026-03-01" && d.spend !== 0)).toEqual([]);
    for (const d of days.filter((x) => x.date >= "2026-03-01"))
      expect(d.spend).toBeCloseTo(spendPerDay(logs).get(d.date) ?? 0, 10);
    const left = await sql<{ n: number }>`SELECT count(*)::int AS n FROM "LiteLLM_SpendLogs"
      WHERE request_id LIKE 'pl-%'`.execute(t.db);
    expect(left.rows[0]!.n).toBe(60);
    // A rebuild of every day leaves the dropped days' totals alone (flagged raw_deleted).
    await rebuildRollups(t.db, { scope: "all" });
    expect(await reports(t.db)).toEqual(before);
    // A January log sent again is not counted twice (its id stays registered).
    const resend = await ingestSpendLogs(t.db, ALL, { logs: [logs[3]!] }, config);
    expect(resend.inserted).toBe(0);
    expect(await reports(t.db)).toEqual(before);
    // Nothing more to drop.
    expect(await ensurePartitions(t.db, { today: "2026-05-10", ahead: 1, retentionDays: 60 })).toEqual([]);
  });
});

describe("a big month in the DEFAULT partition stays there (migration 0023)", () => {
  const t = useTestDb({ now: NOW });
  // 30 logs in January, March and April, 10 in February.
  const logs = wireLogs("bm", 30).filter((l, i) => !l.startTime.startsWith("2026-02") || i % 3 === 0);

  it("months over maxMoveRows are kept in DEFAULT and read as before; an unbounded call moves them", async () => {
    expect((await ingestSpendLogs(t.db, ALL, { logs }, config)).inserted).toBe(logs.length);
    expect(logs.filter((l) => l.startTime.startsWith("2026-02"))).toHaveLength(10);
    const before = await reports(t.db);
    expectSameDays(reportDays(before), spendPerDay(logs));

    const bounded = await ensurePartitions(t.db, { today: "2026-05-10", ahead: 1, maxMoveRows: 10 });
    expect(bounded.filter((c) => c.partition.startsWith("LiteLLM_SpendLogs"))).toEqual([
      { action: "kept in default (more than max_move rows)", partition: "LiteLLM_SpendLogs_p2026_01" },
      { action: "created", partition: "LiteLLM_SpendLogs_p2026_02" },
      { action: "kept in default (more than max_move rows)", partition: "LiteLLM_SpendLogs_p2026_03" },
      { action: "kept in default (more than max_move rows)", partition: "LiteLLM_SpendLogs_p2026_04" },
      { action: "created", partition: "LiteLLM_SpendLogs_p2026_05" },
      { action: "created", partition: "LiteLLM_SpendLogs_p2026_06" },
    ]);
    expect(await rowsPerPartition(t.db, "LiteLLM_SpendLogs", "bm-")).toEqual({
      LiteLLM_SpendLogs_default: 90,
      LiteLLM_SpendLogs_p2026_02: 10,
    });
    // The months left in the DEFAULT partition, as its index lists them (one probe per month) and as a
    // scan of its rows does.
    const listed = await sql<{ m: string }>`SELECT to_char(x.m, 'YYYY-MM') AS m
      FROM spendlens.default_months('LiteLLM_SpendLogs', 'LiteLLM_SpendLogs_default') AS x(m)`.execute(t.db);
    const scanned = await sql<{ m: string }>`SELECT DISTINCT to_char("startTime", 'YYYY-MM') AS m
      FROM "LiteLLM_SpendLogs_default" ORDER BY 1`.execute(t.db);
    expect(listed.rows.map((r) => r.m)).toEqual(scanned.rows.map((r) => r.m));
    expect(scanned.rows.map((r) => r.m)).toEqual(["2026-01", "2026-03", "2026-04"]);
    // Read through the DEFAULT partition as through a month's: the same answers, the brute-force sums,
    // and every log on the raw route.
    expect(await reports(t.db)).toEqual(before);
    const raw = await spendLogs(t.db, ALL, {
      start_date: "2026-01-01",
      end_date: "2026-04-30",
      summarize: false,
    });
    expect(raw.mode === "logs" ? raw.data.map((r) => r.request_id).sort() : null).toEqual(
      logs.map((l) => l.request_id).sort(),
    );

    for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 2]) {
      const e = await ensurePartitions(t.db, { today: "2026-05-10", maxMoveRows: bad }).catch((x) => x);
      expect(e.field).toBe("max_move_rows");
    }
    // The same bound again: nothing new.
    expect(
      (await ensurePartitions(t.db, { today: "2026-05-10", ahead: 1, maxMoveRows: 10 })).filter(
        (c) => c.action === "created",
      ),
    ).toEqual([]);
    const unbounded = await ensurePartitions(t.db, { today: "2026-05-10", ahead: 1, maxMoveRows: null });
    expect(unbounded.filter((c) => c.partition.startsWith("LiteLLM_SpendLogs"))).toEqual(
      ["2026_01", "2026_03", "2026_04"].map((m) => ({
        action: "created",
        partition: `LiteLLM_SpendLogs_p${m}`,
      })),
    );
    expect(await rowsPerPartition(t.db, "LiteLLM_SpendLogs", "bm-")).toEqual({
      LiteLLM_SpendLogs_p2026_01: 30,
      LiteLLM_SpendLogs_p2026_02: 10,
      LiteLLM_SpendLogs_p2026_03: 30,
      LiteLLM_SpendLogs_p2026_04: 30,
    });
    expect(await reports(t.db)).toEqual(before);
  });
});

describe("converting an existing standalone install (migrations 0001–0010, then 0011)", () => {
  const t = useTestDb({ now: NOW, migrate: false });
  const logs = wireLogs("cv", 25).map((w) =>
    makeLog({ ...w, startTime: w.startTime.replace("Z", ".000Z"), api_key: `key-${w.user}` }),
  );
  const errs = logs
    .filter((_, i) => i % 4 === 0)
    .map((l) => makeErrorLog({ startTime: l.startTime, model_group: "gpt-4o", api_base: "b1" }));

  it("keeps every row and every report answer; the triggers and ids carry on on the parent", async () => {
    await sql`CREATE SCHEMA IF NOT EXISTS spendlens`.execute(t.db);
    const upTo0010 = Object.fromEntries(Object.entries(migrations).filter(([k]) => k < "0011"));
    const migrator = new Migrator({
      db: t.db as Kysely<any>,
      provider: { getMigrations: async () => upTo0010 },
      migrationTableSchema: "spendlens",
    });
    const r0 = await migrator.migrateToLatest();
    expect(r0.error).toBeUndefined();
    // As LiteLLM (or an older spendlens) wrote them: plain multi-row INSERTs.
    await insertDirect(t.db, logColumns(["api_key", "model", "user", "team_id"]), logs);
    for (const e of errs)
      await sql`INSERT INTO "LiteLLM_ErrorLogs" (request_id, "startTime", "endTime", model_group, api_base,
        exception_type, status_code) VALUES (${e.request_id}, ${e.startTime}, ${e.endTime}, ${e.model_group},
        ${e.api_base}, ${e.exception_type}, ${e.status_code})`.execute(t.db);
    const kind = await sql<{
      k: string;
    }>`SELECT relkind::text AS k FROM pg_class WHERE oid = '"LiteLLM_SpendLogs"'::regclass`.execute(t.db);
    expect(kind.rows[0]!.k).toBe("r");
    const trigBefore = await sql<{ tgname: string }>`SELECT tgname FROM pg_trigger
      WHERE tgrelid = '"LiteLLM_SpendLogs"'::regclass AND NOT tgisinternal ORDER BY tgname`.execute(t.db);
    const rowsBefore = await sql`SELECT * FROM "LiteLLM_SpendLogs" ORDER BY request_id`.execute(t.db);
    const errBefore = await sql`SELECT * FROM "LiteLLM_ErrorLogs" ORDER BY request_id`.execute(t.db);
    const before = await reports(t.db);

    const m = await migrate(t.db);
    expect(m.applied).toContain("0011_partitioned_logs");
    expect(await sql`SELECT * FROM "LiteLLM_SpendLogs" ORDER BY request_id`.execute(t.db)).toEqual(
      rowsBefore,
    );
    expect(await sql`SELECT * FROM "LiteLLM_ErrorLogs" ORDER BY request_id`.execute(t.db)).toEqual(errBefore);
    expect(await reports(t.db)).toEqual(before);
    // The old table is one partition up to the month after its newest log; a DEFAULT one beside it.
    const parts = await partitionsOf(t.db, "LiteLLM_SpendLogs");
    expect(parts.find((p) => p.name === "LiteLLM_SpendLogs_upto_2026_05")?.bound).toBe(
      "FOR VALUES FROM (MINVALUE) TO ('2026-05-01 00:00:00')",
    );
    expect(await rowsPerPartition(t.db, "LiteLLM_SpendLogs", "cv-")).toEqual({
      LiteLLM_SpendLogs_upto_2026_05: logs.length,
    });
    const trigAfter = await sql<{ tgname: string }>`SELECT tgname FROM pg_trigger
      WHERE tgrelid = '"LiteLLM_SpendLogs"'::regclass AND NOT tgisinternal ORDER BY tgname`.execute(t.db);
    expect(trigAfter.rows.map((x) => x.tgname).sort()).toEqual(
      [
        ...trigBefore.rows.map((x) => x.tgname),
        "spend_log_ids_delete",
        "spend_log_ids_insert",
        "spend_log_ids_truncate",
        "spend_log_ids_update",
        // Migration 0014 (provider_hourly), applied by the same migrate().
        "spendlens_rollup_v14_delete",
        "spendlens_rollup_v14_truncate",
        "spendlens_rollup_v14_update",
        // Migration 0016 (end_user_hourly), likewise.
        "spendlens_rollup_v16_delete",
        "spendlens_rollup_v16_truncate",
        "spendlens_rollup_v16_update",
      ].sort(),
    );
    const ids = await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.spend_log_ids`.execute(
      t.db,
    );
    expect(ids.rows[0]!.n).toBe(logs.length);

    // The rollup triggers work on the parent: a new April log (into the old partition) and a resend.
    const extra = {
      request_id: "cv-new",
      startTime: "2026-04-20T10:00:00Z",
      spend: 7.5,
      model: "gpt-4o",
      user: "alice",
      team_id: "team-a",
    };
    const resend = {
      ...extra,
      request_id: logs[0]!.request_id,
      startTime: logs[0]!.startTime,
      spend: logs[0]!.spend,
    };
    const w = await ingestSpendLogs(t.db, ALL, { logs: [extra, resend] }, config);
    expect(w.inserted).toBe(1);
    const after = await reports(t.db);
    const want = spendPerDay(logs);
    want.set("2026-04-20", (want.get("2026-04-20") ?? 0) + 7.5);
    expectSameDays(reportDays(after), want);
    // Retention can drop the converted partition once its whole range is past the horizon.
    const changes = await ensurePartitions(t.db, { today: "2026-08-15", ahead: 0, retentionDays: 30 });
    expect(changes).toContainEqual({ action: "dropped", partition: "LiteLLM_SpendLogs_upto_2026_05" });
    const final = await reports(t.db);
    expect(final).toEqual(after);
    if (testEngine() === "postgres") {
      // Postgres only: the same conversion again is a no-op (the parent is no longer a plain table).
      const now = await partitionsOf(t.db, "LiteLLM_SpendLogs");
      await sql`SELECT spendlens.partition_log_table('LiteLLM_SpendLogs', 'spend_log_ids')`.execute(t.db);
      expect(await partitionsOf(t.db, "LiteLLM_SpendLogs")).toEqual(now);
    }
  });
});
