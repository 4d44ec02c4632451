import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from "kysely";
import { SpendlensError } from "../errors.ts";
import type { Db } from "./connect.ts";
import { m0002_budgets } from "./migrations/0002_budgets.ts";
import { m0003_rollups } from "./migrations/0003_rollups.ts";
import { m0004_tag_request_rollups } from "./migrations/0004_tag_request_rollups.ts";
import { m0005_derived_rollups } from "./migrations/0005_derived_rollups.ts";
import { m0006_derived_guard } from "./migrations/0006_derived_guard.ts";
import { m0007_spend_counter_deltas } from "./migrations/0007_spend_counter_deltas.ts";
import { m0008_budget_alerts } from "./migrations/0008_budget_alerts.ts";
import { m0009_activity_rollups } from "./migrations/0009_activity_rollups.ts";
import { m0011_partitioned_logs } from "./migrations/0011_partitioned_logs.ts";

/**
 * Migrations are frozen in time: never edit one that has shipped, add the next.
 * LiteLLM's tables are created only when absent (standalone mode); on a database that LiteLLM made
 * (attach mode) they are left exactly as they are. Everything spendlens adds lives in schema `spendlens`.
 */

// LiteLLM's tables as its Prisma schema creates them (the columns spendlens reads, and the common rest).
const LITELLM_TABLES: Record<string, string> = {
  LiteLLM_SpendLogs: `CREATE TABLE "LiteLLM_SpendLogs" (
    request_id text PRIMARY KEY,
    call_type text NOT NULL DEFAULT '',
    api_key text NOT NULL DEFAULT '',
    spend double precision NOT NULL DEFAULT 0.0,
    total_tokens integer NOT NULL DEFAULT 0,
    prompt_tokens integer NOT NULL DEFAULT 0,
    completion_tokens integer NOT NULL DEFAULT 0,
    "startTime" timestamp(3) NOT NULL,
    "endTime" timestamp(3) NOT NULL,
    "completionStartTime" timestamp(3),
    model text NOT NULL DEFAULT '',
    model_id text DEFAULT '',
    model_group text DEFAULT '',
    custom_llm_provider text DEFAULT '',
    api_base text DEFAULT '',
    "user" text DEFAULT '',
    metadata jsonb DEFAULT '{}',
    cache_hit text DEFAULT '',
    cache_key text DEFAULT '',
    request_tags jsonb DEFAULT '[]',
    team_id text,
    organization_id text,
    end_user text,
    requester_ip_address text,
    messages jsonb DEFAULT '{}',
    response jsonb DEFAULT '{}',
    session_id text,
    status text,
    mcp_namespaced_tool_name text,
    proxy_server_request jsonb DEFAULT '{}'
  )`,
  LiteLLM_ErrorLogs: `CREATE TABLE "LiteLLM_ErrorLogs" (
    request_id text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    "startTime" timestamp(3) NOT NULL,
    "endTime" timestamp(3) NOT NULL,
    api_base text NOT NULL DEFAULT '',
    model_group text NOT NULL DEFAULT '',
    litellm_model_name text NOT NULL DEFAULT '',
    model_id text NOT NULL DEFAULT '',
    request_kwargs jsonb NOT NULL DEFAULT '{}',
    exception_type text NOT NULL DEFAULT '',
    exception_string text NOT NULL DEFAULT '',
    status_code text NOT NULL DEFAULT ''
  )`,
  LiteLLM_VerificationToken: `CREATE TABLE "LiteLLM_VerificationToken" (
    token text PRIMARY KEY,
    key_name text,
    key_alias text,
    soft_budget_cooldown boolean NOT NULL DEFAULT false,
    spend double precision NOT NULL DEFAULT 0.0,
    expires timestamp(3),
    models text[] NOT NULL DEFAULT '{}',
    aliases jsonb NOT NULL DEFAULT '{}',
    config jsonb NOT NULL DEFAULT '{}',
    user_id text,
    team_id text,
    permissions jsonb NOT NULL DEFAULT '{}',
    max_parallel_requests integer,
    metadata jsonb NOT NULL DEFAULT '{}',
    blocked boolean,
    tpm_limit bigint,
    rpm_limit bigint,
    max_budget double precision,
    budget_duration text,
    budget_reset_at timestamp(3),
    allowed_cache_controls text[] DEFAULT '{}',
    model_spend jsonb NOT NULL DEFAULT '{}',
    model_max_budget jsonb NOT NULL DEFAULT '{}',
    budget_id text,
    organization_id text,
    created_at timestamp(3) DEFAULT CURRENT_TIMESTAMP,
    created_by text,
    updated_at timestamp(3) DEFAULT CURRENT_TIMESTAMP,
    updated_by text
  )`,
  LiteLLM_UserTable: `CREATE TABLE "LiteLLM_UserTable" (
    user_id text PRIMARY KEY,
    user_alias text,
    team_id text,
    sso_user_id text UNIQUE,
    organization_id text,
    password text,
    teams text[] DEFAULT '{}',
    user_role text,
    max_budget double precision,
    spend double precision NOT NULL DEFAULT 0.0,
    user_email text,
    models text[] DEFAULT '{}',
    metadata jsonb DEFAULT '{}',
    max_parallel_requests integer,
    tpm_limit bigint,
    rpm_limit bigint,
    budget_duration text,
    budget_reset_at timestamp(3),
    allowed_cache_controls text[] DEFAULT '{}',
    model_spend jsonb DEFAULT '{}',
    model_max_budget jsonb DEFAULT '{}',
    created_at timestamp(3) DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp(3) DEFAULT CURRENT_TIMESTAMP
  )`,
  LiteLLM_TeamTable: `CREATE TABLE "LiteLLM_TeamTable" (
    team_id text PRIMARY KEY,
    team_alias text,
    organization_id text,
    admins text[] DEFAULT '{}',
    members text[] DEFAULT '{}',
    members_with_roles jsonb NOT NULL DEFAULT '{}',
    metadata jsonb DEFAULT '{}',
    max_budget double precision,
    spend double precision NOT NULL DEFAULT 0.0,
    models text[] DEFAULT '{}',
    max_parallel_requests integer,
    tpm_limit bigint,
    rpm_limit bigint,
    budget_duration text,
    budget_reset_at timestamp(3),
    blocked boolean NOT NULL DEFAULT false,
    created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    model_spend jsonb NOT NULL DEFAULT '{}',
    model_max_budget jsonb NOT NULL DEFAULT '{}',
    model_id integer
  )`,
  LiteLLM_EndUserTable: `CREATE TABLE "LiteLLM_EndUserTable" (
    user_id text PRIMARY KEY,
    alias text,
    spend double precision NOT NULL DEFAULT 0.0,
    allowed_model_region text,
    default_model text,
    budget_id text,
    blocked boolean NOT NULL DEFAULT false
  )`,
};

