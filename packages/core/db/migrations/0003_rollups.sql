-- 0003_rollups: daily rollup tables in schema `spendlens` (the version-1 grains), kept exact by
-- statement-level AFTER triggers with transition tables on "LiteLLM_SpendLogs" and "LiteLLM_ErrorLogs"
-- (whoever writes the logs), and a rebuild function. Every INSERT/UPDATE/DELETE/COPY turns into per-day
-- deltas upserted in the same transaction, sorted by (day, key_hash) so single-statement writers lock in one
-- global order. A trigger never fails the gateway's write: a deadlock is retried, any other error marks the
-- days dirty in spendlens.rollup_days (readers answer them from the raw logs until a rebuild). DELETE keeps
-- totals unless spendlens.meta 'rollups.delete_mode' = 'subtract'. SECURITY DEFINER with a fixed
-- search_path. docs/scaling.md has the long form.
-- Standalone mode also adds the indexes keyset log pages need; attach mode: triggers only.
-- A "LiteLLM_SpendLogs" column the rollups read but the table lacks (an older LiteLLM has no
-- organization_id) is read as NULL (the DO blocks below).
-- Existing logs are filled here, in the migration's transaction (writers to the log tables wait).
--
-- FROZEN once shipped: never edit this file, add a new migration.

-- The backfill below can outlast the pool's per-statement timeout; this is a one-off.
SET LOCAL statement_timeout = 0;

CREATE FUNCTION spendlens.utc_day(ts timestamp) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT ts::date';

CREATE FUNCTION spendlens.utc_day(ts timestamptz) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$SELECT (ts AT TIME ZONE 'UTC')::date$$;

CREATE FUNCTION spendlens.request_tags(tags jsonb) RETURNS TABLE (tag text, n int) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
      $$SELECT e, jsonb_array_length(tags) FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(tags) = 'array' THEN tags ELSE '[]'::jsonb END) AS e$$;

CREATE TABLE spendlens.rollup_days (
      day date PRIMARY KEY,
      dirty_reason text,
      dirty_at timestamptz,
      raw_deleted boolean NOT NULL DEFAULT false);

INSERT INTO spendlens.meta (key, value) VALUES ('rollups.status', 'ready'), ('rollups.delete_mode', 'keep')
      ON CONFLICT (key) DO NOTHING;

CREATE FUNCTION spendlens.rollups_active() RETURNS boolean LANGUAGE sql STABLE AS
      $$SELECT coalesce((SELECT value FROM spendlens.meta WHERE key = 'rollups.status'), 'ready') <> 'paused'$$;

CREATE FUNCTION spendlens.rollups_subtract_deletes() RETURNS boolean LANGUAGE sql STABLE AS
      $$SELECT coalesce((SELECT value FROM spendlens.meta WHERE key = 'rollups.delete_mode'), 'keep') = 'subtract'$$;

