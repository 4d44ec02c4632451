-- 0018_activity_day_marks: a change marker per UTC day of spendlens.activity_daily (migration 0009), so a
-- reader can tell in one indexed read of ~30 rows whether anything of a day's activity changed since it
-- last computed an answer from it (the cache of /user/daily/activity/aggregated, activity/dailyAggregated.ts).
--
-- - spendlens.activity_day_marks: one row per day whose activity rows were ever written after this
--   migration; `mark` is a fresh value of spendlens.activity_day_mark_seq each time a statement inserts,
--   updates or deletes any activity_daily row of that day (statement triggers, in the writer's own
--   transaction: a mark becomes visible exactly when the change does; a rolled-back change leaves the
--   old mark, and sequence values are never reused). The row of day '-infinity' is the epoch, new on a
--   TRUNCATE of activity_daily. A day without a row has not changed since this migration.
-- - Everything the aggregated route reads of a day (activity_dim_daily's sums, activity_route_daily's
--   user rows, migration 0012) is derived from that day's activity_daily rows in the same transaction,
--   so an unchanged (epoch, mark) pair proves those rows unchanged.
--
-- FROZEN once shipped: never edit this file, add a new migration.

CREATE SEQUENCE spendlens.activity_day_mark_seq;

CREATE TABLE spendlens.activity_day_marks (day date PRIMARY KEY, mark bigint NOT NULL);

CREATE FUNCTION spendlens.activity_day_marks_insert() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  INSERT INTO spendlens.activity_day_marks AS m (day, mark)
    SELECT d.day, nextval('spendlens.activity_day_mark_seq') FROM (SELECT DISTINCT n.day FROM new_rows n) d
    ORDER BY 1
    ON CONFLICT (day) DO UPDATE SET mark = excluded.mark;
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens.activity_day_marks_update() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  INSERT INTO spendlens.activity_day_marks AS m (day, mark)
    SELECT d.day, nextval('spendlens.activity_day_mark_seq')
    FROM (SELECT n.day FROM new_rows n UNION SELECT o.day FROM old_rows o) d
    ORDER BY 1
    ON CONFLICT (day) DO UPDATE SET mark = excluded.mark;
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens.activity_day_marks_delete() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  INSERT INTO spendlens.activity_day_marks AS m (day, mark)
    SELECT d.day, nextval('spendlens.activity_day_mark_seq') FROM (SELECT DISTINCT o.day FROM old_rows o) d
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

CREATE TRIGGER spendlens_day_marks_insert AFTER INSERT ON spendlens.activity_daily
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.activity_day_marks_insert();

CREATE TRIGGER spendlens_day_marks_update AFTER UPDATE ON spendlens.activity_daily
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION spendlens.activity_day_marks_update();

CREATE TRIGGER spendlens_day_marks_delete AFTER DELETE ON spendlens.activity_daily
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.activity_day_marks_delete();

CREATE TRIGGER spendlens_day_marks_truncate AFTER TRUNCATE ON spendlens.activity_daily
  FOR EACH STATEMENT EXECUTE FUNCTION spendlens.activity_day_marks_truncate();
