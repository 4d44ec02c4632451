-- 0004_tag_request_rollups: tag grains with the tag reports' semantics (a request counts once per
-- DISTINCT non-null element of its request_tags array; its split spend is spend / that count), per
-- (day, tag) and per (day, user, tag), kept exact by their own statement triggers on "LiteLLM_SpendLogs"
-- (spendlens_rollup_v2_*: one event's triggers fire in name order and these sort after version 1's, so
-- writers lock in one global order). spendlens.rollups_rebuild_days is replaced by version 1's plus a call
-- of spendlens.tag_request_rollups_fill_days, which also fills existing logs here, in the migration's
-- transaction. Attach mode: triggers only, no index on LiteLLM's table.
--
-- FROZEN once shipped: never edit this file, add a new migration.

-- The backfill below can outlast the pool's per-statement timeout; this is a one-off.
SET LOCAL statement_timeout = 0;

CREATE FUNCTION spendlens.request_tag_set(tags jsonb) RETURNS TABLE (tag text, n int) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
      $$SELECT x.e, (count(*) OVER ())::int FROM (
          SELECT e, lag(e) OVER (ORDER BY e COLLATE "C") AS p
          FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(tags) = 'array' THEN tags ELSE '[]'::jsonb END) AS e
          WHERE e IS NOT NULL) x
        WHERE x.p IS DISTINCT FROM x.e$$;

CREATE TABLE spendlens."tag_request_daily" (day date NOT NULL, key_hash bytea NOT NULL, "tag" text, requests bigint NOT NULL DEFAULT 0, spend double precision NOT NULL DEFAULT 0, spend_split double precision NOT NULL DEFAULT 0, prompt_tokens bigint NOT NULL DEFAULT 0, completion_tokens bigint NOT NULL DEFAULT 0, total_tokens bigint NOT NULL DEFAULT 0, PRIMARY KEY (day, key_hash)) WITH (fillfactor = 90);

CREATE TABLE spendlens."user_tag_request_daily" (day date NOT NULL, key_hash bytea NOT NULL, "user" text, "tag" text, requests bigint NOT NULL DEFAULT 0, spend double precision NOT NULL DEFAULT 0, spend_split double precision NOT NULL DEFAULT 0, prompt_tokens bigint NOT NULL DEFAULT 0, completion_tokens bigint NOT NULL DEFAULT 0, total_tokens bigint NOT NULL DEFAULT 0, PRIMARY KEY (day, key_hash)) WITH (fillfactor = 90);

CREATE INDEX "user_tag_request_daily_user_day_idx" ON spendlens."user_tag_request_daily" ("user", day);

DO $migration$
DECLARE
  -- The columns "LiteLLM_SpendLogs" has (an older LiteLLM lacks some, e.g. organization_id).
  have text[] := ARRAY(SELECT column_name::text FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = 'LiteLLM_SpendLogs');
  stmt text;
  c text;
