-- 0012_activity_route_rollups: the rows LiteLLM's Daily*Spend tables hold, kept per route, so a page of
-- /{user,team,organization,customer,agent,tag}/daily/activity reads its rows through an index and
-- `total_pages` sums a few counters, instead of grouping every activity row of the window per call.
--
-- - spendlens.activity_route_daily: one row per (kind, day, entity, api_key, model, model_group,
--   custom_llm_provider, mcp_namespaced_tool_name, call_type) — exactly one LiteLLM daily-table row —
--   with the sums the routes answer. kind: 'u' user, 't' team_id, 'o' organization_id, 'c' end_user,
--   'a' agent_id (from activity_daily), 'g' tag (from activity_tag_daily). Its unique index (NULLS NOT
--   DISTINCT: a NULL entity or key is one row, as in LiteLLM's table) is in the routes' page order:
--   newest day first, then entity, api_key, model, model_group, provider, MCP tool, endpoint (NULLS FIRST;
--   the text columns are COLLATE "C": code-point order, and cheap comparisons for the fold's upserts).
-- - spendlens.activity_route_rows: per (kind, day, entity) how many activity_route_daily rows exist, so
--   a route's row count (total_pages) is a sum of ~days x entities counters.
-- - spendlens.activity_dim_daily: the user route's rows summed per (day, one dimension): dim 'd' the day
--   (value NULL), 'm' model, 'g' model group (LiteLLM's COALESCE(NULLIF(model_group, ''), model)),
--   'p' provider, 'x' MCP tool, 'e' endpoint (call_type), 'n' user, 'k' api_key: the hundreds of rows
--   /user/daily/activity/aggregated needs for 30 days (and its top keys), not every row.
-- - a partial index on the user route's rows by (api_key, day): the aggregated route's per-key
--   breakdowns of its top keys.
--
-- Both are derived from migration 0009's activity rollups by statement triggers on them (as 0005's
-- derived tables are): every change to a source (the fold's upserts, subtract-mode deletes, dropped empty
-- rows, rebuilds) reaches them as the delta of its transition tables, one grouped upsert per statement, so
-- they always equal the GROUP BY of their source. Touches no LiteLLM table: the same in standalone and
-- attach mode (partitioned logs included). Filled from the sources here, last.
--
-- FROZEN once shipped: never edit this file, add a new migration.

SET LOCAL statement_timeout = 0;

CREATE TABLE spendlens.activity_route_daily (kind "char" NOT NULL, day date NOT NULL, entity text COLLATE "C", api_key text COLLATE "C", model text COLLATE "C", model_group text COLLATE "C", custom_llm_provider text COLLATE "C", mcp_namespaced_tool_name text COLLATE "C", call_type text COLLATE "C", requests bigint NOT NULL DEFAULT 0, successful_requests bigint NOT NULL DEFAULT 0, failed_requests bigint NOT NULL DEFAULT 0, spend double precision NOT NULL DEFAULT 0, prompt_tokens bigint NOT NULL DEFAULT 0, completion_tokens bigint NOT NULL DEFAULT 0, cache_read_input_tokens bigint NOT NULL DEFAULT 0, cache_creation_input_tokens bigint NOT NULL DEFAULT 0, total_response_time_ms bigint NOT NULL DEFAULT 0, timed_requests bigint NOT NULL DEFAULT 0) WITH (fillfactor = 90);

CREATE UNIQUE INDEX activity_route_daily_page_idx ON spendlens.activity_route_daily (kind, day DESC, entity NULLS FIRST, api_key NULLS FIRST, model NULLS FIRST, model_group NULLS FIRST, custom_llm_provider NULLS FIRST, mcp_namespaced_tool_name NULLS FIRST, call_type NULLS FIRST) NULLS NOT DISTINCT;

CREATE TABLE spendlens.activity_route_rows (kind "char" NOT NULL, day date NOT NULL, entity text COLLATE "C", n bigint NOT NULL);

CREATE UNIQUE INDEX activity_route_rows_idx ON spendlens.activity_route_rows (kind, day, entity) NULLS NOT DISTINCT;

CREATE INDEX activity_route_daily_user_key_idx ON spendlens.activity_route_daily (api_key, day) WHERE kind = 'u';

CREATE TABLE spendlens.activity_dim_daily (dim "char" NOT NULL, day date NOT NULL, value text COLLATE "C", requests bigint NOT NULL DEFAULT 0, successful_requests bigint NOT NULL DEFAULT 0, failed_requests bigint NOT NULL DEFAULT 0, spend double precision NOT NULL DEFAULT 0, prompt_tokens bigint NOT NULL DEFAULT 0, completion_tokens bigint NOT NULL DEFAULT 0, cache_read_input_tokens bigint NOT NULL DEFAULT 0, cache_creation_input_tokens bigint NOT NULL DEFAULT 0, total_response_time_ms bigint NOT NULL DEFAULT 0, timed_requests bigint NOT NULL DEFAULT 0) WITH (fillfactor = 70);

CREATE UNIQUE INDEX activity_dim_daily_idx ON spendlens.activity_dim_daily (dim, day, value) NULLS NOT DISTINCT;

-- The trigger functions are generated here, one per source table and operation, from two statement
-- templates over a delta relation `d` (day, the source's dimensions, the measures, and a sign: +1 for
-- new_rows, -1 for old_rows): the grouped upsert of activity_route_daily, whose RETURNING feeds the row
-- counters (xmax = 0: a row the statement created), and the per-dimension upsert. Rows a delta empties
-- (requests <= 0) are removed and uncounted only when a source row lost requests (0006's guard).
DO $do$
DECLARE
  measures text := 'requests, successful_requests, failed_requests, spend, prompt_tokens, completion_tokens, cache_read_input_tokens, cache_creation_input_tokens, total_response_time_ms, timed_requests';
  dims text := 'api_key, model, model_group, custom_llm_provider, mcp_namespaced_tool_name, call_type';
  sums text;
  adds text;
  nonzero text;
  route_stmt text;
  dim_stmt text;
  src record;
  op text;
  rel text;
  body text;
  cols text;
  joined text;
  diffs text;
BEGIN
  SELECT string_agg(format('sum(d.sign * d.%1$I)::%2$s AS %1$I', m, CASE WHEN m = 'spend' THEN 'float8' ELSE 'bigint' END), ', '),
      string_agg(format('%1$I = r.%1$I + excluded.%1$I', m), ', '),
      string_agg(format('a.%I <> 0', m), ' OR ')
    INTO sums, adds, nonzero FROM unnest(string_to_array(measures, ', ')) AS m;
  -- %1$s: the kinds and entities of a delta row (a VALUES list over d); %2$s: the delta's SELECT.
  route_stmt := format($t$WITH up AS (
    INSERT INTO spendlens.activity_route_daily AS r (kind, day, entity, %1$s, %2$s)
      SELECT a.* FROM (SELECT k.kind, d.day, k.entity, d.api_key, d.model, d.model_group, d.custom_llm_provider,
          d.mcp_namespaced_tool_name, d.call_type, %3$s
        FROM (%%2$s) d CROSS JOIN LATERAL (VALUES %%1$s) AS k(kind, entity)
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9) a
      WHERE %4$s
      ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    ON CONFLICT (kind, day, entity, %1$s) DO UPDATE SET %5$s
    RETURNING r.kind, r.day, r.entity, (r.xmax = 0) AS fresh)
  INSERT INTO spendlens.activity_route_rows AS c (kind, day, entity, n)
    SELECT kind, day, entity, count(*) FROM up WHERE fresh GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (kind, day, entity) DO UPDATE SET n = c.n + excluded.n$t$, dims, measures, sums, nonzero, adds);
  -- %1$s: the delta's SELECT (activity_daily's columns, signed).
  dim_stmt := format($t$INSERT INTO spendlens.activity_dim_daily AS r (dim, day, value, %1$s)
    SELECT a.* FROM (SELECT k.dim, d.day, k.value, %2$s
      FROM (%%1$s) d CROSS JOIN LATERAL (VALUES ('d'::"char", NULL::text), ('m'::"char", d.model),
        ('g'::"char", coalesce(nullif(d.model_group, ''), d.model)), ('p'::"char", d.custom_llm_provider),
        ('x'::"char", d.mcp_namespaced_tool_name), ('e'::"char", d.call_type), ('n'::"char", d."user"),
        ('k'::"char", d.api_key)) AS k(dim, value)
      GROUP BY 1, 2, 3) a
    WHERE %3$s
    ORDER BY 1, 2, 3
    ON CONFLICT (dim, day, value) DO UPDATE SET %4$s$t$, measures, sums, nonzero, adds);

  FOR src IN SELECT * FROM (VALUES
      ('activity_daily',
       $s$day, api_key, model, model_group, custom_llm_provider, mcp_namespaced_tool_name, call_type, user, team_id, organization_id, end_user, agent_id$s$,
       $s$('u'::"char", d."user"), ('t'::"char", d.team_id), ('o'::"char", d.organization_id), ('c'::"char", d.end_user), ('a'::"char", d.agent_id)$s$,
       $s$'{u,t,o,c,a}'::"char"[]$s$, true),
      ('activity_tag_daily',
       $s$day, api_key, model, model_group, custom_llm_provider, mcp_namespaced_tool_name, call_type, tag$s$,
       $s$('g'::"char", d.tag)$s$,
       $s$'{g}'::"char"[]$s$, false)) AS x(tbl, cols, kinds, kindset, keys)
  LOOP
    FOREACH op IN ARRAY ARRAY['fill', 'insert', 'update', 'delete'] LOOP
      -- An UPDATE's delta is new - old per source row (its (day, key_hash) key), one row each: half the
      -- rows a UNION of both would expand into kinds and dimensions.
      SELECT string_agg(format('t.%I', c), ', '), string_agg(format('coalesce(n.%1$I, o.%1$I) AS %1$I', c), ', ')
        INTO cols, joined FROM unnest(string_to_array(src.cols, ', ')) AS c;
      SELECT string_agg(format('coalesce(n.%1$I, 0) - coalesce(o.%1$I, 0) AS %1$I', m), ', ') INTO diffs
        FROM unnest(string_to_array(measures, ', ')) AS m;
      rel := CASE op
        WHEN 'fill' THEN format('SELECT %s, %s, 1 AS sign FROM spendlens.%I t', cols, measures, src.tbl)
        WHEN 'insert' THEN format('SELECT %s, %s, 1 AS sign FROM new_rows t', cols, measures)
        WHEN 'delete' THEN format('SELECT %s, %s, -1 AS sign FROM old_rows t', cols, measures)
        ELSE format('SELECT %s, %s, 1 AS sign FROM new_rows n FULL JOIN old_rows o ON o.day = n.day AND o.key_hash = n.key_hash',
          joined, diffs) END;
      IF op = 'fill' THEN
        -- Existing rows of the source (this migration's transaction; the triggers come after).
        EXECUTE format(route_stmt, src.kinds, rel);
        IF src.keys THEN
          EXECUTE format(dim_stmt, rel);
        END IF;
        CONTINUE;
      END IF;
      body := format(route_stmt, src.kinds, rel) || ';';
      IF src.keys THEN
        body := body || E'\n  ' || format(dim_stmt, rel) || ';';
      END IF;
      IF op <> 'insert' THEN
        body := body || format($t$
  IF EXISTS (SELECT 1 FROM old_rows o %1$s) THEN
    WITH gone AS (DELETE FROM spendlens.activity_route_daily r WHERE r.requests <= 0 AND r.kind = ANY (%2$s)
        AND r.day = ANY (ARRAY(SELECT DISTINCT o.day FROM old_rows o)) RETURNING r.kind, r.day, r.entity),
      cnt AS (SELECT kind, day, entity, count(*) AS n FROM gone GROUP BY 1, 2, 3)
    UPDATE spendlens.activity_route_rows c SET n = c.n - cnt.n FROM cnt
      WHERE c.kind = cnt.kind AND c.day = cnt.day AND c.entity IS NOT DISTINCT FROM cnt.entity;
    DELETE FROM spendlens.activity_route_rows c WHERE c.n <= 0 AND c.kind = ANY (%2$s)
      AND c.day = ANY (ARRAY(SELECT DISTINCT o.day FROM old_rows o));
    %3$s
  END IF;$t$,
          CASE op WHEN 'update' THEN 'LEFT JOIN new_rows n ON n.day = o.day AND n.key_hash = o.key_hash WHERE n.day IS NULL OR n.requests < o.requests' ELSE '' END,
          src.kindset,
          CASE WHEN src.keys THEN 'DELETE FROM spendlens.activity_dim_daily k WHERE k.requests <= 0 AND k.dim = ANY (''{d,m,g,p,x,e,n,k}''::"char"[]) AND k.day = ANY (ARRAY(SELECT DISTINCT o.day FROM old_rows o));' ELSE '' END);
      END IF;
      EXECUTE format($f$CREATE FUNCTION spendlens.%I() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  %s
  RETURN NULL;
END $fn$$f$, 'route_' || src.tbl || '_' || op, body);
      EXECUTE format('CREATE TRIGGER %I AFTER %s ON spendlens.%I %s FOR EACH STATEMENT EXECUTE FUNCTION spendlens.%I()',
        'spendlens_route_' || op, upper(op), src.tbl,
        CASE op WHEN 'insert' THEN 'REFERENCING NEW TABLE AS new_rows'
          WHEN 'delete' THEN 'REFERENCING OLD TABLE AS old_rows'
          ELSE 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows' END,
        'route_' || src.tbl || '_' || op);
    END LOOP;
    EXECUTE format($f$CREATE FUNCTION spendlens.%I() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  DELETE FROM spendlens.activity_route_daily WHERE kind = ANY (%s);
  DELETE FROM spendlens.activity_route_rows WHERE kind = ANY (%s);
  %s
  RETURN NULL;
END $fn$$f$, 'route_' || src.tbl || '_truncate', src.kindset, src.kindset,
      CASE WHEN src.keys THEN 'DELETE FROM spendlens.activity_dim_daily;' ELSE '' END);
    EXECUTE format('CREATE TRIGGER spendlens_route_truncate AFTER TRUNCATE ON spendlens.%I FOR EACH STATEMENT EXECUTE FUNCTION spendlens.%I()',
      src.tbl, 'route_' || src.tbl || '_truncate');
  END LOOP;
END $do$;

-- Planner statistics for the filled tables now (autovacuum would take a while on a big install).
ANALYZE spendlens.activity_route_daily, spendlens.activity_route_rows, spendlens.activity_dim_daily;
