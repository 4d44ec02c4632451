-- 0006_derived_guard: replaces 0005's update trigger functions of the derived rollups with ones that
-- look for emptied rows only when a source row lost requests. Same tables, same triggers, same results;
-- every log insert stops scanning the touched weeks of key_weekly and days of end_user_daily. Touches no
-- LiteLLM table: the same in standalone and attach mode.
--
-- FROZEN once shipped: never edit this file, add a new migration.


CREATE OR REPLACE FUNCTION spendlens."derived_detail_daily_update"() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
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
  IF EXISTS (SELECT 1 FROM old_rows o LEFT JOIN new_rows n ON n.day = o.day AND n.key_hash = o.key_hash
      WHERE n.day IS NULL OR n.requests < o.requests) THEN
    DELETE FROM spendlens."end_user_daily" WHERE requests <= 0 AND day = ANY (ARRAY(SELECT DISTINCT o.day FROM old_rows o));
  END IF;
  RETURN NULL;
END $fn$;

CREATE OR REPLACE FUNCTION spendlens."derived_key_daily_update"() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
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
  IF EXISTS (SELECT 1 FROM old_rows o LEFT JOIN new_rows n ON n.day = o.day AND n.key_hash = o.key_hash
      WHERE n.day IS NULL OR n.requests < o.requests) THEN
    DELETE FROM spendlens."key_weekly" WHERE requests <= 0 AND week = ANY (ARRAY(SELECT DISTINCT (o.day - (((o.day - DATE '2001-01-01') % 7 + 7) % 7)) FROM old_rows o));
  END IF;
  RETURN NULL;
END $fn$;
