-- 0023_partition_moves_bounded: the partition maintainer never holds writers back for a long move.
--
-- 0011's `spendlens.ensure_partitions` moves every month that has rows in the DEFAULT partition into a
-- new month partition, in one transaction that holds SHARE ROW EXCLUSIVE on the log table (every
-- INSERT waits). A backfill of millions of old logs lands in the DEFAULT partition; moving one of its
-- months took longer than the server's statement timeout (15 s) at 10M logs, so every maintainer round
-- (at start and every hour) held LiteLLM's writer and the fold back for 15 s, then failed and rolled
-- back, and made no partition ahead either (the same transaction), so later months would have landed
-- in the DEFAULT partition too.
--
-- Now a month with more than `max_move` rows in the DEFAULT partition (default 50,000) is left there and answered as 'kept in default (more than max_move rows)'; every
-- other partition is made as before. Rows in the DEFAULT partition are read and counted exactly as in a
-- month partition (only partition pruning is lost for them). An operator moves such a month in a quiet
-- window with `SELECT * FROM spendlens.ensure_partitions(3, NULL, max_move => NULL)` (no bound) from a
-- session without a statement timeout (docs/scaling.md §9).
--
-- And `spendlens.default_months`, which lists the months that have rows in the DEFAULT partition,
-- read the whole DEFAULT partition (`SELECT DISTINCT date_trunc('month', …)`) on every round, under that
-- same lock: 2.3 s for 9.2M rows here. Where the DEFAULT partition has an index led by "startTime" (the
-- spend logs: the parent's "startTime" index) it now takes one index probe per month instead.
--
-- What still reads the whole DEFAULT partition under the lock: making a partition at all (Postgres
-- checks that no DEFAULT row belongs in it when the DEFAULT partition is attached again), so once a
-- month per table for the month ahead, and for each small month moved.
--
-- FROZEN once shipped: never edit this file, add a new migration.

DROP FUNCTION spendlens.ensure_partitions(integer, integer, date);

CREATE FUNCTION spendlens.ensure_partitions(ahead integer, retention_days integer,
    today date DEFAULT (now() AT TIME ZONE 'UTC')::date, max_move bigint DEFAULT 50000)
  RETURNS TABLE (action text, partition_name text) LANGUAGE plpgsql AS $fn$
DECLARE
  tbl text;
  def_name text;
  horizon timestamp;
  m timestamp;
  p record;
  b record;
  name text;
  newest timestamp;
  oldest timestamp;
  waiting bigint;
BEGIN
  IF ahead IS NULL OR ahead < 0 OR ahead > 120 THEN
    RAISE EXCEPTION 'ahead must be 0..120 months, got %', ahead USING ERRCODE = '22023';
  END IF;
  IF retention_days IS NOT NULL AND retention_days < 1 THEN
    RAISE EXCEPTION 'retention_days must be at least 1, got %', retention_days USING ERRCODE = '22023';
  END IF;
  IF max_move IS NOT NULL AND max_move < 0 THEN
    RAISE EXCEPTION 'max_move must be at least 0, got %', max_move USING ERRCODE = '22023';
  END IF;
  horizon := CASE WHEN retention_days IS NULL THEN NULL ELSE today::timestamp - make_interval(days => retention_days) END;
  FOREACH tbl IN ARRAY ARRAY['LiteLLM_SpendLogs', 'LiteLLM_ErrorLogs'] LOOP
    -- Only a partitioned table that spendlens created (never one LiteLLM made: attach mode).
    CONTINUE WHEN NOT coalesce(tbl = ANY(string_to_array(
      (SELECT value FROM spendlens.meta WHERE key = 'created_litellm_tables'), ',')), false);
    CONTINUE WHEN (SELECT relkind FROM pg_class WHERE oid = to_regclass(format('public.%I', tbl))) IS DISTINCT FROM 'p';
    -- Serializes maintainers (replicas) and keeps writers out while partitions change.
    EXECUTE format('LOCK TABLE public.%I IN SHARE ROW EXCLUSIVE MODE', tbl);
    def_name := NULL;
    SELECT c.relname INTO def_name FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
      WHERE h.inhparent = format('public.%I', tbl)::regclass AND (spendlens.partition_bounds(c.oid)).is_default;
    FOR m IN
      SELECT date_trunc('month', today::timestamp) + make_interval(months => k) FROM generate_series(0, ahead) AS k
      UNION
      SELECT x.mo FROM spendlens.default_months(tbl, def_name) AS x(mo)
        WHERE horizon IS NULL OR x.mo + interval '1 month' > horizon
      ORDER BY 1
    LOOP
      name := tbl || '_p' || to_char(m, 'YYYY_MM');
      CONTINUE WHEN EXISTS (SELECT 1 FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid,
          LATERAL spendlens.partition_bounds(c.oid) AS pb
        WHERE h.inhparent = format('public.%I', tbl)::regclass AND NOT pb.is_default
          AND (pb.lo IS NULL OR pb.lo < m + interval '1 month') AND (pb.hi IS NULL OR m < pb.hi));
      IF def_name IS NOT NULL AND max_move IS NOT NULL THEN
        -- A month with more than max_move rows in the DEFAULT partition stays there (read as before,
        -- through the DEFAULT partition): moving it would hold the lock above, and so every writer,
        -- for as long as the move takes. Counted through the DEFAULT partition's "startTime" index,
        -- at most max_move + 1 entries.
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM public.%I WHERE "startTime" >= $1 AND "startTime" < $2 LIMIT $3) s',
          def_name) INTO waiting USING m, m + interval '1 month', max_move + 1;
        IF waiting > max_move THEN
          action := 'kept in default (more than max_move rows)'; partition_name := name; RETURN NEXT;
          CONTINUE;
        END IF;
      END IF;
      IF def_name IS NULL THEN
        EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)',
          name, tbl, m, m + interval '1 month');
      ELSE
        -- Rows of that month in the DEFAULT partition move into the new one; the DEFAULT partition is
        -- detached meanwhile, so no trigger of the parent sees the move (totals and ids stay as they are).
        EXECUTE format('ALTER TABLE public.%I DETACH PARTITION public.%I', tbl, def_name);
        EXECUTE format('CREATE TABLE public.%I (LIKE public.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED)', name, tbl);
        EXECUTE format('WITH moved AS (DELETE FROM public.%I WHERE "startTime" >= $1 AND "startTime" < $2 RETURNING *) INSERT INTO public.%I SELECT * FROM moved',
          def_name, name) USING m, m + interval '1 month';
        EXECUTE format('ALTER TABLE public.%I ATTACH PARTITION public.%I FOR VALUES FROM (%L) TO (%L)',
          tbl, name, m, m + interval '1 month');
        EXECUTE format('ALTER TABLE public.%I ATTACH PARTITION public.%I DEFAULT', tbl, def_name);
      END IF;
      action := 'created'; partition_name := name; RETURN NEXT;
    END LOOP;
    CONTINUE WHEN horizon IS NULL;
    -- Retention: a partition wholly before the horizon is dropped. DROP fires no DELETE or TRUNCATE
    -- trigger, so the rollups keep its totals; its days are flagged raw_deleted (as a DELETE in the
    -- default 'keep' mode flags them), so a rebuild leaves those totals alone. A partition with a day
    -- whose rollups are dirty (read from the raw logs) is kept until a rebuild cleans it.
    FOR p IN SELECT c.relname, pb.lo, pb.hi FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid,
        LATERAL spendlens.partition_bounds(c.oid) AS pb
      WHERE h.inhparent = format('public.%I', tbl)::regclass AND NOT pb.is_default
        AND pb.hi IS NOT NULL AND pb.hi <= horizon
      ORDER BY pb.hi
    LOOP
      EXECUTE format('SELECT min("startTime"), max("startTime") FROM public.%I', p.relname) INTO oldest, newest;
      IF oldest IS NOT NULL AND EXISTS (SELECT 1 FROM spendlens.rollup_days r WHERE r.dirty_at IS NOT NULL
          AND r.day >= oldest::date AND r.day <= newest::date) THEN
        action := 'kept (dirty days)'; partition_name := p.relname; RETURN NEXT;
        CONTINUE;
      END IF;
      IF oldest IS NOT NULL THEN
        INSERT INTO spendlens.rollup_days AS r (day, raw_deleted)
          SELECT d::date, true FROM generate_series(oldest::date, newest::date, interval '1 day') AS d ORDER BY 1
          ON CONFLICT (day) DO UPDATE SET raw_deleted = true;
      END IF;
      EXECUTE format('DROP TABLE public.%I', p.relname);
      action := 'dropped'; partition_name := p.relname; RETURN NEXT;
    END LOOP;
  END LOOP;
END $fn$;

CREATE OR REPLACE FUNCTION spendlens.default_months(tbl text, def_name text) RETURNS SETOF timestamp LANGUAGE plpgsql AS $fn$
DECLARE
  m timestamp;
BEGIN
  IF def_name IS NULL THEN RETURN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
      WHERE x.indrelid = format('public.%I', def_name)::regclass AND a.attname = 'startTime' AND x.indpred IS NULL) THEN
    RETURN QUERY EXECUTE format('SELECT DISTINCT date_trunc(''month'', "startTime") FROM public.%I', def_name);
    RETURN;
  END IF;
  -- A loose index scan: the first month, then the first row at or after the next month, and so on.
  EXECUTE format('SELECT date_trunc(''month'', min("startTime")) FROM public.%I', def_name) INTO m;
  WHILE m IS NOT NULL LOOP
    RETURN NEXT m;
    EXECUTE format('SELECT date_trunc(''month'', min("startTime")) FROM public.%I WHERE "startTime" >= $1', def_name)
      INTO m USING m + interval '1 month';
  END LOOP;
END $fn$;
