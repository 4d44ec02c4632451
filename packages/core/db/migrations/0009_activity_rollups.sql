-- 0009_activity_rollups: the daily rollups behind LiteLLM's Usage page
-- (/{user,team,tag,organization,customer,agent}/daily/activity): spendlens.activity_daily (every dimension
-- LiteLLM's Daily*Spend tables key on) and spendlens.activity_tag_daily (the same per distinct non-null tag),
-- kept exact by their own statement triggers on "LiteLLM_SpendLogs" (spendlens_rollup_v9_*, sorting after
-- version 1's and 2's). Paused, failing (dirty days), deadlock retries and SECURITY DEFINER are the
-- version-1 trigger body's. In standalone mode the log table spendlens created gains LiteLLM's newer
-- nullable columns agent_id and request_duration_ms (a catalog-only change); in attach mode LiteLLM's table
-- gets the triggers only and a column it lacks reads as NULL (the DO block below). Existing logs are filled
-- here, in the migration's transaction (one scan of the logs).
-- The dirty-day reads in activity/dailyActivity.ts compute the same expressions (rollups/activityRollup.ts).
--
-- FROZEN once shipped: never edit this file, add a new migration.

SET LOCAL statement_timeout = 0;

DO $migration$
BEGIN
  IF (SELECT value FROM spendlens.meta WHERE key = 'mode') = 'standalone' THEN
    ALTER TABLE "LiteLLM_SpendLogs" ADD COLUMN IF NOT EXISTS agent_id text,
      ADD COLUMN IF NOT EXISTS request_duration_ms integer;
  END IF;
END $migration$;

CREATE FUNCTION spendlens.json_count(v jsonb) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
      $$SELECT CASE WHEN jsonb_typeof(v) = 'number' AND (v #>> '{}')::numeric BETWEEN 0 AND 1e15
        THEN trunc((v #>> '{}')::numeric)::bigint ELSE 0 END$$;

CREATE TABLE spendlens."activity_daily" (day date NOT NULL, key_hash bytea NOT NULL, "api_key" text, "user" text, "team_id" text, "organization_id" text, "end_user" text, "agent_id" text, "model" text, "model_group" text, "custom_llm_provider" text, "call_type" text, "mcp_namespaced_tool_name" text, requests bigint NOT NULL DEFAULT 0, successful_requests bigint NOT NULL DEFAULT 0, failed_requests bigint NOT NULL DEFAULT 0, spend double precision NOT NULL DEFAULT 0, prompt_tokens bigint NOT NULL DEFAULT 0, completion_tokens bigint NOT NULL DEFAULT 0, total_tokens bigint NOT NULL DEFAULT 0, cache_read_input_tokens bigint NOT NULL DEFAULT 0, cache_creation_input_tokens bigint NOT NULL DEFAULT 0, total_response_time_ms bigint NOT NULL DEFAULT 0, timed_requests bigint NOT NULL DEFAULT 0, cache_hit_requests bigint NOT NULL DEFAULT 0, cached_completion_tokens bigint NOT NULL DEFAULT 0, generated_completion_tokens bigint NOT NULL DEFAULT 0, PRIMARY KEY (day, key_hash)) WITH (fillfactor = 90);

CREATE INDEX "activity_daily_user_day_idx" ON spendlens."activity_daily" ("user", day);

CREATE INDEX "activity_daily_team_id_day_idx" ON spendlens."activity_daily" ("team_id", day);

CREATE TABLE spendlens."activity_tag_daily" (day date NOT NULL, key_hash bytea NOT NULL, "tag" text, "api_key" text, "user" text, "model" text, "model_group" text, "custom_llm_provider" text, "call_type" text, "mcp_namespaced_tool_name" text, requests bigint NOT NULL DEFAULT 0, successful_requests bigint NOT NULL DEFAULT 0, failed_requests bigint NOT NULL DEFAULT 0, spend double precision NOT NULL DEFAULT 0, prompt_tokens bigint NOT NULL DEFAULT 0, completion_tokens bigint NOT NULL DEFAULT 0, total_tokens bigint NOT NULL DEFAULT 0, cache_read_input_tokens bigint NOT NULL DEFAULT 0, cache_creation_input_tokens bigint NOT NULL DEFAULT 0, total_response_time_ms bigint NOT NULL DEFAULT 0, timed_requests bigint NOT NULL DEFAULT 0, cache_hit_requests bigint NOT NULL DEFAULT 0, cached_completion_tokens bigint NOT NULL DEFAULT 0, generated_completion_tokens bigint NOT NULL DEFAULT 0, PRIMARY KEY (day, key_hash)) WITH (fillfactor = 90);

CREATE INDEX "activity_tag_daily_tag_day_idx" ON spendlens."activity_tag_daily" ("tag", day);

CREATE INDEX "activity_tag_daily_user_day_idx" ON spendlens."activity_tag_daily" ("user", day);

DO $migration$
DECLARE
  -- The columns "LiteLLM_SpendLogs" has (an older LiteLLM lacks some, e.g. agent_id or status).
  have text[] := ARRAY(SELECT column_name::text FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = 'LiteLLM_SpendLogs');
  stmt text;
  c text;
  k text;
BEGIN
  FOREACH stmt IN ARRAY ARRAY[
$ddl$CREATE FUNCTION spendlens.spendlogs_rollup_v9_insert() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
DECLARE
  attempt int := 0;
  days date[];
BEGIN
  IF NOT spendlens.rollups_active() THEN
    -- Paused (bulk load): only note the days; readers answer them from the raw logs until a rebuild.
    days := ARRAY(SELECT spendlens.utc_day("startTime") FROM new_rows);
    PERFORM spendlens.rollups_mark_dirty(days, 'paused');
    RETURN NULL;
  END IF;
  LOOP
    attempt := attempt + 1;
    BEGIN
      INSERT INTO spendlens."activity_daily" AS r (day, key_hash, "api_key", "user", "team_id", "organization_id", "end_user", "agent_id", "model", "model_group", "custom_llm_provider", "call_type", "mcp_namespaced_tool_name", requests, successful_requests, failed_requests, spend, prompt_tokens, completion_tokens, total_tokens, cache_read_input_tokens, cache_creation_input_tokens, total_response_time_ms, timed_requests, cache_hit_requests, cached_completion_tokens, generated_completion_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."api_key", a."user", a."team_id", a."organization_id", a."end_user", a."agent_id", a."model", a."model_group", a."custom_llm_provider", a."call_type", a."mcp_namespaced_tool_name")::text, 'UTF8')), a."api_key", a."user", a."team_id", a."organization_id", a."end_user", a."agent_id", a."model", a."model_group", a."custom_llm_provider", a."call_type", a."mcp_namespaced_tool_name", a.requests, a.successful_requests, a.failed_requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens, a.cache_read_input_tokens, a.cache_creation_input_tokens, a.total_response_time_ms, a.timed_requests, a.cache_hit_requests, a.cached_completion_tokens, a.generated_completion_tokens
    FROM (SELECT s.day, s."api_key" AS "api_key", s."user" AS "user", s."team_id" AS "team_id", s."organization_id" AS "organization_id", s."end_user" AS "end_user", s."agent_id" AS "agent_id", s."model" AS "model", s."model_group" AS "model_group", s."custom_llm_provider" AS "custom_llm_provider", s."call_type" AS "call_type", s."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name",
        sum(s.sign * s.requests)::bigint AS requests,
        sum(s.sign * s.successful_requests)::bigint AS successful_requests,
        sum(s.sign * s.failed_requests)::bigint AS failed_requests,
        sum(s.sign * s.spend)::float8 AS spend,
        sum(s.sign * s.prompt_tokens)::bigint AS prompt_tokens,
        sum(s.sign * s.completion_tokens)::bigint AS completion_tokens,
        sum(s.sign * s.total_tokens)::bigint AS total_tokens,
        sum(s.sign * s.cache_read_input_tokens)::bigint AS cache_read_input_tokens,
        sum(s.sign * s.cache_creation_input_tokens)::bigint AS cache_creation_input_tokens,
        sum(s.sign * s.total_response_time_ms)::bigint AS total_response_time_ms,
        sum(s.sign * s.timed_requests)::bigint AS timed_requests,
        sum(s.sign * s.cache_hit_requests)::bigint AS cache_hit_requests,
        sum(s.sign * s.cached_completion_tokens)::bigint AS cached_completion_tokens,
        sum(s.sign * s.generated_completion_tokens)::bigint AS generated_completion_tokens
      FROM (SELECT spendlens.utc_day(t."startTime") AS "day", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."agent_id" AS "agent_id", t."model" AS "model", t."model_group" AS "model_group", t."custom_llm_provider" AS "custom_llm_provider", t."call_type" AS "call_type", t."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name", 1::bigint AS "requests", (1 - CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END)::bigint AS "successful_requests", (CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END)::bigint AS "failed_requests", coalesce(t.spend, 0)::float8 AS "spend", coalesce(t.prompt_tokens, 0)::bigint AS "prompt_tokens", coalesce(t.completion_tokens, 0)::bigint AS "completion_tokens", coalesce(t.total_tokens, 0)::bigint AS "total_tokens", spendlens.json_count(t."metadata" #> '{usage_object,cache_read_input_tokens}') AS "cache_read_input_tokens", spendlens.json_count(t."metadata" #> '{usage_object,cache_creation_input_tokens}') AS "cache_creation_input_tokens", coalesce(coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint), 0) AS "total_response_time_ms", CASE WHEN coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint) IS NULL THEN 0 ELSE 1 END::bigint AS "timed_requests", CASE WHEN t."cache_hit" = 'True' THEN 1 ELSE 0 END::bigint AS "cache_hit_requests", CASE WHEN t."cache_hit" = 'True' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "cached_completion_tokens", CASE WHEN t."cache_hit" <> 'True' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "generated_completion_tokens", t.request_tags AS "request_tags", 1 AS sign FROM new_rows t) s GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) a
    WHERE a.requests <> 0 OR a.successful_requests <> 0 OR a.failed_requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0 OR a.cache_read_input_tokens <> 0 OR a.cache_creation_input_tokens <> 0 OR a.total_response_time_ms <> 0 OR a.timed_requests <> 0 OR a.cache_hit_requests <> 0 OR a.cached_completion_tokens <> 0 OR a.generated_completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, successful_requests = r.successful_requests + excluded.successful_requests, failed_requests = r.failed_requests + excluded.failed_requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens, cache_read_input_tokens = r.cache_read_input_tokens + excluded.cache_read_input_tokens, cache_creation_input_tokens = r.cache_creation_input_tokens + excluded.cache_creation_input_tokens, total_response_time_ms = r.total_response_time_ms + excluded.total_response_time_ms, timed_requests = r.timed_requests + excluded.timed_requests, cache_hit_requests = r.cache_hit_requests + excluded.cache_hit_requests, cached_completion_tokens = r.cached_completion_tokens + excluded.cached_completion_tokens, generated_completion_tokens = r.generated_completion_tokens + excluded.generated_completion_tokens;
      INSERT INTO spendlens."activity_tag_daily" AS r (day, key_hash, "tag", "api_key", "user", "model", "model_group", "custom_llm_provider", "call_type", "mcp_namespaced_tool_name", requests, successful_requests, failed_requests, spend, prompt_tokens, completion_tokens, total_tokens, cache_read_input_tokens, cache_creation_input_tokens, total_response_time_ms, timed_requests, cache_hit_requests, cached_completion_tokens, generated_completion_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."tag", a."api_key", a."user", a."model", a."model_group", a."custom_llm_provider", a."call_type", a."mcp_namespaced_tool_name")::text, 'UTF8')), a."tag", a."api_key", a."user", a."model", a."model_group", a."custom_llm_provider", a."call_type", a."mcp_namespaced_tool_name", a.requests, a.successful_requests, a.failed_requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens, a.cache_read_input_tokens, a.cache_creation_input_tokens, a.total_response_time_ms, a.timed_requests, a.cache_hit_requests, a.cached_completion_tokens, a.generated_completion_tokens
    FROM (SELECT s.day, e.tag AS "tag", s."api_key" AS "api_key", s."user" AS "user", s."model" AS "model", s."model_group" AS "model_group", s."custom_llm_provider" AS "custom_llm_provider", s."call_type" AS "call_type", s."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name",
        sum(s.sign * s.requests)::bigint AS requests,
        sum(s.sign * s.successful_requests)::bigint AS successful_requests,
        sum(s.sign * s.failed_requests)::bigint AS failed_requests,
        sum(s.sign * s.spend)::float8 AS spend,
        sum(s.sign * s.prompt_tokens)::bigint AS prompt_tokens,
        sum(s.sign * s.completion_tokens)::bigint AS completion_tokens,
        sum(s.sign * s.total_tokens)::bigint AS total_tokens,
        sum(s.sign * s.cache_read_input_tokens)::bigint AS cache_read_input_tokens,
        sum(s.sign * s.cache_creation_input_tokens)::bigint AS cache_creation_input_tokens,
        sum(s.sign * s.total_response_time_ms)::bigint AS total_response_time_ms,
        sum(s.sign * s.timed_requests)::bigint AS timed_requests,
        sum(s.sign * s.cache_hit_requests)::bigint AS cache_hit_requests,
        sum(s.sign * s.cached_completion_tokens)::bigint AS cached_completion_tokens,
        sum(s.sign * s.generated_completion_tokens)::bigint AS generated_completion_tokens
      FROM (SELECT spendlens.utc_day(t."startTime") AS "day", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."agent_id" AS "agent_id", t."model" AS "model", t."model_group" AS "model_group", t."custom_llm_provider" AS "custom_llm_provider", t."call_type" AS "call_type", t."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name", 1::bigint AS "requests", (1 - CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END)::bigint AS "successful_requests", (CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END)::bigint AS "failed_requests", coalesce(t.spend, 0)::float8 AS "spend", coalesce(t.prompt_tokens, 0)::bigint AS "prompt_tokens", coalesce(t.completion_tokens, 0)::bigint AS "completion_tokens", coalesce(t.total_tokens, 0)::bigint AS "total_tokens", spendlens.json_count(t."metadata" #> '{usage_object,cache_read_input_tokens}') AS "cache_read_input_tokens", spendlens.json_count(t."metadata" #> '{usage_object,cache_creation_input_tokens}') AS "cache_creation_input_tokens", coalesce(coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint), 0) AS "total_response_time_ms", CASE WHEN coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint) IS NULL THEN 0 ELSE 1 END::bigint AS "timed_requests", CASE WHEN t."cache_hit" = 'True' THEN 1 ELSE 0 END::bigint AS "cache_hit_requests", CASE WHEN t."cache_hit" = 'True' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "cached_completion_tokens", CASE WHEN t."cache_hit" <> 'True' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "generated_completion_tokens", t.request_tags AS "request_tags", 1 AS sign FROM new_rows t) s CROSS JOIN LATERAL spendlens.request_tag_set(s.request_tags) e GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9) a
    WHERE a.requests <> 0 OR a.successful_requests <> 0 OR a.failed_requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0 OR a.cache_read_input_tokens <> 0 OR a.cache_creation_input_tokens <> 0 OR a.total_response_time_ms <> 0 OR a.timed_requests <> 0 OR a.cache_hit_requests <> 0 OR a.cached_completion_tokens <> 0 OR a.generated_completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, successful_requests = r.successful_requests + excluded.successful_requests, failed_requests = r.failed_requests + excluded.failed_requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens, cache_read_input_tokens = r.cache_read_input_tokens + excluded.cache_read_input_tokens, cache_creation_input_tokens = r.cache_creation_input_tokens + excluded.cache_creation_input_tokens, total_response_time_ms = r.total_response_time_ms + excluded.total_response_time_ms, timed_requests = r.timed_requests + excluded.timed_requests, cache_hit_requests = r.cache_hit_requests + excluded.cache_hit_requests, cached_completion_tokens = r.cached_completion_tokens + excluded.cached_completion_tokens, generated_completion_tokens = r.generated_completion_tokens + excluded.generated_completion_tokens;
      RETURN NULL;
    EXCEPTION
      WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
        IF attempt >= 3 THEN
          days := ARRAY(SELECT spendlens.utc_day("startTime") FROM new_rows);
          PERFORM spendlens.rollups_mark_dirty(days, SQLERRM);
          RETURN NULL;
        END IF;
      WHEN OTHERS THEN
        days := ARRAY(SELECT spendlens.utc_day("startTime") FROM new_rows);
        PERFORM spendlens.rollups_mark_dirty(days, SQLERRM);
        RETURN NULL;
    END;
  END LOOP;
END $fn$$ddl$,
$ddl$CREATE FUNCTION spendlens.spendlogs_rollup_v9_update() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
DECLARE
  attempt int := 0;
  days date[];
BEGIN
  IF NOT spendlens.rollups_active() THEN
    -- Paused (bulk load): only note the days; readers answer them from the raw logs until a rebuild.
    days := ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows UNION SELECT spendlens.utc_day("startTime") FROM new_rows);
    PERFORM spendlens.rollups_mark_dirty(days, 'paused');
    RETURN NULL;
  END IF;
  LOOP
    attempt := attempt + 1;
    BEGIN
      INSERT INTO spendlens."activity_daily" AS r (day, key_hash, "api_key", "user", "team_id", "organization_id", "end_user", "agent_id", "model", "model_group", "custom_llm_provider", "call_type", "mcp_namespaced_tool_name", requests, successful_requests, failed_requests, spend, prompt_tokens, completion_tokens, total_tokens, cache_read_input_tokens, cache_creation_input_tokens, total_response_time_ms, timed_requests, cache_hit_requests, cached_completion_tokens, generated_completion_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."api_key", a."user", a."team_id", a."organization_id", a."end_user", a."agent_id", a."model", a."model_group", a."custom_llm_provider", a."call_type", a."mcp_namespaced_tool_name")::text, 'UTF8')), a."api_key", a."user", a."team_id", a."organization_id", a."end_user", a."agent_id", a."model", a."model_group", a."custom_llm_provider", a."call_type", a."mcp_namespaced_tool_name", a.requests, a.successful_requests, a.failed_requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens, a.cache_read_input_tokens, a.cache_creation_input_tokens, a.total_response_time_ms, a.timed_requests, a.cache_hit_requests, a.cached_completion_tokens, a.generated_completion_tokens
    FROM (SELECT s.day, s."api_key" AS "api_key", s."user" AS "user", s."team_id" AS "team_id", s."organization_id" AS "organization_id", s."end_user" AS "end_user", s."agent_id" AS "agent_id", s."model" AS "model", s."model_group" AS "model_group", s."custom_llm_provider" AS "custom_llm_provider", s."call_type" AS "call_type", s."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name",
        sum(s.sign * s.requests)::bigint AS requests,
        sum(s.sign * s.successful_requests)::bigint AS successful_requests,
        sum(s.sign * s.failed_requests)::bigint AS failed_requests,
        sum(s.sign * s.spend)::float8 AS spend,
        sum(s.sign * s.prompt_tokens)::bigint AS prompt_tokens,
        sum(s.sign * s.completion_tokens)::bigint AS completion_tokens,
        sum(s.sign * s.total_tokens)::bigint AS total_tokens,
        sum(s.sign * s.cache_read_input_tokens)::bigint AS cache_read_input_tokens,
        sum(s.sign * s.cache_creation_input_tokens)::bigint AS cache_creation_input_tokens,
        sum(s.sign * s.total_response_time_ms)::bigint AS total_response_time_ms,
        sum(s.sign * s.timed_requests)::bigint AS timed_requests,
        sum(s.sign * s.cache_hit_requests)::bigint AS cache_hit_requests,
        sum(s.sign * s.cached_completion_tokens)::bigint AS cached_completion_tokens,
        sum(s.sign * s.generated_completion_tokens)::bigint AS generated_completion_tokens
      FROM ((SELECT spendlens.utc_day(t."startTime") AS "day", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."agent_id" AS "agent_id", t."model" AS "model", t."model_group" AS "model_group", t."custom_llm_provider" AS "custom_llm_provider", t."call_type" AS "call_type", t."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name", 1::bigint AS "requests", (1 - CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END)::bigint AS "successful_requests", (CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END)::bigint AS "failed_requests", coalesce(t.spend, 0)::float8 AS "spend", coalesce(t.prompt_tokens, 0)::bigint AS "prompt_tokens", coalesce(t.completion_tokens, 0)::bigint AS "completion_tokens", coalesce(t.total_tokens, 0)::bigint AS "total_tokens", spendlens.json_count(t."metadata" #> '{usage_object,cache_read_input_tokens}') AS "cache_read_input_tokens", spendlens.json_count(t."metadata" #> '{usage_object,cache_creation_input_tokens}') AS "cache_creation_input_tokens", coalesce(coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint), 0) AS "total_response_time_ms", CASE WHEN coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint) IS NULL THEN 0 ELSE 1 END::bigint AS "timed_requests", CASE WHEN t."cache_hit" = 'True' THEN 1 ELSE 0 END::bigint AS "cache_hit_requests", CASE WHEN t."cache_hit" = 'True' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "cached_completion_tokens", CASE WHEN t."cache_hit" <> 'True' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "generated_completion_tokens", t.request_tags AS "request_tags", -1 AS sign FROM old_rows t) UNION ALL (SELECT spendlens.utc_day(t."startTime") AS "day", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."agent_id" AS "agent_id", t."model" AS "model", t."model_group" AS "model_group", t."custom_llm_provider" AS "custom_llm_provider", t."call_type" AS "call_type", t."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name", 1::bigint AS "requests", (1 - CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END)::bigint AS "successful_requests", (CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END)::bigint AS "failed_requests", coalesce(t.spend, 0)::float8 AS "spend", coalesce(t.prompt_tokens, 0)::bigint AS "prompt_tokens", coalesce(t.completion_tokens, 0)::bigint AS "completion_tokens", coalesce(t.total_tokens, 0)::bigint AS "total_tokens", spendlens.json_count(t."metadata" #> '{usage_object,cache_read_input_tokens}') AS "cache_read_input_tokens", spendlens.json_count(t."metadata" #> '{usage_object,cache_creation_input_tokens}') AS "cache_creation_input_tokens", coalesce(coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint), 0) AS "total_response_time_ms", CASE WHEN coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint) IS NULL THEN 0 ELSE 1 END::bigint AS "timed_requests", CASE WHEN t."cache_hit" = 'True' THEN 1 ELSE 0 END::bigint AS "cache_hit_requests", CASE WHEN t."cache_hit" = 'True' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "cached_completion_tokens", CASE WHEN t."cache_hit" <> 'True' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "generated_completion_tokens", t.request_tags AS "request_tags", 1 AS sign FROM new_rows t)) s GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) a
    WHERE a.requests <> 0 OR a.successful_requests <> 0 OR a.failed_requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0 OR a.cache_read_input_tokens <> 0 OR a.cache_creation_input_tokens <> 0 OR a.total_response_time_ms <> 0 OR a.timed_requests <> 0 OR a.cache_hit_requests <> 0 OR a.cached_completion_tokens <> 0 OR a.generated_completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, successful_requests = r.successful_requests + excluded.successful_requests, failed_requests = r.failed_requests + excluded.failed_requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens, cache_read_input_tokens = r.cache_read_input_tokens + excluded.cache_read_input_tokens, cache_creation_input_tokens = r.cache_creation_input_tokens + excluded.cache_creation_input_tokens, total_response_time_ms = r.total_response_time_ms + excluded.total_response_time_ms, timed_requests = r.timed_requests + excluded.timed_requests, cache_hit_requests = r.cache_hit_requests + excluded.cache_hit_requests, cached_completion_tokens = r.cached_completion_tokens + excluded.cached_completion_tokens, generated_completion_tokens = r.generated_completion_tokens + excluded.generated_completion_tokens;
      INSERT INTO spendlens."activity_tag_daily" AS r (day, key_hash, "tag", "api_key", "user", "model", "model_group", "custom_llm_provider", "call_type", "mcp_namespaced_tool_name", requests, successful_requests, failed_requests, spend, prompt_tokens, completion_tokens, total_tokens, cache_read_input_tokens, cache_creation_input_tokens, total_response_time_ms, timed_requests, cache_hit_requests, cached_completion_tokens, generated_completion_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."tag", a."api_key", a."user", a."model", a."model_group", a."custom_llm_provider", a."call_type", a."mcp_namespaced_tool_name")::text, 'UTF8')), a."tag", a."api_key", a."user", a."model", a."model_group", a."custom_llm_provider", a."call_type", a."mcp_namespaced_tool_name", a.requests, a.successful_requests, a.failed_requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens, a.cache_read_input_tokens, a.cache_creation_input_tokens, a.total_response_time_ms, a.timed_requests, a.cache_hit_requests, a.cached_completion_tokens, a.generated_completion_tokens
    FROM (SELECT s.day, e.tag AS "tag", s."api_key" AS "api_key", s."user" AS "user", s."model" AS "model", s."model_group" AS "model_group", s."custom_llm_provider" AS "custom_llm_provider", s."call_type" AS "call_type", s."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name",
        sum(s.sign * s.requests)::bigint AS requests,
        sum(s.sign * s.successful_requests)::bigint AS successful_requests,
        sum(s.sign * s.failed_requests)::bigint AS failed_requests,
        sum(s.sign * s.spend)::float8 AS spend,
        sum(s.sign * s.prompt_tokens)::bigint AS prompt_tokens,
        sum(s.sign * s.completion_tokens)::bigint AS completion_tokens,
        sum(s.sign * s.total_tokens)::bigint AS total_tokens,
        sum(s.sign * s.cache_read_input_tokens)::bigint AS cache_read_input_tokens,
        sum(s.sign * s.cache_creation_input_tokens)::bigint AS cache_creation_input_tokens,
        sum(s.sign * s.total_response_time_ms)::bigint AS total_response_time_ms,
        sum(s.sign * s.timed_requests)::bigint AS timed_requests,
        sum(s.sign * s.cache_hit_requests)::bigint AS cache_hit_requests,
        sum(s.sign * s.cached_completion_tokens)::bigint AS cached_completion_tokens,
        sum(s.sign * s.generated_completion_tokens)::bigint AS generated_completion_tokens
      FROM ((SELECT spendlens.utc_day(t."startTime") AS "day", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."agent_id" AS "agent_id", t."model" AS "model", t."model_group" AS "model_group", t."custom_llm_provider" AS "custom_llm_provider", t."call_type" AS "call_type", t."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name", 1::bigint AS "requests", (1 - CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END)::bigint AS "successful_requests", (CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END)::bigint AS "failed_requests", coalesce(t.spend, 0)::float8 AS "spend", coalesce(t.prompt_tokens, 0)::bigint AS "prompt_tokens", coalesce(t.completion_tokens, 0)::bigint AS "completion_tokens", coalesce(t.total_tokens, 0)::bigint AS "total_tokens", spendlens.json_count(t."metadata" #> '{usage_object,cache_read_input_tokens}') AS "cache_read_input_tokens", spendlens.json_count(t."metadata" #> '{usage_object,cache_creation_input_tokens}') AS "cache_creation_input_tokens", coalesce(coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint), 0) AS "total_response_time_ms", CASE WHEN coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint) IS NULL THEN 0 ELSE 1 END::bigint AS "timed_requests", CASE WHEN t."cache_hit" = 'True' THEN 1 ELSE 0 END::bigint AS "cache_hit_requests", CASE WHEN t."cache_hit" = 'True' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "cached_completion_tokens", CASE WHEN t."cache_hit" <> 'True' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "generated_completion_tokens", t.request_tags AS "request_tags", -1 AS sign FROM old_rows t) UNION ALL (SELECT spendlens.utc_day(t."startTime") AS "day", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."agent_id" AS "agent_id", t."model" AS "model", t."model_group" AS "model_group", t."custom_llm_provider" AS "custom_llm_provider", t."call_type" AS "call_type", t."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name", 1::bigint AS "requests", (1 - CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END)::bigint AS "successful_requests", (CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END)::bigint AS "failed_requests", coalesce(t.spend, 0)::float8 AS "spend", coalesce(t.prompt_tokens, 0)::bigint AS "prompt_tokens", coalesce(t.completion_tokens, 0)::bigint AS "completion_tokens", coalesce(t.total_tokens, 0)::bigint AS "total_tokens", spendlens.json_count(t."metadata" #> '{usage_object,cache_read_input_tokens}') AS "cache_read_input_tokens", spendlens.json_count(t."metadata" #> '{usage_object,cache_creation_input_tokens}') AS "cache_creation_input_tokens", coalesce(coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint), 0) AS "total_response_time_ms", CASE WHEN coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint) IS NULL THEN 0 ELSE 1 END::bigint AS "timed_requests", CASE WHEN t."cache_hit" = 'True' THEN 1 ELSE 0 END::bigint AS "cache_hit_requests", CASE WHEN t."cache_hit" = 'True' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "cached_completion_tokens", CASE WHEN t."cache_hit" <> 'True' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "generated_completion_tokens", t.request_tags AS "request_tags", 1 AS sign FROM new_rows t)) s CROSS JOIN LATERAL spendlens.request_tag_set(s.request_tags) e GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9) a
    WHERE a.requests <> 0 OR a.successful_requests <> 0 OR a.failed_requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0 OR a.cache_read_input_tokens <> 0 OR a.cache_creation_input_tokens <> 0 OR a.total_response_time_ms <> 0 OR a.timed_requests <> 0 OR a.cache_hit_requests <> 0 OR a.cached_completion_tokens <> 0 OR a.generated_completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, successful_requests = r.successful_requests + excluded.successful_requests, failed_requests = r.failed_requests + excluded.failed_requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens, cache_read_input_tokens = r.cache_read_input_tokens + excluded.cache_read_input_tokens, cache_creation_input_tokens = r.cache_creation_input_tokens + excluded.cache_creation_input_tokens, total_response_time_ms = r.total_response_time_ms + excluded.total_response_time_ms, timed_requests = r.timed_requests + excluded.timed_requests, cache_hit_requests = r.cache_hit_requests + excluded.cache_hit_requests, cached_completion_tokens = r.cached_completion_tokens + excluded.cached_completion_tokens, generated_completion_tokens = r.generated_completion_tokens + excluded.generated_completion_tokens;
      DELETE FROM spendlens."activity_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
      DELETE FROM spendlens."activity_tag_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
      RETURN NULL;
    EXCEPTION
      WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
        IF attempt >= 3 THEN
          days := ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows UNION SELECT spendlens.utc_day("startTime") FROM new_rows);
          PERFORM spendlens.rollups_mark_dirty(days, SQLERRM);
          RETURN NULL;
        END IF;
      WHEN OTHERS THEN
        days := ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows UNION SELECT spendlens.utc_day("startTime") FROM new_rows);
        PERFORM spendlens.rollups_mark_dirty(days, SQLERRM);
        RETURN NULL;
    END;
  END LOOP;
END $fn$$ddl$,
$ddl$CREATE FUNCTION spendlens.spendlogs_rollup_v9_delete() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  -- Keep mode: the version-1 delete trigger flags the days raw_deleted. Paused: it marks them dirty.
  IF spendlens.rollups_subtract_deletes() AND spendlens.rollups_active() THEN
    BEGIN
      INSERT INTO spendlens."activity_daily" AS r (day, key_hash, "api_key", "user", "team_id", "organization_id", "end_user", "agent_id", "model", "model_group", "custom_llm_provider", "call_type", "mcp_namespaced_tool_name", requests, successful_requests, failed_requests, spend, prompt_tokens, completion_tokens, total_tokens, cache_read_input_tokens, cache_creation_input_tokens, total_response_time_ms, timed_requests, cache_hit_requests, cached_completion_tokens, generated_completion_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."api_key", a."user", a."team_id", a."organization_id", a."end_user", a."agent_id", a."model", a."model_group", a."custom_llm_provider", a."call_type", a."mcp_namespaced_tool_name")::text, 'UTF8')), a."api_key", a."user", a."team_id", a."organization_id", a."end_user", a."agent_id", a."model", a."model_group", a."custom_llm_provider", a."call_type", a."mcp_namespaced_tool_name", a.requests, a.successful_requests, a.failed_requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens, a.cache_read_input_tokens, a.cache_creation_input_tokens, a.total_response_time_ms, a.timed_requests, a.cache_hit_requests, a.cached_completion_tokens, a.generated_completion_tokens
    FROM (SELECT s.day, s."api_key" AS "api_key", s."user" AS "user", s."team_id" AS "team_id", s."organization_id" AS "organization_id", s."end_user" AS "end_user", s."agent_id" AS "agent_id", s."model" AS "model", s."model_group" AS "model_group", s."custom_llm_provider" AS "custom_llm_provider", s."call_type" AS "call_type", s."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name",
        sum(s.sign * s.requests)::bigint AS requests,
        sum(s.sign * s.successful_requests)::bigint AS successful_requests,
        sum(s.sign * s.failed_requests)::bigint AS failed_requests,
        sum(s.sign * s.spend)::float8 AS spend,
        sum(s.sign * s.prompt_tokens)::bigint AS prompt_tokens,
        sum(s.sign * s.completion_tokens)::bigint AS completion_tokens,
        sum(s.sign * s.total_tokens)::bigint AS total_tokens,
        sum(s.sign * s.cache_read_input_tokens)::bigint AS cache_read_input_tokens,
        sum(s.sign * s.cache_creation_input_tokens)::bigint AS cache_creation_input_tokens,
        sum(s.sign * s.total_response_time_ms)::bigint AS total_response_time_ms,
        sum(s.sign * s.timed_requests)::bigint AS timed_requests,
        sum(s.sign * s.cache_hit_requests)::bigint AS cache_hit_requests,
        sum(s.sign * s.cached_completion_tokens)::bigint AS cached_completion_tokens,
        sum(s.sign * s.generated_completion_tokens)::bigint AS generated_completion_tokens
      FROM (SELECT spendlens.utc_day(t."startTime") AS "day", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."agent_id" AS "agent_id", t."model" AS "model", t."model_group" AS "model_group", t."custom_llm_provider" AS "custom_llm_provider", t."call_type" AS "call_type", t."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name", 1::bigint AS "requests", (1 - CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END)::bigint AS "successful_requests", (CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END)::bigint AS "failed_requests", coalesce(t.spend, 0)::float8 AS "spend", coalesce(t.prompt_tokens, 0)::bigint AS "prompt_tokens", coalesce(t.completion_tokens, 0)::bigint AS "completion_tokens", coalesce(t.total_tokens, 0)::bigint AS "total_tokens", spendlens.json_count(t."metadata" #> '{usage_object,cache_read_input_tokens}') AS "cache_read_input_tokens", spendlens.json_count(t."metadata" #> '{usage_object,cache_creation_input_tokens}') AS "cache_creation_input_tokens", coalesce(coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint), 0) AS "total_response_time_ms", CASE WHEN coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint) IS NULL THEN 0 ELSE 1 END::bigint AS "timed_requests", CASE WHEN t."cache_hit" = 'True' THEN 1 ELSE 0 END::bigint AS "cache_hit_requests", CASE WHEN t."cache_hit" = 'True' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "cached_completion_tokens", CASE WHEN t."cache_hit" <> 'True' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "generated_completion_tokens", t.request_tags AS "request_tags", -1 AS sign FROM old_rows t) s GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) a
    WHERE a.requests <> 0 OR a.successful_requests <> 0 OR a.failed_requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0 OR a.cache_read_input_tokens <> 0 OR a.cache_creation_input_tokens <> 0 OR a.total_response_time_ms <> 0 OR a.timed_requests <> 0 OR a.cache_hit_requests <> 0 OR a.cached_completion_tokens <> 0 OR a.generated_completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, successful_requests = r.successful_requests + excluded.successful_requests, failed_requests = r.failed_requests + excluded.failed_requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens, cache_read_input_tokens = r.cache_read_input_tokens + excluded.cache_read_input_tokens, cache_creation_input_tokens = r.cache_creation_input_tokens + excluded.cache_creation_input_tokens, total_response_time_ms = r.total_response_time_ms + excluded.total_response_time_ms, timed_requests = r.timed_requests + excluded.timed_requests, cache_hit_requests = r.cache_hit_requests + excluded.cache_hit_requests, cached_completion_tokens = r.cached_completion_tokens + excluded.cached_completion_tokens, generated_completion_tokens = r.generated_completion_tokens + excluded.generated_completion_tokens;
      INSERT INTO spendlens."activity_tag_daily" AS r (day, key_hash, "tag", "api_key", "user", "model", "model_group", "custom_llm_provider", "call_type", "mcp_namespaced_tool_name", requests, successful_requests, failed_requests, spend, prompt_tokens, completion_tokens, total_tokens, cache_read_input_tokens, cache_creation_input_tokens, total_response_time_ms, timed_requests, cache_hit_requests, cached_completion_tokens, generated_completion_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."tag", a."api_key", a."user", a."model", a."model_group", a."custom_llm_provider", a."call_type", a."mcp_namespaced_tool_name")::text, 'UTF8')), a."tag", a."api_key", a."user", a."model", a."model_group", a."custom_llm_provider", a."call_type", a."mcp_namespaced_tool_name", a.requests, a.successful_requests, a.failed_requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens, a.cache_read_input_tokens, a.cache_creation_input_tokens, a.total_response_time_ms, a.timed_requests, a.cache_hit_requests, a.cached_completion_tokens, a.generated_completion_tokens
    FROM (SELECT s.day, e.tag AS "tag", s."api_key" AS "api_key", s."user" AS "user", s."model" AS "model", s."model_group" AS "model_group", s."custom_llm_provider" AS "custom_llm_provider", s."call_type" AS "call_type", s."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name",
        sum(s.sign * s.requests)::bigint AS requests,
        sum(s.sign * s.successful_requests)::bigint AS successful_requests,
        sum(s.sign * s.failed_requests)::bigint AS failed_requests,
        sum(s.sign * s.spend)::float8 AS spend,
        sum(s.sign * s.prompt_tokens)::bigint AS prompt_tokens,
        sum(s.sign * s.completion_tokens)::bigint AS completion_tokens,
        sum(s.sign * s.total_tokens)::bigint AS total_tokens,
        sum(s.sign * s.cache_read_input_tokens)::bigint AS cache_read_input_tokens,
        sum(s.sign * s.cache_creation_input_tokens)::bigint AS cache_creation_input_tokens,
        sum(s.sign * s.total_response_time_ms)::bigint AS total_response_time_ms,
        sum(s.sign * s.timed_requests)::bigint AS timed_requests,
        sum(s.sign * s.cache_hit_requests)::bigint AS cache_hit_requests,
        sum(s.sign * s.cached_completion_tokens)::bigint AS cached_completion_tokens,
        sum(s.sign * s.generated_completion_tokens)::bigint AS generated_completion_tokens
      FROM (SELECT spendlens.utc_day(t."startTime") AS "day", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."agent_id" AS "agent_id", t."model" AS "model", t."model_group" AS "model_group", t."custom_llm_provider" AS "custom_llm_provider", t."call_type" AS "call_type", t."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name", 1::bigint AS "requests", (1 - CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END)::bigint AS "successful_requests", (CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END)::bigint AS "failed_requests", coalesce(t.spend, 0)::float8 AS "spend", coalesce(t.prompt_tokens, 0)::bigint AS "prompt_tokens", coalesce(t.completion_tokens, 0)::bigint AS "completion_tokens", coalesce(t.total_tokens, 0)::bigint AS "total_tokens", spendlens.json_count(t."metadata" #> '{usage_object,cache_read_input_tokens}') AS "cache_read_input_tokens", spendlens.json_count(t."metadata" #> '{usage_object,cache_creation_input_tokens}') AS "cache_creation_input_tokens", coalesce(coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint), 0) AS "total_response_time_ms", CASE WHEN coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint) IS NULL THEN 0 ELSE 1 END::bigint AS "timed_requests", CASE WHEN t."cache_hit" = 'True' THEN 1 ELSE 0 END::bigint AS "cache_hit_requests", CASE WHEN t."cache_hit" = 'True' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "cached_completion_tokens", CASE WHEN t."cache_hit" <> 'True' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "generated_completion_tokens", t.request_tags AS "request_tags", -1 AS sign FROM old_rows t) s CROSS JOIN LATERAL spendlens.request_tag_set(s.request_tags) e GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9) a
    WHERE a.requests <> 0 OR a.successful_requests <> 0 OR a.failed_requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0 OR a.cache_read_input_tokens <> 0 OR a.cache_creation_input_tokens <> 0 OR a.total_response_time_ms <> 0 OR a.timed_requests <> 0 OR a.cache_hit_requests <> 0 OR a.cached_completion_tokens <> 0 OR a.generated_completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, successful_requests = r.successful_requests + excluded.successful_requests, failed_requests = r.failed_requests + excluded.failed_requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens, cache_read_input_tokens = r.cache_read_input_tokens + excluded.cache_read_input_tokens, cache_creation_input_tokens = r.cache_creation_input_tokens + excluded.cache_creation_input_tokens, total_response_time_ms = r.total_response_time_ms + excluded.total_response_time_ms, timed_requests = r.timed_requests + excluded.timed_requests, cache_hit_requests = r.cache_hit_requests + excluded.cache_hit_requests, cached_completion_tokens = r.cached_completion_tokens + excluded.cached_completion_tokens, generated_completion_tokens = r.generated_completion_tokens + excluded.generated_completion_tokens;
      DELETE FROM spendlens."activity_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
      DELETE FROM spendlens."activity_tag_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
    EXCEPTION WHEN OTHERS THEN
      PERFORM spendlens.rollups_mark_dirty(ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows), SQLERRM);
    END;
  END IF;
  RETURN NULL;
END $fn$$ddl$
  ] LOOP
    -- A column the table lacks is read as a typed NULL; without status every request succeeded;
    -- without metadata every cache token count is 0 (inside format() templates quotes are doubled).
    FOREACH c IN ARRAY ARRAY['api_key', 'user', 'team_id', 'organization_id', 'end_user', 'agent_id', 'model', 'model_group', 'custom_llm_provider', 'mcp_namespaced_tool_name', 'call_type', 'cache_hit'] LOOP
      IF NOT c = ANY (have) THEN
        stmt := replace(stmt, 't."' || c || '"', 'NULL::text');
      END IF;
    END LOOP;
    IF NOT 'request_duration_ms' = ANY (have) THEN
      stmt := replace(stmt, 't."request_duration_ms"', 'NULL::bigint');
    END IF;
    IF NOT 'endTime' = ANY (have) THEN
      stmt := replace(stmt, 't."endTime"', 'NULL::timestamp');
    END IF;
    IF NOT 'request_tags' = ANY (have) THEN
      stmt := replace(stmt, 't.request_tags', 'NULL::jsonb');
    END IF;
    IF NOT 'status' = ANY (have) THEN
      stmt := replace(stmt, $r$CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END$r$, '0');
      stmt := replace(stmt, $r$CASE WHEN t."status" = ''failure'' THEN 1 ELSE 0 END$r$, '0');
    END IF;
    IF NOT 'metadata' = ANY (have) THEN
      FOREACH k IN ARRAY ARRAY['cache_read_input_tokens', 'cache_creation_input_tokens'] LOOP
        stmt := replace(stmt, $r$spendlens.json_count(t."metadata" #> '{usage_object,$r$ || k || $r$}')$r$, '0::bigint');
        stmt := replace(stmt, $r$spendlens.json_count(t."metadata" #> ''{usage_object,$r$ || k || $r$}'')$r$, '0::bigint');
      END LOOP;
    END IF;
    EXECUTE stmt;
  END LOOP;
END $migration$;


CREATE FUNCTION spendlens.spendlogs_rollup_v9_truncate() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  IF spendlens.rollups_subtract_deletes() THEN
    DELETE FROM spendlens."activity_daily";
    DELETE FROM spendlens."activity_tag_daily";
  END IF;
  RETURN NULL;
END $fn$;

DO $migration$
DECLARE
  -- The columns "LiteLLM_SpendLogs" has (an older LiteLLM lacks some, e.g. agent_id or status).
  have text[] := ARRAY(SELECT column_name::text FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = 'LiteLLM_SpendLogs');
  stmt text;
  c text;
  k text;
BEGIN
  FOREACH stmt IN ARRAY ARRAY[
$ddl$CREATE FUNCTION spendlens.activity_rollups_fill_days(p_from date, p_to date) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '256MB' SET jit = off AS $fn$
DECLARE
  lo text := to_char(p_from, 'YYYY-MM-DD') || 'T00:00:00Z';
  hi text := to_char(p_to + 1, 'YYYY-MM-DD') || 'T00:00:00Z';
BEGIN
  LOCK TABLE public."LiteLLM_SpendLogs" IN SHARE ROW EXCLUSIVE MODE;
  DELETE FROM spendlens."activity_daily" WHERE day BETWEEN p_from AND p_to;
  DELETE FROM spendlens."activity_tag_daily" WHERE day BETWEEN p_from AND p_to;
  -- Bounds are passed as literals so they take the column's own type (timestamp or timestamptz).
  EXECUTE format('INSERT INTO spendlens."activity_daily" AS r (day, key_hash, "api_key", "user", "team_id", "organization_id", "end_user", "agent_id", "model", "model_group", "custom_llm_provider", "call_type", "mcp_namespaced_tool_name", requests, successful_requests, failed_requests, spend, prompt_tokens, completion_tokens, total_tokens, cache_read_input_tokens, cache_creation_input_tokens, total_response_time_ms, timed_requests, cache_hit_requests, cached_completion_tokens, generated_completion_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."api_key", a."user", a."team_id", a."organization_id", a."end_user", a."agent_id", a."model", a."model_group", a."custom_llm_provider", a."call_type", a."mcp_namespaced_tool_name")::text, ''UTF8'')), a."api_key", a."user", a."team_id", a."organization_id", a."end_user", a."agent_id", a."model", a."model_group", a."custom_llm_provider", a."call_type", a."mcp_namespaced_tool_name", a.requests, a.successful_requests, a.failed_requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens, a.cache_read_input_tokens, a.cache_creation_input_tokens, a.total_response_time_ms, a.timed_requests, a.cache_hit_requests, a.cached_completion_tokens, a.generated_completion_tokens
    FROM (SELECT s.day, s."api_key" AS "api_key", s."user" AS "user", s."team_id" AS "team_id", s."organization_id" AS "organization_id", s."end_user" AS "end_user", s."agent_id" AS "agent_id", s."model" AS "model", s."model_group" AS "model_group", s."custom_llm_provider" AS "custom_llm_provider", s."call_type" AS "call_type", s."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name",
        sum(s.sign * s.requests)::bigint AS requests,
        sum(s.sign * s.successful_requests)::bigint AS successful_requests,
        sum(s.sign * s.failed_requests)::bigint AS failed_requests,
        sum(s.sign * s.spend)::float8 AS spend,
        sum(s.sign * s.prompt_tokens)::bigint AS prompt_tokens,
        sum(s.sign * s.completion_tokens)::bigint AS completion_tokens,
        sum(s.sign * s.total_tokens)::bigint AS total_tokens,
        sum(s.sign * s.cache_read_input_tokens)::bigint AS cache_read_input_tokens,
        sum(s.sign * s.cache_creation_input_tokens)::bigint AS cache_creation_input_tokens,
        sum(s.sign * s.total_response_time_ms)::bigint AS total_response_time_ms,
        sum(s.sign * s.timed_requests)::bigint AS timed_requests,
        sum(s.sign * s.cache_hit_requests)::bigint AS cache_hit_requests,
        sum(s.sign * s.cached_completion_tokens)::bigint AS cached_completion_tokens,
        sum(s.sign * s.generated_completion_tokens)::bigint AS generated_completion_tokens
      FROM (SELECT spendlens.utc_day(t."startTime") AS "day", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."agent_id" AS "agent_id", t."model" AS "model", t."model_group" AS "model_group", t."custom_llm_provider" AS "custom_llm_provider", t."call_type" AS "call_type", t."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name", 1::bigint AS "requests", (1 - CASE WHEN t."status" = ''failure'' THEN 1 ELSE 0 END)::bigint AS "successful_requests", (CASE WHEN t."status" = ''failure'' THEN 1 ELSE 0 END)::bigint AS "failed_requests", coalesce(t.spend, 0)::float8 AS "spend", coalesce(t.prompt_tokens, 0)::bigint AS "prompt_tokens", coalesce(t.completion_tokens, 0)::bigint AS "completion_tokens", coalesce(t.total_tokens, 0)::bigint AS "total_tokens", spendlens.json_count(t."metadata" #> ''{usage_object,cache_read_input_tokens}'') AS "cache_read_input_tokens", spendlens.json_count(t."metadata" #> ''{usage_object,cache_creation_input_tokens}'') AS "cache_creation_input_tokens", coalesce(coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint), 0) AS "total_response_time_ms", CASE WHEN coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint) IS NULL THEN 0 ELSE 1 END::bigint AS "timed_requests", CASE WHEN t."cache_hit" = ''True'' THEN 1 ELSE 0 END::bigint AS "cache_hit_requests", CASE WHEN t."cache_hit" = ''True'' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "cached_completion_tokens", CASE WHEN t."cache_hit" <> ''True'' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "generated_completion_tokens", t.request_tags AS "request_tags", 1 AS sign FROM public."LiteLLM_SpendLogs" t WHERE t."startTime" >= %1$L AND t."startTime" < %2$L) s GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) a
    WHERE a.requests <> 0 OR a.successful_requests <> 0 OR a.failed_requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0 OR a.cache_read_input_tokens <> 0 OR a.cache_creation_input_tokens <> 0 OR a.total_response_time_ms <> 0 OR a.timed_requests <> 0 OR a.cache_hit_requests <> 0 OR a.cached_completion_tokens <> 0 OR a.generated_completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, successful_requests = r.successful_requests + excluded.successful_requests, failed_requests = r.failed_requests + excluded.failed_requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens, cache_read_input_tokens = r.cache_read_input_tokens + excluded.cache_read_input_tokens, cache_creation_input_tokens = r.cache_creation_input_tokens + excluded.cache_creation_input_tokens, total_response_time_ms = r.total_response_time_ms + excluded.total_response_time_ms, timed_requests = r.timed_requests + excluded.timed_requests, cache_hit_requests = r.cache_hit_requests + excluded.cache_hit_requests, cached_completion_tokens = r.cached_completion_tokens + excluded.cached_completion_tokens, generated_completion_tokens = r.generated_completion_tokens + excluded.generated_completion_tokens', lo, hi);
  EXECUTE format('INSERT INTO spendlens."activity_tag_daily" AS r (day, key_hash, "tag", "api_key", "user", "model", "model_group", "custom_llm_provider", "call_type", "mcp_namespaced_tool_name", requests, successful_requests, failed_requests, spend, prompt_tokens, completion_tokens, total_tokens, cache_read_input_tokens, cache_creation_input_tokens, total_response_time_ms, timed_requests, cache_hit_requests, cached_completion_tokens, generated_completion_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."tag", a."api_key", a."user", a."model", a."model_group", a."custom_llm_provider", a."call_type", a."mcp_namespaced_tool_name")::text, ''UTF8'')), a."tag", a."api_key", a."user", a."model", a."model_group", a."custom_llm_provider", a."call_type", a."mcp_namespaced_tool_name", a.requests, a.successful_requests, a.failed_requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens, a.cache_read_input_tokens, a.cache_creation_input_tokens, a.total_response_time_ms, a.timed_requests, a.cache_hit_requests, a.cached_completion_tokens, a.generated_completion_tokens
    FROM (SELECT s.day, e.tag AS "tag", s."api_key" AS "api_key", s."user" AS "user", s."model" AS "model", s."model_group" AS "model_group", s."custom_llm_provider" AS "custom_llm_provider", s."call_type" AS "call_type", s."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name",
        sum(s.sign * s.requests)::bigint AS requests,
        sum(s.sign * s.successful_requests)::bigint AS successful_requests,
        sum(s.sign * s.failed_requests)::bigint AS failed_requests,
        sum(s.sign * s.spend)::float8 AS spend,
        sum(s.sign * s.prompt_tokens)::bigint AS prompt_tokens,
        sum(s.sign * s.completion_tokens)::bigint AS completion_tokens,
        sum(s.sign * s.total_tokens)::bigint AS total_tokens,
        sum(s.sign * s.cache_read_input_tokens)::bigint AS cache_read_input_tokens,
        sum(s.sign * s.cache_creation_input_tokens)::bigint AS cache_creation_input_tokens,
        sum(s.sign * s.total_response_time_ms)::bigint AS total_response_time_ms,
        sum(s.sign * s.timed_requests)::bigint AS timed_requests,
        sum(s.sign * s.cache_hit_requests)::bigint AS cache_hit_requests,
        sum(s.sign * s.cached_completion_tokens)::bigint AS cached_completion_tokens,
        sum(s.sign * s.generated_completion_tokens)::bigint AS generated_completion_tokens
      FROM (SELECT spendlens.utc_day(t."startTime") AS "day", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."agent_id" AS "agent_id", t."model" AS "model", t."model_group" AS "model_group", t."custom_llm_provider" AS "custom_llm_provider", t."call_type" AS "call_type", t."mcp_namespaced_tool_name" AS "mcp_namespaced_tool_name", 1::bigint AS "requests", (1 - CASE WHEN t."status" = ''failure'' THEN 1 ELSE 0 END)::bigint AS "successful_requests", (CASE WHEN t."status" = ''failure'' THEN 1 ELSE 0 END)::bigint AS "failed_requests", coalesce(t.spend, 0)::float8 AS "spend", coalesce(t.prompt_tokens, 0)::bigint AS "prompt_tokens", coalesce(t.completion_tokens, 0)::bigint AS "completion_tokens", coalesce(t.total_tokens, 0)::bigint AS "total_tokens", spendlens.json_count(t."metadata" #> ''{usage_object,cache_read_input_tokens}'') AS "cache_read_input_tokens", spendlens.json_count(t."metadata" #> ''{usage_object,cache_creation_input_tokens}'') AS "cache_creation_input_tokens", coalesce(coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint), 0) AS "total_response_time_ms", CASE WHEN coalesce(t."request_duration_ms"::bigint,
      round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint) IS NULL THEN 0 ELSE 1 END::bigint AS "timed_requests", CASE WHEN t."cache_hit" = ''True'' THEN 1 ELSE 0 END::bigint AS "cache_hit_requests", CASE WHEN t."cache_hit" = ''True'' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "cached_completion_tokens", CASE WHEN t."cache_hit" <> ''True'' THEN coalesce(t.completion_tokens, 0) ELSE 0 END::bigint AS "generated_completion_tokens", t.request_tags AS "request_tags", 1 AS sign FROM public."LiteLLM_SpendLogs" t WHERE t."startTime" >= %1$L AND t."startTime" < %2$L) s CROSS JOIN LATERAL spendlens.request_tag_set(s.request_tags) e GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9) a
    WHERE a.requests <> 0 OR a.successful_requests <> 0 OR a.failed_requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0 OR a.cache_read_input_tokens <> 0 OR a.cache_creation_input_tokens <> 0 OR a.total_response_time_ms <> 0 OR a.timed_requests <> 0 OR a.cache_hit_requests <> 0 OR a.cached_completion_tokens <> 0 OR a.generated_completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, successful_requests = r.successful_requests + excluded.successful_requests, failed_requests = r.failed_requests + excluded.failed_requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens, cache_read_input_tokens = r.cache_read_input_tokens + excluded.cache_read_input_tokens, cache_creation_input_tokens = r.cache_creation_input_tokens + excluded.cache_creation_input_tokens, total_response_time_ms = r.total_response_time_ms + excluded.total_response_time_ms, timed_requests = r.timed_requests + excluded.timed_requests, cache_hit_requests = r.cache_hit_requests + excluded.cache_hit_requests, cached_completion_tokens = r.cached_completion_tokens + excluded.cached_completion_tokens, generated_completion_tokens = r.generated_completion_tokens + excluded.generated_completion_tokens', lo, hi);
END $fn$$ddl$
  ] LOOP
    -- A column the table lacks is read as a typed NULL; without status every request succeeded;
    -- without metadata every cache token count is 0 (inside format() templates quotes are doubled).
    FOREACH c IN ARRAY ARRAY['api_key', 'user', 'team_id', 'organization_id', 'end_user', 'agent_id', 'model', 'model_group', 'custom_llm_provider', 'mcp_namespaced_tool_name', 'call_type', 'cache_hit'] LOOP
      IF NOT c = ANY (have) THEN
        stmt := replace(stmt, 't."' || c || '"', 'NULL::text');
      END IF;
    END LOOP;
    IF NOT 'request_duration_ms' = ANY (have) THEN
      stmt := replace(stmt, 't."request_duration_ms"', 'NULL::bigint');
    END IF;
    IF NOT 'endTime' = ANY (have) THEN
      stmt := replace(stmt, 't."endTime"', 'NULL::timestamp');
    END IF;
    IF NOT 'request_tags' = ANY (have) THEN
      stmt := replace(stmt, 't.request_tags', 'NULL::jsonb');
    END IF;
    IF NOT 'status' = ANY (have) THEN
      stmt := replace(stmt, $r$CASE WHEN t."status" = 'failure' THEN 1 ELSE 0 END$r$, '0');
      stmt := replace(stmt, $r$CASE WHEN t."status" = ''failure'' THEN 1 ELSE 0 END$r$, '0');
    END IF;
    IF NOT 'metadata' = ANY (have) THEN
      FOREACH k IN ARRAY ARRAY['cache_read_input_tokens', 'cache_creation_input_tokens'] LOOP
        stmt := replace(stmt, $r$spendlens.json_count(t."metadata" #> '{usage_object,$r$ || k || $r$}')$r$, '0::bigint');
        stmt := replace(stmt, $r$spendlens.json_count(t."metadata" #> ''{usage_object,$r$ || k || $r$}'')$r$, '0::bigint');
      END LOOP;
    END IF;
    EXECUTE stmt;
  END LOOP;
END $migration$;


CREATE TRIGGER spendlens_rollup_v9_insert AFTER INSERT ON public."LiteLLM_SpendLogs" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_v9_insert();

CREATE TRIGGER spendlens_rollup_v9_update AFTER UPDATE ON public."LiteLLM_SpendLogs" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_v9_update();

CREATE TRIGGER spendlens_rollup_v9_delete AFTER DELETE ON public."LiteLLM_SpendLogs" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_v9_delete();

CREATE TRIGGER spendlens_rollup_v9_truncate AFTER TRUNCATE ON public."LiteLLM_SpendLogs" FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_v9_truncate();

-- Existing logs.
SELECT spendlens.activity_rollups_fill_days(r.lo, r.hi) FROM (
  SELECT spendlens.utc_day(min("startTime")) AS lo, spendlens.utc_day(max("startTime")) AS hi FROM "LiteLLM_SpendLogs"
) r WHERE r.lo IS NOT NULL AND r.hi IS NOT NULL;
