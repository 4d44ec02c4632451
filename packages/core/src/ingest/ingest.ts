import type { z } from "zod";
import { addProviderSpend, type ProviderSpendItem } from "../budgets/providerBudgets.ts";
import type { SpendlensConfig } from "../config/config.ts";
import type { Db } from "../db/connect.ts";
import { badRequest, forbidden } from "../errors.ts";
import { providerResolver } from "../providers/resolve.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { addLogToDeltas, applySpendDeltas, emptyDeltas } from "../spend/counters.ts";
import { type Column, diffStored, insertNew, tableColumns } from "./idempotent.ts";
import {
  errorLogRowSchema,
  type IngestErrorLogRow,
  type IngestSpendLogRow,
  spendLogRowSchema,
} from "./rows.ts";

/** Most rows one ingest call takes. */
export const MAX_INGEST_BATCH = 1000;

export interface IngestConflict {
  request_id: string;
  /** The columns whose stored value differs from the row sent. */
  fields: string[];
}

export interface IngestInvalidRow {
  /** Position of the row in `logs` (0-based). */
  index: number;
  request_id: string | null;
  /** The row's field at fault (e.g. `spend`), or null for the row as a whole. */
  field: string | null;
  reason: string;
}

export interface IngestResult {
  received: number;
  /** Rows newly stored (and counted). */
  inserted: number;
  /** request_ids already stored with the same content: counted once, nothing changed. */
  duplicates: string[];
  /** request_ids already stored with different content: nothing changed. */
  conflicts: IngestConflict[];
  /** Rows that failed validation, by index; the other rows were stored. */
  invalid: IngestInvalidRow[];
}

export interface SpendIngestResult extends IngestResult {
  /** Sum of the spend of the rows inserted (what the counters were incremented by). */
  spend_added: number;
  /** Spend added to each provider's current budget window. */
  provider_spend_added: Record<string, number>;
}

const SPEND_LOG_COLUMNS: Column[] = [
  { name: "request_id", type: "text" },
  { name: "call_type", type: "text" },
  { name: "api_key", type: "text" },
  { name: "spend", type: "float8" },
  { name: "total_tokens", type: "int4" },
  { name: "prompt_tokens", type: "int4" },
  { name: "completion_tokens", type: "int4" },
  { name: "startTime", type: "timestamp" },
  { name: "endTime", type: "timestamp" },
  { name: "model", type: "text" },
  { name: "model_id", type: "text" },
  { name: "model_group", type: "text" },
  { name: "custom_llm_provider", type: "text" },
  { name: "api_base", type: "text" },
  { name: "user", type: "text" },
  { name: "metadata", type: "jsonb" },
  { name: "cache_hit", type: "text" },
  { name: "request_tags", type: "jsonb" },
  { name: "team_id", type: "text" },
  { name: "end_user", type: "text" },
];
/** LiteLLM columns stored when the table has them (an older attached database may lack some). */
const OPTIONAL_SPEND_LOG_COLUMNS: Column[] = [
  { name: "completionStartTime", type: "timestamp" },
  { name: "cache_key", type: "text" },
  { name: "organization_id", type: "text" },
  { name: "requester_ip_address", type: "text" },
  { name: "session_id", type: "text" },
  { name: "status", type: "text" },
  { name: "messages", type: "jsonb" },
  { name: "response", type: "jsonb" },
];

const ERROR_LOG_COLUMNS: Column[] = [
  { name: "request_id", type: "text" },
  { name: "startTime", type: "timestamp" },
  { name: "endTime", type: "timestamp" },
  { name: "api_base", type: "text" },
  { name: "model_group", type: "text" },
  { name: "litellm_model_name", type: "text" },
  { name: "model_id", type: "text" },
  { name: "request_kwargs", type: "jsonb" },
  { name: "exception_type", type: "text" },
  { name: "exception_string", type: "text" },
  { name: "status_code", type: "text" },
];

interface Parsed<R> {
  valid: { index: number; row: R }[];
  invalid: IngestInvalidRow[];
}

function parseRows<S extends z.ZodType>(
  logs: unknown[],
  schema: S,
  check?: (row: z.output<S>) => { field: string; reason: string } | null,
): Parsed<z.output<S>> {
  const out: Parsed<z.output<S>> = { valid: [], invalid: [] };
  logs.forEach((raw, index) => {
    const rid =
      raw && typeof raw === "object" && typeof (raw as { request_id?: unknown }).request_id === "string"
        ? ((raw as { request_id: string }).request_id as string)
        : null;
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
      out.invalid.push({
        index,
        request_id: null,
        field: null,
        reason: "must be a JSON object (one log row)",
      });
      return;
    }
    const p = schema.safeParse(raw);
    if (!p.success) {
      const issue = p.error.issues[0]!;
      const field = issue.path.map(String).join(".") || null;
      out.invalid.push({ index, request_id: rid, field, reason: `${field ?? "row"}: ${issue.message}` });
      return;
    }
    const bad = check?.(p.data);
    if (bad) {
      out.invalid.push({ index, request_id: rid, field: bad.field, reason: `${bad.field}: ${bad.reason}` });
      return;
    }
    out.valid.push({ index, row: p.data });
  });
  return out;
}

