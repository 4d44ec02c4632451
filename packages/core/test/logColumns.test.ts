import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALL,
  buildWorld,
  CsvWriter,
  ERROR_COLUMNS,
  ERROR_LOG_CATALOG,
  ERROR_LOG_COLUMNS,
  generateLogs,
  ingestSpendLogs,
  insertErrorLogBatch,
  insertLogBatch,
  LOG_COLUMNS,
  type LogColumn,
  MEASURE_SETS,
  migrate,
  OPTIONAL_SPEND_LOG_COLUMNS,
  REQUIRED_COLUMNS,
  SPEND_LOG_CATALOG,
  SPEND_LOG_COLUMNS,
  schemaFacts,
  writeErrorRow,
  writeLogRow,
} from "../src/internal.ts";
import { createTestDb, type TestDb, writeLitellmFixture } from "../src/testing/index.ts";

/**
 * The column catalog (db/logColumns.ts) against the tables the frozen migrations make, on this engine:
 * standalone (spendlens made the tables) and attached to LiteLLM's own schema (the committed fixture),
 * and against an older LiteLLM's table, whose missing columns must all be marked optional.
 */

interface InfoColumn {
  name: string;
  type: string;
  nullable: boolean;
}

async function tableColumns(t: TestDb, table: string): Promise<InfoColumn[]> {
  const r = await sql<{ name: string; type: string; nullable: string }>`
    SELECT column_name AS name, data_type AS type, is_nullable AS nullable FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = ${table} ORDER BY ordinal_position`.execute(t.db);
  return r.rows.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable === "YES" }));
}

/** information_schema's data_type for each of the catalog's types (written out here, not taken from it). */
const INFO_TYPE: Record<string, string> = {
  text: "text",
  float8: "double precision",
  int4: "integer",
  timestamp: "timestamp without time zone",
  jsonb: "jsonb",
};

const asInfo = (cat: readonly LogColumn[]) =>
  cat.map((c) => ({ name: c.name, type: INFO_TYPE[c.type], nullable: c.nullable }));
const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

describe("the log column catalog against the migrated tables", () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("standalone: every column of both log tables, with its type and nullability", async () => {
    // The partitioned tables' key ("request_id", "startTime") is NOT NULL as the catalog says.
    expect((await tableColumns(t, "LiteLLM_SpendLogs")).sort(byName)).toEqual(
      asInfo(SPEND_LOG_CATALOG).sort(byName),
    );
    expect((await tableColumns(t, "LiteLLM_ErrorLogs")).sort(byName)).toEqual(
      asInfo(ERROR_LOG_CATALOG).sort(byName),
    );
  });

  it("the schema facts see every catalog column of a standalone database", async () => {
    const f = await schemaFacts(t.db);
    expect([...f.spendLogColumns].sort()).toEqual(SPEND_LOG_CATALOG.map((c) => c.name).sort());
    expect(f.startTimeMillis).toBe(true);
    expect(f.startTimeHasZone).toBe(false);
    expect(f.embedded).toBe(process.env.SPENDLENS_TEST_ENGINE === "pglite");
  });

  it("the demo loaders' rows go in whole: insert.ts writes every demo column", async () => {
    const w = buildWorld({ seed: 3 });
    const rows = [...generateLogs(w, 40, { seed: 3, end: new Date("2026-03-01T00:00:00Z"), days: 3 })];
    const logs = rows.map((r) => r.log);
    const errors = rows.flatMap((r) => (r.error ? [r.error] : []));
    expect(errors.length).toBeGreaterThan(0);
    expect((await insertLogBatch(t.db, logs)).length).toBe(logs.length);
    expect(await insertErrorLogBatch(t.db, errors)).toBe(errors.length);
    const names = LOG_COLUMNS.map(([c]) => c);
    const back = await sql<Record<string, unknown>>`SELECT ${sql.join(
      names.map((c) =>
        c === "metadata" || c === "request_tags" ? sql`${sql.ref(c)}::text AS ${sql.ref(c)}` : sql.ref(c),
      ),
    )} FROM "LiteLLM_SpendLogs" ORDER BY request_id`.execute(t.db);
    const want = [...logs]
      .sort(byRequestId)
      .map((l) => Object.fromEntries(names.map((c) => [c, normal(c, l[c])])));
    expect(back.rows.map((r) => Object.fromEntries(names.map((c) => [c, normal(c, r[c])])))).toEqual(want);
    const enames = ERROR_COLUMNS.map(([c]) => c);
    const eback = await sql<Record<string, unknown>>`SELECT ${sql.join(enames.map((c) => sql.ref(c)))}
      FROM "LiteLLM_ErrorLogs" ORDER BY request_id`.execute(t.db);
    expect(eback.rows).toEqual(
      [...errors].sort(byRequestId).map((e) => Object.fromEntries(enames.map((c) => [c, normal(c, e[c])]))),
    );
  });
});

const byRequestId = (a: { request_id: string }, b: { request_id: string }) =>
  a.request_id < b.request_id ? -1 : a.request_id > b.request_id ? 1 : 0;
/** A value as it reads back: times as ISO with Z and milliseconds, JSON by value. */
function normal(c: string, v: unknown): unknown {
  if (v == null) return null;
  if (c === "startTime" || c === "endTime") return new Date(`${String(v).replace(/Z?$/, "Z")}`).toISOString();
  if (c === "metadata" || c === "request_tags") return JSON.parse(String(v));
  return v;
}

