-- 0014_provider_hourly: spend per UTC hour and (model, model_id, custom_llm_provider), the columns that
-- resolve a log to its provider (providers/resolve.ts), for GET /provider/budgets. A rolling budget
-- window starts and ends at arbitrary instants: whole days come from model_daily, the whole hours of its
-- edge days from this table, and only the sub-hour slivers at both ends from the raw logs
-- (budgets/providerSpend.ts). ~24 × (models in use) rows a day.
-- Kept like the daily rollups (0003, 0010): inserts through the fold (a statement trigger on
-- spendlens.spend_log_fold), UPDATE as -old +new, DELETE and TRUNCATE only in delete mode 'subtract'
-- (mode 'keep' keeps totals, 0003 marks the days raw_deleted and the reader reads those edge days raw),
-- an error or paused rollups mark the days dirty (the reader reads dirty edge days raw), and
-- spendlens.rollups_rebuild_days now also refills the hours of the days it rebuilds.
-- `spend_requests` counts the logs with spend > 0 (a rolling window opens at the first of them).
-- Existing logs are filled here, after a fold under the log table's lock (no pending row is counted twice).
--
-- Also spendlens.end_user_weekly: end_user_daily per ISO week (named by its Monday), requests and spend
-- only, for POST /global/spend/end_users (a 30-day window reads ~4 weeks instead of ~28 days of rows,
-- spend/endUsers.ts). Derived like key_weekly (0005): statement triggers on end_user_daily, so every
-- change to it (a fold, an update, a subtract-mode delete, a rebuild's delete and refill) reaches the
-- weeks in the same transaction; filled from end_user_daily here.
-- FROZEN once shipped.

SET LOCAL statement_timeout = 0;

CREATE FUNCTION spendlens.provider_hour(ts timestamp) RETURNS timestamp LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $$SELECT date_trunc('hour', ts)$$;

CREATE FUNCTION spendlens.provider_hour(ts timestamptz) RETURNS timestamp LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $$SELECT date_trunc('hour', ts AT TIME ZONE 'UTC')$$;

CREATE TABLE spendlens.provider_hourly (
    hour timestamp NOT NULL,
    key_hash bytea NOT NULL,
    model text,
    model_id text,
    custom_llm_provider text,
    requests bigint NOT NULL DEFAULT 0,
    spend double precision NOT NULL DEFAULT 0,
    spend_requests bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, key_hash)
  ) WITH (fillfactor = 90);

DO $migration$
DECLARE
  -- The columns "LiteLLM_SpendLogs" has (an older LiteLLM may lack model_id or custom_llm_provider).
  have text[] := ARRAY(SELECT column_name::text FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = 'LiteLLM_SpendLogs');
  -- One row per log: its hour, provider columns, spend, whether it spent, and its sign.
  proj text := $p$SELECT spendlens.provider_hour(t."startTime") AS hour, t."model"::text AS model,
      t."model_id"::text AS model_id, t."custom_llm_provider"::text AS custom_llm_provider,
      coalesce(t."spend", 0)::float8 AS spend, CASE WHEN t."spend" > 0 THEN 1 ELSE 0 END AS pos, %s AS sign FROM %s t$p$;
  log_proj text;
  upsert text := $u$INSERT INTO spendlens.provider_hourly AS r (hour, key_hash, model, model_id, custom_llm_provider,
      requests, spend, spend_requests)
    SELECT a.hour, sha256(convert_to(ROW(a.model, a.model_id, a.custom_llm_provider)::text, 'UTF8')), a.model,
      a.model_id, a.custom_llm_provider, a.requests, a.spend, a.spend_requests
    FROM (SELECT s.hour, s.model, s.model_id, s.custom_llm_provider, sum(s.sign)::bigint AS requests,
        sum(s.sign * s.spend)::float8 AS spend, sum(s.sign * s.pos)::bigint AS spend_requests
      FROM (%s) s GROUP BY 1, 2, 3, 4) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.spend_requests <> 0
    ORDER BY 1, 2
    ON CONFLICT (hour, key_hash) DO UPDATE SET requests = r.requests + excluded.requests,
      spend = r.spend + excluded.spend, spend_requests = r.spend_requests + excluded.spend_requests$u$;
  days_new text := 'ARRAY(SELECT DISTINCT spendlens.utc_day("startTime") FROM new_rows)';
  days_old text := 'ARRAY(SELECT DISTINCT spendlens.utc_day("startTime") FROM old_rows)';
  emptied text := 'DELETE FROM spendlens.provider_hourly WHERE requests <= 0
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
  c text;