CREATE FUNCTION spendlens.rollups_mark_dirty(days date[], reason text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  INSERT INTO spendlens.rollup_days AS r (day, dirty_reason, dirty_at)
    SELECT DISTINCT d, left(reason, 500), now() FROM unnest(days) AS d WHERE d IS NOT NULL ORDER BY 1
    ON CONFLICT (day) DO UPDATE SET dirty_reason = excluded.dirty_reason, dirty_at = excluded.dirty_at;
END $fn$;

CREATE TABLE spendlens."model_daily" (day date NOT NULL, key_hash bytea NOT NULL, "model_group" text, "model" text, "model_id" text, "custom_llm_provider" text, "api_base" text, requests bigint NOT NULL DEFAULT 0, spend double precision NOT NULL DEFAULT 0, prompt_tokens bigint NOT NULL DEFAULT 0, completion_tokens bigint NOT NULL DEFAULT 0, total_tokens bigint NOT NULL DEFAULT 0, PRIMARY KEY (day, key_hash)) WITH (fillfactor = 90);

CREATE TABLE spendlens."team_daily" (day date NOT NULL, key_hash bytea NOT NULL, "team_id" text, "organization_id" text, requests bigint NOT NULL DEFAULT 0, spend double precision NOT NULL DEFAULT 0, prompt_tokens bigint NOT NULL DEFAULT 0, completion_tokens bigint NOT NULL DEFAULT 0, total_tokens bigint NOT NULL DEFAULT 0, PRIMARY KEY (day, key_hash)) WITH (fillfactor = 90);

CREATE TABLE spendlens."key_daily" (day date NOT NULL, key_hash bytea NOT NULL, "api_key" text, "user" text, "team_id" text, "organization_id" text, requests bigint NOT NULL DEFAULT 0, spend double precision NOT NULL DEFAULT 0, prompt_tokens bigint NOT NULL DEFAULT 0, completion_tokens bigint NOT NULL DEFAULT 0, total_tokens bigint NOT NULL DEFAULT 0, PRIMARY KEY (day, key_hash)) WITH (fillfactor = 90);

CREATE INDEX "key_daily_user_day_idx" ON spendlens."key_daily" ("user", day);

CREATE INDEX "key_daily_api_key_day_idx" ON spendlens."key_daily" ("api_key", day);

CREATE TABLE spendlens."detail_daily" (day date NOT NULL, key_hash bytea NOT NULL, "api_key" text, "user" text, "team_id" text, "organization_id" text, "end_user" text, "model" text, "model_group" text, "model_id" text, "custom_llm_provider" text, "api_base" text, requests bigint NOT NULL DEFAULT 0, spend double precision NOT NULL DEFAULT 0, prompt_tokens bigint NOT NULL DEFAULT 0, completion_tokens bigint NOT NULL DEFAULT 0, total_tokens bigint NOT NULL DEFAULT 0, PRIMARY KEY (day, key_hash)) WITH (fillfactor = 90);

CREATE INDEX "detail_daily_user_day_idx" ON spendlens."detail_daily" ("user", day);

CREATE INDEX "detail_daily_api_key_day_idx" ON spendlens."detail_daily" ("api_key", day);

CREATE TABLE spendlens."tag_daily" (day date NOT NULL, key_hash bytea NOT NULL, "tag" text, requests bigint NOT NULL DEFAULT 0, spend double precision NOT NULL DEFAULT 0, spend_split double precision NOT NULL DEFAULT 0, prompt_tokens bigint NOT NULL DEFAULT 0, completion_tokens bigint NOT NULL DEFAULT 0, total_tokens bigint NOT NULL DEFAULT 0, PRIMARY KEY (day, key_hash)) WITH (fillfactor = 90);

CREATE TABLE spendlens."error_daily" (day date NOT NULL, key_hash bytea NOT NULL, "model_group" text, "api_base" text, "model_id" text, "status_code" text, "exception_type" text, errors bigint NOT NULL DEFAULT 0, PRIMARY KEY (day, key_hash)) WITH (fillfactor = 90);

DO $migration$
DECLARE
  -- The columns "LiteLLM_SpendLogs" has (an older LiteLLM lacks some, e.g. organization_id).
  have text[] := ARRAY(SELECT column_name::text FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = 'LiteLLM_SpendLogs');
  stmt text;
  c text;
BEGIN
  FOREACH stmt IN ARRAY ARRAY[
$ddl$CREATE FUNCTION spendlens.spendlogs_rollup_insert() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
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
      INSERT INTO spendlens."model_daily" AS r (day, key_hash, "model_group", "model", "model_id", "custom_llm_provider", "api_base", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."model_group", a."model", a."model_id", a."custom_llm_provider", a."api_base")::text, 'UTF8')), a."model_group", a."model", a."model_id", a."custom_llm_provider", a."api_base", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."model_group", s."model", s."model_id", s."custom_llm_provider", s."api_base",
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", 1 AS sign FROM new_rows t) s GROUP BY 1, 2, 3, 4, 5, 6) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      INSERT INTO spendlens."team_daily" AS r (day, key_hash, "team_id", "organization_id", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."team_id", a."organization_id")::text, 'UTF8')), a."team_id", a."organization_id", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."team_id", s."organization_id",
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", 1 AS sign FROM new_rows t) s GROUP BY 1, 2, 3) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      INSERT INTO spendlens."key_daily" AS r (day, key_hash, "api_key", "user", "team_id", "organization_id", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."api_key", a."user", a."team_id", a."organization_id")::text, 'UTF8')), a."api_key", a."user", a."team_id", a."organization_id", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."api_key", s."user", s."team_id", s."organization_id",
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", 1 AS sign FROM new_rows t) s GROUP BY 1, 2, 3, 4, 5) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      INSERT INTO spendlens."detail_daily" AS r (day, key_hash, "api_key", "user", "team_id", "organization_id", "end_user", "model", "model_group", "model_id", "custom_llm_provider", "api_base", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."api_key", a."user", a."team_id", a."organization_id", a."end_user", a."model", a."model_group", a."model_id", a."custom_llm_provider", a."api_base")::text, 'UTF8')), a."api_key", a."user", a."team_id", a."organization_id", a."end_user", a."model", a."model_group", a."model_id", a."custom_llm_provider", a."api_base", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."api_key", s."user", s."team_id", s."organization_id", s."end_user", s."model", s."model_group", s."model_id", s."custom_llm_provider", s."api_base",
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", 1 AS sign FROM new_rows t) s GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      INSERT INTO spendlens."tag_daily" AS r (day, key_hash, "tag", requests, spend, spend_split, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."tag")::text, 'UTF8')), a."tag", a.requests, a.spend, a.spend_split, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, e.tag,
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.spend, 0) / e.n)::float8 AS spend_split,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", 1 AS sign FROM new_rows t) s CROSS JOIN LATERAL spendlens.request_tags(s.request_tags) e
      GROUP BY 1, 2) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.spend_split <> 0 OR a.total_tokens <> 0
      OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, spend_split = r.spend_split + excluded.spend_split, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
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
$ddl$CREATE FUNCTION spendlens.spendlogs_rollup_update() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
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
      INSERT INTO spendlens."model_daily" AS r (day, key_hash, "model_group", "model", "model_id", "custom_llm_provider", "api_base", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."model_group", a."model", a."model_id", a."custom_llm_provider", a."api_base")::text, 'UTF8')), a."model_group", a."model", a."model_id", a."custom_llm_provider", a."api_base", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."model_group", s."model", s."model_id", s."custom_llm_provider", s."api_base",
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT n."request_id" AS "request_id", n."startTime" AS "startTime", n."api_key" AS "api_key", n."user" AS "user", n."team_id" AS "team_id", n."organization_id" AS "organization_id", n."end_user" AS "end_user", n."model" AS "model", n."model_group" AS "model_group", n."model_id" AS "model_id", n."custom_llm_provider" AS "custom_llm_provider", n."api_base" AS "api_base", n."spend" AS "spend", n."prompt_tokens" AS "prompt_tokens", n."completion_tokens" AS "completion_tokens", n."total_tokens" AS "total_tokens", n."request_tags" AS "request_tags", 1 AS sign FROM new_rows n
      WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.request_id = n.request_id AND (o."startTime", o."api_key", o."user", o."team_id", o."organization_id", o."end_user", o."model", o."model_group", o."model_id", o."custom_llm_provider", o."api_base", o."spend", o."prompt_tokens", o."completion_tokens", o."total_tokens", o."request_tags") IS NOT DISTINCT FROM (n."startTime", n."api_key", n."user", n."team_id", n."organization_id", n."end_user", n."model", n."model_group", n."model_id", n."custom_llm_provider", n."api_base", n."spend", n."prompt_tokens", n."completion_tokens", n."total_tokens", n."request_tags"))
    UNION ALL
    SELECT o."request_id" AS "request_id", o."startTime" AS "startTime", o."api_key" AS "api_key", o."user" AS "user", o."team_id" AS "team_id", o."organization_id" AS "organization_id", o."end_user" AS "end_user", o."model" AS "model", o."model_group" AS "model_group", o."model_id" AS "model_id", o."custom_llm_provider" AS "custom_llm_provider", o."api_base" AS "api_base", o."spend" AS "spend", o."prompt_tokens" AS "prompt_tokens", o."completion_tokens" AS "completion_tokens", o."total_tokens" AS "total_tokens", o."request_tags" AS "request_tags", -1 AS sign FROM old_rows o
      WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.request_id = o.request_id AND (o."startTime", o."api_key", o."user", o."team_id", o."organization_id", o."end_user", o."model", o."model_group", o."model_id", o."custom_llm_provider", o."api_base", o."spend", o."prompt_tokens", o."completion_tokens", o."total_tokens", o."request_tags") IS NOT DISTINCT FROM (n."startTime", n."api_key", n."user", n."team_id", n."organization_id", n."end_user", n."model", n."model_group", n."model_id", n."custom_llm_provider", n."api_base", n."spend", n."prompt_tokens", n."completion_tokens", n."total_tokens", n."request_tags"))) s GROUP BY 1, 2, 3, 4, 5, 6) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      INSERT INTO spendlens."team_daily" AS r (day, key_hash, "team_id", "organization_id", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."team_id", a."organization_id")::text, 'UTF8')), a."team_id", a."organization_id", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."team_id", s."organization_id",
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT n."request_id" AS "request_id", n."startTime" AS "startTime", n."api_key" AS "api_key", n."user" AS "user", n."team_id" AS "team_id", n."organization_id" AS "organization_id", n."end_user" AS "end_user", n."model" AS "model", n."model_group" AS "model_group", n."model_id" AS "model_id", n."custom_llm_provider" AS "custom_llm_provider", n."api_base" AS "api_base", n."spend" AS "spend", n."prompt_tokens" AS "prompt_tokens", n."completion_tokens" AS "completion_tokens", n."total_tokens" AS "total_tokens", n."request_tags" AS "request_tags", 1 AS sign FROM new_rows n
      WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.request_id = n.request_id AND (o."startTime", o."api_key", o."user", o."team_id", o."organization_id", o."end_user", o."model", o."model_group", o."model_id", o."custom_llm_provider", o."api_base", o."spend", o."prompt_tokens", o."completion_tokens", o."total_tokens", o."request_tags") IS NOT DISTINCT FROM (n."startTime", n."api_key", n."user", n."team_id", n."organization_id", n."end_user", n."model", n."model_group", n."model_id", n."custom_llm_provider", n."api_base", n."spend", n."prompt_tokens", n."completion_tokens", n."total_tokens", n."request_tags"))
    UNION ALL
    SELECT o."request_id" AS "request_id", o."startTime" AS "startTime", o."api_key" AS "api_key", o."user" AS "user", o."team_id" AS "team_id", o."organization_id" AS "organization_id", o."end_user" AS "end_user", o."model" AS "model", o."model_group" AS "model_group", o."model_id" AS "model_id", o."custom_llm_provider" AS "custom_llm_provider", o."api_base" AS "api_base", o."spend" AS "spend", o."prompt_tokens" AS "prompt_tokens", o."completion_tokens" AS "completion_tokens", o."total_tokens" AS "total_tokens", o."request_tags" AS "request_tags", -1 AS sign FROM old_rows o
      WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.request_id = o.request_id AND (o."startTime", o."api_key", o."user", o."team_id", o."organization_id", o."end_user", o."model", o."model_group", o."model_id", o."custom_llm_provider", o."api_base", o."spend", o."prompt_tokens", o."completion_tokens", o."total_tokens", o."request_tags") IS NOT DISTINCT FROM (n."startTime", n."api_key", n."user", n."team_id", n."organization_id", n."end_user", n."model", n."model_group", n."model_id", n."custom_llm_provider", n."api_base", n."spend", n."prompt_tokens", n."completion_tokens", n."total_tokens", n."request_tags"))) s GROUP BY 1, 2, 3) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      INSERT INTO spendlens."key_daily" AS r (day, key_hash, "api_key", "user", "team_id", "organization_id", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."api_key", a."user", a."team_id", a."organization_id")::text, 'UTF8')), a."api_key", a."user", a."team_id", a."organization_id", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."api_key", s."user", s."team_id", s."organization_id",
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT n."request_id" AS "request_id", n."startTime" AS "startTime", n."api_key" AS "api_key", n."user" AS "user", n."team_id" AS "team_id", n."organization_id" AS "organization_id", n."end_user" AS "end_user", n."model" AS "model", n."model_group" AS "model_group", n."model_id" AS "model_id", n."custom_llm_provider" AS "custom_llm_provider", n."api_base" AS "api_base", n."spend" AS "spend", n."prompt_tokens" AS "prompt_tokens", n."completion_tokens" AS "completion_tokens", n."total_tokens" AS "total_tokens", n."request_tags" AS "request_tags", 1 AS sign FROM new_rows n
      WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.request_id = n.request_id AND (o."startTime", o."api_key", o."user", o."team_id", o."organization_id", o."end_user", o."model", o."model_group", o."model_id", o."custom_llm_provider", o."api_base", o."spend", o."prompt_tokens", o."completion_tokens", o."total_tokens", o."request_tags") IS NOT DISTINCT FROM (n."startTime", n."api_key", n."user", n."team_id", n."organization_id", n."end_user", n."model", n."model_group", n."model_id", n."custom_llm_provider", n."api_base", n."spend", n."prompt_tokens", n."completion_tokens", n."total_tokens", n."request_tags"))
    UNION ALL
    SELECT o."request_id" AS "request_id", o."startTime" AS "startTime", o."api_key" AS "api_key", o."user" AS "user", o."team_id" AS "team_id", o."organization_id" AS "organization_id", o."end_user" AS "end_user", o."model" AS "model", o."model_group" AS "model_group", o."model_id" AS "model_id", o."custom_llm_provider" AS "custom_llm_provider", o."api_base" AS "api_base", o."spend" AS "spend", o."prompt_tokens" AS "prompt_tokens", o."completion_tokens" AS "completion_tokens", o."total_tokens" AS "total_tokens", o."request_tags" AS "request_tags", -1 AS sign FROM old_rows o
      WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.request_id = o.request_id AND (o."startTime", o."api_key", o."user", o."team_id", o."organization_id", o."end_user", o."model", o."model_group", o."model_id", o."custom_llm_provider", o."api_base", o."spend", o."prompt_tokens", o."completion_tokens", o."total_tokens", o."request_tags") IS NOT DISTINCT FROM (n."startTime", n."api_key", n."user", n."team_id", n."organization_id", n."end_user", n."model", n."model_group", n."model_id", n."custom_llm_provider", n."api_base", n."spend", n."prompt_tokens", n."completion_tokens", n."total_tokens", n."request_tags"))) s GROUP BY 1, 2, 3, 4, 5) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      INSERT INTO spendlens."detail_daily" AS r (day, key_hash, "api_key", "user", "team_id", "organization_id", "end_user", "model", "model_group", "model_id", "custom_llm_provider", "api_base", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."api_key", a."user", a."team_id", a."organization_id", a."end_user", a."model", a."model_group", a."model_id", a."custom_llm_provider", a."api_base")::text, 'UTF8')), a."api_key", a."user", a."team_id", a."organization_id", a."end_user", a."model", a."model_group", a."model_id", a."custom_llm_provider", a."api_base", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."api_key", s."user", s."team_id", s."organization_id", s."end_user", s."model", s."model_group", s."model_id", s."custom_llm_provider", s."api_base",
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT n."request_id" AS "request_id", n."startTime" AS "startTime", n."api_key" AS "api_key", n."user" AS "user", n."team_id" AS "team_id", n."organization_id" AS "organization_id", n."end_user" AS "end_user", n."model" AS "model", n."model_group" AS "model_group", n."model_id" AS "model_id", n."custom_llm_provider" AS "custom_llm_provider", n."api_base" AS "api_base", n."spend" AS "spend", n."prompt_tokens" AS "prompt_tokens", n."completion_tokens" AS "completion_tokens", n."total_tokens" AS "total_tokens", n."request_tags" AS "request_tags", 1 AS sign FROM new_rows n
      WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.request_id = n.request_id AND (o."startTime", o."api_key", o."user", o."team_id", o."organization_id", o."end_user", o."model", o."model_group", o."model_id", o."custom_llm_provider", o."api_base", o."spend", o."prompt_tokens", o."completion_tokens", o."total_tokens", o."request_tags") IS NOT DISTINCT FROM (n."startTime", n."api_key", n."user", n."team_id", n."organization_id", n."end_user", n."model", n."model_group", n."model_id", n."custom_llm_provider", n."api_base", n."spend", n."prompt_tokens", n."completion_tokens", n."total_tokens", n."request_tags"))
    UNION ALL
    SELECT o."request_id" AS "request_id", o."startTime" AS "startTime", o."api_key" AS "api_key", o."user" AS "user", o."team_id" AS "team_id", o."organization_id" AS "organization_id", o."end_user" AS "end_user", o."model" AS "model", o."model_group" AS "model_group", o."model_id" AS "model_id", o."custom_llm_provider" AS "custom_llm_provider", o."api_base" AS "api_base", o."spend" AS "spend", o."prompt_tokens" AS "prompt_tokens", o."completion_tokens" AS "completion_tokens", o."total_tokens" AS "total_tokens", o."request_tags" AS "request_tags", -1 AS sign FROM old_rows o
      WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.request_id = o.request_id AND (o."startTime", o."api_key", o."user", o."team_id", o."organization_id", o."end_user", o."model", o."model_group", o."model_id", o."custom_llm_provider", o."api_base", o."spend", o."prompt_tokens", o."completion_tokens", o."total_tokens", o."request_tags") IS NOT DISTINCT FROM (n."startTime", n."api_key", n."user", n."team_id", n."organization_id", n."end_user", n."model", n."model_group", n."model_id", n."custom_llm_provider", n."api_base", n."spend", n."prompt_tokens", n."completion_tokens", n."total_tokens", n."request_tags"))) s GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      INSERT INTO spendlens."tag_daily" AS r (day, key_hash, "tag", requests, spend, spend_split, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."tag")::text, 'UTF8')), a."tag", a.requests, a.spend, a.spend_split, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, e.tag,
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.spend, 0) / e.n)::float8 AS spend_split,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT n."request_id" AS "request_id", n."startTime" AS "startTime", n."api_key" AS "api_key", n."user" AS "user", n."team_id" AS "team_id", n."organization_id" AS "organization_id", n."end_user" AS "end_user", n."model" AS "model", n."model_group" AS "model_group", n."model_id" AS "model_id", n."custom_llm_provider" AS "custom_llm_provider", n."api_base" AS "api_base", n."spend" AS "spend", n."prompt_tokens" AS "prompt_tokens", n."completion_tokens" AS "completion_tokens", n."total_tokens" AS "total_tokens", n."request_tags" AS "request_tags", 1 AS sign FROM new_rows n
      WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.request_id = n.request_id AND (o."startTime", o."api_key", o."user", o."team_id", o."organization_id", o."end_user", o."model", o."model_group", o."model_id", o."custom_llm_provider", o."api_base", o."spend", o."prompt_tokens", o."completion_tokens", o."total_tokens", o."request_tags") IS NOT DISTINCT FROM (n."startTime", n."api_key", n."user", n."team_id", n."organization_id", n."end_user", n."model", n."model_group", n."model_id", n."custom_llm_provider", n."api_base", n."spend", n."prompt_tokens", n."completion_tokens", n."total_tokens", n."request_tags"))
    UNION ALL
    SELECT o."request_id" AS "request_id", o."startTime" AS "startTime", o."api_key" AS "api_key", o."user" AS "user", o."team_id" AS "team_id", o."organization_id" AS "organization_id", o."end_user" AS "end_user", o."model" AS "model", o."model_group" AS "model_group", o."model_id" AS "model_id", o."custom_llm_provider" AS "custom_llm_provider", o."api_base" AS "api_base", o."spend" AS "spend", o."prompt_tokens" AS "prompt_tokens", o."completion_tokens" AS "completion_tokens", o."total_tokens" AS "total_tokens", o."request_tags" AS "request_tags", -1 AS sign FROM old_rows o
      WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.request_id = o.request_id AND (o."startTime", o."api_key", o."user", o."team_id", o."organization_id", o."end_user", o."model", o."model_group", o."model_id", o."custom_llm_provider", o."api_base", o."spend", o."prompt_tokens", o."completion_tokens", o."total_tokens", o."request_tags") IS NOT DISTINCT FROM (n."startTime", n."api_key", n."user", n."team_id", n."organization_id", n."end_user", n."model", n."model_group", n."model_id", n."custom_llm_provider", n."api_base", n."spend", n."prompt_tokens", n."completion_tokens", n."total_tokens", n."request_tags"))) s CROSS JOIN LATERAL spendlens.request_tags(s.request_tags) e
      GROUP BY 1, 2) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.spend_split <> 0 OR a.total_tokens <> 0
      OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, spend_split = r.spend_split + excluded.spend_split, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      DELETE FROM spendlens."model_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
      DELETE FROM spendlens."team_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
      DELETE FROM spendlens."key_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
      DELETE FROM spendlens."detail_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
      DELETE FROM spendlens."tag_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
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
$ddl$CREATE FUNCTION spendlens.spendlogs_rollup_delete() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  IF spendlens.rollups_subtract_deletes() AND NOT spendlens.rollups_active() THEN
    PERFORM spendlens.rollups_mark_dirty(ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows), 'paused');
  ELSIF spendlens.rollups_subtract_deletes() THEN
    BEGIN
      INSERT INTO spendlens."model_daily" AS r (day, key_hash, "model_group", "model", "model_id", "custom_llm_provider", "api_base", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."model_group", a."model", a."model_id", a."custom_llm_provider", a."api_base")::text, 'UTF8')), a."model_group", a."model", a."model_id", a."custom_llm_provider", a."api_base", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."model_group", s."model", s."model_id", s."custom_llm_provider", s."api_base",
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", -1 AS sign FROM old_rows t) s GROUP BY 1, 2, 3, 4, 5, 6) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      INSERT INTO spendlens."team_daily" AS r (day, key_hash, "team_id", "organization_id", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."team_id", a."organization_id")::text, 'UTF8')), a."team_id", a."organization_id", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."team_id", s."organization_id",
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", -1 AS sign FROM old_rows t) s GROUP BY 1, 2, 3) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      INSERT INTO spendlens."key_daily" AS r (day, key_hash, "api_key", "user", "team_id", "organization_id", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."api_key", a."user", a."team_id", a."organization_id")::text, 'UTF8')), a."api_key", a."user", a."team_id", a."organization_id", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."api_key", s."user", s."team_id", s."organization_id",
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", -1 AS sign FROM old_rows t) s GROUP BY 1, 2, 3, 4, 5) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      INSERT INTO spendlens."detail_daily" AS r (day, key_hash, "api_key", "user", "team_id", "organization_id", "end_user", "model", "model_group", "model_id", "custom_llm_provider", "api_base", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."api_key", a."user", a."team_id", a."organization_id", a."end_user", a."model", a."model_group", a."model_id", a."custom_llm_provider", a."api_base")::text, 'UTF8')), a."api_key", a."user", a."team_id", a."organization_id", a."end_user", a."model", a."model_group", a."model_id", a."custom_llm_provider", a."api_base", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."api_key", s."user", s."team_id", s."organization_id", s."end_user", s."model", s."model_group", s."model_id", s."custom_llm_provider", s."api_base",
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", -1 AS sign FROM old_rows t) s GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      INSERT INTO spendlens."tag_daily" AS r (day, key_hash, "tag", requests, spend, spend_split, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."tag")::text, 'UTF8')), a."tag", a.requests, a.spend, a.spend_split, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, e.tag,
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.spend, 0) / e.n)::float8 AS spend_split,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", -1 AS sign FROM old_rows t) s CROSS JOIN LATERAL spendlens.request_tags(s.request_tags) e
      GROUP BY 1, 2) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.spend_split <> 0 OR a.total_tokens <> 0
      OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, spend_split = r.spend_split + excluded.spend_split, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      DELETE FROM spendlens."model_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
      DELETE FROM spendlens."team_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
      DELETE FROM spendlens."key_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
      DELETE FROM spendlens."detail_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
      DELETE FROM spendlens."tag_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
    EXCEPTION WHEN OTHERS THEN
      PERFORM spendlens.rollups_mark_dirty(ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows), SQLERRM);
    END;
  ELSE
    -- Retention: totals are kept; remember which days lost raw rows so a rebuild leaves them alone.
    INSERT INTO spendlens.rollup_days AS r (day, raw_deleted)
      SELECT DISTINCT spendlens.utc_day("startTime"), true FROM old_rows ORDER BY 1
      ON CONFLICT (day) DO UPDATE SET raw_deleted = true;
  END IF;
  RETURN NULL;
