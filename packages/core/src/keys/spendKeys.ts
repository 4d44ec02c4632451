import type { Selectable } from "kysely";
import type { Db } from "../db/connect.ts";
import type { VerificationTokenTable } from "../db/schema.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { rowsBySpend } from "../spend/counters.ts";

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
  const rows = await rowsBySpend<KeyRow>(db, "key", scopeUserId(scope));
  return rows.map(({ spend_exact, ...r }) => {
    r.spend = spend_exact;
    return r as KeyRow;
  });
}