BEGIN
  FOREACH stmt IN ARRAY ARRAY[
$ddl$CREATE FUNCTION spendlens.spendlogs_rollup_v2_insert() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
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
      INSERT INTO spendlens."tag_request_daily" AS r (day, key_hash, "tag", requests, spend, spend_split, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."tag")::text, 'UTF8')), a."tag", a.requests, a.spend, a.spend_split, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, e.tag,
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.spend, 0) / e.n)::float8 AS spend_split,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", 1 AS sign FROM new_rows t) s CROSS JOIN LATERAL spendlens.request_tag_set(s.request_tags) e
      GROUP BY 1, 2) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.spend_split <> 0 OR a.total_tokens <> 0
      OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, spend_split = r.spend_split + excluded.spend_split, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      INSERT INTO spendlens."user_tag_request_daily" AS r (day, key_hash, "user", "tag", requests, spend, spend_split, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."user", a."tag")::text, 'UTF8')), a."user", a."tag", a.requests, a.spend, a.spend_split, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."user", e.tag,
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.spend, 0) / e.n)::float8 AS spend_split,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", 1 AS sign FROM new_rows t) s CROSS JOIN LATERAL spendlens.request_tag_set(s.request_tags) e
      GROUP BY 1, 2, 3) a
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
$ddl$CREATE FUNCTION spendlens.spendlogs_rollup_v2_update() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
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
      INSERT INTO spendlens."tag_request_daily" AS r (day, key_hash, "tag", requests, spend, spend_split, prompt_tokens, completion_tokens, total_tokens)
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
      WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.request_id = o.request_id AND (o."startTime", o."api_key", o."user", o."team_id", o."organization_id", o."end_user", o."model", o."model_group", o."model_id", o."custom_llm_provider", o."api_base", o."spend", o."prompt_tokens", o."completion_tokens", o."total_tokens", o."request_tags") IS NOT DISTINCT FROM (n."startTime", n."api_key", n."user", n."team_id", n."organization_id", n."end_user", n."model", n."model_group", n."model_id", n."custom_llm_provider", n."api_base", n."spend", n."prompt_tokens", n."completion_tokens", n."total_tokens", n."request_tags"))) s CROSS JOIN LATERAL spendlens.request_tag_set(s.request_tags) e
      GROUP BY 1, 2) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.spend_split <> 0 OR a.total_tokens <> 0
      OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, spend_split = r.spend_split + excluded.spend_split, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      INSERT INTO spendlens."user_tag_request_daily" AS r (day, key_hash, "user", "tag", requests, spend, spend_split, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."user", a."tag")::text, 'UTF8')), a."user", a."tag", a.requests, a.spend, a.spend_split, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."user", e.tag,
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
      WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.request_id = o.request_id AND (o."startTime", o."api_key", o."user", o."team_id", o."organization_id", o."end_user", o."model", o."model_group", o."model_id", o."custom_llm_provider", o."api_base", o."spend", o."prompt_tokens", o."completion_tokens", o."total_tokens", o."request_tags") IS NOT DISTINCT FROM (n."startTime", n."api_key", n."user", n."team_id", n."organization_id", n."end_user", n."model", n."model_group", n."model_id", n."custom_llm_provider", n."api_base", n."spend", n."prompt_tokens", n."completion_tokens", n."total_tokens", n."request_tags"))) s CROSS JOIN LATERAL spendlens.request_tag_set(s.request_tags) e
      GROUP BY 1, 2, 3) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.spend_split <> 0 OR a.total_tokens <> 0
      OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, spend_split = r.spend_split + excluded.spend_split, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      DELETE FROM spendlens."tag_request_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
      DELETE FROM spendlens."user_tag_request_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
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
$ddl$CREATE FUNCTION spendlens.spendlogs_rollup_v2_delete() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  -- Keep mode: the version-1 delete trigger flags the days raw_deleted. Paused: it marks them dirty.
  IF spendlens.rollups_subtract_deletes() AND spendlens.rollups_active() THEN
    BEGIN
      INSERT INTO spendlens."tag_request_daily" AS r (day, key_hash, "tag", requests, spend, spend_split, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."tag")::text, 'UTF8')), a."tag", a.requests, a.spend, a.spend_split, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, e.tag,
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.spend, 0) / e.n)::float8 AS spend_split,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", -1 AS sign FROM old_rows t) s CROSS JOIN LATERAL spendlens.request_tag_set(s.request_tags) e
      GROUP BY 1, 2) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.spend_split <> 0 OR a.total_tokens <> 0
      OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, spend_split = r.spend_split + excluded.spend_split, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      INSERT INTO spendlens."user_tag_request_daily" AS r (day, key_hash, "user", "tag", requests, spend, spend_split, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."user", a."tag")::text, 'UTF8')), a."user", a."tag", a.requests, a.spend, a.spend_split, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."user", e.tag,
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.spend, 0) / e.n)::float8 AS spend_split,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", -1 AS sign FROM old_rows t) s CROSS JOIN LATERAL spendlens.request_tag_set(s.request_tags) e
      GROUP BY 1, 2, 3) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.spend_split <> 0 OR a.total_tokens <> 0
      OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, spend_split = r.spend_split + excluded.spend_split, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
      DELETE FROM spendlens."tag_request_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
      DELETE FROM spendlens."user_tag_request_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows));
    EXCEPTION WHEN OTHERS THEN
      PERFORM spendlens.rollups_mark_dirty(ARRAY(SELECT spendlens.utc_day("startTime") FROM old_rows), SQLERRM);
    END;
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