function checkBatch(logs: unknown[]): void {
  if (!Array.isArray(logs) || logs.length < 1) throw badRequest("logs", "logs: must hold at least one row");
  if (logs.length > MAX_INGEST_BATCH) {
    throw badRequest("logs", `logs: at most ${MAX_INGEST_BATCH} rows per call (got ${logs.length})`);
  }
}

/**
 * Stores valid rows idempotently and sorts the rest into duplicates and conflicts. `afterInsert` runs in
 * the same transaction with the rows actually inserted.
 */
async function ingestRows<R extends { request_id: string }>(
  db: Db,
  table: string,
  cols: Column[],
  parsed: Parsed<R>,
  received: number,
  afterInsert: (trx: Db, inserted: R[]) => Promise<void>,
): Promise<IngestResult> {
  // The first valid row per request_id is the one offered for insert; later ones in the batch are compared.
  const first = new Map<string, { index: number; row: R }>();
  const repeats: { index: number; row: R }[] = [];
  for (const v of parsed.valid) {
    if (first.has(v.row.request_id)) repeats.push(v);
    else first.set(v.row.request_id, v);
  }
  const offered = [...first.values()];
  const result = await db.transaction().execute(async (trx) => {
    const insertedIds = await insertNew(
      trx,
      table,
      cols,
      offered.map((v) => v.row) as Record<string, unknown>[],
    );
    const notInserted = [...offered.filter((v) => !insertedIds.has(v.row.request_id)), ...repeats].sort(
      (a, b) => a.index - b.index,
    );
    const diffs = await diffStored(
      trx,
      table,
      cols,
      notInserted.map((v) => v.row) as Record<string, unknown>[],
    );
    const inserted = offered.filter((v) => insertedIds.has(v.row.request_id)).map((v) => v.row);
    await afterInsert(trx, inserted);
    const duplicates: string[] = [];
    const conflicts: IngestConflict[] = [];
    notInserted.forEach((v, i) => {
      const d = diffs[i];
      if (d && d.length === 0) duplicates.push(v.row.request_id);
      else conflicts.push({ request_id: v.row.request_id, fields: d ?? ["request_id"] });
    });
    return { inserted: inserted.length, duplicates, conflicts };
  });
  return { received, ...result, invalid: parsed.invalid };
}

const optionalColumnsCache = new WeakMap<object, Column[]>();

/**
 * POST /spend/logs/ingest: writes spend logs the way the gateway would. Idempotent on request_id (the
 * same row twice counts once; the same id with other content is a conflict and changes nothing). In the
 * same transaction, and only for rows actually inserted, their spend is added to their key, user, team
 * and end user (created when missing) and to their provider's current budget window. Every increment is
 * atomic (`x = x + delta`) and taken in sorted id order.
 *
 * An internal-user scope may only write rows whose `user` is its own user (others are reported invalid).
 */
export async function ingestSpendLogs(
  db: Db,
  scope: Scope,
  input: { logs: unknown[] },
  config: Pick<SpendlensConfig, "modelList" | "providerBudgets">,
): Promise<SpendIngestResult> {
  checkBatch(input.logs);
  const only = scopeUserId(scope);
  const parsed = parseRows(input.logs, spendLogRowSchema, (row) =>
    only !== null && row.user !== only
      ? { field: "user", reason: `this key may only write logs of user ${only}` }
      : null,
  );
  let cols = optionalColumnsCache.get(db);
  if (!cols) {
    const have = await tableColumns(db, "LiteLLM_SpendLogs");
    cols = [...SPEND_LOG_COLUMNS, ...OPTIONAL_SPEND_LOG_COLUMNS.filter((c) => have.has(c.name))];
    optionalColumnsCache.set(db, cols);
  }
  const resolve = providerResolver(config.modelList ?? []);
  let spendAdded = 0;
  let providerAdded: Record<string, number> = {};
  const r = await ingestRows<IngestSpendLogRow>(
    db,
    "LiteLLM_SpendLogs",
    cols,
    parsed,
    input.logs.length,
    async (trx, inserted) => {
      const deltas = emptyDeltas();
      const items: ProviderSpendItem[] = [];
      for (const row of inserted) {
        addLogToDeltas(deltas, row);
        spendAdded += row.spend;
        items.push({ provider: resolve(row), spend: row.spend, at: row.endTime });
      }
      await applySpendDeltas(trx, deltas);
      providerAdded = await addProviderSpend(trx, config, items);
    },
  );
  return { ...r, spend_added: spendAdded, provider_spend_added: providerAdded };
}

/**
 * POST /error/logs/ingest: writes error logs (LiteLLM_ErrorLogs rows), idempotent on request_id like
 * spend logs. Error logs carry no user, so only an unscoped caller (admin or ingest key) may write them.
 */
export async function ingestErrorLogs(
  db: Db,
  scope: Scope,
  input: { logs: unknown[] },
): Promise<IngestResult> {
  checkBatch(input.logs);
  if (scopeUserId(scope) !== null)
    throw forbidden("error logs carry no user: only an ingest key may write them");
  const parsed = parseRows(input.logs, errorLogRowSchema);
  return ingestRows<IngestErrorLogRow>(
    db,
    "LiteLLM_ErrorLogs",
    ERROR_LOG_COLUMNS,
    parsed,
    input.logs.length,
    async () => {},
  );
}
