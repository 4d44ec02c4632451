import { sql } from "kysely";
import type { Db } from "../db/connect.ts";

/**
 * Columns of "LiteLLM_SpendLogs" and their types, read once per database handle: an older LiteLLM has
 * no organization_id (it then reads as NULL), and a hand-made table may hold "startTime" as timestamptz
 * (bounds are then passed as timestamptz, so they still mean UTC instants).
 */
export interface SpendLogColumns {
  has(name: string): boolean;
  /** True when "startTime" is `timestamp with time zone`. */
  startTimeHasZone: boolean;
}

const cache = new WeakMap<Db, Promise<SpendLogColumns>>();

export function spendLogColumns(db: Db): Promise<SpendLogColumns> {
  let p = cache.get(db);
  if (!p) {
    p = sql<{
      column_name: string;
      data_type: string;
    }>`SELECT column_name, data_type FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = 'LiteLLM_SpendLogs'`
      .execute(db)
      .then((r) => {
        const types = new Map(r.rows.map((x) => [x.column_name, x.data_type]));
        return {
          has: (name: string) => types.has(name),
          startTimeHasZone: types.get("startTime") === "timestamp with time zone",
        };
      });
    cache.set(db, p);
    p.catch(() => cache.delete(db));
  }
  return p;
}
