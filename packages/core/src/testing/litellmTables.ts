/**
 * LiteLLM's own tables as an older LiteLLM made them, for the attach-mode tests (migrations, rollups,
 * tag rollups): one definition instead of one per test file.
 */
import { readFileSync } from "node:fs";
import { sql } from "kysely";
import type { Db, DbHandle } from "../db/connect.ts";

/**
 * `"LiteLLM_SpendLogs"` as an older LiteLLM made it: every column spendlens requires but no
 * organization_id (nor the later columns). `requestTags: false` leaves out request_tags too (a table
 * spendlens must refuse); `futureColumn` adds a column spendlens has never heard of (kept as it is).
 */
export async function createOlderSpendLogs(
  db: Db,
  opts: { requestTags?: boolean; futureColumn?: boolean } = {},
): Promise<void> {
  const tags = opts.requestTags === false ? sql`` : sql`, request_tags jsonb DEFAULT '[]'`;
  const future = opts.futureColumn ? sql`, some_future_column text DEFAULT 'kept'` : sql``;
  await sql`CREATE TABLE "LiteLLM_SpendLogs" (
    request_id text PRIMARY KEY, call_type text NOT NULL DEFAULT '', api_key text NOT NULL DEFAULT '',
    spend double precision NOT NULL DEFAULT 0, total_tokens integer NOT NULL DEFAULT 0,
    prompt_tokens integer NOT NULL DEFAULT 0, completion_tokens integer NOT NULL DEFAULT 0,
    "startTime" timestamp(3) NOT NULL, "endTime" timestamp(3) NOT NULL, model text NOT NULL DEFAULT '',
    model_id text DEFAULT '', model_group text DEFAULT '', custom_llm_provider text DEFAULT '',
    api_base text DEFAULT '', "user" text DEFAULT '', metadata jsonb DEFAULT '{}', cache_hit text DEFAULT ''${tags},
    team_id text, end_user text${future})`.execute(db);
}

/**
 * LiteLLM's own DDL as the repository keeps it (test/fixtures/litellm: `schema.sql`, the tables as
 * LiteLLM's Prisma migrations make them; `views.sql`, its views), one statement a string, comment lines
 * dropped. Committed files, no input: the attach-mode tests and the bench run them as they are.
 */
export function litellmFixtureStatements(file: "schema.sql" | "views.sql"): string[] {
  return readFileSync(new URL(`../../test/fixtures/litellm/${file}`, import.meta.url), "utf8")
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, "").trim())
    .filter((s) => s !== "");
}

/**
 * LiteLLM's own DDL files (litellmFixtureStatements) written into a test database as one script: one
 * simple query (PGlite's exec, or the pool's query without parameters on Postgres), not a round trip per
 * statement. The same statements in the same order, in one implicit transaction (none of them is one that
 * refuses a transaction): the same tables, indexes and views; on PGlite about half the CPU time of ~170
 * separate statements.
 */
export async function writeLitellmFixture(
  h: Pick<DbHandle, "pglite" | "pool">,
  ...files: ("schema.sql" | "views.sql")[]
): Promise<void> {
  const script = files.flatMap((f) => litellmFixtureStatements(f)).join(";\n");
  if (h.pglite) await h.pglite.exec(script);
  else if (h.pool) await h.pool.query(script);
  else throw new Error("writeLitellmFixture: neither a PGlite nor a pg pool");
}
