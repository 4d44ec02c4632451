import { type RawBuilder, sql } from "kysely";
import type { Db } from "../db/connect.ts";

/**
 * Idempotent batch insert on request_id: `INSERT … ON CONFLICT (request_id) DO NOTHING RETURNING`, rows
 * in sorted request_id order (concurrent batches take the unique-index locks in the same order, so they
 * cannot deadlock), then the rows that were not inserted are compared column by column with the stored
 * ones, in SQL (jsonb compares by value), to tell a duplicate from a conflict.
 */

export type PgType = "text" | "float8" | "int4" | "timestamp" | "jsonb";

/** A column: its name (from the allowlists in this folder, never from input) and how it is sent. */
export interface Column {
  name: string;
  type: PgType;
}

/** How each type travels: as an array parameter of this type, then cast per element. */
const ARRAY_TYPE: Record<PgType, string> = {
  text: "text[]",
  float8: "float8[]",
  int4: "int4[]",
  timestamp: "text[]",
  jsonb: "text[]",
};
const ELEMENT_CAST: Record<PgType, string> = {
  text: "text",
  float8: "float8",
  int4: "int4",
  timestamp: "timestamp(3)",
  jsonb: "jsonb",
};

type Row = Record<string, unknown>;

/** `unnest($1::text[], …) WITH ORDINALITY AS v(c1, …, ord)` over the rows' values. */
function unnestRows(cols: Column[], rows: Row[]): RawBuilder<unknown> {
  const arrays = cols.map((c) => sql`${rows.map((r) => r[c.name] ?? null)}::${sql.raw(ARRAY_TYPE[c.type])}`);
  const names = cols.map((c) => sql.ref(c.name));
  return sql`unnest(${sql.join(arrays)}) WITH ORDINALITY AS v(${sql.join(names)}, ord)`;
}

const castValue = (c: Column) => sql`${sql.ref(`v.${c.name}`)}::${sql.raw(ELEMENT_CAST[c.type])}`;

const byRequestId = (a: Row, b: Row) => {
  const x = a.request_id as string;
  const y = b.request_id as string;
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Inserts rows (request_ids unique within `rows`); returns the request_ids actually inserted. */
export async function insertNew(db: Db, table: string, cols: Column[], rows: Row[]): Promise<Set<string>> {
  if (!rows.length) return new Set();
  const sorted = [...rows].sort(byRequestId);
  const r = await sql<{
    request_id: string;
  }>`INSERT INTO ${sql.table(table)} (${sql.join(cols.map((c) => sql.ref(c.name)))})
    SELECT ${sql.join(cols.map(castValue))} FROM ${unnestRows(cols, sorted)}
    ORDER BY v.ord
    ON CONFLICT (request_id) DO NOTHING
    RETURNING request_id`.execute(db);
  return new Set(r.rows.map((x) => x.request_id));
}

/**
 * For each row, the columns whose stored value differs (empty: a duplicate), or null when no row with
 * that request_id is stored. Result is in the order of `rows`.
 */
export async function diffStored(
  db: Db,
  table: string,
  cols: Column[],
  rows: Row[],
): Promise<(string[] | null)[]> {
  if (!rows.length) return [];
  const checks = cols
    .filter((c) => c.name !== "request_id")
    .map(
      (c) =>
        sql`CASE WHEN ${sql.ref(`s.${c.name}`)} IS DISTINCT FROM ${castValue(c)} THEN ${c.name}::text END`,
    );
  const r = await sql<{ ord: number | string; fields: string[] | string }>`
    SELECT v.ord::int AS ord, array_to_json(array_remove(ARRAY[${sql.join(checks)}]::text[], NULL))::text AS fields
    FROM ${unnestRows(cols, rows)}
    JOIN ${sql.table(table)} AS s ON s.request_id = v.request_id`.execute(db);
  const out: (string[] | null)[] = rows.map(() => null);
  for (const x of r.rows) {
    out[Number(x.ord) - 1] = JSON.parse(x.fields as string) as string[];
  }
  return out;
}

/** The columns a table has (to leave out optional LiteLLM columns that an older attached database lacks). */
export async function tableColumns(db: Db, table: string): Promise<Set<string>> {
  const r = await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = ${table}`.execute(db);
  return new Set(r.rows.map((x) => x.column_name));
}
