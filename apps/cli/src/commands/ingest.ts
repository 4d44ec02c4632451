import { readFileSync } from "node:fs";
import type { IngestResult } from "@spendlens/core";
import type { ReportCommand } from "./types.ts";

/**
 * Reads log rows from a file (`-` for stdin): a JSON array of rows, `{"logs": [...]}`, or NDJSON (one
 * row per line). One call takes at most 1000 rows; split larger files.
 */
export function readRows(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const trimmed = text.trim();
  if (!trimmed) throw new Error(`${path} is empty`);
  try {
    const v = JSON.parse(trimmed) as unknown;
    if (Array.isArray(v)) return v;
    if (v && typeof v === "object" && Array.isArray((v as { logs?: unknown }).logs)) {
      return (v as { logs: unknown[] }).logs;
    }
    return [v];
  } catch {
    return trimmed.split(/\r?\n/).flatMap((line, i) => {
      if (!line.trim()) return [];
      try {
        return [JSON.parse(line) as unknown];
      } catch {
        throw new Error(`${path}: line ${i + 1} is not valid JSON`);
      }
    });
  }
}

/** For the table: the counts as a summary, and one row per request that was not inserted. */
function view(o: IngestResult & { spend_added?: number; provider_spend_added?: Record<string, number> }) {
  const problems = [
    ...o.duplicates.map((id) => ({ index: null, request_id: id, status: "duplicate", detail: "" })),
    ...o.conflicts.map((c) => ({
      index: null,
      request_id: c.request_id,
      status: "conflict",
      detail: `differs in ${c.fields.join(", ")}`,
    })),
    ...o.invalid.map((x) => ({
      index: x.index,
      request_id: x.request_id,
      status: "invalid",
      detail: x.reason,
    })),
  ];
  return {
    received: o.received,
    inserted: o.inserted,
    duplicates: o.duplicates.length,
    conflicts: o.conflicts.length,
    invalid: o.invalid.length,
    ...(o.spend_added !== undefined ? { spend_added: o.spend_added } : {}),
    ...(o.provider_spend_added && Object.keys(o.provider_spend_added).length
      ? { provider_spend_added: o.provider_spend_added }
      : {}),
    not_inserted: problems,
  };
}

const fileOption = {
  flags: "--file <path>",
  description: 'rows: a JSON array, {"logs": [...]}, or NDJSON; - for stdin (at most 1000 rows)',
  field: "logs",
  parse: readRows,
};

export const ingestCommands: ReportCommand[] = [
  {
    name: "ingest-logs",
    procedure: "ingest.spendLogs",
    summary:
      "Write spend logs (LiteLLM_SpendLogs rows), idempotent on request_id, moving key/user/team/end-user spend and provider budgets (POST /spend/logs/ingest)",
    options: [fileOption],
    view,
  },
  {
    name: "ingest-error-logs",
    procedure: "ingest.errorLogs",
    summary: "Write error logs (LiteLLM_ErrorLogs rows), idempotent on request_id (POST /error/logs/ingest)",
    options: [fileOption],
    view,
  },
];
