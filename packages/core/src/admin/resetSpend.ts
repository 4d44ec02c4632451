import { sql } from "kysely";
import type { Db } from "../db/connect.ts";
import { forbidden } from "../errors.ts";
import type { Scope } from "../scope.ts";
import { COUNTER_FOLD_LOCK } from "../spend/counters.ts";

export interface ResetSpendResult {
  message: string;
  status: "success";
}

/**
 * POST /global/spend/reset: spend = 0 on every key (LiteLLM_VerificationToken) and every team
 * (LiteLLM_TeamTable), in one transaction. Spend logs, users and end users are left exactly as they are.
 * Needs the all-rows scope (proxy_admin; the procedure checks the role).
 */
export async function resetSpend(db: Db, scope: Scope): Promise<ResetSpendResult> {
  if (scope.kind !== "all") throw forbidden("only proxy_admin may reset spend");
  await db.transaction().execute(async (trx) => {
    // Pending increments of keys and teams are spend from before the reset: dropped with it, under the
    // fold's lock so that no fold adds them meanwhile.
    await sql`SELECT pg_advisory_xact_lock(${COUNTER_FOLD_LOCK})`.execute(trx);
    await sql`DELETE FROM spendlens.counter_deltas WHERE kind IN ('key', 'team')`.execute(trx);
    await trx.updateTable("LiteLLM_VerificationToken").set({ spend: 0 }).execute();
    await trx.updateTable("LiteLLM_TeamTable").set({ spend: 0 }).execute();
  });
  return { message: "Spend for all API Keys and Teams reset successfully", status: "success" };
}
