-- 0005_derived_rollups: rollup tables derived from version-1 ones by statement triggers on those:
-- spendlens.end_user_daily (spend per day and end user, from detail_daily) for the end-user reports, and
-- spendlens.key_weekly (key_daily per ISO week, named by its Monday) for per-key reads over weeks. Both are
-- filled from their sources here (last). Every change to a source goes through the triggers (log triggers'
-- upserts, subtract-mode deletes, dropped empty rows, rebuilds), so a derived table always equals the
-- GROUP BY of its source. Touches no LiteLLM table: the same in standalone and attach mode.
--
-- FROZEN once shipped: never edit this file, add a new migration.

-- The fill reads every detail_daily and key_daily row; a one-off that may outlast the statement timeout.
SET LOCAL statement_timeout = 0;

CREATE TABLE spendlens."end_user_daily" (day date NOT NULL, key_hash bytea NOT NULL, "end_user" text, requests bigint NOT NULL DEFAULT 0, spend double precision NOT NULL DEFAULT 0, prompt_tokens bigint NOT NULL DEFAULT 0, completion_tokens bigint NOT NULL DEFAULT 0, total_tokens bigint NOT NULL DEFAULT 0, PRIMARY KEY (day, key_hash)) WITH (fillfactor = 90);

CREATE INDEX "end_user_daily_end_user_day_idx" ON spendlens."end_user_daily" ("end_user", day);

CREATE TABLE spendlens."key_weekly" (week date NOT NULL, key_hash bytea NOT NULL, "api_key" text, "user" text, "team_id" text, "organization_id" text, requests bigint NOT NULL DEFAULT 0, spend double precision NOT NULL DEFAULT 0, prompt_tokens bigint NOT NULL DEFAULT 0, completion_tokens bigint NOT NULL DEFAULT 0, total_tokens bigint NOT NULL DEFAULT 0, PRIMARY KEY (week, key_hash)) WITH (fillfactor = 90);

CREATE FUNCTION spendlens."derived_detail_daily_insert"() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  INSERT INTO spendlens."end_user_daily" AS r (day, key_hash, "end_user", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.p, sha256(convert_to(ROW(a."end_user")::text, 'UTF8')), a."end_user", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT s.day AS p, s."end_user",
        sum(s.sign * s.requests)::bigint AS requests,
        sum(s.sign * s.spend)::float8 AS spend,
        sum(s.sign * s.prompt_tokens)::bigint AS prompt_tokens,
        sum(s.sign * s.completion_tokens)::bigint AS completion_tokens,
        sum(s.sign * s.total_tokens)::bigint AS total_tokens
      FROM (SELECT t.day, t."end_user", t.requests, t.spend, t.prompt_tokens, t.completion_tokens, t.total_tokens, 1 AS sign FROM new_rows t) s GROUP BY 1, 2) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens."derived_detail_daily_update"() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  INSERT INTO spendlens."end_user_daily" AS r (day, key_hash, "end_user", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.p, sha256(convert_to(ROW(a."end_user")::text, 'UTF8')), a."end_user", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT s.day AS p, s."end_user",
        sum(s.sign * s.requests)::bigint AS requests,
        sum(s.sign * s.spend)::float8 AS spend,
        sum(s.sign * s.prompt_tokens)::bigint AS prompt_tokens,
        sum(s.sign * s.completion_tokens)::bigint AS completion_tokens,
        sum(s.sign * s.total_tokens)::bigint AS total_tokens
      FROM (SELECT t.day, t."end_user", t.requests, t.spend, t.prompt_tokens, t.completion_tokens, t.total_tokens, 1 AS sign FROM new_rows t UNION ALL SELECT t.day, t."end_user", t.requests, t.spend, t.prompt_tokens, t.completion_tokens, t.total_tokens, -1 AS sign FROM old_rows t) s GROUP BY 1, 2) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
  DELETE FROM spendlens."end_user_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT DISTINCT o.day FROM old_rows o));
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens."derived_detail_daily_delete"() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  INSERT INTO spendlens."end_user_daily" AS r (day, key_hash, "end_user", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.p, sha256(convert_to(ROW(a."end_user")::text, 'UTF8')), a."end_user", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT s.day AS p, s."end_user",
        sum(s.sign * s.requests)::bigint AS requests,
        sum(s.sign * s.spend)::float8 AS spend,
        sum(s.sign * s.prompt_tokens)::bigint AS prompt_tokens,
        sum(s.sign * s.completion_tokens)::bigint AS completion_tokens,
        sum(s.sign * s.total_tokens)::bigint AS total_tokens
      FROM (SELECT t.day, t."end_user", t.requests, t.spend, t.prompt_tokens, t.completion_tokens, t.total_tokens, -1 AS sign FROM old_rows t) s GROUP BY 1, 2) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
  DELETE FROM spendlens."end_user_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT DISTINCT o.day FROM old_rows o));
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens."derived_detail_daily_truncate"() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  DELETE FROM spendlens."end_user_daily";
  RETURN NULL;