// LiteLLM's own indexes, made only on tables that spendlens created.
const LITELLM_INDEXES: Record<string, string[]> = {
  LiteLLM_SpendLogs: [
    `CREATE INDEX IF NOT EXISTS "LiteLLM_SpendLogs_startTime_idx" ON "LiteLLM_SpendLogs" ("startTime")`,
    `CREATE INDEX IF NOT EXISTS "LiteLLM_SpendLogs_end_user_idx" ON "LiteLLM_SpendLogs" (end_user)`,
  ],
};

/** The columns spendlens reads; a LiteLLM table that lacks one cannot be served. */
export const REQUIRED_COLUMNS: Record<string, string[]> = {
  LiteLLM_SpendLogs: [
    "request_id",
    "call_type",
    "api_key",
    "spend",
    "total_tokens",
    "prompt_tokens",
    "completion_tokens",
    "startTime",
    "endTime",
    "model",
    "model_id",
    "model_group",
    "custom_llm_provider",
    "api_base",
    "user",
    "metadata",
    "cache_hit",
    "request_tags",
    "team_id",
    "end_user",
  ],
  LiteLLM_ErrorLogs: [
    "request_id",
    "startTime",
    "endTime",
    "api_base",
    "model_group",
    "model_id",
    "exception_type",
    "status_code",
  ],
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

async function tableExists(db: Kysely<any>, name: string): Promise<boolean> {
  const r = await sql<{ oid: string | null }>`SELECT to_regclass(${`public."${name}"`})::text AS oid`.execute(
    db,
  );
  return r.rows[0]?.oid != null;
}

const m0001_base: Migration = {
  async up(db) {
    await sql`CREATE TABLE IF NOT EXISTS spendlens.meta (key text PRIMARY KEY, value text NOT NULL)`.execute(
      db,
    );
    const created: string[] = [];
    for (const [name, ddl] of Object.entries(LITELLM_TABLES)) {
      if (await tableExists(db, name)) continue;
      await sql.raw(ddl).execute(db); // static DDL from this file, no input
      for (const ix of LITELLM_INDEXES[name] ?? []) await sql.raw(ix).execute(db);
      created.push(name);
    }
    const mode = created.includes("LiteLLM_SpendLogs") ? "standalone" : "attach";
    await sql`INSERT INTO spendlens.meta (key, value) VALUES ('mode', ${mode}), ('created_litellm_tables', ${created.join(",")})
      ON CONFLICT (key) DO NOTHING`.execute(db);
  },
};

/** Registry of every migration, in order. Later issues append here. */
export const migrations: Record<string, Migration> = {
  "0001_base": m0001_base,
  "0002_budgets": m0002_budgets,
  "0003_rollups": m0003_rollups,
  "0004_tag_request_rollups": m0004_tag_request_rollups,
  "0005_derived_rollups": m0005_derived_rollups,
  "0006_derived_guard": m0006_derived_guard,
  "0007_spend_counter_deltas": m0007_spend_counter_deltas,
  "0008_budget_alerts": m0008_budget_alerts,
  "0009_activity_rollups": m0009_activity_rollups,
  "0011_partitioned_logs": m0011_partitioned_logs,
};

class StaticProvider implements MigrationProvider {
  async getMigrations() {
    return migrations;
  }
}

export interface MigrationReport {
  applied: string[];
  mode: "standalone" | "attach";
}

/** Brings spendlens's own objects up to date, then checks that LiteLLM's tables have what spendlens reads. */
export async function migrate(db: Db): Promise<MigrationReport> {
  const migrator = new Migrator({
    db: db as Kysely<any>,
    provider: new StaticProvider(),
    migrationTableSchema: "spendlens",
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName;
    throw new SpendlensError(
      "SCHEMA",
      `migration ${failed ?? "(before any migration)"} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  await checkSchema(db);
  const mode = await sql<{ value: string }>`SELECT value FROM spendlens.meta WHERE key = 'mode'`.execute(db);
  return {
    applied: (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName),
    mode: mode.rows[0]?.value === "standalone" ? "standalone" : "attach",
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