END $fn$$ddl$
  ] LOOP
    -- A column the table lacks is read as NULL::text.
    FOREACH c IN ARRAY ARRAY['request_id', 'api_key', 'user', 'team_id', 'organization_id', 'end_user', 'model', 'model_group', 'model_id', 'custom_llm_provider', 'api_base', 'spend', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'request_tags'] LOOP
      IF NOT c = ANY (have) THEN
        stmt := replace(stmt, 't."' || c || '"', 'NULL::text');
        stmt := replace(stmt, 'n."' || c || '"', 'NULL::text');
        stmt := replace(stmt, 'o."' || c || '"', 'NULL::text');
      END IF;
    END LOOP;
    EXECUTE stmt;
  END LOOP;
END $migration$;


CREATE FUNCTION spendlens.spendlogs_rollup_truncate() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  IF spendlens.rollups_subtract_deletes() THEN
    DELETE FROM spendlens."model_daily";
    DELETE FROM spendlens."team_daily";
    DELETE FROM spendlens."key_daily";
    DELETE FROM spendlens."detail_daily";
    DELETE FROM spendlens."tag_daily";
  ELSE
    INSERT INTO spendlens.rollup_days AS r (day, raw_deleted)
      SELECT DISTINCT day, true FROM spendlens.model_daily ORDER BY 1
      ON CONFLICT (day) DO UPDATE SET raw_deleted = true;
  END IF;
  RETURN NULL;
