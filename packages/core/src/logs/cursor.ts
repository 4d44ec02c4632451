import { type SelectQueryBuilder, sql } from "kysely";
import { z } from "zod";
import { spendLogColumns } from "../analytics/columns.ts";
import { isRealDate } from "../days.ts";
import type { Db } from "../db/connect.ts";
import type { Database } from "../db/schema.ts";
import { badRequest } from "../errors.ts";
import { narrowToUser, type Scope } from "../scope.ts";
import { isUnstorableText } from "../text.ts";
import { zDateTime, zInt } from "../validation.ts";
import { LOG_ID_FILTERS, zFilter, zSpend } from "./inputs.ts";
import {
  countSpendLogs,
  logFilterOf,
  type SpendLogFilter,
  type SpendLogRow,
  whereSpendLogs,
} from "./query.ts";

/**
 * Keyset (cursor) pagination of spend logs (SPEC §5): newest first, ORDER BY "startTime" DESC,
 * request_id DESC; a page reads only `limit + 1` rows from where the last one stopped, however deep
 * the page is. The exact total is a COUNT with the same filters, run only when asked for.
 */

export const LOGS_PAGE_MAX = 100;

const zBool = z.preprocess(
  (v) => (v === "true" || v === "1" ? true : v === "false" || v === "0" ? false : v),
  z.boolean({ error: "must be true or false" }),
);

/** GET /spendlens/logs query (the filters of /spend/logs/ui, plus end_user, model and tag). */
export const logsPageInput = z
  .object({
    ...LOG_ID_FILTERS,
    team_id: zFilter.optional(),
    end_user: zFilter.optional(),
    model: zFilter.optional(),
    /** One request tag: logs whose request_tags include it. */
    tag: zFilter.optional(),
    min_spend: zSpend.optional(),
    max_spend: zSpend.optional(),
    start_date: zDateTime.optional(),
    end_date: zDateTime.optional(),
    limit: zInt(1, LOGS_PAGE_MAX).default(50),
    cursor: z.string().max(2048, "must be a cursor from a previous page").optional(),
    include_total: zBool.default(false),
  })
  .superRefine((v, ctx) => {
    if (v.start_date !== undefined && v.end_date !== undefined && v.end_date < v.start_date)
      ctx.addIssue({ code: "custom", path: ["end_date"], message: "must not be before start_date" });
  });

export type LogsPageInput = z.input<typeof logsPageInput>;

export interface LogsPage {
  data: SpendLogRow[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
  has_more: boolean;
  /** Every log the filters match (not only those after the cursor); null unless include_total. */
  total: number | null;
  limit: number;
}

/** Where a page stopped: the last row's "startTime" (as the database prints it, exact) and request_id. */
export interface LogsCursor {
  startTime: string;
  requestId: string;
}

const TS_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?(\+00)?$/;

function realTimestamp(s: string): boolean {
  const [y, mo, d, h, mi, se] = s.split(/[- :.+]/).map(Number) as number[];
  // Any stored row's time (LiteLLM writes its own rows): years 0001..9999, not only the input range.
  return y! >= 1 && isRealDate(y!, mo!, d!) && h! < 24 && mi! < 60 && se! < 60;
}

/** base64url of JSON `[startTime, request_id]`. Opaque to callers. */
export function encodeLogsCursor(c: LogsCursor): string {
  return Buffer.from(JSON.stringify([c.startTime, c.requestId]), "utf8").toString("base64url");
}

/** Decodes a cursor; anything that is not one this module made is a 400 naming `cursor`. */
export function decodeLogsCursor(s: string): LogsCursor {
  const bad = () => badRequest("cursor", "is not a valid cursor (pass next_cursor from a previous page)");
  if (!/^[A-Za-z0-9_-]+$/.test(s)) throw bad();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  if (
    !Array.isArray(v) ||
    v.length !== 2 ||
    typeof v[0] !== "string" ||
    typeof v[1] !== "string" ||
    !TS_RE.test(v[0]) ||
    !realTimestamp(v[0]) ||
    v[1].length > 1024 ||
    // Decoded here, after the input's own text check: the request id inside must be storable text too.
    isUnstorableText(v[1])
  )
    throw bad();
  return { startTime: v[0], requestId: v[1] };
}

/**
 * One page of logs, newest first. Internal users see their own logs only; a user_id naming anyone
 * else is a 403. Without `cursor`, the first page.
 */
export async function logsPage(db: Db, scope: Scope, input: LogsPageInput): Promise<LogsPage> {
  const parsed = logsPageInput.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badRequest(issue.path.map(String).join(".") || "input", issue.message);
  }
  const a = parsed.data;
  const s = narrowToUser(scope, a.user_id);
  const after = a.cursor !== undefined ? decodeLogsCursor(a.cursor) : null;
  const filter = logFilterOf(a);
  // end_user and model are in the filter too; countSpendLogs is asked only without them (below).
  const where = <O>(qb: SelectQueryBuilder<Database, "LiteLLM_SpendLogs", O>) =>
    whereSpendLogs(qb, s, filter);

