import { type RawBuilder, sql } from "kysely";
import type { Db } from "../db/connect.ts";
import type { PgType } from "../db/logColumns.ts";
import type { WireRow } from "./validate.ts";

/**
 * Idempotent batch insert on request_id, as SQL pieces that ingest.ts puts into one statement. The batch
 * travels as one JSON array per column, zipped back into rows by
 * `ROWS FROM (json_array_elements_text($1::json), …)` (measured, server + Node CPU per 1000 rows: 6 + 9 ms;
 * one `text[]`/`float8[]` parameter per column as before 8 + 13 ms, the driver's array escaping being the
 * Node part; one JSON array of row objects with json_to_recordset 79 + 15 ms). Rows go in with
 * `INSERT … ON CONFLICT DO NOTHING RETURNING` (rows whose request_id is registered skipped) in request_id order (concurrent batches take the
 * unique-index locks in one order); only when some row was not inserted, a second statement compares
 * those rows column by column with the stored ones, in SQL (jsonb compares by value), to tell a duplicate
 * from a conflict.
 */

export type { PgType };

/** A column: its name (from the allowlists in this folder, never from input) and how it is sent. */
export interface Column {
  name: string;
  type: PgType;
}

/** The stored value from the recordset's element (text, or json for jsonb columns). */
const ELEMENT_CAST: Record<PgType, string> = {
  text: "text",
  float8: "float8",
  int4: "int4",
  timestamp: "timestamp(3)",
  jsonb: "jsonb",
};

/** Each column of the rows as one JSON array (`null` for a missing value). */
export function encodeColumns(rows: WireRow[], cols: Column[]): string[] {
  return cols.map((c) => {
    const values = new Array<unknown>(rows.length);
    for (let k = 0; k < rows.length; k++) {
      const x = rows[k]![c.name];
      values[k] = x === undefined ? null : x;
    }
    return JSON.stringify(values);
  });
}

/**
 * `SELECT v.request_id::text AS request_id, … FROM ROWS FROM (json_array_elements_text($1::json), …) AS v(…)`:
 * the rows, typed, from their encoded columns.
 */
export function typedRows(encoded: string[], cols: Column[]): RawBuilder<unknown> {
  const fns = cols.map((c, k) =>
    c.type === "jsonb"
      ? sql`json_array_elements(${encoded[k]}::json)`
      : sql`json_array_elements_text(${encoded[k]}::json)`,
  );
  const typed = cols.map(
    (c) => sql`${sql.ref(`v.${c.name}`)}::${sql.raw(ELEMENT_CAST[c.type])} AS ${sql.ref(c.name)}`,
  );
  return sql`SELECT ${sql.join(typed)}
    FROM ROWS FROM (${sql.join(fns)}) AS v(${sql.join(cols.map((c) => sql.ref(c.name)))})`;
}

/**
 * `INSERT INTO table (cols) SELECT … FROM v ORDER BY request_id ON CONFLICT DO NOTHING RETURNING …`, the
 * body of a CTE reading the CTE `v` (typedRows). `returning` are stored columns (allowlisted names).
 */
export function insertCte(table: string, cols: Column[], returning: string[]): RawBuilder<unknown> {
  const ids = LOG_ID_TABLES[table];
  const known = ids
    ? sql`WHERE NOT EXISTS (SELECT 1 FROM ${sql.table(`spendlens.${ids}`)} AS k WHERE k.request_id = v.request_id)`
    : sql``;
  return sql`INSERT INTO ${sql.table(table)} AS s (${sql.join(cols.map((c) => sql.ref(c.name)))})
    SELECT ${sql.join(cols.map((c) => sql.ref(`v.${c.name}`)))} FROM v ${known} ORDER BY v.request_id COLLATE "C"
    ON CONFLICT DO NOTHING
    RETURNING ${sql.join(returning.map((c) => sql.ref(`s.${c}`)))}`;
}

/**
 * The request_id registry of each log table (migration 0011). On a partitioned log table that spendlens
 * made, the primary key is (request_id, "startTime"), so `ON CONFLICT` alone would let a request_id in
 * again with another "startTime": rows whose request_id the registry holds are skipped here, and the
 * registry's own primary key (filled by a trigger on the table) refuses a concurrent second writer, whose
 * statement is then run again (`isRetryable`) and skips the row. On a plain table (attach mode) the
 * registry is empty and the table's primary key on request_id does it, as before.
 */
export const LOG_ID_TABLES: Record<string, string> = {
  LiteLLM_SpendLogs: "spend_log_ids",
  LiteLLM_ErrorLogs: "error_log_ids",
};

/**
 * For each wire row (with its batch index `i`), the columns whose stored value differs (empty: a
 * duplicate); rows with no stored row of that request_id are absent. Keyed by `i`.
 */
export async function diffStored(
  db: Db,
  table: string,
  cols: Column[],
  rows: WireRow[],
): Promise<Map<number, string[]>> {
  const all: Column[] = [{ name: "i", type: "int4" }, ...cols];
  const out = new Map<number, string[]>();
  if (!rows.length) return out;
  const checks = cols
    .filter((c) => c.name !== "request_id")
    .map(
      (c) =>
        sql`CASE WHEN ${sql.ref(`s.${c.name}`)} IS DISTINCT FROM ${sql.ref(`v.${c.name}`)} THEN ${c.name}::text END`,
    );
  const r = await sql<{ i: number; fields: string[] | string }>`
    SELECT v.i, array_to_json(array_remove(ARRAY[${sql.join(checks)}]::text[], NULL))::text AS fields
    FROM (${typedRows(encodeColumns(rows, all), all)}) AS v
    JOIN ${sql.table(table)} AS s ON s.request_id = v.request_id`.execute(db);
  for (const x of r.rows) out.set(Number(x.i), JSON.parse(x.fields as string) as string[]);
  return out;
}

/**
 * Deadlock and serialization failures, and a request_id that a concurrent writer registered first (a
 * partitioned log table): the whole statement rolled back, so it is safe to run again.
 */
export function isRetryable(e: unknown): boolean {
  const err = e as { code?: unknown; constraint?: unknown } | null;
  const code = err?.code;
  if (code === "23505")
    return err?.constraint === "spend_log_ids_pkey" || err?.constraint === "error_log_ids_pkey";
  return code === "40P01" || code === "40001";
}