END $fn$;

DO $migration$
DECLARE
  -- The columns "LiteLLM_SpendLogs" has (an older LiteLLM lacks some, e.g. organization_id).
  have text[] := ARRAY(SELECT column_name::text FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = 'LiteLLM_SpendLogs');
  stmt text;
  c text;
BEGIN
  FOREACH stmt IN ARRAY ARRAY[
$ddl$CREATE FUNCTION spendlens.errorlogs_rollup_insert() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
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
      INSERT INTO spendlens."error_daily" AS r (day, key_hash, "model_group", "api_base", "model_id", "status_code", "exception_type", errors)
    SELECT a.day, sha256(convert_to(ROW(a."model_group", a."api_base", a."model_id", a."status_code", a."exception_type")::text, 'UTF8')), a."model_group", a."api_base", a."model_id", a."status_code", a."exception_type", a.errors
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."model_group", s."api_base", s."model_id", s."status_code", s."exception_type",
        sum(s.sign)::bigint AS errors
      FROM (SELECT t."request_id", t."startTime", t."model_group", t."api_base", t."model_id", t."status_code", t."exception_type", 1 AS sign FROM new_rows t) s GROUP BY 1, 2, 3, 4, 5, 6) a
    WHERE a.errors <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET errors = r.errors + excluded.errors;
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
$ddl$CREATE FUNCTION spendlens.errorlogs_rollup_update() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
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
      INSERT INTO spendlens."error_daily" AS r (day, key_hash, "model_group", "api_base", "model_id", "status_code", "exception_type", errors)
    SELECT a.day, sha256(convert_to(ROW(a."model_group", a."api_base", a."model_id", a."status_code", a."exception_type")::text, 'UTF8')), a."model_group", a."api_base", a."model_id", a."status_code", a."exception_type", a.errors
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."model_group", s."api_base", s."model_id", s."status_code", s."exception_type",
        sum(s.sign)::bigint AS errors
      FROM (SELECT n."request_id", n."startTime", n."model_group", n."api_base", n."model_id", n."status_code", n."exception_type", 1 AS sign FROM new_rows n
      WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.request_id = n.request_id AND (o."startTime", o."model_group", o."api_base", o."model_id", o."status_code", o."exception_type") IS NOT DISTINCT FROM (n."startTime", n."model_group", n."api_base", n."model_id", n."status_code", n."exception_type"))
    UNION ALL
    SELECT o."request_id", o."startTime", o."model_group", o."api_base", o."model_id", o."status_code", o."exception_type", -1 AS sign FROM old_rows o
      WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.request_id = o.request_id AND (o."startTime", o."model_group", o."api_base", o."model_id", o."status_code", o."exception_type") IS NOT DISTINCT FROM (n."startTime", n."model_group", n."api_base", n."model_id", n."status_code", n."exception_type"))) s GROUP BY 1, 2, 3, 4, 5, 6) a
    WHERE a.errors <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET errors = r.errors + excluded.errors;
      DELETE FROM spendlens."error_daily" WHERE errors <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
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
$ddl$CREATE FUNCTION spendlens.errorlogs_rollup_delete() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  IF spendlens.rollups_subtract_deletes() AND NOT spendlens.rollups_active() THEN
    PERFORM spendlens.rollups_mark_dirty(ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows), 'paused');
  ELSIF spendlens.rollups_subtract_deletes() THEN
    BEGIN
      INSERT INTO spendlens."error_daily" AS r (day, key_hash, "model_group", "api_base", "model_id", "status_code", "exception_type", errors)
    SELECT a.day, sha256(convert_to(ROW(a."model_group", a."api_base", a."model_id", a."status_code", a."exception_type")::text, 'UTF8')), a."model_group", a."api_base", a."model_id", a."status_code", a."exception_type", a.errors
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."model_group", s."api_base", s."model_id", s."status_code", s."exception_type",
        sum(s.sign)::bigint AS errors
      FROM (SELECT t."request_id", t."startTime", t."model_group", t."api_base", t."model_id", t."status_code", t."exception_type", -1 AS sign FROM old_rows t) s GROUP BY 1, 2, 3, 4, 5, 6) a
    WHERE a.errors <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET errors = r.errors + excluded.errors;
      DELETE FROM spendlens."error_daily" WHERE errors <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
    EXCEPTION WHEN OTHERS THEN
      PERFORM spendlens.rollups_mark_dirty(ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows), SQLERRM);
    END;
  ELSE
    INSERT INTO spendlens.rollup_days AS r (day, raw_deleted)
      SELECT DISTINCT spendlens.utc_day("startTime"), true FROM old_rows ORDER BY 1
      ON CONFLICT (day) DO UPDATE SET raw_deleted = true;
  END IF;
  RETURN NULL;
