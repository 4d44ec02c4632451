import { sql } from "kysely";
import { z } from "zod";
import { normalizeKeyFilter } from "../auth/hash.ts";
import { now } from "../clock.ts";
import type { Db } from "../db/connect.ts";
import { badRequest } from "../errors.ts";
import { zFilter } from "../logs/inputs.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { addDays, dayStart, last30DaysFrom, zDateTime, zDay } from "../validation.ts";

/**
 * GET /global/all_end_users: every distinct end user of the spend logs (logs without one are not an
 * end user and are left out).
 */
export async function globalAllEndUsers(db: Db, scope: Scope): Promise<{ end_users: string[] }> {
  const user = scopeUserId(scope);
  const rows = await db
    .selectFrom("LiteLLM_SpendLogs")
    .select("end_user")
    .distinct()
    .where("end_user", "is not", null)
    .where("end_user", "<>", "")
    .$if(user !== null, (q) => q.where("user", "=", user))
    .orderBy("end_user")
    .execute();
  return { end_users: rows.map((r) => r.end_user as string) };
}

export const TOP_END_USERS = 100;

/** A bound of the end-users window: a day (`YYYY-MM-DD`) or a UTC datetime. */
const zBound = z
  .string({ error: "must be a date YYYY-MM-DD or a UTC datetime YYYY-MM-DD HH:MM:SS" })
  .transform((s, ctx) => {
    if (zDay.safeParse(s).success) return { kind: "day" as const, day: s };
    const t = zDateTime.safeParse(s);
    if (t.success) return { kind: "instant" as const, iso: t.data };
    ctx.addIssue({
      code: "custom",
      message: "must be a date YYYY-MM-DD or a UTC datetime YYYY-MM-DD HH:MM:SS",
    });
    return z.NEVER;
  });

/** POST /global/spend/end_users body (the seed's GlobalEndUsersSpend: startTime, endTime, api_key). */
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
 * A day given as endTime includes that whole day; a datetime is an exclusive end, as in the seed.
 */
export async function globalSpendEndUsers(
  db: Db,
  scope: Scope,
  input: GlobalSpendEndUsersInput,
): Promise<EndUserSpendRow[]> {
  const user = scopeUserId(scope);
  const start = input?.startTime;
  const end = input?.endTime;
  const from = !start ? last30DaysFrom(now()) : start.kind === "day" ? dayStart(start.day) : start.iso;
  const to = !end ? now().toISOString() : end.kind === "day" ? dayStart(addDays(end.day, 1)) : end.iso;
  if (to < from)
    throw badRequest(
      "endTime",
      "must not be before startTime (defaults: startTime = UTC midnight 30 days ago, endTime = now)",
    );
  const key = input?.api_key != null ? normalizeKeyFilter(input.api_key) : undefined;
  const rows = await db
    .selectFrom("LiteLLM_SpendLogs")
    .select([
      "end_user",
      sql<number>`count(*)::int`.as("total_count"),
      sql<number>`coalesce(sum(spend), 0)::float8`.as("total_spend"),
    ])
    .where("startTime", ">=", from)
    .where("startTime", "<", to)
    .where("end_user", "is not", null)
    .where("end_user", "<>", "")
    .$if(key !== undefined, (q) => q.where("api_key", "=", key!))
    .$if(user !== null, (q) => q.where("user", "=", user))
    .groupBy("end_user")
    .orderBy("total_spend", "desc")
    .orderBy("end_user")
    .limit(TOP_END_USERS)
    .execute();
  return rows as EndUserSpendRow[];
}
