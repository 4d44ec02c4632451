import type { ColumnType } from "kysely";

/**
 * The one catalog of the LiteLLM log tables' columns that spendlens knows: "LiteLLM_SpendLogs" and
 * "LiteLLM_ErrorLogs", in the order migration 0001 (and 0009) create them. What restated these lists
 * before derives from here: ingest's column lists (ingest/columns.ts), the bulk loaders' (demo/copy.ts and
 * so demo/pgliteBulk.ts), the required columns `migrate` checks (db/migrations.ts), the analytics
 * dimensions' columns (analytics/analytics.ts), the rollups' measures that sum a log column
 * (rollups/measures.ts) and the kysely row types (db/schema.ts). demo/insert.ts keeps its own text; the
 * catalog test checks it.
 *
 * The migrations are frozen SQL and keep their own text; test/logColumns.test.ts checks this catalog
 * against the migrated tables' columns and types on both engines. Adding a column LiteLLM logs: a new
 * migration (attach mode: only when absent), then one entry here with its flags.
 *
 * Every name here is a constant of the code (never input), so it may be spliced as an identifier.
 */

/** How a column is typed where spendlens writes it (ingest's JSON recordset casts, the demo staging tables). */
export type PgType = "text" | "float8" | "int4" | "timestamp" | "jsonb";

/** The SQL type the migrations declare for each PgType (the demo loaders' staging tables use it). */
export const SQL_TYPE: Record<PgType, string> = {
  text: "text",
  float8: "double precision",
  int4: "integer",
  timestamp: "timestamp(3)",
  jsonb: "jsonb",
};

export interface LogColumn {
  readonly name: string;
  readonly type: PgType;
  /** NULL allowed (else NOT NULL; every NOT NULL column but the id and the times has a default). */
  readonly nullable: boolean;
  /**
   * Not required of a LiteLLM table: `migrate` (db/migrations.ts `checkSchema`) refuses a table that lacks
   * a column without this flag. Spend logs: LiteLLM added it later, so a table an older LiteLLM made
   * (attach mode) may lack it; ingest writes it only when the table has it (schema facts) and readers read
   * it as NULL. Error logs: nothing reads it, but error ingest writes every column it lists.
   */
  readonly optional?: true;
  /** POST …/ingest writes it (from the row's field of the same name). */
  readonly ingest?: true;
  /** The demo generator fills it (DemoLog / DemoErrorLog field of the same name); the loaders write it. */
  readonly demo?: true;
  /** The rollup measure family it feeds (rollups/measures.ts): the spend, or a token count of its own name. */
  readonly rollup?: "spend" | "tokens";
  /**
   * With `rollup`: the measure's place among the rollup tables' measure columns, after `requests`, as the
   * migrations declare them (spend, prompt_tokens, completion_tokens, total_tokens); the measures and the
   * statements that read them list them in this order.
   */
  readonly rollupPlace?: number;
  /** The analytics dimension that groups and filters by it (analytics/analytics.ts). */
  readonly analytics?: string;
}