END $fn$$ddl$
  ] LOOP
    -- A column the table lacks is read as NULL::text.
    FOREACH c IN ARRAY ARRAY['request_id', 'api_key', 'user', 'team_id', 'organization_id', 'end_user', 'model', 'model_group', 'model_id', 'custom_llm_provider', 'api_base', 'spend', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'request_tags'] LOOP
      IF NOT c = ANY (have) THEN
        stmt := replace(stmt, 't."' || c || '"', 'NULL::text');
        stmt := replace(stmt, 'n."' || c || '"', 'NULL::text');
        stmt := replace(stmt, 'o."' || c || '"', 'NULL::text');
      END IF;
    END LOOP;
    EXECUTE stmt;
  END LOOP;
END $migration$;


CREATE FUNCTION spendlens.errorlogs_rollup_truncate() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  IF spendlens.rollups_subtract_deletes() THEN
    DELETE FROM spendlens."error_daily";
  ELSE
    INSERT INTO spendlens.rollup_days AS r (day, raw_deleted)
      SELECT DISTINCT day, true FROM spendlens."error_daily" ORDER BY 1
      ON CONFLICT (day) DO UPDATE SET raw_deleted = true;
  END IF;
  RETURN NULL;
END $fn$;

DO $migration$
DECLARE
  -- The columns "LiteLLM_SpendLogs" has (an older LiteLLM lacks some, e.g. organization_id).
  have text[] := ARRAY(SELECT column_name::text FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = 'LiteLLM_SpendLogs');
  stmt text;
  c text;
