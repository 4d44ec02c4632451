/**
 * Assertions core's tests share (this module imports vitest: not exported from
 * `@spendlens/core/testing`, which child processes outside vitest import too).
 */
import { sql } from "kysely";
import { expect } from "vitest";
import type { Db } from "../db/connect.ts";
import { migrate } from "../db/migrations.ts";
import { rollupStatus } from "../rollups/maintain.ts";

/**
 * Migrates a database that holds LiteLLM's own tables: the migration runs in attach mode, adds no index
 * to "LiteLLM_SpendLogs" (only LiteLLM's primary key is there) and leaves every rollup trigger in place.
 */
export async function expectAttachedWithoutIndexes(db: Db): Promise<void> {
  expect((await migrate(db)).mode).toBe("attach");
  const ix = await sql<{ indexname: string }>`SELECT indexname FROM pg_indexes
    WHERE tablename = 'LiteLLM_SpendLogs' ORDER BY indexname`.execute(db);
  expect(ix.rows.map((r) => r.indexname)).toEqual(["LiteLLM_SpendLogs_pkey"]); // nothing of spendlens's
  expect((await rollupStatus(db)).missingTriggers).toEqual([]);
}
