import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { getMeta, isMigrated, migrate, SpendlensError } from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import {
  createOlderSpendLogs,
  createTestDb,
  type TestDb,
  writeLitellmFixture,
} from "../src/testing/index.ts";

describe("migrations, standalone", () => {
  const t = useTestDb({ migrate: false });

  it("creates LiteLLM's tables when absent, records standalone mode, and is idempotent", async () => {
    expect(await isMigrated(t.db)).toBe(false);
    const first = await migrate(t.db);
    expect(first.mode).toBe("standalone");
    expect(first.applied[0]).toBe("0001_base");
    expect(await isMigrated(t.db)).toBe(true);
    const again = await migrate(t.db);
    expect(again.applied).toEqual([]);
    expect(again.mode).toBe("standalone");
    const tables = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_class c
      JOIN pg_namespace s ON s.oid = c.relnamespace
      WHERE s.nspname = 'public' AND c.relname LIKE 'LiteLLM_%' AND c.relkind IN ('r', 'p') AND NOT c.relispartition`.execute(
      t.db,
    );
    // 0001's six, and LiteLLM_BudgetTable and LiteLLM_OrganizationTable from 0008_budget_alerts.
    expect(tables.rows[0]!.n).toBe(8);
  });
});

describe("migrations, attach to a LiteLLM database", () => {
  const t = useTestDb({ migrate: false });

  it("leaves LiteLLM's own tables exactly as they are and reports a half-made one clearly", async () => {
    // A LiteLLM-made SpendLogs with a column spendlens has never heard of, and without request_tags.
    await createOlderSpendLogs(t.db, { requestTags: false, futureColumn: true });
    const err = await migrate(t.db).catch((e) => e);
    expect(err).toBeInstanceOf(SpendlensError);
    expect(err.code).toBe("SCHEMA");
    expect(err.message).toContain('"LiteLLM_SpendLogs" lacks column(s) request_tags');

    // LiteLLM adds the column in a later version: now spendlens attaches.
    await sql`ALTER TABLE "LiteLLM_SpendLogs" ADD COLUMN request_tags jsonb DEFAULT '[]'`.execute(t.db);
    const r = await migrate(t.db);
    expect(r.mode).toBe("attach");
    expect(await getMeta(t.db, "mode")).toBe("attach");
    const cols = await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = 'LiteLLM_SpendLogs' ORDER BY ordinal_position`.execute(
      t.db,
    );
    const names = cols.rows.map((c) => c.column_name);
    expect(names).toContain("some_future_column");
    expect(names).not.toContain("session_id"); // spendlens's DDL for the table was not applied
    // spendlens added no index of its own on LiteLLM's table.
    const ix = await sql<{ indexname: string }>`SELECT indexname FROM pg_indexes
      WHERE schemaname = 'public' AND tablename = 'LiteLLM_SpendLogs'`.execute(t.db);
    expect(ix.rows.map((i) => i.indexname)).toEqual(["LiteLLM_SpendLogs_pkey"]);
  });
});

/**
 * What the migrations leave behind, as one fingerprint of every function body (and its settings) in
 * schema spendlens and every trigger: the values below were taken from the TypeScript migrations that
 * generated their DDL at run time, before they became the SQL files in db/migrations, on a standalone
 * database and on LiteLLM's schema without the SpendLogs columns an older LiteLLM lacks (those are read
 * as NULL), migrated up to the last of those (0009); later migrations are SQL files from the start.
 * The same on Postgres and PGlite.
 */
const LAST_TS_MIGRATION = "0009_activity_rollups";
const FINGERPRINT = sql<{ f: string }>`SELECT md5(string_agg(x, E'\n' ORDER BY x)) AS f FROM (
    SELECT p.oid::regprocedure::text || ':' || md5(p.prosrc) || ':' || coalesce(p.proconfig::text, '') AS x
    FROM pg_proc p WHERE p.pronamespace = 'spendlens'::regnamespace
    UNION ALL SELECT t.tgrelid::regclass::text || ':' || t.tgname || ':' || t.tgfoid::regprocedure::text || ':' || t.tgtype
    FROM pg_trigger t WHERE NOT t.tgisinternal) s`;

describe("migrations make what the TypeScript migrations made", () => {
  let t: TestDb;
  afterAll(() => t?.drop());

  it("standalone", async () => {
    t = await createTestDb({ migrate: false });
    await migrate(t.db, { upTo: LAST_TS_MIGRATION });
    expect((await FINGERPRINT.execute(t.db)).rows[0]!.f).toBe("339c889be80ee5844a86b8e9bef42af3");
    await t.drop();
  });

  it("attached to an older LiteLLM (no organization_id, agent_id, status, … in SpendLogs)", async () => {
    t = await createTestDb({ migrate: false });
    await writeLitellmFixture(t, "schema.sql"); // the committed fixture, no input
    await sql`ALTER TABLE "LiteLLM_SpendLogs" DROP COLUMN organization_id, DROP COLUMN agent_id,
      DROP COLUMN mcp_namespaced_tool_name, DROP COLUMN status, DROP COLUMN request_duration_ms`.execute(
      t.db,
    );
    expect((await migrate(t.db, { upTo: LAST_TS_MIGRATION })).mode).toBe("attach");
    expect((await FINGERPRINT.execute(t.db)).rows[0]!.f).toBe("5696b2ffbfc87673f72b08b8830ca3b1");
  });
});
