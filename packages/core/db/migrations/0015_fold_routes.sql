-- 0015_fold_routes: migration 0012's route rollups (activity_route_daily, activity_route_rows,
-- activity_dim_daily) are fed once per fold chunk from the chunk's logs, and rebuilt days are recomputed
-- from the activity rollups in three grouped inserts, instead of through 0012's statement triggers on
-- activity_daily / activity_tag_daily (which expanded every upserted activity row's transition-table
-- delta, an INSERT and an UPDATE trigger per upsert, into five route kinds and eight dimensions).
--
-- - spendlens.rollups_fold() (0010's, redefined): after the chunk goes through spend_log_fold (0003,
--   0004, 0009, 0014's insert triggers, unchanged) one statement pre-aggregates the chunk per activity
--   row (day + activity_daily's dimensions), expands it into route rows (kinds u t o c a, and g per
--   distinct tag), upserts activity_route_daily, counts the rows it created into activity_route_rows,
--   and upserts activity_dim_daily's eight dimensions. While the chunk goes through spend_log_fold the
--   transaction-local setting spendlens.routes_direct is 'on', and 0012's insert/update/delete triggers
--   on the activity tables are re-created here with WHEN (that setting is not 'on'): they do nothing for
--   the fold and for rebuilds. Paused rollups or an error: the days are marked dirty (the route reads
--   answer null for a range with a dirty day, and a rebuild recomputes the day whole).
-- - UPDATE, DELETE (subtract mode) and TRUNCATE of logs keep 0012's path: their activity deltas reach the
--   route tables through those triggers (the setting is off outside the fold's insert).
-- - spendlens.activity_rollups_fill_days_unfolded (0009/0010's rebuild of activity days, renamed
--   *_before_0015) now refills the activity tables with the route triggers off, then
--   spendlens.activity_routes_fill_days(from, to) deletes the route rows of those days and inserts them
--   again from the activity tables (a rebuilt day is exact even if its route rows had drifted).
-- Touches no LiteLLM table: the same in standalone and attach mode (partitioned logs included).
--
-- FROZEN once shipped: never edit this file, add a new migration.

SET LOCAL statement_timeout = 0;

CREATE FUNCTION spendlens.activity_routes_fill_days(p_from date, p_to date) RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '256MB' SET jit = off AS $fn$
BEGIN
  DELETE FROM spendlens.activity_route_daily
    WHERE kind = ANY ('{u,t,o,c,a,g}'::"char"[]) AND day BETWEEN p_from AND p_to;
  DELETE FROM spendlens.activity_route_rows
    WHERE kind = ANY ('{u,t,o,c,a,g}'::"char"[]) AND day BETWEEN p_from AND p_to;
  DELETE FROM spendlens.activity_dim_daily
    WHERE dim = ANY ('{d,m,g,p,x,e,n,k}'::"char"[]) AND day BETWEEN p_from AND p_to;
  INSERT INTO spendlens.activity_route_daily (kind, day, entity, api_key, model, model_group, custom_llm_provider,
      mcp_namespaced_tool_name, call_type, requests, successful_requests, failed_requests, spend, prompt_tokens,
      completion_tokens, cache_read_input_tokens, cache_creation_input_tokens, total_response_time_ms, timed_requests)
    SELECT x.kind, x.day, x.entity, x.api_key, x.model, x.model_group, x.custom_llm_provider,
        x.mcp_namespaced_tool_name, x.call_type, sum(x.requests)::bigint, sum(x.successful_requests)::bigint,
        sum(x.failed_requests)::bigint, sum(x.spend)::float8, sum(x.prompt_tokens)::bigint,
        sum(x.completion_tokens)::bigint, sum(x.cache_read_input_tokens)::bigint,
        sum(x.cache_creation_input_tokens)::bigint, sum(x.total_response_time_ms)::bigint, sum(x.timed_requests)::bigint
      FROM (SELECT k.kind, d.day, k.entity, d.api_key, d.model, d.model_group, d.custom_llm_provider,
            d.mcp_namespaced_tool_name, d.call_type, d.requests, d.successful_requests, d.failed_requests, d.spend,
            d.prompt_tokens, d.completion_tokens, d.cache_read_input_tokens, d.cache_creation_input_tokens,
            d.total_response_time_ms, d.timed_requests
          FROM spendlens.activity_daily d CROSS JOIN LATERAL (VALUES ('u'::"char", d."user"), ('t'::"char", d.team_id),
            ('o'::"char", d.organization_id), ('c'::"char", d.end_user), ('a'::"char", d.agent_id)) AS k(kind, entity)
          WHERE d.day BETWEEN p_from AND p_to
        UNION ALL
        SELECT 'g'::"char", d.day, d.tag, d.api_key, d.model, d.model_group, d.custom_llm_provider,
            d.mcp_namespaced_tool_name, d.call_type, d.requests, d.successful_requests, d.failed_requests, d.spend,
            d.prompt_tokens, d.completion_tokens, d.cache_read_input_tokens, d.cache_creation_input_tokens,
            d.total_response_time_ms, d.timed_requests
          FROM spendlens.activity_tag_daily d WHERE d.day BETWEEN p_from AND p_to) x
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
      HAVING sum(x.requests) <> 0 OR sum(x.successful_requests) <> 0 OR sum(x.failed_requests) <> 0
        OR sum(x.spend) <> 0 OR sum(x.prompt_tokens) <> 0 OR sum(x.completion_tokens) <> 0
        OR sum(x.cache_read_input_tokens) <> 0 OR sum(x.cache_creation_input_tokens) <> 0
        OR sum(x.total_response_time_ms) <> 0 OR sum(x.timed_requests) <> 0
      ORDER BY x.kind, x.day DESC,
        x.entity COLLATE "C" NULLS FIRST, x.api_key COLLATE "C" NULLS FIRST, x.model COLLATE "C" NULLS FIRST, x.model_group COLLATE "C" NULLS FIRST, x.custom_llm_provider COLLATE "C" NULLS FIRST, x.mcp_namespaced_tool_name COLLATE "C" NULLS FIRST, x.call_type COLLATE "C" NULLS FIRST;
  INSERT INTO spendlens.activity_route_rows (kind, day, entity, n)
    SELECT r.kind, r.day, r.entity, count(*) FROM spendlens.activity_route_daily r
      WHERE r.kind = ANY ('{u,t,o,c,a,g}'::"char"[]) AND r.day BETWEEN p_from AND p_to
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
  INSERT INTO spendlens.activity_dim_daily (dim, day, value, requests, successful_requests, failed_requests, spend,
      prompt_tokens, completion_tokens, cache_read_input_tokens, cache_creation_input_tokens, total_response_time_ms,
      timed_requests)
    SELECT k.dim, d.day, k.value, sum(d.requests)::bigint, sum(d.successful_requests)::bigint,
        sum(d.failed_requests)::bigint, sum(d.spend)::float8, sum(d.prompt_tokens)::bigint,
        sum(d.completion_tokens)::bigint, sum(d.cache_read_input_tokens)::bigint,
        sum(d.cache_creation_input_tokens)::bigint, sum(d.total_response_time_ms)::bigint, sum(d.timed_requests)::bigint
      FROM spendlens.activity_daily d CROSS JOIN LATERAL (VALUES ('d'::"char", NULL::text), ('m'::"char", d.model),
        ('g'::"char", coalesce(nullif(d.model_group, ''), d.model)), ('p'::"char", d.custom_llm_provider),
        ('x'::"char", d.mcp_namespaced_tool_name), ('e'::"char", d.call_type), ('n'::"char", d."user"),
        ('k'::"char", d.api_key)) AS k(dim, value)
      WHERE d.day BETWEEN p_from AND p_to
      GROUP BY 1, 2, 3
      HAVING sum(d.requests) <> 0 OR sum(d.successful_requests) <> 0 OR sum(d.failed_requests) <> 0
        OR sum(d.spend) <> 0 OR sum(d.prompt_tokens) <> 0 OR sum(d.completion_tokens) <> 0
        OR sum(d.cache_read_input_tokens) <> 0 OR sum(d.cache_creation_input_tokens) <> 0
        OR sum(d.total_response_time_ms) <> 0 OR sum(d.timed_requests) <> 0
      ORDER BY k.dim, d.day, k.value COLLATE "C";
END $fn$;

-- The route rows of one fold chunk (spend_log_fold holds it), one statement: `f` is each log's activity
-- values (0009's expressions), `a` the chunk per activity row, `rt` its route rows (five kinds from `a`, the
-- tag kind from each log's distinct tags), `up` their upsert (RETURNING whether each row is new), `cnt`
-- the new rows per (kind, day, entity), and the statement itself the eight dimensions' upsert.
-- Rows go into the upsert in the unique index's order (day DESC, NULLS FIRST): measured ~20% cheaper
-- than 0012's ascending order on a 5,000-log chunk.
CREATE FUNCTION spendlens.activity_routes_fold() RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
BEGIN
  WITH f AS (
    SELECT spendlens.utc_day(t."startTime") AS day, t.api_key, t."user", t.team_id, t.organization_id, t.end_user,
        t.agent_id, t.model, t.model_group, t.custom_llm_provider, t.mcp_namespaced_tool_name, t.call_type,
        t.request_tags, 1::bigint AS requests,
        (CASE WHEN t.status = 'failure' THEN 0 ELSE 1 END)::bigint AS successful_requests,
        (CASE WHEN t.status = 'failure' THEN 1 ELSE 0 END)::bigint AS failed_requests,
        coalesce(t.spend, 0)::float8 AS spend, coalesce(t.prompt_tokens, 0)::bigint AS prompt_tokens,
        coalesce(t.completion_tokens, 0)::bigint AS completion_tokens,
        spendlens.json_count(t.metadata #> '{usage_object,cache_read_input_tokens}') AS cache_read_input_tokens,
        spendlens.json_count(t.metadata #> '{usage_object,cache_creation_input_tokens}') AS cache_creation_input_tokens,
        coalesce(coalesce(t.request_duration_ms::bigint,
          round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint), 0) AS total_response_time_ms,
        CASE WHEN coalesce(t.request_duration_ms::bigint,
          round(extract(epoch FROM (t."endTime" - t."startTime")) * 1000)::bigint) IS NULL THEN 0 ELSE 1 END::bigint
          AS timed_requests
      FROM spendlens.spend_log_fold t),
  a AS (
    SELECT f.day, f.api_key, f."user", f.team_id, f.organization_id, f.end_user, f.agent_id, f.model, f.model_group,
        f.custom_llm_provider, f.mcp_namespaced_tool_name, f.call_type, sum(f.requests)::bigint AS requests,
        sum(f.successful_requests)::bigint AS successful_requests, sum(f.failed_requests)::bigint AS failed_requests,
        sum(f.spend)::float8 AS spend, sum(f.prompt_tokens)::bigint AS prompt_tokens,
        sum(f.completion_tokens)::bigint AS completion_tokens,
        sum(f.cache_read_input_tokens)::bigint AS cache_read_input_tokens,
        sum(f.cache_creation_input_tokens)::bigint AS cache_creation_input_tokens,
        sum(f.total_response_time_ms)::bigint AS total_response_time_ms, sum(f.timed_requests)::bigint AS timed_requests
      FROM f GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
  rt AS (
    SELECT x.kind, x.day, x.entity, x.api_key, x.model, x.model_group, x.custom_llm_provider,
        x.mcp_namespaced_tool_name, x.call_type, sum(x.requests)::bigint AS requests,
        sum(x.successful_requests)::bigint AS successful_requests, sum(x.failed_requests)::bigint AS failed_requests,
        sum(x.spend)::float8 AS spend, sum(x.prompt_tokens)::bigint AS prompt_tokens,
        sum(x.completion_tokens)::bigint AS completion_tokens,
        sum(x.cache_read_input_tokens)::bigint AS cache_read_input_tokens,
        sum(x.cache_creation_input_tokens)::bigint AS cache_creation_input_tokens,
        sum(x.total_response_time_ms)::bigint AS total_response_time_ms, sum(x.timed_requests)::bigint AS timed_requests
      FROM (SELECT k.kind, a.day, k.entity, a.api_key, a.model, a.model_group, a.custom_llm_provider,
            a.mcp_namespaced_tool_name, a.call_type, a.requests, a.successful_requests, a.failed_requests, a.spend,
            a.prompt_tokens, a.completion_tokens, a.cache_read_input_tokens, a.cache_creation_input_tokens,
            a.total_response_time_ms, a.timed_requests
          FROM a CROSS JOIN LATERAL (VALUES ('u'::"char", a."user"), ('t'::"char", a.team_id),
            ('o'::"char", a.organization_id), ('c'::"char", a.end_user), ('a'::"char", a.agent_id)) AS k(kind, entity)
        UNION ALL
        SELECT 'g'::"char", f.day, e.tag, f.api_key, f.model, f.model_group, f.custom_llm_provider,
            f.mcp_namespaced_tool_name, f.call_type, f.requests, f.successful_requests, f.failed_requests, f.spend,
            f.prompt_tokens, f.completion_tokens, f.cache_read_input_tokens, f.cache_creation_input_tokens,
            f.total_response_time_ms, f.timed_requests
          FROM f CROSS JOIN LATERAL spendlens.request_tag_set(f.request_tags) e) x
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9),
  up AS (
    INSERT INTO spendlens.activity_route_daily AS r (kind, day, entity, api_key, model, model_group, custom_llm_provider,
        mcp_namespaced_tool_name, call_type, requests, successful_requests, failed_requests, spend, prompt_tokens,
        completion_tokens, cache_read_input_tokens, cache_creation_input_tokens, total_response_time_ms, timed_requests)
      SELECT * FROM rt ORDER BY rt.kind, rt.day DESC,
        rt.entity COLLATE "C" NULLS FIRST, rt.api_key COLLATE "C" NULLS FIRST, rt.model COLLATE "C" NULLS FIRST, rt.model_group COLLATE "C" NULLS FIRST, rt.custom_llm_provider COLLATE "C" NULLS FIRST, rt.mcp_namespaced_tool_name COLLATE "C" NULLS FIRST, rt.call_type COLLATE "C" NULLS FIRST
    ON CONFLICT (kind, day, entity, api_key, model, model_group, custom_llm_provider, mcp_namespaced_tool_name, call_type)
    DO UPDATE SET requests = r.requests + excluded.requests,
      successful_requests = r.successful_requests + excluded.successful_requests,
      failed_requests = r.failed_requests + excluded.failed_requests, spend = r.spend + excluded.spend,
      prompt_tokens = r.prompt_tokens + excluded.prompt_tokens,
      completion_tokens = r.completion_tokens + excluded.completion_tokens,
      cache_read_input_tokens = r.cache_read_input_tokens + excluded.cache_read_input_tokens,
      cache_creation_input_tokens = r.cache_creation_input_tokens + excluded.cache_creation_input_tokens,
      total_response_time_ms = r.total_response_time_ms + excluded.total_response_time_ms,
      timed_requests = r.timed_requests + excluded.timed_requests
    RETURNING r.kind, r.day, r.entity, (r.xmax = 0) AS fresh),
  cnt AS (
    INSERT INTO spendlens.activity_route_rows AS c (kind, day, entity, n)
      SELECT up.kind, up.day, up.entity, count(*) FROM up WHERE up.fresh GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (kind, day, entity) DO UPDATE SET n = c.n + excluded.n)
  INSERT INTO spendlens.activity_dim_daily AS r (dim, day, value, requests, successful_requests, failed_requests, spend,
      prompt_tokens, completion_tokens, cache_read_input_tokens, cache_creation_input_tokens, total_response_time_ms,
      timed_requests)
    SELECT k.dim, a.day, k.value, sum(a.requests)::bigint, sum(a.successful_requests)::bigint,
        sum(a.failed_requests)::bigint, sum(a.spend)::float8, sum(a.prompt_tokens)::bigint,
        sum(a.completion_tokens)::bigint, sum(a.cache_read_input_tokens)::bigint,
        sum(a.cache_creation_input_tokens)::bigint, sum(a.total_response_time_ms)::bigint, sum(a.timed_requests)::bigint
      FROM a CROSS JOIN LATERAL (VALUES ('d'::"char", NULL::text), ('m'::"char", a.model),
        ('g'::"char", coalesce(nullif(a.model_group, ''), a.model)), ('p'::"char", a.custom_llm_provider),
        ('x'::"char", a.mcp_namespaced_tool_name), ('e'::"char", a.call_type), ('n'::"char", a."user"),
        ('k'::"char", a.api_key)) AS k(dim, value)
      GROUP BY 1, 2, 3 ORDER BY k.dim, a.day, k.value COLLATE "C"
    ON CONFLICT (dim, day, value) DO UPDATE SET requests = r.requests + excluded.requests,
      successful_requests = r.successful_requests + excluded.successful_requests,
      failed_requests = r.failed_requests + excluded.failed_requests, spend = r.spend + excluded.spend,
      prompt_tokens = r.prompt_tokens + excluded.prompt_tokens,
      completion_tokens = r.completion_tokens + excluded.completion_tokens,
      cache_read_input_tokens = r.cache_read_input_tokens + excluded.cache_read_input_tokens,
      cache_creation_input_tokens = r.cache_creation_input_tokens + excluded.cache_creation_input_tokens,
      total_response_time_ms = r.total_response_time_ms + excluded.total_response_time_ms,
      timed_requests = r.timed_requests + excluded.timed_requests;
END $fn$;

-- 0010's fold, with the route rows fed from the chunk. As before: committed pending rows, at most
-- max_rows, one fold at a time (the advisory lock), through spend_log_fold's insert triggers.
CREATE OR REPLACE FUNCTION spendlens.rollups_fold(max_rows integer DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET work_mem = '64MB' SET jit = off AS $fn$
DECLARE
  n bigint;
BEGIN
  -- Rows another fold has taken but not committed still show here: this fold then waits for it.
  IF NOT EXISTS (SELECT 1 FROM spendlens.spend_log_pending) THEN
    RETURN 0;
  END IF;
  PERFORM pg_advisory_xact_lock(7305228370911040010);
  -- 0012's triggers on the activity tables stand aside while the chunk's activity rows are upserted.
  PERFORM set_config('spendlens.routes_direct', 'on', true);
  WITH taken AS (DELETE FROM spendlens.spend_log_pending
      WHERE ctid = ANY (ARRAY(SELECT ctid FROM spendlens.spend_log_pending LIMIT max_rows)) RETURNING *)
  INSERT INTO spendlens.spend_log_fold (request_id, "startTime", "endTime", api_key, "user", team_id,
      organization_id, end_user, agent_id, model, model_group, model_id, custom_llm_provider, api_base, call_type,
      mcp_namespaced_tool_name, status, cache_hit, spend, prompt_tokens, completion_tokens, total_tokens,
      request_duration_ms, metadata, request_tags)
    SELECT request_id, "startTime", "endTime", api_key, "user", team_id, organization_id, end_user, agent_id,
      model, model_group, model_id, custom_llm_provider, api_base, call_type, mcp_namespaced_tool_name, status,
      cache_hit, spend, prompt_tokens, completion_tokens, total_tokens, request_duration_ms,
      jsonb_build_object('usage_object', usage_object), request_tags
    FROM taken;
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM set_config('spendlens.routes_direct', 'off', true);
  IF n > 0 AND spendlens.rollups_active() THEN
    BEGIN
      PERFORM spendlens.activity_routes_fold();
    EXCEPTION WHEN OTHERS THEN
      PERFORM spendlens.rollups_mark_dirty(ARRAY(SELECT DISTINCT spendlens.utc_day("startTime")
        FROM spendlens.spend_log_fold), SQLERRM);
    END;
  END IF;
  DELETE FROM spendlens.spend_log_fold;
  RETURN n;
END $fn$;

-- 0009/0010's rebuild of activity days: the activity tables as before (route triggers standing aside),
-- then the route rows of those days recomputed from them.
ALTER FUNCTION spendlens.activity_rollups_fill_days_unfolded(date, date) RENAME TO activity_rollups_fill_days_before_0015;

CREATE FUNCTION spendlens.activity_rollups_fill_days_unfolded(p_from date, p_to date) RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  PERFORM set_config('spendlens.routes_direct', 'on', true);
  PERFORM spendlens.activity_rollups_fill_days_before_0015(p_from, p_to);
  PERFORM set_config('spendlens.routes_direct', 'off', true);
  PERFORM spendlens.activity_routes_fill_days(p_from, p_to);
END $fn$;

-- 0012's triggers, re-created with a condition (same names, functions and transition tables).
DO $migration$
DECLARE
  tbl text;
  op text;
BEGIN
  FOREACH tbl IN ARRAY ARRAY['activity_daily', 'activity_tag_daily'] LOOP
    FOREACH op IN ARRAY ARRAY['insert', 'update', 'delete'] LOOP
      EXECUTE format('DROP TRIGGER %I ON spendlens.%I', 'spendlens_route_' || op, tbl);
      EXECUTE format($t$CREATE TRIGGER %I AFTER %s ON spendlens.%I %s FOR EACH STATEMENT
          WHEN (current_setting('spendlens.routes_direct', true) IS DISTINCT FROM 'on')
          EXECUTE FUNCTION spendlens.%I()$t$,
        'spendlens_route_' || op, upper(op), tbl,
        CASE op WHEN 'insert' THEN 'REFERENCING NEW TABLE AS new_rows'
          WHEN 'delete' THEN 'REFERENCING OLD TABLE AS old_rows'
          ELSE 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows' END,
        'route_' || tbl || '_' || op);
    END LOOP;
  END LOOP;
END $migration$;
