-- 0002_budgets: provider budget windows (router_settings.provider_budget_config): one row per provider
-- with the current window and the spend inside it, kept in Postgres so every server replica agrees.
-- `time_period` and `window_kind` record the config the window was opened under: a row whose config
-- has since changed is treated as expired.
--
-- FROZEN once shipped: never edit this file, add a new migration.

CREATE TABLE IF NOT EXISTS spendlens.provider_budget_windows (
      provider text PRIMARY KEY,
      time_period text NOT NULL,
      window_kind text NOT NULL,
      window_start timestamp(3),
      window_end timestamp(3),
      spend double precision NOT NULL DEFAULT 0,
      updated_at timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
    );
