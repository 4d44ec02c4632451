-- 0019_activity_route_marks: a change marker per (route kind, UTC day) of what a page of
-- /{user,team,organization,customer,agent,tag}/daily/activity reads, so a reader can tell in one indexed
-- read of ~30 rows whether anything a cached page was built from changed (activity/pageCache.ts).
--
-- - spendlens.activity_route_marks: one row per (kind, day); `mark` is a fresh value of
--   spendlens.activity_route_mark_seq each time a statement inserts, updates or deletes a row of that
--   kind and day in spendlens.activity_route_daily (a page's rows) or spendlens.activity_route_rows (its
--   total_pages), every kind (u t o c a g). Statement triggers, in the writer's own transaction: a new
--   mark becomes visible exactly when the change does; a rolled-back change leaves the old mark; sequence
--   values are never reused, so a (kind, day) whose mark reads the same has not changed. The row of kind
--   '*' and day '-infinity' is the epoch, new on a TRUNCATE of either table. A (kind, day) without a row
--   has not changed since this migration.
-- - Written by every fold, rebuild, subtract-mode delete or update that reaches those rows (0012's and
--   0015's paths), and by a direct write to them.
--
-- FROZEN once shipped: never edit this file, add a new migration.

CREATE SEQUENCE spendlens.activity_route_mark_seq;

CREATE TABLE spendlens.activity_route_marks (kind "char" NOT NULL, day date NOT NULL, mark bigint NOT NULL,
  PRIMARY KEY (kind, day));

CREATE FUNCTION spendlens.activity_route_marks_insert() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  INSERT INTO spendlens.activity_route_marks AS m (kind, day, mark)
    SELECT d.kind, d.day, nextval('spendlens.activity_route_mark_seq')
      FROM (SELECT DISTINCT n.kind, n.day FROM new_rows n) d
    ORDER BY 1, 2
    ON CONFLICT (kind, day) DO UPDATE SET mark = excluded.mark;
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens.activity_route_marks_update() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  INSERT INTO spendlens.activity_route_marks AS m (kind, day, mark)
    SELECT d.kind, d.day, nextval('spendlens.activity_route_mark_seq')
      FROM (SELECT n.kind, n.day FROM new_rows n UNION SELECT o.kind, o.day FROM old_rows o) d
    ORDER BY 1, 2
    ON CONFLICT (kind, day) DO UPDATE SET mark = excluded.mark;
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens.activity_route_marks_delete() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  INSERT INTO spendlens.activity_route_marks AS m (kind, day, mark)
    SELECT d.kind, d.day, nextval('spendlens.activity_route_mark_seq')
      FROM (SELECT DISTINCT o.kind, o.day FROM old_rows o) d
    ORDER BY 1, 2
    ON CONFLICT (kind, day) DO UPDATE SET mark = excluded.mark;
  RETURN NULL;
END $fn$;

CREATE FUNCTION spendlens.activity_route_marks_truncate() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  INSERT INTO spendlens.activity_route_marks AS m (kind, day, mark)
    VALUES ('*'::"char", '-infinity'::date, nextval('spendlens.activity_route_mark_seq'))
    ON CONFLICT (kind, day) DO UPDATE SET mark = excluded.mark;
  RETURN NULL;
END $fn$;

CREATE TRIGGER spendlens_route_marks_insert AFTER INSERT ON spendlens.activity_route_daily
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.activity_route_marks_insert();

CREATE TRIGGER spendlens_route_marks_update AFTER UPDATE ON spendlens.activity_route_daily
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION spendlens.activity_route_marks_update();

CREATE TRIGGER spendlens_route_marks_delete AFTER DELETE ON spendlens.activity_route_daily
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.activity_route_marks_delete();

CREATE TRIGGER spendlens_route_marks_truncate AFTER TRUNCATE ON spendlens.activity_route_daily
  FOR EACH STATEMENT EXECUTE FUNCTION spendlens.activity_route_marks_truncate();

CREATE TRIGGER spendlens_route_marks_insert AFTER INSERT ON spendlens.activity_route_rows
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.activity_route_marks_insert();

CREATE TRIGGER spendlens_route_marks_update AFTER UPDATE ON spendlens.activity_route_rows
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION spendlens.activity_route_marks_update();

CREATE TRIGGER spendlens_route_marks_delete AFTER DELETE ON spendlens.activity_route_rows
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.activity_route_marks_delete();

CREATE TRIGGER spendlens_route_marks_truncate AFTER TRUNCATE ON spendlens.activity_route_rows
  FOR EACH STATEMENT EXECUTE FUNCTION spendlens.activity_route_marks_truncate();
