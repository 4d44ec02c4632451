-- 0013_log_page_filter_indexes: GET /spend/logs/ui's filters and sorts at millions of logs (issue 14).
-- Standalone mode only (spendlens made "LiteLLM_SpendLogs"; in attach mode LiteLLM's table and its write
-- path are left as they are, docs/deviations.md). On the partitioned table (0011) each index is made on
-- the parent, so every month partition, present and future, carries it.
-- - Sorts (`sort_by` spend, total_tokens, model; ties by "startTime", then request_id): an index whose
--   order is the page's lets the page stop after its rows instead of sorting the whole window. request_id
--   is left out of the keys (equal (value, "startTime") pairs are few; an incremental sort orders them).
-- - status_filter=failure and error_code: partial indexes holding only failed logs / logs with an error
--   code, so their cost on ingest is one predicate test per successful log. The count of successes is
--   the count of all logs (rollups) minus the failures.
-- - key_alias (metadata.user_api_key_alias, the alias the key had when the log was written): an
--   expression index, so the page and the exact count read only that alias's logs in the window.
-- FROZEN once shipped. Literal SQL only.

SET LOCAL statement_timeout = 0;

DO $migration$
BEGIN
  IF (SELECT value FROM spendlens.meta WHERE key = 'mode') = 'standalone' THEN
    CREATE INDEX IF NOT EXISTS spendlens_logs_spend_time_idx ON public."LiteLLM_SpendLogs" (spend, "startTime");
    CREATE INDEX IF NOT EXISTS spendlens_logs_tokens_time_idx ON public."LiteLLM_SpendLogs" (total_tokens, "startTime");
    CREATE INDEX IF NOT EXISTS spendlens_logs_model_time_idx ON public."LiteLLM_SpendLogs" (model, "startTime");
    CREATE INDEX IF NOT EXISTS spendlens_logs_failure_time_idx ON public."LiteLLM_SpendLogs" ("startTime")
      WHERE status = 'failure';
    CREATE INDEX IF NOT EXISTS spendlens_logs_error_code_time_idx ON public."LiteLLM_SpendLogs"
      ((metadata #>> '{error_information,error_code}'), "startTime")
      WHERE (metadata #>> '{error_information,error_code}') IS NOT NULL;
    CREATE INDEX IF NOT EXISTS spendlens_logs_key_alias_time_idx ON public."LiteLLM_SpendLogs"
      ((metadata ->> 'user_api_key_alias'), "startTime");
  END IF;
END $migration$;
