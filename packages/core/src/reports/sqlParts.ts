import { type RawBuilder, sql } from "kysely";
import { z } from "zod";
import { forbidden } from "../errors.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { dayWindow, type Window, zDay } from "../validation.ts";

/**
 * SQL fragments shared by the activity, report and tag queries. Every value is a bound parameter; the
 * only identifiers are written here in code.
 */

const empty = sql``;

/** `AND "user" = $id` for an internal user's scope; nothing for an admin's. */
export function userCond(scope: Scope, alias?: "l"): RawBuilder<unknown> {
  const user = scopeUserId(scope);
  if (user === null) return empty;
  return alias ? sql`AND l."user" = ${user}` : sql`AND "user" = ${user}`;
}

/** `AND "startTime" >= $from AND "startTime" < $to`: the half-open window, end day included whole. */
export function windowCond(w: Window | null, alias?: "l"): RawBuilder<unknown> {
  if (!w) return empty;
  return alias
    ? sql`AND l."startTime" >= ${w.from} AND l."startTime" < ${w.to}`
    : sql`AND "startTime" >= ${w.from} AND "startTime" < ${w.to}`;
}

/** Tables with no "user" column (LiteLLM_ErrorLogs) can only be read with the all-rows scope. */
export function requireAllScope(scope: Scope, what: string): void {
  if (scope.kind !== "all") throw forbidden(`internal users may not read ${what}`);
}

/** The UTC day of "startTime" as 'YYYY-MM-DD' text (text, so both drivers return the same string). */
export const dayOf = (alias?: "l") =>
  alias
    ? sql<string>`to_char(date_trunc('day', l."startTime"), 'YYYY-MM-DD')`
    : sql<string>`to_char(date_trunc('day', "startTime"), 'YYYY-MM-DD')`;

export const windowOf = (r: { start_date: string; end_date: string }): Window =>
  dayWindow(r.start_date, r.end_date);

/** Optional text filters from a query string: an empty value means "not given", as if absent. */
export const zOptionalText = (max = 512) =>
  z.preprocess(
    (v) => (v === "" || v === null ? undefined : v),
    z.string({ error: "must be text" }).max(max, `must be at most ${max} characters`).optional(),
  );

/** The required start_date/end_date pair, as an object other inputs can spread. */
export const dayRangeShape = { start_date: zDay, end_date: zDay };
