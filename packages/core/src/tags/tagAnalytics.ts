import { type RawBuilder, sql } from "kysely";
import { z } from "zod";
import { activitySourceSql, type SourceAlias } from "../activity/dailyActivity.ts";
import { now } from "../clock.ts";
import type { Db } from "../db/connect.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { addDays, checkDayRange, zDay, zInt } from "../validation.ts";

/**
 * LiteLLM's tag (User-Agent) analytics: `/tag/distinct`, `/tag/dau`, `/tag/wau`, `/tag/mau`,
 * `/tag/summary` and `/tag/user-agent/per-user-analytics`, from spendlens's per-tag activity rollup
 * (activity_tag_daily, migration 0009; dirty days read raw), not from `LiteLLM_DailyTagSpend`. A
 * request counts once for each of its distinct tags. "Users" are LiteLLM's: the owners (`user_id` in
 * `LiteLLM_VerificationToken`) of the keys the tagged requests used. Days are UTC days.
 */

const zTagList = z
  .union([z.string().max(512), z.array(z.string().max(512)).max(100)])
  .transform((v) => (typeof v === "string" ? [v] : v));

const filterShape = {
  tag_filter: z.string().max(512, "must be at most 512 characters").optional(),
  tag_filters: zTagList.optional(),
  custom_llm_provider: z.string().max(512, "must be at most 512 characters").optional(),
};

export const tagDauInput = z
  .object({ start_date: zDay.optional(), end_date: zDay.optional(), ...filterShape })
  .superRefine(checkDayRange);
export const tagWauInput = z.object(filterShape);
export const tagMauInput = z.object({ months: zInt(1, 12).default(7), ...filterShape });
export const tagSummaryInput = z
  .object({ start_date: zDay, end_date: zDay, ...filterShape })
  .superRefine(checkDayRange);
export const tagPerUserInput = z.object({
  tag_filter: filterShape.tag_filter,
  tag_filters: filterShape.tag_filters,
  page: zInt(1, 1_000_000).default(1),
  page_size: zInt(1, 1000).default(50),
});
export const tagDistinctInput = z.object({});

type Filters = {
  tag_filter?: string | undefined;
  tag_filters?: string[] | undefined;
  custom_llm_provider?: string | undefined;
};

/** `tag_filters` (exact, any of) wins over `tag_filter` (case-insensitive substring, taken literally). */
function conds(scope: Scope, f: Filters): (alias: SourceAlias) => RawBuilder<unknown>[] {
  const user = scopeUserId(scope);
  return (a) => {
    const c = (n: string) => sql.ref(`${a}.${n}`); // n: literals below
    const out: RawBuilder<unknown>[] = [];
    if (user !== null) out.push(sql`${c("user")} = ${user}`);
    if (f.custom_llm_provider) out.push(sql`${c("custom_llm_provider")} = ${f.custom_llm_provider}`);
    if (f.tag_filters?.length) out.push(sql`${c("tag")} = ANY(${f.tag_filters}::text[])`);
    else if (f.tag_filter) {
      const literal = f.tag_filter.replace(/[\\%_]/g, (m) => `\\${m}`);
      out.push(sql`${c("tag")} ILIKE ${`%${literal}%`}`);
    }
    return out;
  };
}

const today = () => now().toISOString().slice(0, 10);

export interface TagActiveUsers {
  tag: string;
  active_users: number;
  date: string;
  period_start: string | null;
  period_end: string | null;
}

/** GET /tag/dau: distinct key owners per tag and day, [start_date (default end − 7 days), end_date (default today)]. */
export async function tagDau(
  db: Db,
  scope: Scope,
  i: z.output<typeof tagDauInput>,
): Promise<{ results: TagActiveUsers[] }> {
  const endExcl = addDays(i.end_date ?? today(), 1);
  const start = i.start_date ?? addDays(endExcl, -7);
  const cte = await activitySourceSql(db, true, start, addDays(endExcl, -1), conds(scope, i));
  const r = await sql<TagActiveUsers>`${cte}
    SELECT s.tag, count(DISTINCT vt.user_id)::int AS active_users, s.day::text AS date,
      NULL::text AS period_start, NULL::text AS period_end
    FROM (SELECT DISTINCT day, tag, api_key FROM src) s
    JOIN "LiteLLM_VerificationToken" vt ON vt.token = s.api_key AND vt.user_id IS NOT NULL
    GROUP BY s.tag, s.day ORDER BY s.day DESC, active_users DESC, s.tag`.execute(db);
  return { results: r.rows };
}

/** Periods of `len` days counted back from `end` (LiteLLM's: UTC today + 1 day, included). */
async function periodActiveUsers(
  db: Db,
  scope: Scope,
  f: Filters,
  len: number,
  count: number,
  label: (offset: RawBuilder<unknown>, periodStart: RawBuilder<unknown>) => RawBuilder<unknown>,
): Promise<{ results: TagActiveUsers[] }> {
  const end = addDays(today(), 1);
  const start = addDays(end, -(len * count - 1));
  const cte = await activitySourceSql(db, true, start, end, conds(scope, f));
  const offset = sql`((${end}::date - s.day) / ${len}::int)`;
  const r = await sql<TagActiveUsers>`${cte}
    SELECT tag, active_users, ${label(sql.raw("p.o"), sql`(${end}::date - p.o * ${len}::int - ${len - 1}::int)`)} AS date,
      (${end}::date - p.o * ${len}::int - ${len - 1}::int)::text AS period_start, (${end}::date - p.o * ${len}::int)::text AS period_end
    FROM (SELECT s.tag, ${offset} AS o, count(DISTINCT vt.user_id)::int AS active_users
      FROM (SELECT DISTINCT day, tag, api_key FROM src) s
      JOIN "LiteLLM_VerificationToken" vt ON vt.token = s.api_key AND vt.user_id IS NOT NULL
      GROUP BY 1, 2) p
    WHERE p.o < ${count}::int
    ORDER BY p.o DESC, active_users DESC, tag`.execute(db);
  return { results: r.rows };
}

