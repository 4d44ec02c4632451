import { z } from "zod";
import { normalizeKeyFilter } from "../auth/hash.ts";
import { now } from "../clock.ts";
import type { Db } from "../db/connect.ts";
import { badRequest } from "../errors.ts";
import { zFilter } from "../logs/inputs.ts";
import { distinctEndUsers } from "../rollups/distinct.ts";
import { spendTotals } from "../rollups/query.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { addDays, dayStart, last30DaysFrom, OUT_OF_RANGE, zDateTime, zDay } from "../validation.ts";
import { topEndUsersByWeeks } from "./endUserWeeks.ts";

/**
 * GET /global/all_end_users: every distinct end user of the spend logs (logs without one are not an
 * end user and are left out).
 */
export async function globalAllEndUsers(db: Db, scope: Scope): Promise<{ end_users: string[] }> {
  // All time: a skip scan of end_user_daily's (end_user, day) index, one probe per end user.
  return { end_users: await distinctEndUsers(db, scope) };
}

export const TOP_END_USERS = 100;

/** A bound of the end-users window: a day (`YYYY-MM-DD`) or a UTC datetime. */
const zBound = z
  .string({ error: "must be a date YYYY-MM-DD or a UTC datetime YYYY-MM-DD HH:MM:SS" })
  .transform((s, ctx) => {
    if (zDay.safeParse(s).success) return { kind: "day" as const, day: s };
    const t = zDateTime.safeParse(s);
    if (t.success) return { kind: "instant" as const, iso: t.data };
    // A well-formed day or datetime outside the supported range says so; anything else names both forms.
    const range = [...(zDay.safeParse(s).error?.issues ?? []), ...(t.error?.issues ?? [])].find((i) =>
      i.message.startsWith(OUT_OF_RANGE),
    );
    ctx.addIssue({
      code: "custom",
      message: range?.message ?? "must be a date YYYY-MM-DD or a UTC datetime YYYY-MM-DD HH:MM:SS",
    });
    return z.NEVER;
  });

/** POST /global/spend/end_users body (the original's GlobalEndUsersSpend: startTime, endTime, api_key). */
export const globalSpendEndUsersInput = z
  .object({
    startTime: zBound.optional().nullable(),
    endTime: zBound.optional().nullable(),
    api_key: zFilter.optional().nullable(),
  })
  .optional()
  .nullable();
export type GlobalSpendEndUsersInput = z.output<typeof globalSpendEndUsersInput>;

export interface EndUserSpendRow {
  end_user: string;
  total_count: number;
  total_spend: number;
}

/**
 * POST /global/spend/end_users: the top 100 end users by spend in [startTime, endTime), optionally for
 * one key (raw sk- keys are hashed). Defaults: startTime = UTC midnight 30 days ago, endTime = now.
 * A day given as endTime includes that whole day; a datetime is an exclusive end, as in the original.
 */
export async function globalSpendEndUsers(
  db: Db,
  scope: Scope,
  input: GlobalSpendEndUsersInput,
): Promise<EndUserSpendRow[]> {
  const start = input?.startTime;
  const end = input?.endTime;
  const from = !start ? last30DaysFrom(now()) : start.kind === "day" ? dayStart(start.day) : start.iso;
  const to = !end ? now().toISOString() : end.kind === "day" ? dayStart(addDays(end.day, 1)) : end.iso;
  // A day as endTime includes that day whole, so a day before startTime's day gives to <= from.
  if (to < from || (end?.kind === "day" && to <= from))
    throw badRequest(
      "endTime",
      `endTime must not be before startTime (the window is [${from}, ${to})${
        !start || !end ? "; defaults: startTime = UTC midnight 30 days ago, endTime = now" : ""
      })`,
    );
  const key = input?.api_key != null ? normalizeKeyFilter(input.api_key) : undefined;
  // Ranked in the database; NULL and '' (not end users) are dropped here, so ask for two more rows.
  // An admin's read without a key filter reads rollups only (weeks, days, hours) and ≤ 30 minutes of raw
  // logs at each cut of the window (endUserWeeks.ts); other reads go through the planner.
  const rows =
    key === undefined && scopeUserId(scope) === null
      ? await topEndUsersByWeeks(db, from, to, TOP_END_USERS + 2)
      : await spendTotals(db, scope, {
          window: { from, to },
          dims: ["end_user"],
          ...(key !== undefined ? { filters: { api_key: key } } : {}),
          orderBy: [{ by: "spend", desc: true }, { by: "end_user" }],
          limit: TOP_END_USERS + 2,
        });
  return rows
    .filter((r) => r.end_user != null && r.end_user !== "")
    .slice(0, TOP_END_USERS)
    .map((r) => ({ end_user: r.end_user as string, total_count: r.requests, total_spend: r.spend }));
}
