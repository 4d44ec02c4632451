/**
 * The original's SQL for each route, as the original (LiteLLM's spend_management_endpoints.py) runs it,
 * with LiteLLM's views inlined where the original reads a view (the views may be missing in a real
 * database; their definitions are LiteLLM's). Values are bound as the original binds them.
 *
 * Where the original's SQL cannot run on the demo data, or its answer is deliberately different from
 * spendlens's, `fix` says what was changed for the side-by-side (timing runs the same shape):
 * - jsonb_array_elements_text fails on a non-array request_tags ("cannot extract elements from an
 *   object"; 0.1% of demo rows, as in old LiteLLM data): the tag queries skip non-arrays.
 * - some queries stop at the end date's midnight; spendlens includes the whole end day: the compared
 *   query does too.
 * Prisma calls (/spend/logs/ui, /spend/logs, /spend/keys, /spend/users) are written as the SQL Prisma
 * sends for them.
 */

export interface OriginalQuery {
  text: string;
  values: unknown[];
  /** What differs from the original's text, if anything. */
  fix?: string;
}

// LiteLLM's views.
const MONTHLY_GLOBAL_SPEND = `SELECT DATE("startTime") AS date, SUM("spend") AS spend
  FROM "LiteLLM_SpendLogs" WHERE "startTime" >= (CURRENT_DATE - INTERVAL '30 days')
  GROUP BY DATE("startTime")`;
const MONTHLY_GLOBAL_SPEND_PER_KEY = `SELECT DATE("startTime") AS date, SUM("spend") AS spend, api_key
  FROM "LiteLLM_SpendLogs" WHERE "startTime" >= (CURRENT_DATE - INTERVAL '30 days')
  GROUP BY DATE("startTime"), api_key`;
const LAST_30D_KEYS_BY_SPEND = `SELECT L."api_key", V."key_alias", V."key_name", SUM(L."spend") AS total_spend
  FROM "LiteLLM_SpendLogs" L LEFT JOIN "LiteLLM_VerificationToken" V ON L."api_key" = V."token"
  WHERE L."startTime" >= (CURRENT_DATE - INTERVAL '30 days')
  GROUP BY L."api_key", V."key_alias", V."key_name" ORDER BY total_spend DESC`;
const LAST_30D_MODELS_BY_SPEND = `SELECT "model", SUM("spend") AS total_spend FROM "LiteLLM_SpendLogs"
  WHERE "startTime" >= (CURRENT_DATE - INTERVAL '30 days') AND "model" != ''
  GROUP BY "model" ORDER BY total_spend DESC`;
/** DailyTagSpend, guarded against non-array request_tags (see the top of this file). */
const DAILY_TAG_SPEND = `SELECT jsonb_array_elements_text(request_tags) AS individual_request_tag,
    DATE(s."startTime") AS spend_date, COUNT(*) AS log_count, SUM(spend) AS total_spend
  FROM "LiteLLM_SpendLogs" s WHERE jsonb_typeof(request_tags) = 'array'
  GROUP BY individual_request_tag, DATE(s."startTime")`;
/**
 * LiteLLM's `/global/spend/report` per day for team and customer: the rows of `spendByModelApiKey` (per day,
 * `name`, model and key) folded into one row a day holding a list (`list`) of `name`s, each with its
 * total and its models and keys. `name` and `list` are this file's constants.
 */
const spendReportByDay = (spendByModelApiKey: string, name: string, list: string) =>
  `WITH SpendByModelApiKey AS (
        ${spendByModelApiKey})
      SELECT group_by_day, jsonb_agg(jsonb_build_object('${name}', ${name}, 'total_spend', total_spend, 'metadata', metadata)) AS ${list}
      FROM (SELECT group_by_day, ${name}, SUM(model_api_spend) AS total_spend,
          jsonb_agg(jsonb_build_object('model', model, 'api_key', api_key, 'spend', model_api_spend, 'total_tokens', model_api_tokens)) AS metadata
        FROM SpendByModelApiKey GROUP BY group_by_day, ${name}) AS aggregated
      GROUP BY group_by_day ORDER BY group_by_day`;
