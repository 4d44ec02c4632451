-- 0001_base: spendlens.meta, and LiteLLM's tables as its Prisma schema creates them (the columns
-- spendlens reads, and the common rest), each ONLY when absent: standalone mode. On a database that
-- LiteLLM made (attach mode) its tables are left exactly as they are. The mode is recorded in
-- spendlens.meta: 'standalone' when this migration created "LiteLLM_SpendLogs", else 'attach'.
--
-- FROZEN once shipped: never edit this file, add a new migration.

CREATE TABLE IF NOT EXISTS spendlens.meta (key text PRIMARY KEY, value text NOT NULL);

DO $migration$
DECLARE
  created text[] := '{}';
BEGIN
  IF to_regclass('public."LiteLLM_SpendLogs"') IS NULL THEN
    CREATE TABLE "LiteLLM_SpendLogs" (
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
    );
    CREATE INDEX IF NOT EXISTS "LiteLLM_SpendLogs_startTime_idx" ON "LiteLLM_SpendLogs" ("startTime");
    CREATE INDEX IF NOT EXISTS "LiteLLM_SpendLogs_end_user_idx" ON "LiteLLM_SpendLogs" (end_user);
    created := created || 'LiteLLM_SpendLogs'::text;
  END IF;
  IF to_regclass('public."LiteLLM_ErrorLogs"') IS NULL THEN
    CREATE TABLE "LiteLLM_ErrorLogs" (
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
    );
    created := created || 'LiteLLM_ErrorLogs'::text;
  END IF;
  IF to_regclass('public."LiteLLM_VerificationToken"') IS NULL THEN
    CREATE TABLE "LiteLLM_VerificationToken" (
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
    );
    created := created || 'LiteLLM_VerificationToken'::text;
  END IF;
  IF to_regclass('public."LiteLLM_UserTable"') IS NULL THEN
    CREATE TABLE "LiteLLM_UserTable" (
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
    );
    created := created || 'LiteLLM_UserTable'::text;
  END IF;
  IF to_regclass('public."LiteLLM_TeamTable"') IS NULL THEN
    CREATE TABLE "LiteLLM_TeamTable" (
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
    );
    created := created || 'LiteLLM_TeamTable'::text;
  END IF;
  IF to_regclass('public."LiteLLM_EndUserTable"') IS NULL THEN
    CREATE TABLE "LiteLLM_EndUserTable" (
      user_id text PRIMARY KEY,
      alias text,
      spend double precision NOT NULL DEFAULT 0.0,
      allowed_model_region text,
      default_model text,
      budget_id text,
      blocked boolean NOT NULL DEFAULT false
    );
    created := created || 'LiteLLM_EndUserTable'::text;
  END IF;
  INSERT INTO spendlens.meta (key, value) VALUES
      ('mode', CASE WHEN 'LiteLLM_SpendLogs' = ANY (created) THEN 'standalone' ELSE 'attach' END),
      ('created_litellm_tables', array_to_string(created, ','))
    ON CONFLICT (key) DO NOTHING;
END $migration$;
