import { cell, columnsOf, tableOf, toCsv } from "@spendlens/api";
import Table from "cli-table3";

export type Format = "table" | "json" | "csv";

export function render(data: unknown, format: Format): string {
  if (format === "json") return `${JSON.stringify(data, null, 2)}\n`;
  if (format === "csv") return toCsv(data);
  const { rows, summary } = tableOf(data);
  const cols = columnsOf(rows);
  let out = "";
  if (rows.length) {
    const t = new Table({ head: cols, style: { head: [], border: [] } });
    for (const r of rows) t.push(cols.map((c) => cell(r[c])));
    out += `${t.toString()}\n`;
  } else out += "(no rows)\n";
  for (const [k, v] of Object.entries(summary)) out += `${k}: ${cell(v)}\n`;
  return out;
}