/**
 * LiteLLM's /spend/logs/ui page 1 (50 rows) for the window, of one key when `apiKey` is given. Prisma:
 * count(where) then find_many(where, order startTime desc, skip, take).
 */
function logsUiPage(c: Ctx, apiKey?: string): OriginalQuery[] {
  const where = `"startTime" >= $1 AND "startTime" <= $2${apiKey === undefined ? "" : " AND api_key = $3"}`;
  const values = [`${c.start}T00:00:00Z`, `${c.end}T23:59:59Z`, ...(apiKey === undefined ? [] : [apiKey])];
  return [
    { text: `SELECT COUNT(*) AS total FROM "LiteLLM_SpendLogs" WHERE ${where}`, values },
    {
      text: `SELECT * FROM "LiteLLM_SpendLogs" WHERE ${where}
        ORDER BY "startTime" DESC OFFSET 0 LIMIT 50`,
      values,
    },
  ];
}
const TAGS_FIX = "non-array request_tags skipped (the original's query errors on them)";
const END_DAY_FIX = "end date includes its whole day (the original's stops at its midnight)";

export interface Ctx {
  start: string;
  end: string;
  /** `end` + 1 day. */
  endNext: string;
  nowIso: string;
  monthAgoIso: string;
  modelGroup: string;
  apiKey: string;
}

/** The bench data's busiest 429 model group and its top key of the last 30 days (the routes' samples). */
export const CTX_SAMPLE_SQL = `SELECT
    (SELECT model_group FROM spendlens.error_daily WHERE status_code = '429' GROUP BY model_group ORDER BY sum(errors) DESC LIMIT 1) AS model_group,
    (SELECT api_key FROM spendlens.key_daily WHERE day >= CURRENT_DATE - 30 GROUP BY api_key ORDER BY sum(spend) DESC LIMIT 1) AS api_key`;

const isoDay = (d: Date) => d.toISOString().slice(0, 10);
const plusDays = (d: string, n: number) => isoDay(new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000));

/** The 30 days ending on `now`'s UTC day, and CTX_SAMPLE_SQL's row (defaults when the data has none). */
export function benchContext(
  now: Date,
  sample: { model_group: string | null; api_key: string | null } | undefined,
): Ctx {
  const end = isoDay(now);
  return {
    start: plusDays(end, -29),
    end,
    endNext: plusDays(end, 1),
    nowIso: now.toISOString(),
    monthAgoIso: new Date(now.getTime() - 30 * 86_400_000).toISOString(),
    modelGroup: sample?.model_group ?? "gpt-4o",
    apiKey: sample?.api_key ?? "",
  };
}

