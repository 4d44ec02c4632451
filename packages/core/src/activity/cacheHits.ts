import { sql } from "kysely";
import { z } from "zod";
import type { Db } from "../db/connect.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { checkDayRange, zDay } from "../validation.ts";
import { activitySourceSql } from "./dailyActivity.ts";

/**
 * GET /global/activity/cache_hits (LiteLLM's cache dashboard): per key alias, call type and model, the
 * requests, cache hits (`cache_hit = 'True'`), failures (`status = 'failure'`), and completion tokens
 * served from cache or generated, over the whole UTC days [start_date, end_date]. From the activity
 * rollups (migration 0009), dirty days read raw: exact and fresh.
 */

export const cacheHitsInput = z.object({ start_date: zDay, end_date: zDay }).superRefine(checkDayRange);
export type CacheHitsInput = z.output<typeof cacheHitsInput>;

export interface CacheHitsRow {
  /** The key's alias, or 'Unnamed Key' (every key without one, together, as LiteLLM groups them). */
  api_key: string;
  call_type: string | null;
  model: string | null;
  total_rows: number;
  cache_hit_true_rows: number;
  failed_rows: number;
  cached_completion_tokens: number;
  generated_completion_tokens: number;
}

export async function cacheHits(db: Db, scope: Scope, input: CacheHitsInput): Promise<CacheHitsRow[]> {
  const user = scopeUserId(scope);
  const cte = await activitySourceSql(db, false, input.start_date, input.end_date, (a) =>
    user === null ? [] : [sql`${sql.ref(`${a}.user`)} = ${user}`],
  );
  const r = await sql<CacheHitsRow>`${cte}
    SELECT coalesce(vt.key_alias, 'Unnamed Key') AS api_key, s.call_type, s.model,
      sum(s.requests)::float8 AS total_rows, sum(s.cache_hit_requests)::float8 AS cache_hit_true_rows,
      sum(s.failed_requests)::float8 AS failed_rows,
      sum(s.cached_completion_tokens)::float8 AS cached_completion_tokens,
      sum(s.generated_completion_tokens)::float8 AS generated_completion_tokens
    FROM (SELECT api_key, call_type, model, sum(requests) AS requests, sum(cache_hit_requests) AS cache_hit_requests,
        sum(failed_requests) AS failed_requests, sum(cached_completion_tokens) AS cached_completion_tokens,
        sum(generated_completion_tokens) AS generated_completion_tokens
      FROM src GROUP BY 1, 2, 3) s
    LEFT JOIN "LiteLLM_VerificationToken" vt ON vt.token = s.api_key
    GROUP BY 1, 2, 3
    ORDER BY 1, 2 NULLS FIRST, 3 NULLS FIRST`.execute(db);
  return r.rows;
}
