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

-- The page cache's check, in one statement (STABLE: every query below reads the caller's snapshot), its
-- plans kept per session: whether a day of [p_from, p_to] is dirty or a log pending, the window's marks of
-- kind p_kind as text ('epoch/day:mark,…'), an md5 of the metadata rows of the keys p_keys (alias, team,
-- user, the user's email) and of the entities p_ents (p_ent_kind 'team': team alias, 'user': email,
-- anything else: none), and with p_rows those rows themselves.
CREATE FUNCTION spendlens.activity_page_check(p_kind "char", p_from date, p_to date, p_keys text[], p_ents text[],
    p_ent_kind text, p_rows boolean, OUT dirty boolean, OUT pending boolean, OUT stamp text, OUT key_digest text,
    OUT ent_digest text, OUT key_rows json, OUT ent_rows json)
    LANGUAGE plpgsql STABLE AS $fn$
BEGIN
  dirty := EXISTS (SELECT 1 FROM spendlens.rollup_days rd WHERE rd.dirty_at IS NOT NULL AND rd.day BETWEEN p_from AND p_to);
  pending := EXISTS (SELECT 1 FROM spendlens.spend_log_pending);
  stamp := coalesce((SELECT e.mark::text FROM spendlens.activity_route_marks e
      WHERE e.kind = '*'::"char" AND e.day = '-infinity'::date), '-') || '/' ||
    coalesce((SELECT string_agg(m.day::text || ':' || m.mark::text, ',' ORDER BY m.day)
      FROM spendlens.activity_route_marks m WHERE m.kind = p_kind AND m.day BETWEEN p_from AND p_to), '');
  SELECT md5(coalesce(string_agg(x.r::text, E'\n' ORDER BY x.token COLLATE "C"), '')),
      CASE WHEN p_rows THEN json_agg(x.r) END
    INTO key_digest, key_rows
    FROM (SELECT vt.token, json_build_array(vt.token, vt.key_alias, vt.team_id, vt.user_id, u.user_email) AS r
      FROM public."LiteLLM_VerificationToken" vt LEFT JOIN public."LiteLLM_UserTable" u ON u.user_id = vt.user_id
      WHERE vt.token = ANY (p_keys)) x;
  IF p_ent_kind = 'team' THEN
    SELECT md5(coalesce(string_agg(x.r::text, E'\n' ORDER BY x.id COLLATE "C"), '')), CASE WHEN p_rows THEN json_agg(x.r) END
      INTO ent_digest, ent_rows
      FROM (SELECT t.team_id AS id, json_build_array(t.team_id, t.team_alias) AS r
        FROM public."LiteLLM_TeamTable" t WHERE t.team_id = ANY (p_ents)) x;
  ELSIF p_ent_kind = 'user' THEN
    SELECT md5(coalesce(string_agg(x.r::text, E'\n' ORDER BY x.id COLLATE "C"), '')), CASE WHEN p_rows THEN json_agg(x.r) END
      INTO ent_digest, ent_rows
      FROM (SELECT u.user_id AS id, json_build_array(u.user_id, u.user_email) AS r
        FROM public."LiteLLM_UserTable" u WHERE u.user_id = ANY (p_ents)) x;
  ELSE
    ent_digest := '';
  END IF;
END $fn$;
