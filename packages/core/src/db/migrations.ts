import { createHash } from "node:crypto";
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from "kysely";
import { SpendlensError } from "../errors.ts";
import type { Db } from "./connect.ts";
import { ERROR_LOG_CATALOG, requiredColumns, SPEND_LOG_CATALOG } from "./logColumns.ts";
import { getMeta } from "./meta.ts";
import { MIGRATION_FILES } from "./migrationFiles.ts";
import { probeSchemaFacts } from "./schemaFacts.ts";
import { splitSqlStatements } from "./sqlText.ts";

/**
 * Migrations are frozen in time: never edit one that has shipped, add the next. Each is a committed SQL
 * file, packages/core/db/migrations/NNNN_name.sql, holding exactly what it runs (decisions such as
 * "LiteLLM's tables only when absent" are made in the SQL itself: IF NOT EXISTS, DO blocks); it imports
 * nothing and nothing imports it. src/db/migrationFiles.ts embeds the files (scripts/embed-migrations.mjs),
 * so the bundled CLI and server carry them; test/migrationFiles.test.ts pins each file's sha256.
 * LiteLLM's tables are created only when absent (standalone mode); on a database that LiteLLM made
 * (attach mode) they are left exactly as they are. Everything spendlens adds lives in schema `spendlens`.
 *
 * Adding one (docs/architecture.md, "Migrations"): write db/migrations/NNNN_name.sql with the next number,
 * run `pnpm --filter @spendlens/core embed-migrations`, pin its sha256 in test/migrationFiles.test.ts.
 */

/** The columns spendlens reads; a LiteLLM table that lacks one cannot be served. */
export const REQUIRED_COLUMNS: Record<string, string[]> = {
  LiteLLM_SpendLogs: requiredColumns(SPEND_LOG_CATALOG),
  LiteLLM_ErrorLogs: requiredColumns(ERROR_LOG_CATALOG),
  LiteLLM_VerificationToken: [
    "token",
    "key_name",
    "key_alias",
    "spend",
    "expires",
    "user_id",
    "team_id",
    "metadata",
    "blocked",
  ],
  LiteLLM_UserTable: ["user_id", "user_role", "spend"],
  LiteLLM_TeamTable: ["team_id", "team_alias", "spend"],
  LiteLLM_EndUserTable: ["user_id", "spend"],
};

/**
 * A migration's up(): its file's statements, one query each, in the caller's transaction. The text is split
 * when the migration runs, not when this module loads: every process loads it (each CLI run, each server
 * start) and nearly none migrates; splitting all the files cost ~15 ms of each CLI run's ~220 ms.
 */
function fromSql(text: string): Migration {
  return {
    async up(db: Kysely<any>) {
      // committed migration text, no input
      for (const s of splitSqlStatements(text)) await sql.raw(s).execute(db);
    },
  };
}

/** Registry of every migration, in order, from the committed files. */
export const migrations: Record<string, Migration> = Object.fromEntries(
  MIGRATION_FILES.map((f) => [f.name, fromSql(f.sql)]),
);

/** sha256 (hex) of each migration file's text, by name. */
export const migrationHashes: Record<string, string> = Object.fromEntries(
  MIGRATION_FILES.map((f) => [f.name, createHash("sha256").update(f.sql).digest("hex")]),
);

/** One hash of every migration (names and file hashes, in order): a database migrated to it is the same. */
export const migrationsHash: string = createHash("sha256")
  .update(MIGRATION_FILES.map((f) => `${f.name}:${migrationHashes[f.name]}`).join("\n"))
  .digest("hex");

class StaticProvider implements MigrationProvider {
  async getMigrations() {
    return migrations;
  }
}

export interface MigrationReport {
  applied: string[];
  mode: "standalone" | "attach";
}

/**
 * Brings spendlens's own objects up to date (or up to and including `upTo`, for tests of a past state),
 * then checks that LiteLLM's tables have what spendlens reads.
 */
export async function migrate(db: Db, opts: { upTo?: string } = {}): Promise<MigrationReport> {
  const migrator = new Migrator({
    db: db as Kysely<any>,
    provider: new StaticProvider(),
    migrationTableSchema: "spendlens",
  });
  const { error, results } = opts.upTo
    ? await migrator.migrateTo(opts.upTo)
    : await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName;
    throw new SpendlensError(
      "SCHEMA",
      `migration ${failed ?? "(before any migration)"} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  await checkSchema(db);
  // The planner's schema facts, probed once now that the schema is what it will be (db/schemaFacts.ts).
  await probeSchemaFacts(db);
  const mode = await getMeta(db, "mode");
  return {
    applied: (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName),
    mode: mode === "standalone" ? "standalone" : "attach",
  };
}

/** Reports a half-made database clearly: which LiteLLM table or column is missing. */
export async function checkSchema(db: Db): Promise<void> {
  const r = await sql<{ table_name: string; column_name: string }>`
    SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name IN (${sql.join(Object.keys(REQUIRED_COLUMNS))})`.execute(db);
  const have = new Map<string, Set<string>>();
  for (const row of r.rows) {
    if (!have.has(row.table_name)) have.set(row.table_name, new Set());
    have.get(row.table_name)!.add(row.column_name);
  }
  const problems: string[] = [];
  for (const [table, cols] of Object.entries(REQUIRED_COLUMNS)) {
    const got = have.get(table);
    if (!got) {
      problems.push(`table "${table}" is missing`);
      continue;
    }
    const missing = cols.filter((c) => !got.has(c));
    if (missing.length) problems.push(`"${table}" lacks column(s) ${missing.join(", ")}`);
  }
  if (problems.length) {
    throw new SpendlensError("SCHEMA", `the database is half-migrated: ${problems.join("; ")}`);
  }
}

/** True when spendlens's migrations have all run on this database. */
export async function isMigrated(db: Db): Promise<boolean> {
  const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM information_schema.tables
    WHERE table_schema = 'spendlens' AND table_name = 'kysely_migration'`.execute(db);
  if (!r.rows[0]?.n) return false;
  const done = await sql<{ name: string }>`SELECT name FROM spendlens.kysely_migration`.execute(db);
  const names = new Set(done.rows.map((x) => x.name));
  return Object.keys(migrations).every((m) => names.has(m));
}