BEGIN
  FOREACH stmt IN ARRAY ARRAY[
$ddl$CREATE FUNCTION spendlens.rollups_rebuild_days(p_from date, p_to date) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '256MB' SET jit = off AS $fn$
DECLARE
  lo text := to_char(p_from, 'YYYY-MM-DD') || 'T00:00:00Z';
  hi text := to_char(p_to + 1, 'YYYY-MM-DD') || 'T00:00:00Z';
BEGIN
  LOCK TABLE public."LiteLLM_SpendLogs", public."LiteLLM_ErrorLogs" IN SHARE ROW EXCLUSIVE MODE;
  DELETE FROM spendlens."model_daily" WHERE day BETWEEN p_from AND p_to;
  DELETE FROM spendlens."team_daily" WHERE day BETWEEN p_from AND p_to;
  DELETE FROM spendlens."key_daily" WHERE day BETWEEN p_from AND p_to;
  DELETE FROM spendlens."detail_daily" WHERE day BETWEEN p_from AND p_to;
  DELETE FROM spendlens."tag_daily" WHERE day BETWEEN p_from AND p_to;
  DELETE FROM spendlens."error_daily" WHERE day BETWEEN p_from AND p_to;
  -- Bounds are passed as literals so they take the column's own type (timestamp or timestamptz).
  EXECUTE format('INSERT INTO spendlens."detail_daily" AS r (day, key_hash, "api_key", "user", "team_id", "organization_id", "end_user", "model", "model_group", "model_id", "custom_llm_provider", "api_base", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."api_key", a."user", a."team_id", a."organization_id", a."end_user", a."model", a."model_group", a."model_id", a."custom_llm_provider", a."api_base")::text, ''UTF8'')), a."api_key", a."user", a."team_id", a."organization_id", a."end_user", a."model", a."model_group", a."model_id", a."custom_llm_provider", a."api_base", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."api_key", s."user", s."team_id", s."organization_id", s."end_user", s."model", s."model_group", s."model_id", s."custom_llm_provider", s."api_base",
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", 1 AS sign FROM public."LiteLLM_SpendLogs" t WHERE t."startTime" >= %1$L AND t."startTime" < %2$L) s GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens', lo, hi);
  INSERT INTO spendlens."model_daily" (day, key_hash, "model_group", "model", "model_id", "custom_llm_provider", "api_base", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT day, sha256(convert_to(ROW("model_group", "model", "model_id", "custom_llm_provider", "api_base")::text, 'UTF8')), "model_group", "model", "model_id", "custom_llm_provider", "api_base", sum(requests), sum(spend), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens)
    FROM spendlens.detail_daily WHERE day BETWEEN p_from AND p_to
    GROUP BY day, "model_group", "model", "model_id", "custom_llm_provider", "api_base" ORDER BY 1, 2;
  INSERT INTO spendlens."team_daily" (day, key_hash, "team_id", "organization_id", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT day, sha256(convert_to(ROW("team_id", "organization_id")::text, 'UTF8')), "team_id", "organization_id", sum(requests), sum(spend), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens)
    FROM spendlens.detail_daily WHERE day BETWEEN p_from AND p_to
    GROUP BY day, "team_id", "organization_id" ORDER BY 1, 2;
  INSERT INTO spendlens."key_daily" (day, key_hash, "api_key", "user", "team_id", "organization_id", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT day, sha256(convert_to(ROW("api_key", "user", "team_id", "organization_id")::text, 'UTF8')), "api_key", "user", "team_id", "organization_id", sum(requests), sum(spend), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens)
    FROM spendlens.detail_daily WHERE day BETWEEN p_from AND p_to
    GROUP BY day, "api_key", "user", "team_id", "organization_id" ORDER BY 1, 2;
  EXECUTE format('INSERT INTO spendlens."tag_daily" AS r (day, key_hash, "tag", requests, spend, spend_split, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."tag")::text, ''UTF8'')), a."tag", a.requests, a.spend, a.spend_split, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, e.tag,
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.spend, 0) / e.n)::float8 AS spend_split,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", 1 AS sign FROM public."LiteLLM_SpendLogs" t WHERE t."startTime" >= %1$L AND t."startTime" < %2$L) s CROSS JOIN LATERAL spendlens.request_tags(s.request_tags) e
      GROUP BY 1, 2) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.spend_split <> 0 OR a.total_tokens <> 0
      OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, spend_split = r.spend_split + excluded.spend_split, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens', lo, hi);
  EXECUTE format('INSERT INTO spendlens."error_daily" AS r (day, key_hash, "model_group", "api_base", "model_id", "status_code", "exception_type", errors)
    SELECT a.day, sha256(convert_to(ROW(a."model_group", a."api_base", a."model_id", a."status_code", a."exception_type")::text, ''UTF8'')), a."model_group", a."api_base", a."model_id", a."status_code", a."exception_type", a.errors
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."model_group", s."api_base", s."model_id", s."status_code", s."exception_type",
        sum(s.sign)::bigint AS errors
      FROM (SELECT t."request_id", t."startTime", t."model_group", t."api_base", t."model_id", t."status_code", t."exception_type", 1 AS sign FROM public."LiteLLM_ErrorLogs" t WHERE t."startTime" >= %1$L AND t."startTime" < %2$L) s GROUP BY 1, 2, 3, 4, 5, 6) a
    WHERE a.errors <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET errors = r.errors + excluded.errors', lo, hi);
  DELETE FROM spendlens.rollup_days WHERE day BETWEEN p_from AND p_to;
