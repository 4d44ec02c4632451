-- 0018_failure_sort_indexes: GET /spend/logs/ui?status_filter=failure with a sort (spend, total_tokens,
-- model). With only 0013's indexes the page read every failed log of the window (the partial "startTime"
-- index of failures, each row fetched) and sorted them to keep 50; the value's index (0013) holds every
-- log, so stopping after 50 failures would read ~100× more entries. These partial indexes hold only the
-- failed logs, in the page's order: the page reads its rows and stops.
-- Standalone mode only (spendlens made "LiteLLM_SpendLogs"; in attach mode LiteLLM's table and its write
-- path are left as they are, docs/deviations.md). On the partitioned table (0011) each index is made on
-- the parent, so every month partition, present and future, carries it. Their cost on ingest is one
-- predicate test per successful log.
-- FROZEN once shipped. Literal SQL only.

SET LOCAL statement_timeout = 0;

DO $migration$
BEGIN
  IF (SELECT value FROM spendlens.meta WHERE key = 'mode') = 'standalone' THEN
    CREATE INDEX IF NOT EXISTS spendlens_logs_failure_spend_time_idx ON public."LiteLLM_SpendLogs" (spend, "startTime")
      WHERE status = 'failure';
    CREATE INDEX IF NOT EXISTS spendlens_logs_failure_tokens_time_idx ON public."LiteLLM_SpendLogs" (total_tokens, "startTime")
      WHERE status = 'failure';
    CREATE INDEX IF NOT EXISTS spendlens_logs_failure_model_time_idx ON public."LiteLLM_SpendLogs" (model, "startTime")
      WHERE status = 'failure';
  END IF;
END $migration$;