END $fn$;

CREATE TRIGGER spendlens_derived_insert AFTER INSERT ON spendlens."detail_daily" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens."derived_detail_daily_insert"();

CREATE TRIGGER spendlens_derived_update AFTER UPDATE ON spendlens."detail_daily" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens."derived_detail_daily_update"();

CREATE TRIGGER spendlens_derived_delete AFTER DELETE ON spendlens."detail_daily" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens."derived_detail_daily_delete"();

CREATE TRIGGER spendlens_derived_truncate AFTER TRUNCATE ON spendlens."detail_daily" FOR EACH STATEMENT EXECUTE FUNCTION spendlens."derived_detail_daily_truncate"();

CREATE FUNCTION spendlens."derived_key_daily_insert"() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  INSERT INTO spendlens."key_weekly" AS r (week, key_hash, "api_key", "user", "team_id", "organization_id", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.p, sha256(convert_to(ROW(a."api_key", a."user", a."team_id", a."organization_id")::text, 'UTF8')), a."api_key", a."user", a."team_id", a."organization_id", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT (s.day - (((s.day - DATE '2001-01-01') % 7 + 7) % 7)) AS p, s."api_key", s."user", s."team_id", s."organization_id",
        sum(s.sign * s.requests)::bigint AS requests,
        sum(s.sign * s.spend)::float8 AS spend,
        sum(s.sign * s.prompt_tokens)::bigint AS prompt_tokens,
        sum(s.sign * s.completion_tokens)::bigint AS completion_tokens,
        sum(s.sign * s.total_tokens)::bigint AS total_tokens
      FROM (SELECT t.day, t."api_key", t."user", t."team_id", t."organization_id", t.requests, t.spend, t.prompt_tokens, t.completion_tokens, t.total_tokens, 1 AS sign FROM new_rows t) s GROUP BY 1, 2, 3, 4, 5) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (week, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens."derived_key_daily_update"() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  INSERT INTO spendlens."key_weekly" AS r (week, key_hash, "api_key", "user", "team_id", "organization_id", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.p, sha256(convert_to(ROW(a."api_key", a."user", a."team_id", a."organization_id")::text, 'UTF8')), a."api_key", a."user", a."team_id", a."organization_id", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT (s.day - (((s.day - DATE '2001-01-01') % 7 + 7) % 7)) AS p, s."api_key", s."user", s."team_id", s."organization_id",
        sum(s.sign * s.requests)::bigint AS requests,
        sum(s.sign * s.spend)::float8 AS spend,
        sum(s.sign * s.prompt_tokens)::bigint AS prompt_tokens,
        sum(s.sign * s.completion_tokens)::bigint AS completion_tokens,
        sum(s.sign * s.total_tokens)::bigint AS total_tokens
      FROM (SELECT t.day, t."api_key", t."user", t."team_id", t."organization_id", t.requests, t.spend, t.prompt_tokens, t.completion_tokens, t.total_tokens, 1 AS sign FROM new_rows t UNION ALL SELECT t.day, t."api_key", t."user", t."team_id", t."organization_id", t.requests, t.spend, t.prompt_tokens, t.completion_tokens, t.total_tokens, -1 AS sign FROM old_rows t) s GROUP BY 1, 2, 3, 4, 5) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (week, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
  DELETE FROM spendlens."key_weekly" WHERE requests <= 0 AND week = ANY (ARRAY(SELECT DISTINCT (o.day - (((o.day - DATE '2001-01-01') % 7 + 7) % 7)) FROM old_rows o));
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens."derived_key_daily_delete"() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  INSERT INTO spendlens."key_weekly" AS r (week, key_hash, "api_key", "user", "team_id", "organization_id", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.p, sha256(convert_to(ROW(a."api_key", a."user", a."team_id", a."organization_id")::text, 'UTF8')), a."api_key", a."user", a."team_id", a."organization_id", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT (s.day - (((s.day - DATE '2001-01-01') % 7 + 7) % 7)) AS p, s."api_key", s."user", s."team_id", s."organization_id",
        sum(s.sign * s.requests)::bigint AS requests,
        sum(s.sign * s.spend)::float8 AS spend,
        sum(s.sign * s.prompt_tokens)::bigint AS prompt_tokens,
        sum(s.sign * s.completion_tokens)::bigint AS completion_tokens,
        sum(s.sign * s.total_tokens)::bigint AS total_tokens
      FROM (SELECT t.day, t."api_key", t."user", t."team_id", t."organization_id", t.requests, t.spend, t.prompt_tokens, t.completion_tokens, t.total_tokens, -1 AS sign FROM old_rows t) s GROUP BY 1, 2, 3, 4, 5) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (week, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend, prompt_tokens = r.prompt_tokens + excluded.prompt_tokens, completion_tokens = r.completion_tokens + excluded.completion_tokens, total_tokens = r.total_tokens + excluded.total_tokens;
  DELETE FROM spendlens."key_weekly" WHERE requests <= 0 AND week = ANY (ARRAY(SELECT DISTINCT (o.day - (((o.day - DATE '2001-01-01') % 7 + 7) % 7)) FROM old_rows o));
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens."derived_key_daily_truncate"() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  DELETE FROM spendlens."key_weekly";
  RETURN NULL;
END $fn$;

CREATE TRIGGER spendlens_derived_insert AFTER INSERT ON spendlens."key_daily" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens."derived_key_daily_insert"();

CREATE TRIGGER spendlens_derived_update AFTER UPDATE ON spendlens."key_daily" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens."derived_key_daily_update"();

CREATE TRIGGER spendlens_derived_delete AFTER DELETE ON spendlens."key_daily" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens."derived_key_daily_delete"();

CREATE TRIGGER spendlens_derived_truncate AFTER TRUNCATE ON spendlens."key_daily" FOR EACH STATEMENT EXECUTE FUNCTION spendlens."derived_key_daily_truncate"();

INSERT INTO spendlens."end_user_daily" (day, key_hash, "end_user", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.p, sha256(convert_to(ROW(a."end_user")::text, 'UTF8')), a."end_user", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT s.day AS p, s."end_user", sum(s.requests) AS requests, sum(s.spend) AS spend, sum(s.prompt_tokens) AS prompt_tokens, sum(s.completion_tokens) AS completion_tokens, sum(s.total_tokens) AS total_tokens
      FROM spendlens."detail_daily" s GROUP BY 1, 2) a
    ORDER BY 1, 2;

INSERT INTO spendlens."key_weekly" (week, key_hash, "api_key", "user", "team_id", "organization_id", requests, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT a.p, sha256(convert_to(ROW(a."api_key", a."user", a."team_id", a."organization_id")::text, 'UTF8')), a."api_key", a."user", a."team_id", a."organization_id", a.requests, a.spend, a.prompt_tokens, a.completion_tokens, a.total_tokens
    FROM (SELECT (s.day - (((s.day - DATE '2001-01-01') % 7 + 7) % 7)) AS p, s."api_key", s."user", s."team_id", s."organization_id", sum(s.requests) AS requests, sum(s.spend) AS spend, sum(s.prompt_tokens) AS prompt_tokens, sum(s.completion_tokens) AS completion_tokens, sum(s.total_tokens) AS total_tokens
      FROM spendlens."key_daily" s GROUP BY 1, 2, 3, 4, 5) a
    ORDER BY 1, 2;
