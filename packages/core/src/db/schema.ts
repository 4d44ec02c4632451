import type { ColumnType, Generated } from "kysely";

/**
 * Kysely types for LiteLLM's own tables (names and columns as LiteLLM's Prisma schema creates them)
 * and for spendlens's own objects, which live in the `spendlens` schema.
 *
 * Timestamps: every timestamp column is `timestamp(3) without time zone` holding UTC. Both drivers are
 * configured (see connect.ts) to return them as ISO strings ending in `Z`, and core passes them in as
 * ISO strings, so no JS Date ever meets the driver's local-time conversions.
 */
type Timestamp = ColumnType<string, string | undefined, string>;
type NullableTimestamp = ColumnType<string | null, string | null | undefined, string | null>;
type Json = ColumnType<unknown, string | undefined, string>;
type NullableJson = ColumnType<unknown | null, string | null | undefined, string | null>;
type Float = ColumnType<number, number | undefined, number>;

export interface SpendLogsTable {
  request_id: string;
  call_type: ColumnType<string, string | undefined, string>;
  api_key: ColumnType<string, string | undefined, string>;
  spend: Float;
  total_tokens: ColumnType<number, number | undefined, number>;
  prompt_tokens: ColumnType<number, number | undefined, number>;
  completion_tokens: ColumnType<number, number | undefined, number>;
  startTime: Timestamp;
  endTime: Timestamp;
  completionStartTime: NullableTimestamp;
  model: ColumnType<string, string | undefined, string>;
  model_id: ColumnType<string | null, string | null | undefined, string | null>;
  model_group: ColumnType<string | null, string | null | undefined, string | null>;
  custom_llm_provider: ColumnType<string | null, string | null | undefined, string | null>;
  api_base: ColumnType<string | null, string | null | undefined, string | null>;
  user: ColumnType<string | null, string | null | undefined, string | null>;
  metadata: NullableJson;
  cache_hit: ColumnType<string | null, string | null | undefined, string | null>;
  cache_key: ColumnType<string | null, string | null | undefined, string | null>;
  request_tags: NullableJson;
  team_id: string | null;
  organization_id: string | null;
  end_user: string | null;
  requester_ip_address: string | null;
  session_id: string | null;
  status: string | null;
}

export interface ErrorLogsTable {
  request_id: Generated<string>;
  startTime: Timestamp;
  endTime: Timestamp;
  api_base: ColumnType<string, string | undefined, string>;
  model_group: ColumnType<string, string | undefined, string>;
  litellm_model_name: ColumnType<string, string | undefined, string>;
  model_id: ColumnType<string, string | undefined, string>;
  request_kwargs: Json;
  exception_type: ColumnType<string, string | undefined, string>;
  exception_string: ColumnType<string, string | undefined, string>;
  status_code: ColumnType<string, string | undefined, string>;
}

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

export interface Database {
  LiteLLM_SpendLogs: SpendLogsTable;
  LiteLLM_ErrorLogs: ErrorLogsTable;
  LiteLLM_VerificationToken: VerificationTokenTable;
  LiteLLM_UserTable: UserTable;
  LiteLLM_TeamTable: TeamTable;
  LiteLLM_EndUserTable: EndUserTable;
  "spendlens.meta": MetaTable;
}
