/**
 * Every rollup table as tests read it back whole, to compare two databases written by different paths
 * (a bulk seed's rebuild against the ordinary trigger-and-fold path) or a database against a brute force.
 */
import { sql } from "kysely";
import type { Db } from "../db/connect.ts";

/** The rollup tables: every table a fold or a rebuild writes totals into (schema spendlens). */
export const ROLLUP_TABLES = [
  "model_daily",
  "team_daily",
  "key_daily",
  "detail_daily",
  "tag_daily",
  "error_daily",
  "tag_request_daily",
  "user_tag_request_daily",
  "end_user_daily",
  "key_weekly",
  "activity_daily",
  "activity_tag_daily",
  "activity_route_daily",
  "activity_route_rows",
  "activity_dim_daily",
  "provider_hourly",
  "end_user_weekly",
  "end_user_hourly",
] as const;

/**
 * Change marks (migrations 0017, 0019): one row per (kind,) day a write reached; their `mark` values are
 * sequence numbers that differ between two databases by design, so only which rows exist is compared.
 */
export const MARK_TABLES = { activity_day_marks: ["day"], activity_route_marks: ["kind", "day"] } as const;

/** The other tables of schema spendlens (no totals): a table in neither list fails `unlistedTables`. */
export const NON_ROLLUP_TABLES = [
  "budget_alerts",
  "counter_deltas",
  "error_log_ids",
  "kysely_migration",
  "kysely_migration_lock",
  "meta",
  "provider_budget_state",
  "provider_budget_windows",
  "rollup_days",
  "spend_log_fold",
  "spend_log_ids",
  "spend_log_pending",
] as const;

/** Tables of schema spendlens in none of the lists above (a new rollup table must be added to one). */
export async function unlistedTables(db: Db): Promise<string[]> {
  const known = new Set<string>([...ROLLUP_TABLES, ...Object.keys(MARK_TABLES), ...NON_ROLLUP_TABLES]);
  const r = await sql<{ name: string }>`SELECT c.relname AS name FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'spendlens' AND c.relkind IN ('r', 'p') ORDER BY 1`.execute(db);
  return r.rows.map((x) => x.name).filter((x) => !known.has(x));
}

/** A value as compared: floats to 9 decimals (sums taken in another order), bytes as hex, dates as text. */
function norm(v: unknown): unknown {
  if (typeof v === "number") return Number.isInteger(v) ? v : Number(v.toFixed(9));
  if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
  if (v instanceof Date) return v.toISOString();
  return v;
}

/**
 * One table's rows, each as JSON of its columns in name order (floats rounded, see `norm`), sorted:
 * two tables hold the same rows exactly when the arrays are equal. `columns` limits the columns.
 */
export async function tableRows(
  db: Db,
  table: (typeof ROLLUP_TABLES)[number] | keyof typeof MARK_TABLES,
  columns?: readonly string[],
): Promise<string[]> {
  const cols = columns ? sql.join(columns.map((c) => sql.id(c))) : sql`*`;
  const r = await sql<Record<string, unknown>>`SELECT ${cols} FROM ${sql.id("spendlens", table)}`.execute(db);
  return r.rows
    .map((row) =>
      JSON.stringify(
        Object.keys(row)
          .sort()
          .map((k) => [k, norm(row[k])]),
      ),
    )
    .sort();
}

/** Every rollup table's rows and the mark tables' keys, by table name. */
export async function rollupSnapshot(db: Db): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of ROLLUP_TABLES) out[t] = await tableRows(db, t);
  for (const [t, cols] of Object.entries(MARK_TABLES))
    out[t] = await tableRows(db, t as keyof typeof MARK_TABLES, cols);
  return out;
}