export const ORIGINAL: Record<string, (c: Ctx) => OriginalQuery | OriginalQuery[]> = {
  "/global/spend": () => ({
    text: `SELECT SUM(spend) AS total_spend FROM (${MONTHLY_GLOBAL_SPEND}) m`,
    values: [],
  }),
  "/global/activity": (c) => ({
    text: `SELECT date_trunc('day', "startTime") AS date, COUNT(*) AS api_requests, SUM(total_tokens) AS total_tokens
      FROM "LiteLLM_SpendLogs" WHERE "startTime" BETWEEN $1::date AND $2::date + interval '1 day'
      GROUP BY date_trunc('day', "startTime")`,
    values: [c.start, c.end],
  }),
  "/global/activity/model": (c) => ({
    text: `SELECT model_group, date_trunc('day', "startTime") AS date, COUNT(*) AS api_requests, SUM(total_tokens) AS total_tokens
      FROM "LiteLLM_SpendLogs" WHERE "startTime" BETWEEN $1::date AND $2::date + interval '1 day'
      GROUP BY model_group, date_trunc('day', "startTime")`,
    values: [c.start, c.end],
  }),
  "/global/activity/exceptions": (c) => ({
    text: `SELECT date_trunc('day', "startTime")::date AS date, COUNT(*) AS num_rate_limit_exceptions
      FROM "LiteLLM_ErrorLogs" WHERE "startTime" >= $1::date AND "startTime" < ($2::date + INTERVAL '1 day')
        AND model_group = $3 AND status_code = '429'
      GROUP BY date_trunc('day', "startTime") ORDER BY date`,
    values: [c.start, c.end, c.modelGroup],
  }),
  "/global/activity/exceptions/deployment": (c) => ({
    text: `SELECT api_base, date_trunc('day', "startTime")::date AS date, COUNT(*) AS num_rate_limit_exceptions
      FROM "LiteLLM_ErrorLogs" WHERE "startTime" >= $1::date AND "startTime" < ($2::date + INTERVAL '1 day')
        AND model_group = $3 AND status_code = '429'
      GROUP BY api_base, date_trunc('day', "startTime") ORDER BY date`,
    values: [c.start, c.end, c.modelGroup],
  }),
  "/global/spend/provider": (c) => ({
    text: `SELECT model_id, SUM(spend) AS spend FROM "LiteLLM_SpendLogs"
      WHERE "startTime" BETWEEN $1::date AND $2::date AND length(model_id) > 0 GROUP BY model_id`,
    values: [c.start, c.endNext],
    fix: END_DAY_FIX,
  }),
  "/global/spend/report?group_by=team": (c) => ({
    text: spendReportByDay(
      `SELECT date_trunc('day', sl."startTime") AS group_by_day, COALESCE(tt.team_alias, 'Unassigned Team') AS team_name,
          sl.model, sl.api_key, SUM(sl.spend) AS model_api_spend, SUM(sl.total_tokens) AS model_api_tokens
        FROM "LiteLLM_SpendLogs" sl LEFT JOIN "LiteLLM_TeamTable" tt ON sl.team_id = tt.team_id
        WHERE sl."startTime" BETWEEN $1::date AND $2::date
        GROUP BY date_trunc('day', sl."startTime"), tt.team_alias, sl.model, sl.api_key`,
      "team_name",
      "teams",
    ),
    values: [c.start, c.endNext],
    fix: END_DAY_FIX,
  }),
  "/global/spend/report?group_by=customer": (c) => ({
    text: spendReportByDay(
      `SELECT date_trunc('day', sl."startTime") AS group_by_day, sl.end_user AS customer, sl.model, sl.api_key,
          SUM(sl.spend) AS model_api_spend, SUM(sl.total_tokens) AS model_api_tokens
        FROM "LiteLLM_SpendLogs" sl WHERE sl."startTime" BETWEEN $1::date AND $2::date
        GROUP BY date_trunc('day', sl."startTime"), customer, sl.model, sl.api_key`,
      "customer",
      "customers",
    ),
    values: [c.start, c.endNext],
    fix: END_DAY_FIX,
  }),
  "/global/spend/report?group_by=api_key": (c) => ({
    text: `WITH SpendByModelApiKey AS (
        SELECT sl.api_key, sl.model, SUM(sl.spend) AS model_cost, SUM(sl.prompt_tokens) AS model_input_tokens,
          SUM(sl.completion_tokens) AS model_output_tokens
        FROM "LiteLLM_SpendLogs" sl WHERE sl."startTime" BETWEEN $1::date AND $2::date
        GROUP BY sl.api_key, sl.model)
      SELECT api_key, SUM(model_cost) AS total_cost, SUM(model_input_tokens) AS total_input_tokens,
        SUM(model_output_tokens) AS total_output_tokens,
        jsonb_agg(jsonb_build_object('model', model, 'total_cost', model_cost, 'total_input_tokens', model_input_tokens,
          'total_output_tokens', model_output_tokens)) AS model_details
      FROM SpendByModelApiKey GROUP BY api_key ORDER BY total_cost DESC`,
    values: [c.start, c.endNext],
    fix: END_DAY_FIX,
  }),
  "/global/spend/all_tag_names": () => ({
    text: `SELECT DISTINCT jsonb_array_elements_text(request_tags) AS individual_request_tag
      FROM "LiteLLM_SpendLogs" WHERE jsonb_typeof(request_tags) = 'array'`,
    values: [],
    fix: TAGS_FIX,
  }),
  "/global/spend/tags": (c) => ({
    text: `SELECT individual_request_tag, spend_date, log_count, total_spend FROM (${DAILY_TAG_SPEND}) d
      WHERE spend_date >= $1::date AND spend_date <= $2::date ORDER BY total_spend DESC`,
    values: [c.start, c.end],
    fix: TAGS_FIX,
  }),
  "/spend/tags": () => ({
    text: `SELECT jsonb_array_elements_text(request_tags) AS individual_request_tag, COUNT(*) AS log_count,
        SUM(spend) AS total_spend
      FROM "LiteLLM_SpendLogs" WHERE jsonb_typeof(request_tags) = 'array' GROUP BY individual_request_tag`,
    values: [],
    fix: TAGS_FIX,
  }),
  "/spend/logs/ui": (c) => logsUiPage(c),
  // Prisma group_by(by=[api_key, user, model, startTime], where startTime between, sum spend).
  "/spend/logs": (c) => ({
    text: `SELECT api_key, "user", model, "startTime", SUM(spend) AS spend FROM "LiteLLM_SpendLogs"
      WHERE "startTime" >= $1::date AND "startTime" <= $2::date GROUP BY api_key, "user", model, "startTime"`,
    values: [c.start, c.endNext],
    fix: END_DAY_FIX,
  }),
  "/global/spend/logs": () => ({
    text: `SELECT * FROM (${MONTHLY_GLOBAL_SPEND}) m ORDER BY "date"`,
    values: [],
  }),
  "/global/spend/logs?api_key": (c) => ({
    text: `SELECT * FROM (${MONTHLY_GLOBAL_SPEND_PER_KEY}) m WHERE "api_key" = $1 ORDER BY "date"`,
    values: [c.apiKey],
  }),
  "/global/spend/keys": () => ({ text: `SELECT * FROM (${LAST_30D_KEYS_BY_SPEND}) v LIMIT 10`, values: [] }),
  "/global/spend/models": () => ({
    text: `SELECT * FROM (${LAST_30D_MODELS_BY_SPEND}) v LIMIT 10`,
    values: [],
  }),
  "/global/spend/teams": () => ({
    text: `SELECT t.team_alias AS team_alias, DATE(s."startTime") AS spend_date, SUM(s.spend) AS total_spend
      FROM "LiteLLM_SpendLogs" s LEFT JOIN "LiteLLM_TeamTable" t ON s.team_id = t.team_id
      WHERE s."startTime" >= CURRENT_DATE - INTERVAL '30 days'
      GROUP BY t.team_alias, DATE(s."startTime") ORDER BY spend_date`,
    values: [],
  }),
  "/global/all_end_users": () => ({ text: `SELECT DISTINCT end_user FROM "LiteLLM_SpendLogs"`, values: [] }),
  "/global/spend/end_users": (c) => ({
    text: `SELECT end_user, COUNT(*) AS total_count, SUM(spend) AS total_spend FROM "LiteLLM_SpendLogs"
      WHERE "startTime" >= $1::timestamp AND "startTime" < $2::timestamp
        AND (CASE WHEN $3::TEXT IS NULL THEN TRUE ELSE api_key = $3 END)
      GROUP BY end_user ORDER BY total_spend DESC LIMIT 100`,
    values: [c.monthAgoIso, c.nowIso, null],
  }),
  // The original's UI page for the same window, for the keyset page (the original has no keyset page).
  "/spendlens/logs": (c) => logsUiPage(c),
  "/spendlens/logs?api_key": (c) => logsUiPage(c, c.apiKey),
  // No route in the original: the same question as plain SQL over the raw logs.
  "/spendlens/analytics": (c) => ({
    text: `SELECT model_group, date_trunc('day', "startTime") AS day, COUNT(*) AS requests, SUM(spend) AS spend
      FROM "LiteLLM_SpendLogs" WHERE "startTime" >= $1::date AND "startTime" < $2::date GROUP BY 1, 2`,
    values: [c.start, c.endNext],
  }),
  "/spend/keys": () => ({ text: `SELECT * FROM "LiteLLM_VerificationToken"`, values: [] }),
  "/spend/users": () => ({ text: `SELECT * FROM "LiteLLM_UserTable"`, values: [] }),
};