export const SPEND_LOG_CATALOG = [
  { name: "request_id", type: "text", nullable: false, ingest: true, demo: true },
  { name: "call_type", type: "text", nullable: false, ingest: true, demo: true },
  { name: "api_key", type: "text", nullable: false, ingest: true, demo: true, analytics: "api_key" },
  {
    name: "spend",
    type: "float8",
    nullable: false,
    ingest: true,
    demo: true,
    rollup: "spend",
    rollupPlace: 1,
  },
  {
    name: "total_tokens",
    type: "int4",
    nullable: false,
    ingest: true,
    demo: true,
    rollup: "tokens",
    rollupPlace: 4,
  },
  {
    name: "prompt_tokens",
    type: "int4",
    nullable: false,
    ingest: true,
    demo: true,
    rollup: "tokens",
    rollupPlace: 2,
  },
  {
    name: "completion_tokens",
    type: "int4",
    nullable: false,
    ingest: true,
    demo: true,
    rollup: "tokens",
    rollupPlace: 3,
  },
  { name: "startTime", type: "timestamp", nullable: false, ingest: true, demo: true },
  { name: "endTime", type: "timestamp", nullable: false, ingest: true, demo: true },
  { name: "completionStartTime", type: "timestamp", nullable: true, optional: true, ingest: true },
  { name: "model", type: "text", nullable: false, ingest: true, demo: true, analytics: "model" },
  { name: "model_id", type: "text", nullable: true, ingest: true, demo: true },
  { name: "model_group", type: "text", nullable: true, ingest: true, demo: true, analytics: "model_group" },
  {
    name: "custom_llm_provider",
    type: "text",
    nullable: true,
    ingest: true,
    demo: true,
    analytics: "provider",
  },
  { name: "api_base", type: "text", nullable: true, ingest: true, demo: true, analytics: "api_base" },
  { name: "user", type: "text", nullable: true, ingest: true, demo: true, analytics: "user" },
  { name: "metadata", type: "jsonb", nullable: true, ingest: true, demo: true },
  { name: "cache_hit", type: "text", nullable: true, ingest: true, demo: true },
  { name: "cache_key", type: "text", nullable: true, optional: true, ingest: true },
  { name: "request_tags", type: "jsonb", nullable: true, ingest: true, demo: true },
  { name: "team_id", type: "text", nullable: true, ingest: true, demo: true, analytics: "team" },
  {
    name: "organization_id",
    type: "text",
    nullable: true,
    optional: true,
    ingest: true,
    analytics: "organization",
  },
  { name: "end_user", type: "text", nullable: true, ingest: true, demo: true, analytics: "end_user" },
  { name: "requester_ip_address", type: "text", nullable: true, optional: true, ingest: true },
  { name: "messages", type: "jsonb", nullable: true, optional: true, ingest: true },
  { name: "response", type: "jsonb", nullable: true, optional: true, ingest: true },
  { name: "session_id", type: "text", nullable: true, optional: true, ingest: true },
  { name: "status", type: "text", nullable: true, optional: true, ingest: true, demo: true },
  { name: "mcp_namespaced_tool_name", type: "text", nullable: true, optional: true },
  { name: "proxy_server_request", type: "jsonb", nullable: true, optional: true },
  // Migration 0009 (standalone mode): read by the activity rollups (rollups/activityRollup.ts).
  { name: "agent_id", type: "text", nullable: true, optional: true },
  { name: "request_duration_ms", type: "int4", nullable: true, optional: true },
] as const satisfies readonly LogColumn[];

export const ERROR_LOG_CATALOG = [
  { name: "request_id", type: "text", nullable: false, ingest: true, demo: true },
  { name: "startTime", type: "timestamp", nullable: false, ingest: true, demo: true },
  { name: "endTime", type: "timestamp", nullable: false, ingest: true, demo: true },
  { name: "api_base", type: "text", nullable: false, ingest: true, demo: true },
  { name: "model_group", type: "text", nullable: false, ingest: true, demo: true },
  { name: "litellm_model_name", type: "text", nullable: false, optional: true, ingest: true, demo: true },
  { name: "model_id", type: "text", nullable: false, ingest: true, demo: true },
  { name: "request_kwargs", type: "jsonb", nullable: false, optional: true, ingest: true },
  { name: "exception_type", type: "text", nullable: false, ingest: true, demo: true },
  { name: "exception_string", type: "text", nullable: false, optional: true, ingest: true },
  { name: "status_code", type: "text", nullable: false, ingest: true, demo: true },
] as const satisfies readonly LogColumn[];

/** The columns each log table must have (`checkSchema`): the catalog's columns not marked optional. */
export function requiredColumns(catalog: readonly LogColumn[]): string[] {
  return catalog.filter((c) => !c.optional).map((c) => c.name);
}

export type SpendLogColumnName = (typeof SPEND_LOG_CATALOG)[number]["name"];
export type ErrorLogColumnName = (typeof ERROR_LOG_CATALOG)[number]["name"];

/** The columns of a catalog that have a flag, in catalog order. */
export function columnsWhere(
  catalog: readonly LogColumn[],
  keep: (c: LogColumn) => boolean,
): { name: string; type: PgType }[] {
  return catalog.filter(keep).map((c) => ({ name: c.name, type: c.type }));
}

// Kysely row types, derived from the catalog (db/schema.ts uses them). Timestamps travel as ISO strings
// (connect.ts); jsonb goes in as JSON text; a NOT NULL column with a default may be left out of an INSERT.
type JsType<T extends PgType> = T extends "float8" | "int4" ? number : T extends "jsonb" ? unknown : string;
type InsertType<T extends PgType> = T extends "jsonb" ? string : JsType<T>;
type KyselyColumn<C extends LogColumn> = C["nullable"] extends true
  ? ColumnType<
      JsType<C["type"]> | null,
      InsertType<C["type"]> | null | undefined,
      InsertType<C["type"]> | null
    >
  : ColumnType<JsType<C["type"]>, InsertType<C["type"]> | undefined, InsertType<C["type"]>>;

/** The kysely table type of a catalog: one property per column. */
export type CatalogTable<Cat extends readonly LogColumn[]> = {
  [C in Cat[number] as C["name"]]: KyselyColumn<C>;
};
