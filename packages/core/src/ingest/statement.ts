/** The ingest statement: one idempotent INSERT of a group of batches, its retries, and its answer per batch. */
import { type RawBuilder, sql } from "kysely";
import type { Db } from "../db/connect.ts";
import { type Column, diffStored, insertCte, isRetryable, typedRows } from "./idempotent.ts";
import { EXTRA, type Parsed, prepare } from "./prepare.ts";
import type { IngestResult } from "./types.ts";
import type { WireRow } from "./validate.ts";

/**
 * Runs the ingest statement, its own transaction. A deadlock (possible with a writer that locks the
 * counter and rollup rows in another order, e.g. LiteLLM itself in attach mode) rolled the whole
 * statement back, so it is run again (up to 3 times); inside a caller's transaction it cannot be.
 */
export async function runStatement<T>(db: Db, q: RawBuilder<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await q.execute(db);
      return r.rows[0]!;
    } catch (e) {
      if (!isRetryable(e) || attempt >= 4 || db.isTransaction) throw e;
      await new Promise((res) => setTimeout(res, 5 * attempt + Math.random() * 20));
    }
  }
}

/**
 * The one statement of a batch: the recordset `v`, the insert `ins`, then `ctes` (counters, provider
 * windows) in order; answers the group indexes of the rows not inserted and, per provider window, its
 * `added` and the group indexes of the rows it counted.
 * Every CTE is read by the final SELECT, left to right, which is the order they run and lock in.
 */
export function ingestStatement(
  table: string,
  cols: Column[],
  encoded: string[],
  returning: string[],
  ctes: [string, RawBuilder<unknown>][],
): RawBuilder<{ not_inserted: string; windows: string | null }> {
  const withs = [
    sql`v AS (${typedRows(encoded, [...EXTRA, ...cols])})`,
    sql`ins AS (${insertCte(table, cols, returning)})`,
    ...ctes.map(([name, body]) => sql`${sql.ref(name)} AS (${body})`),
  ];
  const touch = ctes
    .filter(([name]) => name !== "pw" && name !== "pw_items" && name !== "pw_cfg")
    .map(([name]) => sql`(SELECT count(*) FROM ${sql.ref(name)})`);
  const hasPw = ctes.some(([name]) => name === "pw");
  return sql<{ not_inserted: string; windows: string | null }>`WITH ${sql.join(withs)}
    SELECT (SELECT coalesce(json_agg(v.i), '[]'::json) FROM v
        WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.request_id = v.request_id))::text AS not_inserted,
      ${touch.length ? sql`${sql.join(touch)},` : sql``}
      ${hasPw ? sql`(SELECT coalesce(json_agg(json_build_array(pw.provider, pw.added, pw.items)), '[]'::json) FROM pw)::text` : sql`NULL::text`} AS windows`;
}

/** One caller's batch as it goes into a group statement, and what comes back for it. */
export interface Batch {
  parsed: Parsed;
  /** Rows the caller sent (its `logs.length`): batch indexes run 0 … received - 1. */
  received: number;
}

/** Set once the group's insert statement has committed (what follows only reads). */
export interface WriteState {
  written: boolean;
}

export type RowsResult = IngestResult & {
  insertedRows: WireRow[];
  /** Spend added to each provider's current window by this batch's rows. */
  windows: [string, number][];
};

/**
 * Stores the valid rows of one or more batches idempotently in ONE statement (plus a comparison statement
 * only when some row was not inserted) and sorts the rest into duplicates and conflicts, per batch. Rows
 * travel with a group index (`i`: the batch's offset + the row's index in its batch); a request_id seen
 * earlier in the group (in the same batch or an earlier one) is compared after the insert, exactly as if
 * the batches had been written one after the other in group order.
 */
export async function ingestRows(
  db: Db,
  table: string,
  cols: Column[],
  batches: Batch[],
  ctes: () => [string, RawBuilder<unknown>][],
  state: WriteState = { written: false },
): Promise<RowsResult[]> {
  const offsets: number[] = [];
  const merged: Parsed = { valid: [], invalid: [] };
  let offset = 0;
  for (const b of batches) {
    offsets.push(offset);
    for (const v of b.parsed.valid) {
      v.row.i = offset + v.index;
      merged.valid.push({ index: offset + v.index, row: v.row });
    }
    offset += b.received;
  }
  /** The batch a group index belongs to. */
  const batchOf = (gi: number): number => {
    let k = batches.length - 1;
    while (offsets[k]! > gi) k--;
    return k;
  };
  const { offered, repeats, encoded } = prepare(merged, cols);
  const results: RowsResult[] = batches.map((b) => ({
    received: b.received,
    inserted: 0,
    duplicates: [],
    conflicts: [],
    // A copy: rows found unstorable below are added to it, and a failed group's batches are parsed again.
    invalid: [...b.parsed.invalid],
    insertedRows: [],
    windows: [],
  }));
  for (const x of merged.invalid) {
    const k = batchOf(x.index);
    results[k]!.invalid.push({ ...x, index: x.index - offsets[k]! });
  }
  if (merged.invalid.length) for (const r of results) r.invalid.sort((a, b) => a.index - b.index);

  let notInsertedIdx = new Set<number>();
  let windows: [string, number, number[] | null][] = [];
  if (offered.length) {
    const returning = ["request_id", "spend", "api_key", "user", "team_id", "end_user", "endTime"].filter(
      (c) => cols.some((x) => x.name === c),
    );
    const r = await runStatement(db, ingestStatement(table, cols, encoded, returning, ctes()));
    state.written = true;
    notInsertedIdx = new Set(JSON.parse(r.not_inserted) as number[]);
    windows = r.windows ? (JSON.parse(r.windows) as [string, number, number[] | null][]) : [];
  }
  for (const v of offered)
    if (!notInsertedIdx.has(v.index)) results[batchOf(v.index)]!.insertedRows.push(v.row);
  const notInserted = [...offered.filter((v) => notInsertedIdx.has(v.index)), ...repeats].sort(
    (a, b) => a.index - b.index,
  );
  const diffs = await diffStored(
    db,
    table,
    cols,
    notInserted.map((v) => v.row),
  );
  for (const v of notInserted) {
    const res = results[batchOf(v.index)]!;
    const d = diffs.get(v.index);
    const id = v.row.request_id as string;
    if (d && d.length === 0) res.duplicates.push(id);
    else res.conflicts.push({ request_id: id, fields: d ?? ["request_id"] });
  }
  if (batches.length === 1) results[0]!.windows = windows.map(([p, added]) => [p, added]);
  else if (windows.length) {
    // Each batch's share of a window's increment: the spend of its own rows that the window counted.
    const spendOf = new Map<number, number>();
    for (const v of offered) spendOf.set(v.index, v.row.spend as number);
    for (const [provider, , items] of windows) {
      const per = new Map<number, number>();
      for (const gi of items ?? []) {
        const k = batchOf(gi);
        per.set(k, (per.get(k) ?? 0) + spendOf.get(gi)!);
      }
      for (const [k, added] of per) results[k]!.windows.push([provider, added]);
    }
  }
  for (const res of results) res.inserted = res.insertedRows.length;
  return results;
}
