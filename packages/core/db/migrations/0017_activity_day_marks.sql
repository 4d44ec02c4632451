-- 0017_activity_day_marks: a change marker per UTC day of what /user/daily/activity/aggregated reads, so
-- a reader can tell in one indexed read of ~30 rows whether anything of a day changed since it last
-- computed that day's part of the answer (the route's per-day cache, activity/aggregatedCache.ts).
--
-- - spendlens.activity_day_marks: one row per day; `mark` is a fresh value of
--   spendlens.activity_day_mark_seq each time a statement inserts, updates or deletes a row of that day
--   in spendlens.activity_dim_daily or a user row (kind 'u') of spendlens.activity_route_daily (migration
--   0012: the only tables the route's fast path reads). Statement triggers, in the writer's own
--   transaction: a new mark becomes visible exactly when the change does; a rolled-back change leaves
--   the old mark; sequence values are never reused. The row of day '-infinity' is the epoch, new on a
--   TRUNCATE of either table. A day without a row has not changed since this migration.
-- - Written by every fold, rebuild, subtract-mode delete or update that reaches those rows (through
--   0012's triggers on activity_daily), and by a direct write to them.
--
-- FROZEN once shipped: never edit this file, add a new migration.

CREATE SEQUENCE spendlens.activity_day_mark_seq;

CREATE TABLE spendlens.activity_day_marks (day date PRIMARY KEY, mark bigint NOT NULL);

CREATE FUNCTION spendlens.activity_day_marks_dim_insert() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  INSERT INTO spendlens.activity_day_marks AS m (day, mark)
    SELECT d.day, nextval('spendlens.activity_day_mark_seq') FROM (SELECT DISTINCT n.day FROM new_rows n) d
    ORDER BY 1
    ON CONFLICT (day) DO UPDATE SET mark = excluded.mark;
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens.activity_day_marks_dim_update() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  INSERT INTO spendlens.activity_day_marks AS m (day, mark)
    SELECT d.day, nextval('spendlens.activity_day_mark_seq') FROM (SELECT n.day FROM new_rows n UNION SELECT o.day FROM old_rows o) d
    ORDER BY 1
    ON CONFLICT (day) DO UPDATE SET mark = excluded.mark;
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens.activity_day_marks_dim_delete() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  INSERT INTO spendlens.activity_day_marks AS m (day, mark)
    SELECT d.day, nextval('spendlens.activity_day_mark_seq') FROM (SELECT DISTINCT o.day FROM old_rows o) d
    ORDER BY 1
    ON CONFLICT (day) DO UPDATE SET mark = excluded.mark;
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens.activity_day_marks_route_insert() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  INSERT INTO spendlens.activity_day_marks AS m (day, mark)
    SELECT d.day, nextval('spendlens.activity_day_mark_seq') FROM (SELECT DISTINCT n.day FROM new_rows n WHERE n.kind = 'u') d
    ORDER BY 1
    ON CONFLICT (day) DO UPDATE SET mark = excluded.mark;
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens.activity_day_marks_route_update() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  INSERT INTO spendlens.activity_day_marks AS m (day, mark)
    SELECT d.day, nextval('spendlens.activity_day_mark_seq') FROM (SELECT n.day FROM new_rows n WHERE n.kind = 'u' UNION SELECT o.day FROM old_rows o WHERE o.kind = 'u') d
    ORDER BY 1
    ON CONFLICT (day) DO UPDATE SET mark = excluded.mark;
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens.activity_day_marks_route_delete() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  INSERT INTO spendlens.activity_day_marks AS m (day, mark)
    SELECT d.day, nextval('spendlens.activity_day_mark_seq') FROM (SELECT DISTINCT o.day FROM old_rows o WHERE o.kind = 'u') d
    ORDER BY 1
    ON CONFLICT (day) DO UPDATE SET mark = excluded.mark;
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens.activity_day_marks_truncate() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  INSERT INTO spendlens.activity_day_marks AS m (day, mark)
    VALUES ('-infinity'::date, nextval('spendlens.activity_day_mark_seq'))
    ON CONFLICT (day) DO UPDATE SET mark = excluded.mark;
  RETURN NULL;
END $fn$;

CREATE TRIGGER spendlens_day_marks_insert AFTER INSERT ON spendlens.activity_dim_daily
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.activity_day_marks_dim_insert();

CREATE TRIGGER spendlens_day_marks_update AFTER UPDATE ON spendlens.activity_dim_daily
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION spendlens.activity_day_marks_dim_update();

CREATE TRIGGER spendlens_day_marks_delete AFTER DELETE ON spendlens.activity_dim_daily
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.activity_day_marks_dim_delete();

CREATE TRIGGER spendlens_day_marks_truncate AFTER TRUNCATE ON spendlens.activity_dim_daily
  FOR EACH STATEMENT EXECUTE FUNCTION spendlens.activity_day_marks_truncate();

CREATE TRIGGER spendlens_day_marks_insert AFTER INSERT ON spendlens.activity_route_daily
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.activity_day_marks_route_insert();

CREATE TRIGGER spendlens_day_marks_update AFTER UPDATE ON spendlens.activity_route_daily
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION spendlens.activity_day_marks_route_update();

CREATE TRIGGER spendlens_day_marks_delete AFTER DELETE ON spendlens.activity_route_daily
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.activity_day_marks_route_delete();

CREATE TRIGGER spendlens_day_marks_truncate AFTER TRUNCATE ON spendlens.activity_route_daily
  FOR EACH STATEMENT EXECUTE FUNCTION spendlens.activity_day_marks_truncate();
