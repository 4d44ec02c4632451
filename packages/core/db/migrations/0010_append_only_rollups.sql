-- 0010_append_only_rollups: an INSERT into "LiteLLM_SpendLogs" (LiteLLM's proxy writer, spendlens's
-- ingest, a COPY) no longer upserts a dozen rollup tables in the writer's transaction. ONE statement
-- trigger appends a narrow projection of the inserted rows (the columns rollups read, metadata reduced
-- to its usage_object) to `spendlens.spend_log_pending`, a heap with no index; `spendlens.rollups_fold()`
-- takes committed pending rows (DELETE … RETURNING, all or at most max_rows of them, one fold at a time
-- under an advisory lock) and inserts them into `spendlens.spend_log_fold`, which carries the insert
-- triggers that "LiteLLM_SpendLogs"
-- had (migrations 0003, 0004, 0009, same functions, same name order): the upserts, the derived tables'
-- cascades, the dirty-day handling all run unchanged, only later and in bulk.
-- - Readers fold before they read (rollups/fold.ts), and the server folds every second: a report right
--   after an insert's commit includes it. A fold waits for one in flight (the lock), so it never misses
--   rows that another fold took but has not committed yet.
-- - UPDATE, DELETE and TRUNCATE of the logs keep their triggers; a trigger named to fire before them
--   (spendlens_fold_*) folds first, so their deltas meet rollups that already hold every earlier insert.
-- - spendlens.rollups_rebuild_days, tag_request_rollups_fill_days and activity_rollups_fill_days lock the
--   log tables, fold, then run as before (renamed *_unfolded): a rebuilt day is never counted twice.
-- - Paused rollups: the append trigger only marks the days dirty, as the old insert triggers did.
-- The append function is generated here from the table's own columns (attach mode: a column that
-- LiteLLM's table lacks reads as NULL; a timestamptz "startTime" is stored as its UTC time).
-- FROZEN once shipped.

CREATE TABLE spendlens.spend_log_pending (
    request_id text,
    "startTime" timestamp,
    "endTime" timestamp,
    api_key text,
    "user" text,
    team_id text,
    organization_id text,
    end_user text,
    agent_id text,
    model text,
    model_group text,
    model_id text,
    custom_llm_provider text,
    api_base text,
    call_type text,
    mcp_namespaced_tool_name text,
    status text,
    cache_hit text,
    spend double precision,
    prompt_tokens bigint,
    completion_tokens bigint,
    total_tokens bigint,
    request_duration_ms bigint,
    usage_object jsonb,
    request_tags jsonb
  ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 20000);

CREATE TABLE spendlens.spend_log_fold (
    request_id text,
    "startTime" timestamp,
    "endTime" timestamp,
    api_key text,
    "user" text,
    team_id text,
    organization_id text,
    end_user text,
    agent_id text,
    model text,
    model_group text,
    model_id text,
    custom_llm_provider text,
    api_base text,
    call_type text,
    mcp_namespaced_tool_name text,
    status text,
    cache_hit text,
    spend double precision,
    prompt_tokens bigint,
    completion_tokens bigint,
    total_tokens bigint,
    request_duration_ms bigint,
    metadata jsonb,
    request_tags jsonb
  ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 20000);

DO $do$
DECLARE
  cols text[] := ARRAY['request_id', 'startTime', 'endTime', 'api_key', 'user', 'team_id', 'organization_id',
    'end_user', 'agent_id', 'model', 'model_group', 'model_id', 'custom_llm_provider', 'api_base', 'call_type',
    'mcp_namespaced_tool_name', 'status', 'cache_hit', 'spend', 'prompt_tokens', 'completion_tokens',
    'total_tokens', 'request_duration_ms', 'metadata', 'request_tags'];
  c text;
  typ text;
  targets text[] := '{}';
  exprs text[] := '{}';
BEGIN
  FOREACH c IN ARRAY cols LOOP
    SELECT data_type INTO typ FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = 'LiteLLM_SpendLogs' AND column_name = c;
    targets := targets || quote_ident(CASE WHEN c = 'metadata' THEN 'usage_object' ELSE c END);
    exprs := exprs || CASE
      WHEN typ IS NULL THEN 'NULL'
      WHEN c = 'metadata' THEN '(t.metadata -> ''usage_object'')::jsonb'
      WHEN c = 'request_tags' THEN 't.request_tags::jsonb'
      WHEN typ = 'timestamp with time zone' THEN format('(t.%I AT TIME ZONE ''UTC'')', c)
      WHEN c IN ('startTime', 'endTime') THEN format('t.%I::timestamp', c)
      WHEN c = 'spend' THEN 't.spend::float8'
      WHEN c IN ('prompt_tokens', 'completion_tokens', 'total_tokens', 'request_duration_ms') THEN format('t.%I::bigint', c)
      ELSE format('t.%I::text', c) END;
  END LOOP;
  EXECUTE format($f$CREATE FUNCTION spendlens.spendlogs_rollup_append() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF NOT spendlens.rollups_active() THEN
    -- Paused (bulk load): only note the days; readers answer them from the raw logs until a rebuild.
    PERFORM spendlens.rollups_mark_dirty(ARRAY(SELECT DISTINCT spendlens.utc_day("startTime") FROM new_rows), 'paused');
    RETURN NULL;
  END IF;
  BEGIN
    INSERT INTO spendlens.spend_log_pending (%s) SELECT %s FROM new_rows t;
  EXCEPTION WHEN OTHERS THEN
    PERFORM spendlens.rollups_mark_dirty(ARRAY(SELECT DISTINCT spendlens.utc_day("startTime") FROM new_rows), SQLERRM);
  END;
  RETURN NULL;
END $fn$$f$, array_to_string(targets, ', '), array_to_string(exprs, ', '));
END $do$;

