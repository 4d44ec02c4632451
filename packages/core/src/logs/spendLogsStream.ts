import { type RawBuilder, sql } from "kysely";
import { normalizeKeyFilter } from "../auth/hash.ts";
import type { Db } from "../db/connect.ts";
import { isEmbeddedDb, type StreamOptions, streamRowsMerged } from "../db/stream.ts";
import type { SpendDim } from "../rollups/grains.ts";
import { type FilterValue, spendDayRowsSql, windowDaysSql } from "../rollups/query.ts";
import { narrowToUser, type Scope } from "../scope.ts";
import { eachDay } from "../validation.ts";
import type { SpendLogsInput } from "./spendLogs.ts";

/**
 * GET /spend/logs with start_date and end_date (the per-day summary), streamed: one element
 * per day of the range, `{<api_key>: spend, …, "users": {…}, "models": {…}, "spend", "startTime"}`,
 * the original's REST shape (spendLogsRestShape), days without logs included with zero.
 *
 * Read per day from the rollups (a LATERAL over the days: key_daily for keys and users, model_daily
 * for models, detail_daily when an internal user's scope or an api_key filter needs it); a day that is
 * dirty, or whose raw logs were deleted while the rollups kept their totals (delete mode `keep`), is
 * read from the raw logs, so the summary always equals the logs the table holds, like the raw-scan
 * summary it replaces on the REST path. Postgres builds each day's three objects as JSON text.
 *
 * With request_id (one log) the summary stays on the raw logs: `null` here, the caller answers whole.
 */

/** Names the original's REST shape writes after the api_keys (an api_key so named is overwritten there). */
const FIXED = ["users", "models", "spend", "startTime"];

interface DayRow {
  day: string;
  spend: number;
  keys: string | null;
  users: string | null;
  models: string | null;
}

/** `{"name": spend, …}` members of one day: grouped by the name (NULL as the original's JS key), by name. */
function members(src: RawBuilder<unknown>, col: string, nullAs: string, skip: readonly string[] = []) {
  const name = sql.raw(`s.${JSON.stringify(col)}`);
  const where = skip.length ? sql`WHERE g.name <> ALL(${[...skip]}::text[])` : sql``;
  return sql`(SELECT string_agg(to_json(g.name)::text || ':' || to_json(g.spend)::text, ',' ORDER BY g.name)
    FROM (SELECT coalesce(${name}, ${nullAs}) COLLATE "C" AS name, sum(s.spend)::float8 AS spend
      FROM (${src}) s GROUP BY 1) g ${where})`;
}

async function daySql(
  db: Db,
  scope: Scope,
  days: readonly string[],
  filters: Partial<Record<SpendDim, FilterValue>>,
): Promise<RawBuilder<DayRow>> {
  const day = sql`d.day`;
  const dirty = sql`d.dirty`;
  const keys = await spendDayRowsSql(db, scope, { dims: ["api_key", "user"], filters }, day, dirty);
  const models = await spendDayRowsSql(db, scope, { dims: ["model"], filters }, day, dirty);
  return sql<DayRow>`WITH days AS MATERIALIZED (${windowDaysSql(days, { matchRaw: true })})
    SELECT to_char(d.day, 'YYYY-MM-DD') AS day,
      (SELECT coalesce(sum(s.spend), 0)::float8 FROM (${keys}) s) AS spend,
      ${members(keys, "api_key", "null", FIXED)} AS keys,
      ${members(keys, "user", "")} AS users,
      ${members(models, "model", "null")} AS models
    FROM days d`;
}

/**
 * The per-day summary of GET /spend/logs as a stream of its REST elements, or null when the input is
 * not a summary (no date range) or names a request_id. `input` must be parsed (spendLogsInput).
 */
export function spendLogsSummaryStream(
  db: Db,
  scope: Scope,
  input: SpendLogsInput,
  opts: { chunkRows?: number; parallel?: 1 | 2 } = {},
): { items(): AsyncGenerator<string, void, undefined> } | null {
  if (
    input.start_date === undefined ||
    input.end_date === undefined ||
    input.request_id !== undefined ||
    input.summarize === false
  )
    return null;
  const s = narrowToUser(scope, input.user_id);
  const filters: Partial<Record<SpendDim, FilterValue>> = {};
  if (input.api_key !== undefined) filters.api_key = normalizeKeyFilter(input.api_key);
  const days = eachDay(input.start_date, input.end_date);
  const stream: StreamOptions = { settings: { jit: "off", extra_float_digits: "3" } };
  if (opts.chunkRows !== undefined) stream.chunkRows = opts.chunkRows;
  return {
    async *items() {
      const k = Math.min((await isEmbeddedDb(db)) ? 1 : (opts.parallel ?? 2), days.length);
      const stmts: RawBuilder<DayRow>[] = [];
      for (let j = 0; j < k; j++)
        stmts.push(
          await daySql(
            db,
            s,
            days.filter((_, i) => i % k === j),
            filters,
          ),
        );
      const byDay = (a: DayRow, b: DayRow) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0);
      for await (const rows of streamRowsMerged(db, stmts, byDay, stream)) {
        for (const r of rows) {
          yield `{${r.keys ? `${r.keys},` : ""}"users":{${r.users ?? ""}},"models":{${r.models ?? ""}},"spend":${JSON.stringify(r.spend)},"startTime":${JSON.stringify(r.day)}}`;
        }
      }
    },
  };
}
