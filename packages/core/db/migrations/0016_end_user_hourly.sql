-- 0016_end_user_hourly: requests and spend per UTC hour and end user, for the partial days at the ends of
-- a POST /global/spend/end_users window (spend/endUserWeeks.ts). Before it, an edge day was read from the
-- raw logs (or as its daily rollup minus the raw logs outside the window): up to half a day of logs,
-- which grows with the log rate. Now the whole hours of an edge day come from this table (or the day's
-- end_user_daily rows minus the hours outside the window, whichever side holds fewer hours) and only the
-- sub-hour sliver at each cut from the raw logs (or the hour's row minus the other side of the sliver,
-- whichever is shorter): at most half an hour of logs per cut.
-- Kept like provider_hourly (0014), by functions and triggers of its own: inserts through the fold (a
-- statement trigger on spendlens.spend_log_fold), UPDATE as -old +new, DELETE and TRUNCATE only in
-- delete mode 'subtract' (mode 'keep' keeps totals; 0003 marks the days raw_deleted and the reader reads
-- those edge days raw), an error or paused rollups mark the days dirty (the reader reads dirty edge days
-- raw), and spendlens.rollups_rebuild_days now also refills the hours of the days it rebuilds.
-- Existing logs are filled here, after a fold under the log table's lock (no pending row is counted twice).
-- FROZEN once shipped.

SET LOCAL statement_timeout = 0;

CREATE TABLE spendlens.end_user_hourly (
    hour timestamp NOT NULL,
    key_hash bytea NOT NULL,
    end_user text,
    requests bigint NOT NULL DEFAULT 0,
    spend double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, key_hash)
  ) WITH (fillfactor = 90);

DO $migration$
DECLARE
  -- One row per log: its hour, end user, spend and sign.
  proj text := $p$SELECT spendlens.provider_hour(t."startTime") AS hour, t."end_user"::text AS end_user,
      coalesce(t."spend", 0)::float8 AS spend, %s AS sign FROM %s t$p$;
  upsert text := $u$INSERT INTO spendlens.end_user_hourly AS r (hour, key_hash, end_user, requests, spend)
    SELECT a.hour, sha256(convert_to(ROW(a.end_user)::text, 'UTF8')), a.end_user, a.requests, a.spend
    FROM (SELECT s.hour, s.end_user, sum(s.sign)::bigint AS requests, sum(s.sign * s.spend)::float8 AS spend
      FROM (%s) s GROUP BY 1, 2) a
    WHERE a.requests <> 0 OR a.spend <> 0
    ORDER BY 1, 2
    ON CONFLICT (hour, key_hash) DO UPDATE SET requests = r.requests + excluded.requests,
      spend = r.spend + excluded.spend$u$;
  days_new text := 'ARRAY(SELECT DISTINCT spendlens.utc_day("startTime") FROM new_rows)';
  days_old text := 'ARRAY(SELECT DISTINCT spendlens.utc_day("startTime") FROM old_rows)';
  emptied text := 'DELETE FROM spendlens.end_user_hourly WHERE requests <= 0
      AND hour = ANY (ARRAY(SELECT spendlens.provider_hour("startTime") FROM old_rows));';
  -- A trigger function: name, a first check, the days to mark when paused, the upsert, a cleanup, the
  -- days to mark on an error.
  fn text := $f$CREATE FUNCTION spendlens.%I() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  %s
  IF NOT spendlens.rollups_active() THEN
    PERFORM spendlens.rollups_mark_dirty(%s, 'paused');
    RETURN NULL;
  END IF;
  BEGIN
    %s;
    %s
  EXCEPTION WHEN OTHERS THEN
    PERFORM spendlens.rollups_mark_dirty(%s, SQLERRM);
  END;
  RETURN NULL;
END $fn$$f$;
BEGIN
  EXECUTE format(fn, 'end_user_hourly_insert', '', days_new, format(upsert, format(proj, '1', 'new_rows')), '', days_new);
  EXECUTE format(fn, 'end_user_hourly_update', '', days_old || ' || ' || days_new,
    format(upsert, format(proj, '-1', 'old_rows') || ' UNION ALL ' || format(proj, '1', 'new_rows')), emptied,
    days_old || ' || ' || days_new);
  EXECUTE format(fn, 'end_user_hourly_delete', 'IF NOT spendlens.rollups_subtract_deletes() THEN RETURN NULL; END IF;',
    days_old, format(upsert, format(proj, '-1', 'old_rows')), emptied, days_old);

  -- Recomputes the hours of days [p_from, p_to] from the raw logs (bounds as literals: the column's type).
  EXECUTE format($f$CREATE FUNCTION spendlens.end_user_hourly_fill_days(p_from date, p_to date) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '256MB' SET jit = off AS $fn$
BEGIN
  DELETE FROM spendlens.end_user_hourly WHERE hour >= p_from::timestamp AND hour < (p_to + 1)::timestamp;
  EXECUTE format(%L, to_char(p_from, 'YYYY-MM-DD') || 'T00:00:00Z', to_char(p_to + 1, 'YYYY-MM-DD') || 'T00:00:00Z');
END $fn$$f$, format(upsert, format(proj, '1', 'public."LiteLLM_SpendLogs"')
    || ' WHERE t."startTime" >= %1$L AND t."startTime" < %2$L'));
END $migration$;

CREATE FUNCTION spendlens.end_user_hourly_truncate() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF spendlens.rollups_subtract_deletes() THEN
    DELETE FROM spendlens.end_user_hourly;
  END IF;
  RETURN NULL;
END $fn$;

CREATE TRIGGER spendlens_rollup_v16_insert AFTER INSERT ON spendlens.spend_log_fold REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.end_user_hourly_insert();

CREATE TRIGGER spendlens_rollup_v16_update AFTER UPDATE ON public."LiteLLM_SpendLogs" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.end_user_hourly_update();

CREATE TRIGGER spendlens_rollup_v16_delete AFTER DELETE ON public."LiteLLM_SpendLogs" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.end_user_hourly_delete();

CREATE TRIGGER spendlens_rollup_v16_truncate AFTER TRUNCATE ON public."LiteLLM_SpendLogs" FOR EACH STATEMENT EXECUTE FUNCTION spendlens.end_user_hourly_truncate();

-- A rebuild (rollups/maintain.ts) recomputes the hours of the days it rebuilds, in its transaction and
-- under its lock (the previous function locks the log tables and folds first).
ALTER FUNCTION spendlens.rollups_rebuild_days(date, date) RENAME TO rollups_rebuild_days_before_0016;

CREATE FUNCTION spendlens.rollups_rebuild_days(p_from date, p_to date) RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  PERFORM spendlens.rollups_rebuild_days_before_0016(p_from, p_to);
  PERFORM spendlens.end_user_hourly_fill_days(p_from, p_to);
END $fn$;

-- Existing logs: pending inserts are folded first (into the tables above), then every day is refilled.
LOCK TABLE public."LiteLLM_SpendLogs" IN SHARE ROW EXCLUSIVE MODE;

SELECT spendlens.rollups_fold();

SELECT spendlens.end_user_hourly_fill_days(r.lo, r.hi) FROM (
  SELECT spendlens.utc_day(min("startTime")) AS lo, spendlens.utc_day(max("startTime")) AS hi FROM "LiteLLM_SpendLogs"
) r WHERE r.lo IS NOT NULL AND r.hi IS NOT NULL;
