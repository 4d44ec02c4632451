import { sql } from "kysely";
import { z } from "zod";
import type { Db } from "../db/connect.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { zDateTime, zInt } from "../validation.ts";
import { zFilter } from "./inputs.ts";
import type { SpendLogRow } from "./query.ts";
import { MAX_LOGS_PAGE, pageOf, type SpendLogsPage, spendLogsUiInput } from "./spendLogsUi.ts";

/**
 * The Logs page's other calls: one log with its payload (`/spend/logs/ui/{request_id}`), a session's
 * logs (`/spend/logs/session/ui`), and `/spend/logs/v2` (the logs/ui query with day or datetime bounds).
 */

const DAY_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** GET /spend/logs/ui/{request_id}: the optional window only narrows where the log is looked for. */
export const spendLogDetailInput = z.object({
  request_id: zFilter,
  start_date: zDateTime.optional(),
  end_date: zDateTime.optional(),
});
export type SpendLogDetailInput = z.output<typeof spendLogDetailInput>;

/**
 * One log, every column (messages, response, proxy_server_request and metadata included), or null when
 * there is none the caller may see (LiteLLM answers null too). Internal users: their own logs only.
 */
export async function spendLogDetail(
  db: Db,
  scope: Scope,
  input: SpendLogDetailInput,
): Promise<SpendLogRow | null> {
  const user = scopeUserId(scope);
  const row = await db
    .selectFrom("LiteLLM_SpendLogs")
    .selectAll()
    .where("request_id", "=", input.request_id)
    .$if(user !== null, (q) => q.where("user", "=", user))
    .$if(input.start_date !== undefined, (q) => q.where("startTime", ">=", input.start_date!))
    .$if(input.end_date !== undefined, (q) => q.where("startTime", "<=", input.end_date!))
    .executeTakeFirst();
  return (row as SpendLogRow | undefined) ?? null;
}

/** GET /spend/logs/session/ui. */
export const spendLogsSessionInput = z.object({
  session_id: zFilter,
  start_date: zDateTime.optional(),
  end_date: zDateTime.optional(),
  page: zInt(1, MAX_LOGS_PAGE).default(1),
  page_size: zInt(1, 100).default(50),
});
export type SpendLogsSessionInput = z.output<typeof spendLogsSessionInput>;

/** A session's logs in the order they happened (oldest first), paginated; internal users: their own. */
export async function spendLogsSession(
  db: Db,
  scope: Scope,
  input: SpendLogsSessionInput,
): Promise<SpendLogsPage> {
  const user = scopeUserId(scope);
  const base = db
    .selectFrom("LiteLLM_SpendLogs")
    .where("session_id", "=", input.session_id)
    .$if(user !== null, (q) => q.where("user", "=", user))
    .$if(input.start_date !== undefined, (q) => q.where("startTime", ">=", input.start_date!))
    .$if(input.end_date !== undefined, (q) => q.where("startTime", "<=", input.end_date!));
  const offset = (input.page - 1) * input.page_size;
  const data = (await base
    .selectAll()
    .orderBy("startTime", "asc")
    .orderBy("request_id", "asc")
    .limit(input.page_size)
    .offset(offset)
    .execute()) as SpendLogRow[];
  return pageOf(
    data,
    input,
    async () => (await base.select(sql<number>`count(*)::int`.as("n")).executeTakeFirstOrThrow()).n,
  );
}

/**
 * GET /spend/logs/v2: /spend/logs/ui's query and answer, with `start_date` / `end_date` given either as
 * a datetime or as a day (the start day from its midnight, the end day whole).
 */
export const spendLogsV2Input = z.preprocess((v) => {
  if (!v || typeof v !== "object") return v;
  const o = { ...(v as Record<string, unknown>) };
  if (typeof o.start_date === "string" && DAY_ONLY.test(o.start_date))
    o.start_date = `${o.start_date} 00:00:00`;
  if (typeof o.end_date === "string" && DAY_ONLY.test(o.end_date))
    o.end_date = `${o.end_date} 23:59:59.999999`;
  return o;
}, spendLogsUiInput);
