import type { ColumnType, Generated } from "kysely";
import type { CatalogTable, ERROR_LOG_CATALOG, SPEND_LOG_CATALOG } from "./logColumns.ts";

/**
 * Kysely types for LiteLLM's own tables (names and columns as LiteLLM's Prisma schema creates them)
 * and for spendlens's own objects, which live in the `spendlens` schema.
 *
 * Timestamps: every timestamp column is `timestamp(3) without time zone` holding UTC. Both drivers are
 * configured (see connect.ts) to return them as ISO strings ending in `Z`, and core passes them in as
 * ISO strings, so no JS Date ever meets the driver's local-time conversions.
 */
type NullableTimestamp = ColumnType<string | null, string | null | undefined, string | null>;
type Json = ColumnType<unknown, string | undefined, string>;
type NullableJson = ColumnType<unknown | null, string | null | undefined, string | null>;
type Float = ColumnType<number, number | undefined, number>;

/**
 * The log tables' row types come from the column catalog (db/logColumns.ts): one entry there is the
 * column here. The id of a spend log must be given; an error log's has a default.
 */
export type SpendLogsTable = Omit<CatalogTable<typeof SPEND_LOG_CATALOG>, "request_id"> & {
  request_id: string;
};
export type ErrorLogsTable = Omit<CatalogTable<typeof ERROR_LOG_CATALOG>, "request_id"> & {
  request_id: Generated<string>;
};

export interface VerificationTokenTable {
  token: string;
  key_name: string | null;
  key_alias: string | null;
  spend: Float;
  expires: NullableTimestamp;
  models: ColumnType<string[], string[] | undefined, string[]>;
  user_id: string | null;
  team_id: string | null;
  organization_id: string | null;
  metadata: Json;
  blocked: boolean | null;
  max_budget: number | null;
  budget_duration: string | null;
  budget_reset_at: NullableTimestamp;
  created_at: NullableTimestamp;
  updated_at: NullableTimestamp;
}

export interface UserTable {
  user_id: string;
  user_alias: string | null;
  team_id: string | null;
  organization_id: string | null;
  teams: ColumnType<string[], string[] | undefined, string[]>;
  user_role: string | null;
  max_budget: number | null;
  spend: Float;
  user_email: string | null;
  models: ColumnType<string[], string[] | undefined, string[]>;
  metadata: NullableJson;
  budget_duration: string | null;
  budget_reset_at: NullableTimestamp;
  created_at: NullableTimestamp;
  updated_at: NullableTimestamp;
}

export interface TeamTable {
  team_id: string;
  team_alias: string | null;
  organization_id: string | null;
  admins: ColumnType<string[], string[] | undefined, string[]>;
  members: ColumnType<string[], string[] | undefined, string[]>;
  metadata: NullableJson;
  max_budget: number | null;
  spend: Float;
  models: ColumnType<string[], string[] | undefined, string[]>;
  blocked: ColumnType<boolean, boolean | undefined, boolean>;
  budget_duration: string | null;
  budget_reset_at: NullableTimestamp;
  created_at: NullableTimestamp;
  updated_at: NullableTimestamp;
}

export interface EndUserTable {
  user_id: string;
  alias: string | null;
  spend: Float;
  allowed_model_region: string | null;
  default_model: string | null;
  budget_id: string | null;
  blocked: ColumnType<boolean, boolean | undefined, boolean>;
}

/** spendlens's own facts about the database it runs on (schema `spendlens`). */
export interface MetaTable {
  key: string;
  value: string;
}

// spendlens's own tables (schema `spendlens`, made by the migrations), typed where code queries them with
// the query builder. The rollup tables themselves are read through the planner's SQL (rollups/render.ts).

/** Days whose rollups are not to be trusted (dirty) or whose raw logs are gone (migration 0003, 0011). */
export interface RollupDaysTable {
  day: string;
  dirty_reason: string | null;
  dirty_at: ColumnType<string | null, string | null | undefined, string | null>;
  raw_deleted: ColumnType<boolean, boolean | undefined, boolean>;
}

/** The budget webhook outbox (migration 0008, budgets/alerts.ts). */
export interface BudgetAlertsTable {
  id: Generated<number>;
  idempotency_key: string;
  entity_type: string;
  entity_id: string;
  event: string;
  window_start: string;
  payload: Json;
  created_at: string;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: string;
  lease_until: string | null;
  delivered_at: string | null;
  last_error: string | null;
}

export interface Database {
  LiteLLM_SpendLogs: SpendLogsTable;
  LiteLLM_ErrorLogs: ErrorLogsTable;
  LiteLLM_VerificationToken: VerificationTokenTable;
  LiteLLM_UserTable: UserTable;
  LiteLLM_TeamTable: TeamTable;
  LiteLLM_EndUserTable: EndUserTable;
  "spendlens.meta": MetaTable;
  "spendlens.rollup_days": RollupDaysTable;
  "spendlens.budget_alerts": BudgetAlertsTable;
}
