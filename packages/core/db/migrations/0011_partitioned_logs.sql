-- 0011_partitioned_logs: in standalone mode (spendlens created the log tables: spendlens.meta
-- 'created_litellm_tables', as migration 0001 records it) "LiteLLM_SpendLogs" and "LiteLLM_ErrorLogs"
-- become tables range-partitioned by "startTime", one partition per UTC month, made ahead and dropped
-- after a retention period by `spendlens.ensure_partitions(ahead, retention_days, today)` (docs/scaling.md
-- "Partitioned logs"). A table LiteLLM made (attach mode) is never touched.
-- The conversion of an existing table: its triggers and indexes are read from the catalog (whatever
-- migrations 0003 onwards installed), the table is renamed, a partitioned parent with the old name, the
-- same columns, indexes and triggers is made, and the old table, if it holds rows, is attached as ONE
-- partition covering (MINVALUE, the first month after its newest log), else dropped. Its rows are not
-- moved: its primary key is rebuilt as (request_id, "startTime") and the attach checks the range in one
-- scan (docs/scaling.md has the time per million logs). Plus a DEFAULT partition for rows outside every
-- month partition.
-- A partitioned table's primary key must contain the partition key: ("request_id", "startTime"). The
-- uniqueness of request_id alone, which idempotent ingest needs, is kept by spendlens.spend_log_ids /
-- spendlens.error_log_ids (request_id PRIMARY KEY), filled by statement triggers on the parent: a second
-- row with a stored request_id fails with a unique violation, as the old primary key did. Ingest skips
-- request_ids already there. Ids stay when a partition is dropped (retention deletes payloads, not
-- history: a log sent again after its payload was dropped is not counted twice).
-- FROZEN once shipped. Literal SQL only.

SET LOCAL statement_timeout = 0;

CREATE TABLE IF NOT EXISTS spendlens.spend_log_ids (request_id text PRIMARY KEY, "startTime" timestamp(3) NOT NULL);

CREATE TABLE IF NOT EXISTS spendlens.error_log_ids (request_id text PRIMARY KEY, "startTime" timestamp(3) NOT NULL);

CREATE OR REPLACE FUNCTION spendlens.spend_log_ids_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO spendlens.spend_log_ids (request_id, "startTime")
    SELECT request_id, "startTime" FROM new_rows ORDER BY request_id COLLATE "C";
  RETURN NULL;
END $fn$;

CREATE OR REPLACE FUNCTION spendlens.spend_log_ids_delete() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  DELETE FROM spendlens.spend_log_ids i USING old_rows o WHERE i.request_id = o.request_id;
  RETURN NULL;
END $fn$;

CREATE OR REPLACE FUNCTION spendlens.spend_log_ids_update() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  DELETE FROM spendlens.spend_log_ids i USING old_rows o WHERE i.request_id = o.request_id;
  INSERT INTO spendlens.spend_log_ids (request_id, "startTime")
    SELECT request_id, "startTime" FROM new_rows ORDER BY request_id COLLATE "C";
  RETURN NULL;
END $fn$;

CREATE OR REPLACE FUNCTION spendlens.spend_log_ids_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  DELETE FROM spendlens.spend_log_ids;
  RETURN NULL;
END $fn$;

CREATE OR REPLACE FUNCTION spendlens.error_log_ids_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO spendlens.error_log_ids (request_id, "startTime")
    SELECT request_id, "startTime" FROM new_rows ORDER BY request_id COLLATE "C";
  RETURN NULL;
END $fn$;

CREATE OR REPLACE FUNCTION spendlens.error_log_ids_delete() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  DELETE FROM spendlens.error_log_ids i USING old_rows o WHERE i.request_id = o.request_id;
  RETURN NULL;
END $fn$;

CREATE OR REPLACE FUNCTION spendlens.error_log_ids_update() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  DELETE FROM spendlens.error_log_ids i USING old_rows o WHERE i.request_id = o.request_id;
  INSERT INTO spendlens.error_log_ids (request_id, "startTime")
    SELECT request_id, "startTime" FROM new_rows ORDER BY request_id COLLATE "C";
  RETURN NULL;
END $fn$;

CREATE OR REPLACE FUNCTION spendlens.error_log_ids_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  DELETE FROM spendlens.error_log_ids;
  RETURN NULL;
END $fn$;

CREATE OR REPLACE FUNCTION spendlens.partition_bounds(part regclass, OUT lo timestamp, OUT hi timestamp, OUT is_default boolean)
  LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  b text := pg_get_expr((SELECT relpartbound FROM pg_class WHERE oid = part), part);
BEGIN
  is_default := b = 'DEFAULT';
  lo := substring(b from 'FROM \(''([^'']*)''\)')::timestamp;
  hi := substring(b from 'TO \(''([^'']*)''\)')::timestamp;
END $fn$;

CREATE OR REPLACE FUNCTION spendlens.partition_log_table(tbl text, ids text) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  parent regclass := to_regclass(format('public.%I', tbl));
  old_name text := tbl || '_unpartitioned';
  trig record;
  trig_defs text[] := '{}';
  trig_off text[] := '{}';
  ix record;
  ix_defs text[] := '{}';
  pk text;
  d text;
  newest timestamp;
  upto timestamp;
