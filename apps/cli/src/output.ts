import { cell, columnsOf, flatTableOf, toCsv } from "@spendlens/api";
import Table from "cli-table3";

export type Format = "table" | "json" | "csv";

export interface TableOptions {
  /** Show every cell whole: hashes unshortened, no column cut to the terminal's width. */
  wide?: boolean;
  /** The width to fit (default: the terminal's; none when stdout is not a terminal). */
  width?: number | undefined;
}

/** A key hash (sha256 hex, as LiteLLM stores keys): shown as its first 10 characters in a table. */
const HASH = /^[0-9a-f]{64}$/;
const SHORT_HASH = 10;
/** A column is never cut below this many characters to fit the width. */
const MIN_COLUMN = 8;
const GAP = 2;

const shorten = (s: string, wide: boolean) => (!wide && HASH.test(s) ? `${s.slice(0, SHORT_HASH)}…` : s);

/**
 * Widths that fit `width`: the widest column gives up a character at a time (so the cuts spread over
 * the widest ones), never below its header or MIN_COLUMN, so short columns (numbers, ids) stay whole.
 */
function fitWidths(natural: number[], floors: number[], width: number): number[] {
  const w = [...natural];
  const total = () => w.reduce((a, b) => a + b, 0) + GAP * (w.length - 1);
  while (total() > width) {
    let widest = -1;
    for (let i = 0; i < w.length; i++)
      if (w[i]! > floors[i]! && (widest < 0 || w[i]! > w[widest]!)) widest = i;
    if (widest < 0) break; // every column at its floor: let the terminal wrap
    w[widest] = w[widest]! - 1;
  }
  return w;
}

/** A compact table: a header and one line per row, columns two spaces apart, no rules. */
function table(rows: Record<string, unknown>[], o: TableOptions): string {
  const cols = columnsOf(rows);
  const wide = !!o.wide;
  const cells = rows.map((r) => cols.map((c) => shorten(cell(r[c]), wide)));
  const natural = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const width = wide ? undefined : o.width;
  const floors = natural.map((n, i) => Math.min(n, Math.max(cols[i]!.length, MIN_COLUMN)));
  const widths = width ? fitWidths(natural, floors, width) : natural;
  const numeric = cols.map((_, i) =>
    rows.every((r) => typeof r[cols[i]!] === "number" || r[cols[i]!] == null),
  );
  const t = new Table({
    head: cols,
    colWidths: widths,
    colAligns: numeric.map((n) => (n ? "right" : "left")),
    wordWrap: false,
    truncate: "…",
    chars: {
      top: "",
      "top-mid": "",
      "top-left": "",
      "top-right": "",
      bottom: "",
      "bottom-mid": "",
      "bottom-left": "",
      "bottom-right": "",
      left: "",
      "left-mid": "",
      mid: "",
      "mid-mid": "",
      right: "",
      "right-mid": "",
      middle: "  ",
    },
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0, compact: true },
  });
  for (const r of cells) t.push(r);
  // cli-table3 pads the last column: trailing spaces are noise in a terminal and in diffs.
  return t
    .toString()
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n");
}

export function render(data: unknown, format: Format, o: TableOptions = {}): string {
  if (format === "json") return `${JSON.stringify(data, null, 2)}\n`;
  if (format === "csv") return toCsv(data);
  const { rows, summary } = flatTableOf(data);
  let out = rows.length ? `${table(rows, o)}\n` : "(no rows)\n";
  for (const [k, v] of Object.entries(summary)) out += `${k}: ${cell(v)}\n`;
  return out;
}
