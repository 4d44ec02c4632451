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

/** CSV of any table-shaped answer: a header row, then one line per row. */
export function toCsv(data: unknown): string {
  const { rows } = tableOf(data);
  const cols = columnsOf(rows);
  return stringify([cols, ...rows.map((r) => cols.map((c) => cell(r[c], false)))]);
}