/** GET /tag/wau: the last 7 weeks of 7 days ending on UTC today + 1 day, labelled 'Week N (Mon DD)'. */
export const tagWau = (db: Db, scope: Scope, i: z.output<typeof tagWauInput>) =>
  periodActiveUsers(
    db,
    scope,
    i,
    7,
    7,
    (o, ps) => sql`'Week ' || (7 - ${o})::text || ' (' || to_char(${ps}, 'Mon DD') || ')'`,
  );

/** GET /tag/mau: the last `months` periods of 30 days ending on UTC today + 1 day, labelled 'Mon YYYY'. */
export const tagMau = (db: Db, scope: Scope, i: z.output<typeof tagMauInput>) =>
  periodActiveUsers(db, scope, i, 30, i.months, (_o, ps) => sql`to_char(${ps}, 'Mon YYYY')`);

export interface TagSummary {
  tag: string;
  unique_users: number;
  total_requests: number;
  successful_requests: number;
  failed_requests: number;
  total_tokens: number;
  total_spend: number;
}

/** GET /tag/summary: per tag over the whole UTC days [start_date, end_date], most requests first. */
export async function tagSummary(
  db: Db,
  scope: Scope,
  i: z.output<typeof tagSummaryInput>,
): Promise<{ results: TagSummary[] }> {
  const cte = await activitySourceSql(db, true, i.start_date, i.end_date, conds(scope, i));
  const r = await sql<TagSummary>`${cte}
    SELECT s.tag, count(DISTINCT vt.user_id)::int AS unique_users, sum(s.requests)::float8 AS total_requests,
      sum(s.successful_requests)::float8 AS successful_requests, sum(s.failed_requests)::float8 AS failed_requests,
      sum(s.prompt_tokens + s.completion_tokens)::float8 AS total_tokens, sum(s.spend)::float8 AS total_spend
    FROM (SELECT tag, api_key, sum(requests) AS requests, sum(successful_requests) AS successful_requests,
        sum(failed_requests) AS failed_requests, sum(prompt_tokens) AS prompt_tokens,
        sum(completion_tokens) AS completion_tokens, sum(spend) AS spend
      FROM src GROUP BY 1, 2) s
    LEFT JOIN "LiteLLM_VerificationToken" vt ON vt.token = s.api_key
    GROUP BY s.tag ORDER BY total_requests DESC, s.tag`.execute(db);
  return { results: r.rows };
}

/** GET /tag/distinct: User-Agent tags and tags without a ':' (at most 250), most requested first. */
export async function tagDistinct(db: Db, scope: Scope): Promise<{ results: { tag: string }[] }> {
  const cte = await activitySourceSql(db, true, "0001-01-01", "9999-12-30", conds(scope, {}));
  const r = await sql<{ tag: string }>`${cte}
    SELECT tag FROM src WHERE tag LIKE 'User-Agent:%' OR tag NOT LIKE '%:%'
    GROUP BY tag ORDER BY sum(requests) DESC, tag LIMIT 250`.execute(db);
  return { results: r.rows };
}

export interface PerUserMetrics {
  user_id: string;
  user_email: string | null;
  user_agent: string | null;
  successful_requests: number;
  failed_requests: number;
  total_requests: number;
  total_tokens: number;
  spend: number;
}

/**
 * GET /tag/user-agent/per-user-analytics: per key owner over the 31 UTC days ending on today + 1 day,
 * most successful requests first (ties by user_id), paginated. `user_agent` is the owner's first tag in
 * text order (LiteLLM keeps whichever row it met first).
 */
export async function tagPerUserAnalytics(
  db: Db,
  scope: Scope,
  i: z.output<typeof tagPerUserInput>,
): Promise<{
  results: PerUserMetrics[];
  total_count: number;
  page: number;
  page_size: number;
  total_pages: number;
}> {
  const end = addDays(today(), 1);
  const filters: Filters = { tag_filter: i.tag_filter, tag_filters: i.tag_filters };
  const cte = await activitySourceSql(db, true, addDays(end, -30), end, conds(scope, filters));
  const r = await sql<PerUserMetrics & { n: number }>`${cte},
    per_user AS MATERIALIZED (
      SELECT vt.user_id, min(u.user_email) AS user_email, min(s.tag) AS user_agent,
        sum(s.successful_requests)::float8 AS successful_requests, sum(s.failed_requests)::float8 AS failed_requests,
        sum(s.requests)::float8 AS total_requests, sum(s.prompt_tokens + s.completion_tokens)::float8 AS total_tokens,
        sum(s.spend)::float8 AS spend
      FROM src s JOIN "LiteLLM_VerificationToken" vt ON vt.token = s.api_key AND vt.user_id IS NOT NULL
      LEFT JOIN "LiteLLM_UserTable" u ON u.user_id = vt.user_id
      GROUP BY vt.user_id)
    SELECT p.*, c.n FROM (SELECT count(*)::int AS n FROM per_user) c
      LEFT JOIN LATERAL (SELECT * FROM per_user ORDER BY successful_requests DESC, user_id
        LIMIT ${i.page_size} OFFSET ${(i.page - 1) * i.page_size}) p ON true`.execute(db);
  const total = r.rows[0]?.n ?? 0;
  return {
    results: r.rows.filter((x) => x.user_id !== null).map(({ n: _n, ...x }) => x),
    total_count: total,
    page: i.page,
    page_size: i.page_size,
    total_pages: Math.ceil(total / i.page_size),
  };
}