CREATE FUNCTION spendlens.rollups_fold(max_rows integer DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
DECLARE
  n bigint;
BEGIN
  -- Rows another fold has taken but not committed still show here: this fold then waits for it.
  IF NOT EXISTS (SELECT 1 FROM spendlens.spend_log_pending) THEN
    RETURN 0;
  END IF;
  PERFORM pg_advisory_xact_lock(7305228370911040010);
  WITH taken AS (DELETE FROM spendlens.spend_log_pending
      WHERE ctid = ANY (ARRAY(SELECT ctid FROM spendlens.spend_log_pending LIMIT max_rows)) RETURNING *)
  INSERT INTO spendlens.spend_log_fold (request_id, "startTime", "endTime", api_key, "user", team_id,
      organization_id, end_user, agent_id, model, model_group, model_id, custom_llm_provider, api_base, call_type,
      mcp_namespaced_tool_name, status, cache_hit, spend, prompt_tokens, completion_tokens, total_tokens,
      request_duration_ms, metadata, request_tags)
    SELECT request_id, "startTime", "endTime", api_key, "user", team_id, organization_id, end_user, agent_id,
      model, model_group, model_id, custom_llm_provider, api_base, call_type, mcp_namespaced_tool_name, status,
      cache_hit, spend, prompt_tokens, completion_tokens, total_tokens, request_duration_ms,
      jsonb_build_object('usage_object', usage_object), request_tags
    FROM taken;
  GET DIAGNOSTICS n = ROW_COUNT;
  DELETE FROM spendlens.spend_log_fold;
  RETURN n;
END $fn$;

CREATE FUNCTION spendlens.spendlogs_fold_first() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' OR TG_OP = 'DELETE' THEN
    IF NOT EXISTS (SELECT 1 FROM old_rows) THEN
      RETURN NULL;
    END IF;
  END IF;
  BEGIN
    PERFORM spendlens.rollups_fold();
  EXCEPTION WHEN OTHERS THEN
    IF TG_OP = 'UPDATE' OR TG_OP = 'DELETE' THEN
      PERFORM spendlens.rollups_mark_dirty(ARRAY(SELECT DISTINCT spendlens.utc_day("startTime") FROM old_rows), SQLERRM);
    END IF;
  END;
  RETURN NULL;
END $fn$;

DROP TRIGGER spendlens_rollup_insert ON public."LiteLLM_SpendLogs";

DROP TRIGGER spendlens_rollup_v2_insert ON public."LiteLLM_SpendLogs";

DROP TRIGGER spendlens_rollup_v9_insert ON public."LiteLLM_SpendLogs";

CREATE TRIGGER spendlens_rollup_insert AFTER INSERT ON spendlens.spend_log_fold REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_insert();

CREATE TRIGGER spendlens_rollup_v2_insert AFTER INSERT ON spendlens.spend_log_fold REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_v2_insert();

CREATE TRIGGER spendlens_rollup_v9_insert AFTER INSERT ON spendlens.spend_log_fold REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_v9_insert();

CREATE TRIGGER spendlens_rollup_insert AFTER INSERT ON public."LiteLLM_SpendLogs" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_append();

CREATE TRIGGER spendlens_fold_update AFTER UPDATE ON public."LiteLLM_SpendLogs" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_fold_first();

CREATE TRIGGER spendlens_fold_delete AFTER DELETE ON public."LiteLLM_SpendLogs" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_fold_first();

CREATE TRIGGER spendlens_fold_truncate AFTER TRUNCATE ON public."LiteLLM_SpendLogs" FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_fold_first();

ALTER FUNCTION spendlens.rollups_rebuild_days(date, date) RENAME TO rollups_rebuild_days_unfolded;

CREATE FUNCTION spendlens.rollups_rebuild_days(p_from date, p_to date) RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  LOCK TABLE public."LiteLLM_SpendLogs", public."LiteLLM_ErrorLogs" IN SHARE ROW EXCLUSIVE MODE;
  PERFORM spendlens.rollups_fold();
  PERFORM spendlens.rollups_rebuild_days_unfolded(p_from, p_to);
END $fn$;

ALTER FUNCTION spendlens.tag_request_rollups_fill_days(date, date) RENAME TO tag_request_rollups_fill_days_unfolded;

CREATE FUNCTION spendlens.tag_request_rollups_fill_days(p_from date, p_to date) RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  LOCK TABLE public."LiteLLM_SpendLogs" IN SHARE ROW EXCLUSIVE MODE;
  PERFORM spendlens.rollups_fold();
  PERFORM spendlens.tag_request_rollups_fill_days_unfolded(p_from, p_to);
END $fn$;

ALTER FUNCTION spendlens.activity_rollups_fill_days(date, date) RENAME TO activity_rollups_fill_days_unfolded;

CREATE FUNCTION spendlens.activity_rollups_fill_days(p_from date, p_to date) RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  LOCK TABLE public."LiteLLM_SpendLogs" IN SHARE ROW EXCLUSIVE MODE;
  PERFORM spendlens.rollups_fold();
  PERFORM spendlens.activity_rollups_fill_days_unfolded(p_from, p_to);
END $fn$;
