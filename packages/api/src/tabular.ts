import { stringify } from "csv-stringify/sync";

export type Row = Record<string, unknown>;

const isPlainObject = (v: unknown): v is Row => !!v && typeof v === "object" && !Array.isArray(v);

/** A cell's text; `round` shortens long fractions for a terminal table (CSV keeps every digit). */
export const cell = (v: unknown, round = true): string => {
  if (v === null || v === undefined) return "";
  if (typeof v === "number")
    return Number.isInteger(v) || !round ? String(v) : String(Math.round(v * 1e6) / 1e6);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
};

/**
 * The table inside an answer: an array of objects is the table; an object whose one array of objects
 * is the body (e.g. `daily_data`, `data`) gives that array, and its scalars become a summary.
 */
export function tableOf(data: unknown): { rows: Row[]; summary: Row } {
  if (Array.isArray(data))
    return { rows: data.map((r) => (isPlainObject(r) ? r : { value: r })), summary: {} };
  if (isPlainObject(data)) {
    const arrays = Object.entries(data).filter(([, v]) => Array.isArray(v));
    if (arrays.length === 1) {
      const [name, arr] = arrays[0]!;
      const summary = Object.fromEntries(Object.entries(data).filter(([k]) => k !== name));
      return { rows: (arr as unknown[]).map((r) => (isPlainObject(r) ? r : { [name]: r })), summary };
    }
    return { rows: [data], summary: {} };
  }
  return { rows: [{ value: data }], summary: {} };
}

export function columnsOf(rows: Row[]): string[] {
  const cols: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    for (const k of Object.keys(r)) {
      if (seen.has(k)) continue;
      seen.add(k);
      cols.push(k);
    }
  }
  return cols;
}

/** A nested object's scalars as `parent.child` fields. */
function flattenObject(o: Row, prefix: string, out: Row): void {
  for (const [k, v] of Object.entries(o)) {
    if (isPlainObject(v)) flattenObject(v, `${prefix}.${k}`, out);
    else out[`${prefix}.${k}`] = v;
  }
}

/**
 * One row of a nested answer as flat rows, the same for REST `?format=csv` and the CLI: a nested object
 * becomes `parent.child` fields; the first non-empty array of objects at each level becomes one row per
 * element, carrying its parent's fields (a child field whose name the parent has is `array.field`);
 * other arrays stay as JSON in their cell. E.g. the spend report's
 * `{group_by_day, teams: [{team_name, total_spend, metadata: [{model, …}]}]}` gives one row per
 * (day, team, model and key).
 */
export function flattenRow(row: Row): Row[] {
  const base: Row = {};
  let expand: [string, Row[]] | null = null;
  for (const [k, v] of Object.entries(row)) {
    if (!expand && Array.isArray(v) && v.length > 0 && v.every(isPlainObject)) expand = [k, v as Row[]];
    else if (isPlainObject(v)) flattenObject(v, k, base);
    else base[k] = v;
  }
  if (!expand) return [base];
  const [key, items] = expand;
  return items.flatMap((item) =>
    flattenRow(item).map((child) => {
      const out: Row = { ...base };
      for (const [ck, cv] of Object.entries(child)) out[ck in base ? `${key}.${ck}` : ck] = cv;
      return out;
    }),
  );
}

/** The flat rows of any answer (tableOf, then flattenRow), and the summary scalars beside them. */
export function flatTableOf(data: unknown): { rows: Row[]; summary: Row } {
  const { rows, summary } = tableOf(data);
  return { rows: rows.flatMap(flattenRow), summary };
}

/**
 * The summary fields a CSV keeps, as a column on every row: a keyset page's cursor, so CSV can be
 * paged as JSON can.
 */
const CSV_SUMMARY_COLUMNS = ["next_cursor"];

/** CSV of any table-shaped answer: a header row, then one line per (flattened) row. */
export function toCsv(data: unknown): string {
  const { rows: flat, summary } = flatTableOf(data);
  const carried = CSV_SUMMARY_COLUMNS.filter((c) => c in summary);
  const rows = carried.length
    ? flat.map((r) => ({ ...r, ...Object.fromEntries(carried.map((c) => [c, summary[c]])) }))
    : flat;
  const cols = columnsOf(rows);
  return stringify([cols, ...rows.map((r) => cols.map((c) => cell(r[c], false)))]);
}

/** CSV lines (no header) of one element of a streamed answer whose columns are known up front. */
export function csvLines(element: unknown, columns: readonly string[]): string {
  const rows = isPlainObject(element) ? flattenRow(element) : [{ value: element }];
  return stringify(rows.map((r) => columns.map((c) => cell(r[c], false))));
}
