import { type Selectable, type SelectQueryBuilder, sql } from "kysely";
import type { Db } from "../db/connect.ts";
import type { Database, SpendLogsTable } from "../db/schema.ts";
import { type Scope, scopeUserId } from "../scope.ts";

/**
 * The one place spend-log rows are listed. /spend/logs/ui and the list modes of /spend/logs both go
 * through `querySpendLogs` and `countSpendLogs`, so keyset pagination and indexes can be added here
 * without touching the endpoints.
 */

/** A LiteLLM_SpendLogs row as stored (a real LiteLLM database has more columns; they come back too). */
export type SpendLogRow = Selectable<SpendLogsTable> & Record<string, unknown>;

/** Filters on spend logs. Every field is optional; `api_key` must already be hashed. */
export interface SpendLogFilter {
  api_key?: string | undefined;
  request_id?: string | undefined;
  team_id?: string | undefined;
  min_spend?: number | undefined;
  max_spend?: number | undefined;
  /** "startTime" >= from (ISO). */
  from?: string | undefined;
  /** "startTime" <= toInclusive (ISO), the seed's logs/ui end bound. */
  toInclusive?: string | undefined;
}

type LogsQuery<O> = SelectQueryBuilder<Database, "LiteLLM_SpendLogs", O>;

/** Applies the caller's scope and the filters. Every value is a bound parameter. */
export function whereSpendLogs<O>(qb: LogsQuery<O>, scope: Scope, f: SpendLogFilter): LogsQuery<O> {
  const user = scopeUserId(scope);
  return qb
    .$if(user !== null, (q) => q.where("user", "=", user))
    .$if(f.api_key !== undefined, (q) => q.where("api_key", "=", f.api_key!))
    .$if(f.request_id !== undefined, (q) => q.where("request_id", "=", f.request_id!))
    .$if(f.team_id !== undefined, (q) => q.where("team_id", "=", f.team_id!))
    .$if(f.min_spend !== undefined, (q) => q.where("spend", ">=", f.min_spend!))
    .$if(f.max_spend !== undefined, (q) => q.where("spend", "<=", f.max_spend!))
    .$if(f.from !== undefined, (q) => q.where("startTime", ">=", f.from!))
    .$if(f.toInclusive !== undefined, (q) => q.where("startTime", "<=", f.toInclusive!));
}

/**
 * One page of logs, newest first ("startTime" DESC, request_id DESC, so equal times keep a stable
 * order). Only `limit` rows are ever read from the database.
 */
export async function querySpendLogs(
  db: Db,
  scope: Scope,
  filter: SpendLogFilter,
  page: { limit: number; offset: number },
): Promise<SpendLogRow[]> {
  const rows = await whereSpendLogs(db.selectFrom("LiteLLM_SpendLogs").selectAll(), scope, filter)
    .orderBy("startTime", "desc")
    .orderBy("request_id", "desc")
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  return rows as SpendLogRow[];
}

/** How many logs match (the same scope and filters as `querySpendLogs`). */
export async function countSpendLogs(db: Db, scope: Scope, filter: SpendLogFilter): Promise<number> {
  const r = await whereSpendLogs(
    db.selectFrom("LiteLLM_SpendLogs").select(sql<number>`count(*)::int`.as("n")),
    scope,
    filter,
  ).executeTakeFirstOrThrow();
  return r.n;
}