BEGIN
  IF parent IS NULL OR (SELECT relkind FROM pg_class WHERE oid = parent) <> 'r' THEN
    RETURN;
  END IF;
  -- Everything that hangs on the table, as the catalog has it now (whatever earlier migrations made).
  FOR trig IN SELECT t.tgname, t.tgenabled, pg_get_triggerdef(t.oid) AS def FROM pg_trigger t
      WHERE t.tgrelid = parent AND NOT t.tgisinternal ORDER BY t.tgname LOOP
    trig_defs := trig_defs || trig.def;
    IF trig.tgenabled = 'D' THEN trig_off := trig_off || trig.tgname::text; END IF;
    EXECUTE format('DROP TRIGGER %I ON public.%I', trig.tgname, tbl);
  END LOOP;
  FOR ix IN SELECT c.relname, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = parent AND NOT i.indisprimary
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
      ORDER BY c.relname LOOP
    ix_defs := ix_defs || ix.def;
    EXECUTE format('ALTER INDEX public.%I RENAME TO %I', ix.relname, left(ix.relname, 50) || '_unpart');
  END LOOP;
  SELECT conname INTO pk FROM pg_constraint WHERE conrelid = parent AND contype = 'p';
  IF pk IS NOT NULL THEN
    EXECUTE format('ALTER TABLE public.%I RENAME CONSTRAINT %I TO %I', tbl, pk, left(pk, 50) || '_unpart');
  END IF;
  EXECUTE format('ALTER TABLE public.%I RENAME TO %I', tbl, old_name);

  -- The partitioned parent: same columns, defaults, NOT NULLs; primary key with the partition key.
  EXECUTE format('CREATE TABLE public.%I (LIKE public.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED) PARTITION BY RANGE ("startTime")', tbl, old_name);
  EXECUTE format('ALTER TABLE public.%I ADD CONSTRAINT %I PRIMARY KEY (request_id, "startTime")', tbl, tbl || '_pkey');
  FOREACH d IN ARRAY ix_defs LOOP
    EXECUTE d;
  END LOOP;

  EXECUTE format('SELECT max("startTime") FROM public.%I', old_name) INTO newest;
  IF newest IS NULL THEN
    EXECUTE format('DROP TABLE public.%I', old_name);
  ELSE
    EXECUTE format('INSERT INTO spendlens.%I (request_id, "startTime") SELECT request_id, "startTime" FROM public.%I ON CONFLICT (request_id) DO NOTHING', ids, old_name);
    upto := date_trunc('month', newest) + interval '1 month';
    EXECUTE format('ALTER TABLE public.%I RENAME TO %I', old_name, tbl || '_upto_' || to_char(upto, 'YYYY_MM'));
    old_name := tbl || '_upto_' || to_char(upto, 'YYYY_MM');
    -- A partition's primary key is the parent's: (request_id, "startTime") replaces the old one.
    IF pk IS NOT NULL THEN
      EXECUTE format('ALTER TABLE public.%I DROP CONSTRAINT %I', old_name, left(pk, 50) || '_unpart');
    END IF;
    EXECUTE format('ALTER TABLE public.%I ADD CONSTRAINT %I PRIMARY KEY (request_id, "startTime")', old_name, old_name || '_pkey');
    EXECUTE format('ALTER TABLE public.%I ATTACH PARTITION public.%I FOR VALUES FROM (MINVALUE) TO (%L)',
      tbl, old_name, upto);
  END IF;
  EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I DEFAULT', tbl || '_default', tbl);

  -- The same triggers, now on the parent (statement triggers see the rows of every partition).
  FOREACH d IN ARRAY trig_defs LOOP
    EXECUTE d;
  END LOOP;
  FOREACH d IN ARRAY trig_off LOOP
    EXECUTE format('ALTER TABLE public.%I DISABLE TRIGGER %I', tbl, d);
  END LOOP;
  EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON public.%I REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.%I()', ids || '_insert', tbl, ids || '_insert');
  EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON public.%I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.%I()', ids || '_update', tbl, ids || '_update');
  EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON public.%I REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.%I()', ids || '_delete', tbl, ids || '_delete');
  EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON public.%I FOR EACH STATEMENT EXECUTE FUNCTION spendlens.%I()', ids || '_truncate', tbl, ids || '_truncate');
END $fn$;

CREATE OR REPLACE FUNCTION spendlens.ensure_partitions(ahead integer, retention_days integer, today date DEFAULT (now() AT TIME ZONE 'UTC')::date)
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
BEGIN
  IF ahead IS NULL OR ahead < 0 OR ahead > 120 THEN
    RAISE EXCEPTION 'ahead must be 0..120 months, got %', ahead USING ERRCODE = '22023';
  END IF;
  IF retention_days IS NOT NULL AND retention_days < 1 THEN
    RAISE EXCEPTION 'retention_days must be at least 1, got %', retention_days USING ERRCODE = '22023';
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
BEGIN
  IF def_name IS NULL THEN RETURN; END IF;
  RETURN QUERY EXECUTE format('SELECT DISTINCT date_trunc(''month'', "startTime") FROM public.%I', def_name);
END $fn$;

DO $do$
DECLARE
  made text[] := string_to_array(coalesce((SELECT value FROM spendlens.meta WHERE key = 'created_litellm_tables'), ''), ',');
BEGIN
  IF 'LiteLLM_SpendLogs' = ANY(made) THEN
    PERFORM spendlens.partition_log_table('LiteLLM_SpendLogs', 'spend_log_ids');
  END IF;
  IF 'LiteLLM_ErrorLogs' = ANY(made) THEN
    PERFORM spendlens.partition_log_table('LiteLLM_ErrorLogs', 'error_log_ids');
  END IF;
  PERFORM spendlens.ensure_partitions(3, NULL);
END $do$;
