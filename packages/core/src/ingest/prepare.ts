/** A batch before it is written: rows checked once, unstorable ones set aside, repeats split off, encoded. */
import { badRequest } from "../errors.ts";
import { type Column, encodeColumns } from "./idempotent.ts";
import { type IngestInvalidRow, MAX_INGEST_BATCH } from "./types.ts";
import {
  MAYBE_UNSTORABLE_JSON,
  type RowCheck,
  UNSTORABLE_REASON,
  unstorableField,
  type WireRow,
} from "./validate.ts";

/** A valid row: its position in `logs` and its wire form (with `i`, the position, added). */
export interface Valid {
  index: number;
  row: WireRow;
}

export interface Parsed {
  valid: Valid[];
  invalid: IngestInvalidRow[];
}

export const requestIdOf = (raw: unknown): string | null =>
  raw && typeof raw === "object" && typeof (raw as { request_id?: unknown }).request_id === "string"
    ? (raw as { request_id: string }).request_id
    : null;

/** Validates every row (one pass each; zod only for rows the fast check is unsure about). */
export function parseRows(
  logs: unknown[],
  checkRow: (raw: unknown) => RowCheck,
  extra?: (row: WireRow) => { field: string; reason: string } | null,
): Parsed {
  const out: Parsed = { valid: [], invalid: [] };
  for (let index = 0; index < logs.length; index++) {
    const raw = logs[index];
    const c = checkRow(raw);
    if (!c.ok) {
      out.invalid.push({ index, request_id: requestIdOf(raw), field: c.field, reason: c.reason });
      continue;
    }
    const bad = extra?.(c.row);
    if (bad) {
      out.invalid.push({
        index,
        request_id: requestIdOf(raw),
        field: bad.field,
        reason: `${bad.field}: ${bad.reason}`,
      });
      continue;
    }
    c.row.i = index;
    out.valid.push({ index, row: c.row });
  }
  return out;
}

export function checkBatch(logs: unknown[]): void {
  if (!Array.isArray(logs) || logs.length < 1) throw badRequest("logs", "logs: must hold at least one row");
  if (logs.length > MAX_INGEST_BATCH) {
    throw badRequest("logs", `logs: at most ${MAX_INGEST_BATCH} rows per call (got ${logs.length})`);
  }
}

/** Rows Postgres could not store are reported invalid (naming the field) instead of failing the batch. */
export function dropUnstorable(parsed: Parsed): void {
  const keep: Valid[] = [];
  for (const v of parsed.valid) {
    const field = unstorableField(v.row);
    if (field === null) keep.push(v);
    else {
      parsed.invalid.push({
        index: v.index,
        request_id: v.row.request_id as string,
        field,
        reason: `${field}: ${UNSTORABLE_REASON}`,
      });
    }
  }
  parsed.valid = keep;
  parsed.invalid.sort((a, b) => a.index - b.index);
}

/** The first valid row per request_id is offered for insert; later ones in the batch are compared. */
export function splitRepeats(valid: Valid[]): { offered: Valid[]; repeats: Valid[] } {
  const seen = new Set<string>();
  const offered: Valid[] = [];
  const repeats: Valid[] = [];
  for (const v of valid) {
    const id = v.row.request_id as string;
    if (seen.has(id)) repeats.push(v);
    else {
      seen.add(id);
      offered.push(v);
    }
  }
  return { offered, repeats };
}

/** Extra fields of the statement's rows: the row's index in `logs`, and its budgeted provider (or null). */
export const EXTRA: Column[] = [
  { name: "i", type: "int4" },
  { name: "p", type: "text" },
];

/**
 * The rows to offer and to compare, and the offered rows' columns encoded, after making sure Postgres can
 * store them: one regex over each encoded column finds any escaped NUL or unpaired surrogate; only then
 * are the rows checked one by one (and those at fault reported invalid).
 */
export function prepare(
  parsed: Parsed,
  cols: Column[],
): { offered: Valid[]; repeats: Valid[]; encoded: string[] } {
  const all = [...EXTRA, ...cols];
  let split = splitRepeats(parsed.valid);
  let encoded = encodeColumns(
    split.offered.map((v) => v.row),
    all,
  );
  const suspicious =
    encoded.some((e) => MAYBE_UNSTORABLE_JSON.test(e)) ||
    (split.repeats.length > 0 &&
      encodeColumns(
        split.repeats.map((v) => v.row),
        all,
      ).some((e) => MAYBE_UNSTORABLE_JSON.test(e)));
  if (suspicious) {
    const before = parsed.valid.length;
    dropUnstorable(parsed);
    if (parsed.valid.length !== before) {
      split = splitRepeats(parsed.valid);
      encoded = encodeColumns(
        split.offered.map((v) => v.row),
        all,
      );
    }
  }
  return { ...split, encoded };
}
