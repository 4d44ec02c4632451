-- 0008_budget_alerts:
-- - spendlens.budget_alerts: the outbox of LiteLLM-shaped budget webhooks. One row per (entity, event,
--   budget window), unique by idempotency_key, written in the transaction that detected it; delivery claims
--   rows with a lease (FOR UPDATE SKIP LOCKED), so replicas never send one twice at once, and marks them
--   delivered, so a restart resends nothing delivered and finds everything pending.
-- - spendlens.provider_budget_state: the current rolling window of each provider budget (when it opened);
--   the spend inside it is always summed from the logs, never kept here.
-- - Standalone mode only (spendlens made LiteLLM's tables): the budget columns and tables LiteLLM has and
--   0001 did not make: "LiteLLM_TeamTable".soft_budget, "LiteLLM_BudgetTable" and
--   "LiteLLM_OrganizationTable". In attach mode LiteLLM's tables are left exactly as they are.
--
-- FROZEN once shipped: never edit this file, add a new migration.

CREATE TABLE IF NOT EXISTS spendlens.budget_alerts (
      id bigserial PRIMARY KEY,
      idempotency_key text NOT NULL UNIQUE,
      entity_type text NOT NULL,
      entity_id text NOT NULL,
      event text NOT NULL,
      window_start text NOT NULL,
      payload jsonb NOT NULL,
      created_at timestamp(3) NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamp(3) NOT NULL,
      lease_until timestamp(3),
      delivered_at timestamp(3),
      last_error text
    );

CREATE INDEX IF NOT EXISTS budget_alerts_pending_idx
      ON spendlens.budget_alerts (next_attempt_at, id) WHERE delivered_at IS NULL;

CREATE TABLE IF NOT EXISTS spendlens.provider_budget_state (
      provider text PRIMARY KEY,
      time_period text NOT NULL,
      window_kind text NOT NULL,
      window_start timestamp(3) NOT NULL,
      window_end timestamp(3) NOT NULL,
      updated_at timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
    );

DO $migration$
BEGIN
  IF (SELECT value FROM spendlens.meta WHERE key = 'mode') IS DISTINCT FROM 'standalone' THEN
    RETURN;
  END IF;
  ALTER TABLE "LiteLLM_TeamTable" ADD COLUMN IF NOT EXISTS soft_budget double precision;
  CREATE TABLE IF NOT EXISTS "LiteLLM_BudgetTable" (
      budget_id text PRIMARY KEY,
      max_budget double precision,
      soft_budget double precision,
      max_parallel_requests integer,
      tpm_limit bigint,
      rpm_limit bigint,
      model_max_budget jsonb,
      budget_duration text,
      budget_reset_at timestamp(3),
      created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
      created_by text NOT NULL DEFAULT '',
      updated_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
      updated_by text NOT NULL DEFAULT ''
    );
  CREATE TABLE IF NOT EXISTS "LiteLLM_OrganizationTable" (
      organization_id text PRIMARY KEY,
      organization_alias text NOT NULL DEFAULT '',
      budget_id text NOT NULL,
      metadata jsonb NOT NULL DEFAULT '{}',
      models text[],
      spend double precision NOT NULL DEFAULT 0.0,
      model_spend jsonb NOT NULL DEFAULT '{}',
      created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
      created_by text NOT NULL DEFAULT '',
      updated_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
      updated_by text NOT NULL DEFAULT ''
    );
END $migration$;