END $fn$$ddl$
  ] LOOP
    -- A column the table lacks is read as NULL::text.
    FOREACH c IN ARRAY ARRAY['request_id', 'api_key', 'user', 'team_id', 'organization_id', 'end_user', 'model', 'model_group', 'model_id', 'custom_llm_provider', 'api_base', 'spend', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'request_tags'] LOOP
      IF NOT c = ANY (have) THEN
        stmt := replace(stmt, 't."' || c || '"', 'NULL::text');
        stmt := replace(stmt, 'n."' || c || '"', 'NULL::text');
        stmt := replace(stmt, 'o."' || c || '"', 'NULL::text');
      END IF;
    END LOOP;
    EXECUTE stmt;
  END LOOP;
END $migration$;


CREATE TRIGGER spendlens_rollup_insert AFTER INSERT ON public."LiteLLM_SpendLogs" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_insert();

CREATE TRIGGER spendlens_rollup_update AFTER UPDATE ON public."LiteLLM_SpendLogs" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_update();

CREATE TRIGGER spendlens_rollup_delete AFTER DELETE ON public."LiteLLM_SpendLogs" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_delete();

CREATE TRIGGER spendlens_rollup_truncate AFTER TRUNCATE ON public."LiteLLM_SpendLogs" FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_truncate();

