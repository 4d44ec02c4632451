import { type Selectable, sql } from "kysely";
import type { Db } from "../db/connect.ts";
import type { VerificationTokenTable } from "../db/schema.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { pendingSpendSql } from "../spend/counters.ts";

/**
 * A LiteLLM_VerificationToken row as LiteLLM returns it (every column the table has). `token` is the
 * sha256 of the raw key, never the key itself: the table holds nothing more secret.
 */
export type KeyRow = Selectable<VerificationTokenTable> & Record<string, unknown>;

/**
 * GET /spend/keys: every key with its spend, highest first (ties by token). Internal users see only
 * their own keys (user_id = their id); the original listed every key to anyone.
 */
export async function spendKeys(db: Db, scope: Scope): Promise<KeyRow[]> {
  const user = scopeUserId(scope);
  // spend: the counter plus its pending increments (spend/counters.ts), read in the same statement.
  const exact = sql<number>`(k.spend + ${pendingSpendSql("key", sql`k.token`)})`;
  const rows = await db
    .selectFrom("LiteLLM_VerificationToken as k")
    .selectAll("k")
    .select(exact.as("spend_exact"))
    .$if(user !== null, (q) => q.where("k.user_id", "=", user))
    .orderBy(exact, "desc")
    .orderBy("k.token")
    .execute();
  return rows.map(({ spend_exact, ...r }) => {
    r.spend = spend_exact;
    return r as KeyRow;
  });
}