CREATE FUNCTION spendlens.spendlogs_rollup_v2_truncate() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  -- Keep mode: the version-1 truncate trigger flags every rolled-up day raw_deleted.
  IF spendlens.rollups_subtract_deletes() THEN
    DELETE FROM spendlens."tag_request_daily";
    DELETE FROM spendlens."user_tag_request_daily";
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
$ddl$CREATE FUNCTION spendlens.tag_request_rollups_fill_days(p_from date, p_to date) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '256MB' SET jit = off AS $fn$
DECLARE
  lo text := to_char(p_from, 'YYYY-MM-DD') || 'T00:00:00Z';
  hi text := to_char(p_to + 1, 'YYYY-MM-DD') || 'T00:00:00Z';
BEGIN
  LOCK TABLE public."LiteLLM_SpendLogs" IN SHARE ROW EXCLUSIVE MODE;
  DELETE FROM spendlens."tag_request_daily" WHERE day BETWEEN p_from AND p_to;
  DELETE FROM spendlens."user_tag_request_daily" WHERE day BETWEEN p_from AND p_to;
  -- Bounds are passed as literals so they take the column's own type (timestamp or timestamptz).
  EXECUTE format('INSERT INTO spendlens."user_tag_request_daily" AS r (day, key_hash, "user", "tag", requests, spend, spend_split, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.day, sha256(convert_to(ROW(a."user", a."tag")::text, ''UTF8'')), a."user", a."tag", a.requests, a.spend, a.spend_split, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, s."user", e.tag,
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.spend, 0) / e.n)::float8 AS spend_split,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM (SELECT t."request_id" AS "request_id", t."startTime" AS "startTime", t."api_key" AS "api_key", t."user" AS "user", t."team_id" AS "team_id", t."organization_id" AS "organization_id", t."end_user" AS "end_user", t."model" AS "model", t."model_group" AS "model_group", t."model_id" AS "model_id", t."custom_llm_provider" AS "custom_llm_provider", t."api_base" AS "api_base", t."spend" AS "spend", t."prompt_tokens" AS "prompt_tokens", t."completion_tokens" AS "completion_tokens", t."total_tokens" AS "total_tokens", t."request_tags" AS "request_tags", 1 AS sign FROM public."LiteLLM_SpendLogs" t WHERE t."startTime" >= %1$L AND t."startTime" < %2$L) s CROSS JOIN LATERAL spendlens.request_tag_set(s.request_tags) e
      GROUP BY 1, 2, 3) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.spend_split <> 0 OR a.total_tokens <> 0
      OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, spend_split = r.spend_split + excluded.spend_split, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens', lo, hi);
  INSERT INTO spendlens."tag_request_daily" (day, key_hash, "tag", requests, spend, spend_split, prompt_tokens, completion_tokens, total_tokens)
    SELECT day, sha256(convert_to(ROW("tag")::text, 'UTF8')), "tag", sum(requests), sum(spend), sum(spend_split), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens)
    FROM spendlens."user_tag_request_daily" WHERE day BETWEEN p_from AND p_to
    GROUP BY day, "tag" ORDER BY 1, 2;
END $fn$$ddl$,
$ddl$CREATE OR REPLACE FUNCTION spendlens.rollups_rebuild_days(p_from date, p_to date) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '256MB' SET jit = off AS $fn$
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
  PERFORM spendlens.tag_request_rollups_fill_days(p_from, p_to);
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


CREATE TRIGGER spendlens_rollup_v2_insert AFTER INSERT ON public."LiteLLM_SpendLogs" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_v2_insert();

CREATE TRIGGER spendlens_rollup_v2_update AFTER UPDATE ON public."LiteLLM_SpendLogs" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_v2_update();

CREATE TRIGGER spendlens_rollup_v2_delete AFTER DELETE ON public."LiteLLM_SpendLogs" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_v2_delete();

CREATE TRIGGER spendlens_rollup_v2_truncate AFTER TRUNCATE ON public."LiteLLM_SpendLogs" FOR EACH STATEMENT EXECUTE FUNCTION spendlens.spendlogs_rollup_v2_truncate();

-- Existing logs (the triggers above already hold off writers until this transaction commits).
SELECT spendlens.tag_request_rollups_fill_days(r.lo, r.hi) FROM (
  SELECT spendlens.utc_day(min("startTime")) AS lo, spendlens.utc_day(max("startTime")) AS hi FROM "LiteLLM_SpendLogs"
) r WHERE r.lo IS NOT NULL AND r.hi IS NOT NULL;
