-- 0021_page_check_probes: the page cache's check (0019's spendlens.activity_page_check, called once by
-- every cached call of /{user,team,organization,customer,agent,tag}/daily/activity) made cheaper, with
-- the same arguments and the same answers (activity/pageCache.ts):
--
-- - The metadata digests probe the keys, users and teams they are given through their primary keys
--   (the distinct ids of the array, joined) instead of `id = ANY (array)`: plpgsql keeps a generic plan
--   for that filter, which on "LiteLLM_VerificationToken" and "LiteLLM_UserTable" was a sequential scan
--   comparing every row with every id of the array (2,000 keys x 50 ids on the user route's page).
-- - An empty array reads nothing: its digest is md5('') as before (the digest of no rows), its rows
--   NULL as before.
--
-- FROZEN once shipped: never edit this file, add a new migration.

CREATE OR REPLACE FUNCTION spendlens.activity_page_check(p_kind "char", p_from date, p_to date, p_keys text[],
    p_ents text[], p_ent_kind text, p_rows boolean, OUT dirty boolean, OUT pending boolean, OUT stamp text,
    OUT key_digest text, OUT ent_digest text, OUT key_rows json, OUT ent_rows json)
    LANGUAGE plpgsql STABLE AS $fn$
BEGIN
  dirty := EXISTS (SELECT 1 FROM spendlens.rollup_days rd WHERE rd.dirty_at IS NOT NULL AND rd.day BETWEEN p_from AND p_to);
  pending := EXISTS (SELECT 1 FROM spendlens.spend_log_pending);
  stamp := coalesce((SELECT e.mark::text FROM spendlens.activity_route_marks e
      WHERE e.kind = '*'::"char" AND e.day = '-infinity'::date), '-') || '/' ||
    coalesce((SELECT string_agg(m.day::text || ':' || m.mark::text, ',' ORDER BY m.day)
      FROM spendlens.activity_route_marks m WHERE m.kind = p_kind AND m.day BETWEEN p_from AND p_to), '');
  IF coalesce(cardinality(p_keys), 0) = 0 THEN
    key_digest := md5('');
  ELSE
    SELECT md5(coalesce(string_agg(x.r::text, E'\n' ORDER BY x.token COLLATE "C"), '')),
        CASE WHEN p_rows THEN json_agg(x.r) END
      INTO key_digest, key_rows
      FROM (SELECT vt.token, json_build_array(vt.token, vt.key_alias, vt.team_id, vt.user_id, u.user_email) AS r
        FROM (SELECT DISTINCT k.token FROM unnest(p_keys) k(token)) k
        JOIN public."LiteLLM_VerificationToken" vt ON vt.token = k.token
        LEFT JOIN public."LiteLLM_UserTable" u ON u.user_id = vt.user_id) x;
  END IF;
  IF p_ent_kind IS NULL OR p_ent_kind NOT IN ('team', 'user') THEN
    ent_digest := '';
  ELSIF coalesce(cardinality(p_ents), 0) = 0 THEN
    ent_digest := md5('');
  ELSIF p_ent_kind = 'team' THEN
    SELECT md5(coalesce(string_agg(x.r::text, E'\n' ORDER BY x.id COLLATE "C"), '')), CASE WHEN p_rows THEN json_agg(x.r) END
      INTO ent_digest, ent_rows
      FROM (SELECT t.team_id AS id, json_build_array(t.team_id, t.team_alias) AS r
        FROM (SELECT DISTINCT e.id FROM unnest(p_ents) e(id)) e
        JOIN public."LiteLLM_TeamTable" t ON t.team_id = e.id) x;
  ELSE
    SELECT md5(coalesce(string_agg(x.r::text, E'\n' ORDER BY x.id COLLATE "C"), '')), CASE WHEN p_rows THEN json_agg(x.r) END
      INTO ent_digest, ent_rows
      FROM (SELECT u.user_id AS id, json_build_array(u.user_id, u.user_email) AS r
        FROM (SELECT DISTINCT e.id FROM unnest(p_ents) e(id)) e
        JOIN public."LiteLLM_UserTable" u ON u.user_id = e.id) x;
  END IF;
END $fn$;