describe("the catalog against LiteLLM's own schema (attach mode)", () => {
  it("LiteLLM's current table has exactly the catalog's columns and types", async () => {
    const t = await createTestDb({ migrate: false });
    try {
      await writeLitellmFixture(t, "schema.sql"); // the committed fixture, no input
      expect((await migrate(t.db)).mode).toBe("attach");
      const spend = await tableColumns(t, "LiteLLM_SpendLogs");
      expect(spend.map(({ name, type }) => ({ name, type })).sort(byName)).toEqual(
        asInfo(SPEND_LOG_CATALOG)
          .map(({ name, type }) => ({ name, type }))
          .sort(byName),
      );
      const errs = await tableColumns(t, "LiteLLM_ErrorLogs");
      expect(errs.map(({ name, type }) => ({ name, type })).sort(byName)).toEqual(
        asInfo(ERROR_LOG_CATALOG)
          .map(({ name, type }) => ({ name, type }))
          .sort(byName),
      );
    } finally {
      await t.drop();
    }
  });

  it("an older LiteLLM's table lacks only columns the catalog marks optional; the schema facts see the table as it is", async () => {
    const t = await createTestDb({ migrate: false });
    try {
      await writeLitellmFixture(t, "schema.sql");
      await sql`ALTER TABLE "LiteLLM_SpendLogs" DROP COLUMN organization_id, DROP COLUMN agent_id,
        DROP COLUMN mcp_namespaced_tool_name, DROP COLUMN status, DROP COLUMN request_duration_ms`.execute(
        t.db,
      );
      await migrate(t.db);
      const have = new Set((await tableColumns(t, "LiteLLM_SpendLogs")).map((c) => c.name));
      const missing = SPEND_LOG_CATALOG.filter((c) => !have.has(c.name)).map((c) => c.name);
      expect(missing.sort()).toEqual(
        ["agent_id", "mcp_namespaced_tool_name", "organization_id", "request_duration_ms", "status"].sort(),
      );
      for (const name of missing)
        expect((SPEND_LOG_CATALOG as readonly LogColumn[]).find((c) => c.name === name)?.optional).toBe(true);
      const f = await schemaFacts(t.db);
      expect([...f.spendLogColumns].sort()).toEqual([...have].sort());
      // Ingest writes the optional columns the table has and leaves out the ones it lacks.
      const row = {
        request_id: "old-1",
        api_key: "hashed-old",
        spend: 0.5,
        startTime: "2026-03-15T09:00:00Z",
        model: "gpt-4o",
        session_id: "s-1",
        organization_id: "org-1",
        status: "success",
      };
      expect(
        (await ingestSpendLogs(t.db, ALL, { logs: [row] }, { modelList: [], providerBudgets: {} })).inserted,
      ).toBe(1);
      const back = await sql<{ session_id: string; spend: number }>`SELECT session_id, spend
        FROM "LiteLLM_SpendLogs" WHERE request_id = 'old-1'`.execute(t.db);
      expect(back.rows).toEqual([{ session_id: "s-1", spend: 0.5 }]);
    } finally {
      await t.drop();
    }
  });
});

describe("what derives from the catalog", () => {
  it("ingest's lists: every ingest column once, the optional ones apart; migrate requires the rest", () => {
    const ingest = (SPEND_LOG_CATALOG as readonly LogColumn[]).filter((c) => c.ingest);
    expect([...SPEND_LOG_COLUMNS, ...OPTIONAL_SPEND_LOG_COLUMNS].map((c) => c.name).sort()).toEqual(
      ingest.map((c) => c.name).sort(),
    );
    expect(SPEND_LOG_COLUMNS.map((c) => c.name)).toEqual(REQUIRED_COLUMNS.LiteLLM_SpendLogs);
    expect(ERROR_LOG_COLUMNS.map((c) => c.name)).toEqual(ERROR_LOG_CATALOG.map((c) => c.name));
  });

  it("the CSV writers write the fields in the loaders' column order", () => {
    const numeric = new Set(["double precision", "integer"]);
    const row = (cols: ReadonlyArray<readonly [string, string]>) =>
      Object.fromEntries(cols.map(([c, t], i) => [c, numeric.has(t) ? i + 1 : `v_${c}`]));
    const expected = (cols: ReadonlyArray<readonly [string, string]>) =>
      cols.map(([c, t], i) => (numeric.has(t) ? String(i + 1) : `"v_${c}"`)).join(",");
    const w = new CsvWriter();
    writeLogRow(w, row(LOG_COLUMNS) as never);
    writeErrorRow(w, row(ERROR_COLUMNS) as never);
    w.flush();
    const lines = Buffer.concat(w.ready).toString("utf8").split("\n");
    expect(lines[0]).toBe(expected(LOG_COLUMNS));
    expect(lines[1]).toBe(expected(ERROR_COLUMNS));
  });

  it("the rollups' measures read the catalog's rollup columns", () => {
    const tokenColumns = (SPEND_LOG_CATALOG as readonly LogColumn[])
      .filter((c) => c.rollup === "tokens")
      .map((c) => c.name);
    const spendSet = MEASURE_SETS.spend.measures;
    expect(
      spendSet
        .filter((m) => m.name.endsWith("_tokens"))
        .map((m) => m.name)
        .sort(),
    ).toEqual(tokenColumns.sort());
    for (const n of tokenColumns) expect(spendSet.find((m) => m.name === n)?.raw).toBe(`coalesce(l.${n}, 0)`);
    expect(
      (SPEND_LOG_CATALOG as readonly LogColumn[]).filter((c) => c.rollup === "spend").map((c) => c.name),
    ).toEqual(["spend"]);
    expect(spendSet.find((m) => m.name === "spend")?.raw).toBe("coalesce(l.spend, 0)");
  });
});