CREATE TRIGGER spendlens_rollup_insert AFTER INSERT ON public."LiteLLM_ErrorLogs" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.errorlogs_rollup_insert();

CREATE TRIGGER spendlens_rollup_update AFTER UPDATE ON public."LiteLLM_ErrorLogs" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.errorlogs_rollup_update();

CREATE TRIGGER spendlens_rollup_delete AFTER DELETE ON public."LiteLLM_ErrorLogs" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.errorlogs_rollup_delete();

CREATE TRIGGER spendlens_rollup_truncate AFTER TRUNCATE ON public."LiteLLM_ErrorLogs" FOR EACH STATEMENT EXECUTE FUNCTION spendlens.errorlogs_rollup_truncate();

-- Standalone mode (spendlens made the log table): indexes for log pages filtered by key, user or team.
DO $migration$
BEGIN
  IF (SELECT value FROM spendlens.meta WHERE key = 'mode') = 'standalone' THEN
    CREATE INDEX IF NOT EXISTS spendlens_logs_key_time_idx ON public."LiteLLM_SpendLogs" (api_key, "startTime");
    CREATE INDEX IF NOT EXISTS spendlens_logs_user_time_idx ON public."LiteLLM_SpendLogs" ("user", "startTime");
    CREATE INDEX IF NOT EXISTS spendlens_logs_team_time_idx ON public."LiteLLM_SpendLogs" (team_id, "startTime");
  END IF;
END $migration$;

-- Existing logs: fill the rollups for every day that has any.
SELECT spendlens.rollups_rebuild_days(r.lo, r.hi) FROM (
  SELECT least(min(a.lo), min(b.lo)) AS lo, greatest(max(a.hi), max(b.hi)) AS hi FROM
    (SELECT spendlens.utc_day(min("startTime")) AS lo, spendlens.utc_day(max("startTime")) AS hi FROM "LiteLLM_SpendLogs") a,
    (SELECT spendlens.utc_day(min("startTime")) AS lo, spendlens.utc_day(max("startTime")) AS hi FROM "LiteLLM_ErrorLogs") b
) r WHERE r.lo IS NOT NULL AND r.hi IS NOT NULL;