  // The cursor's time is the database's own text of "startTime" (every digit it stores); compared as
  // a row, so an index on ("startTime", request_id) in either direction can serve the page.
  const { startTimeHasZone } = await spendLogColumns(db);
  const tsText = startTimeHasZone
    ? sql<string>`(("startTime" AT TIME ZONE 'UTC')::text || '+00')`
    : sql<string>`"startTime"::text`;
  // The total (when asked) is read beside the page, on its own connection: the two overlap. Both are
  // awaited whatever happens to the other, so no statement outlives the call.
  const counted = a.include_total ? countTotal(db, s, filter, a, where) : null;
  const paged = where(db.selectFrom("LiteLLM_SpendLogs").selectAll())
    .select(tsText.as("__cursor_ts"))
    .$if(after !== null, (x) =>
      x.where(sql<boolean>`("startTime", request_id) < (${after!.startTime}, ${after!.requestId})`),
    )
    .orderBy("startTime", "desc")
    .orderBy("request_id", "desc")
    .limit(a.limit + 1)
    .execute() as Promise<(SpendLogRow & { __cursor_ts: string })[]>;
  const [pageR, totalR] = await Promise.allSettled([paged, counted]);
  if (pageR.status === "rejected") throw pageR.reason;
  if (totalR.status === "rejected") throw totalR.reason;
  const rows = pageR.value;

  const has_more = rows.length > a.limit;
  const page = rows.slice(0, a.limit);
  const last = page[page.length - 1];
  const next_cursor =
    has_more && last ? encodeLogsCursor({ startTime: last.__cursor_ts, requestId: last.request_id }) : null;
  const data = page.map(({ __cursor_ts: _, ...r }) => r as SpendLogRow);

  const total = totalR.value;
  return { data, next_cursor, has_more, total, limit: a.limit };
}

/** How many logs the page's filters match (logsPage's `include_total`). */
async function countTotal(
  db: Db,
  s: Scope,
  filter: SpendLogFilter,
  a: { end_user?: string | undefined; model?: string | undefined },
  where: <O>(
    qb: SelectQueryBuilder<Database, "LiteLLM_SpendLogs", O>,
  ) => SelectQueryBuilder<Database, "LiteLLM_SpendLogs", O>,
): Promise<number> {
  // The filters countSpendLogs knows: a large total from the rollups, exactly (682k logs of one key in
  // a month of the 10M bench: 67 ms as a COUNT, a few ms this way).
  if (a.end_user === undefined && a.model === undefined) return countSpendLogs(db, s, filter);
  const r = await where(
    db.selectFrom("LiteLLM_SpendLogs").select(sql<number>`count(*)::int`.as("n")),
  ).executeTakeFirstOrThrow();
  return r.n;
}
