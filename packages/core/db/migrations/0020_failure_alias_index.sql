-- 0020_failure_alias_index: GET /spend/logs/ui?status_filter=failure&key_alias=… (the LiteLLM UI's
-- "failed requests of this key"). With 0013's key-alias index (every log) and the partial index of
-- failures (0013, "startTime" only), Postgres cannot tell how few logs match both: on the large DEFAULT
-- partition it read every failure of the window and filtered the alias (at 10M logs, ~30,000 rows for a
-- page and again for its total, to find one). This partial index holds only failed logs, by alias then
-- time: the page and its count read the matching failures only.
-- Standalone mode only (spendlens made "LiteLLM_SpendLogs"; in attach mode LiteLLM's table and its write
-- path are left as they are, docs/deviations.md). Made on the parent of the partitioned table (0011), so
-- every month partition, present and future, carries it. Its cost on ingest is one predicate test per
-- successful log.
-- FROZEN once shipped. Literal SQL only.

SET LOCAL statement_timeout = 0;

DO $migration$
BEGIN
  IF (SELECT value FROM spendlens.meta WHERE key = 'mode') = 'standalone' THEN
    CREATE INDEX IF NOT EXISTS spendlens_logs_failure_alias_time_idx ON public."LiteLLM_SpendLogs"
      ((metadata ->> 'user_api_key_alias'), "startTime") WHERE status = 'failure';
  END IF;
END $migration$;