BEGIN
  log_proj := proj;
  FOREACH c IN ARRAY ARRAY['model', 'model_id', 'custom_llm_provider'] LOOP
    IF NOT c = ANY (have) THEN
      log_proj := replace(log_proj, 't."' || c || '"', 'NULL');
    END IF;
  END LOOP;

  -- Inserts through the fold (spend_log_fold has every column), updates as minus the old rows plus the
  -- new ones, deletes (mode 'subtract' only: 'keep' keeps totals, as the daily rollups); hours left with
  -- no log are removed. Paused rollups or an error mark the days dirty.
  EXECUTE format(fn, 'provider_hourly_insert', '', days_new, format(upsert, format(proj, '1', 'new_rows')), '', days_new);
  EXECUTE format(fn, 'provider_hourly_update', '', days_old || ' || ' || days_new,
    format(upsert, format(log_proj, '-1', 'old_rows') || ' UNION ALL ' || format(log_proj, '1', 'new_rows')), emptied,
    days_old || ' || ' || days_new);
  EXECUTE format(fn, 'provider_hourly_delete', 'IF NOT spendlens.rollups_subtract_deletes() THEN RETURN NULL; END IF;',
    days_old, format(upsert, format(log_proj, '-1', 'old_rows')), emptied, days_old);

  -- Recomputes the hours of days [p_from, p_to] from the raw logs (bounds as literals: the column's type).
  EXECUTE format($f$CREATE FUNCTION spendlens.provider_hourly_fill_days(p_from date, p_to date) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '256MB' SET jit = off AS $fn$
BEGIN
  DELETE FROM spendlens.provider_hourly WHERE hour >= p_from::timestamp AND hour < (p_to + 1)::timestamp;
  EXECUTE format(%L, to_char(p_from, 'YYYY-MM-DD') || 'T00:00:00Z', to_char(p_to + 1, 'YYYY-MM-DD') || 'T00:00:00Z');
END $fn$$f$, format(upsert, format(log_proj, '1', 'public."LiteLLM_SpendLogs"')
    || ' WHERE t."startTime" >= %1$L AND t."startTime" < %2$L'));
END $migration$;

CREATE FUNCTION spendlens.provider_hourly_truncate() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF spendlens.rollups_subtract_deletes() THEN
    DELETE FROM spendlens.provider_hourly;
  END IF;
  RETURN NULL;
END $fn$;

CREATE TRIGGER spendlens_rollup_v14_insert AFTER INSERT ON spendlens.spend_log_fold REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.provider_hourly_insert();

CREATE TRIGGER spendlens_rollup_v14_update AFTER UPDATE ON public."LiteLLM_SpendLogs" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.provider_hourly_update();

CREATE TRIGGER spendlens_rollup_v14_delete AFTER DELETE ON public."LiteLLM_SpendLogs" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.provider_hourly_delete();

CREATE TRIGGER spendlens_rollup_v14_truncate AFTER TRUNCATE ON public."LiteLLM_SpendLogs" FOR EACH STATEMENT EXECUTE FUNCTION spendlens.provider_hourly_truncate();

-- A rebuild (rollups/maintain.ts) recomputes the hours of the days it rebuilds, in its transaction and
-- under its lock (the previous function locks the log tables and folds first).
ALTER FUNCTION spendlens.rollups_rebuild_days(date, date) RENAME TO rollups_rebuild_days_before_0014;

CREATE FUNCTION spendlens.rollups_rebuild_days(p_from date, p_to date) RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  PERFORM spendlens.rollups_rebuild_days_before_0014(p_from, p_to);
  PERFORM spendlens.provider_hourly_fill_days(p_from, p_to);
END $fn$;

-- Existing logs: pending inserts are folded first (into the tables above), then every day is refilled.
LOCK TABLE public."LiteLLM_SpendLogs" IN SHARE ROW EXCLUSIVE MODE;

SELECT spendlens.rollups_fold();

SELECT spendlens.provider_hourly_fill_days(r.lo, r.hi) FROM (
  SELECT spendlens.utc_day(min("startTime")) AS lo, spendlens.utc_day(max("startTime")) AS hi FROM "LiteLLM_SpendLogs"
) r WHERE r.lo IS NOT NULL AND r.hi IS NOT NULL;

CREATE TABLE spendlens.end_user_weekly (
    week date NOT NULL,
    key_hash bytea NOT NULL,
    end_user text,
    requests bigint NOT NULL DEFAULT 0,
    spend double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (week, key_hash)
  ) WITH (fillfactor = 90);

DO $migration$
DECLARE
  -- end_user_daily rows with their ISO week (its Monday; 2001-01-01 was one) and a sign (a format()
  -- template: %% is the modulo).
  proj text := $p$SELECT (t.day - (((t.day - DATE '2001-01-01') %% 7 + 7) %% 7)) AS week, t.key_hash, t.end_user,
      t.requests, t.spend, %s AS sign FROM %s t$p$;
  upsert text := $u$INSERT INTO spendlens.end_user_weekly AS r (week, key_hash, end_user, requests, spend)
    SELECT a.week, a.key_hash, a.end_user, a.requests, a.spend
    FROM (SELECT s.week, s.key_hash, s.end_user, sum(s.sign * s.requests)::bigint AS requests,
        sum(s.sign * s.spend)::float8 AS spend FROM (%s) s GROUP BY 1, 2, 3) a
    WHERE a.requests <> 0 OR a.spend <> 0
    ORDER BY 1, 2
    ON CONFLICT (week, key_hash) DO UPDATE SET requests = r.requests + excluded.requests, spend = r.spend + excluded.spend$u$;
  emptied text := $d$DELETE FROM spendlens.end_user_weekly WHERE requests <= 0
      AND week = ANY (ARRAY(SELECT DISTINCT (o.day - (((o.day - DATE '2001-01-01') % 7 + 7) % 7)) FROM old_rows o))$d$;
  fn text := $f$CREATE FUNCTION spendlens.%I() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  %s;
  RETURN NULL;
END $fn$$f$;
BEGIN
  EXECUTE format(fn, 'end_user_weekly_insert', format(upsert, format(proj, '1', 'new_rows')));
  EXECUTE format(fn, 'end_user_weekly_update', format(upsert, format(proj, '1', 'new_rows') || ' UNION ALL '
    || format(proj, '-1', 'old_rows')) || '; ' || emptied);
  EXECUTE format(fn, 'end_user_weekly_delete', format(upsert, format(proj, '-1', 'old_rows')) || '; ' || emptied);
END $migration$;

CREATE TRIGGER spendlens_derived_v14_insert AFTER INSERT ON spendlens.end_user_daily REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.end_user_weekly_insert();

CREATE TRIGGER spendlens_derived_v14_update AFTER UPDATE ON spendlens.end_user_daily REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.end_user_weekly_update();

CREATE TRIGGER spendlens_derived_v14_delete AFTER DELETE ON spendlens.end_user_daily REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.end_user_weekly_delete();

INSERT INTO spendlens.end_user_weekly (week, key_hash, end_user, requests, spend)
  SELECT a.week, a.key_hash, a.end_user, a.requests, a.spend
  FROM (SELECT (d.day - (((d.day - DATE '2001-01-01') % 7 + 7) % 7)) AS week, d.key_hash, d.end_user,
      sum(d.requests)::bigint AS requests, sum(d.spend)::float8 AS spend
    FROM spendlens.end_user_daily d GROUP BY 1, 2, 3) a
  WHERE a.requests <> 0 OR a.spend <> 0
  ORDER BY 1, 2;
