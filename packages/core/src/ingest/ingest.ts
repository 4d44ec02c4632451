import { providerWindowCtes } from "../budgets/providerBudgets.ts";
import { now } from "../clock.ts";
import type { SpendlensConfig } from "../config/config.ts";
import type { Db } from "../db/connect.ts";
import { type SchemaFacts, schemaFacts } from "../db/schemaFacts.ts";
import { forbidden } from "../errors.ts";
import { providerResolver } from "../providers/resolve.ts";
import { foldRollupsSoon } from "../rollups/fold.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { foldSpendCountersSoon, spendCounterCtes } from "../spend/counters.ts";
import { ERROR_LOG_COLUMNS, OPTIONAL_SPEND_LOG_COLUMNS, SPEND_LOG_COLUMNS } from "./columns.ts";
import type { Column } from "./idempotent.ts";
import { laneOf } from "./lane.ts";
import { checkBatch, parseRows } from "./prepare.ts";
import { type Batch, ingestRows, type RowsResult, type WriteState } from "./statement.ts";
import type { IngestResult, SpendIngestResult } from "./types.ts";
import { checkErrorLogRow, checkSpendLogRow } from "./validate.ts";

export {
  DEFAULT_LANE_STATEMENTS,
  type IngestLaneStats,
  ingestLaneStats,
  MAX_GROUP_ROWS,
  setIngestStatements,
} from "./lane.ts";
export type { IngestConflict, IngestInvalidRow, IngestResult, SpendIngestResult } from "./types.ts";
export { MAX_INGEST_BATCH } from "./types.ts";

/**
 * POST /spend/logs/ingest: writes spend logs the way the gateway would. Idempotent on request_id (the
 * same row twice counts once; the same id with other content is a conflict and changes nothing). In the
 * same statement (so the same transaction), and only for rows actually inserted, their spend is added to
 * their key, user, team and end user (created when missing) and to their provider's current budget
 * window, and the rollup triggers add them to the daily rollups. Counter increments are appended as
 * pending rows in that statement and folded into the counters right after (spend/counters.ts), so no
 * ingest statement locks a counter row. docs/ingest-budgets-pricing.md has the statement.
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
  const parsed = parseRows(
    input.logs,
    checkSpendLogRow,
    only === null
      ? undefined
      : (row) =>
          row.user !== only
            ? { field: "user", reason: `this key may only write logs of user ${only}` }
            : null,
  );
  const cols = spendLogIngestColumns(await schemaFacts(db));
  const budgets = config.providerBudgets ?? {};
  const budgeted = Object.keys(budgets).length > 0;
  const resolve = budgeted ? providerResolver(config.modelList ?? []) : null;
  // The provider of each row with a budget (`p`, read by the provider-window CTEs), else null.
  for (const v of parsed.valid) {
    let p: string | null = null;
    if (resolve && (v.row.spend as number) > 0) {
      const name = resolve(
        v.row as { model_id: string | null; model: string; custom_llm_provider: string | null },
      );
      if (Object.hasOwn(budgets, name)) p = name;
    }
    v.row.p = p;
  }
  const batch: Batch = { parsed, received: input.logs.length };
  const r = db.isTransaction
    ? (await writeSpendGroup(db, cols, config, [batch]))[0]!
    : await laneOf(db, "LiteLLM_SpendLogs", (c, b, st) =>
        writeSpendGroup(db, cols, c as SpendConfig, b, st),
      ).submit(config, batch);
  // The batch's counter increments are committed as pending rows; they reach the counters in a fold that
  // starts after the commit (shared with the other callers meanwhile), so the answer comes after the
  // counters include them unless a row was locked (then a later fold adds them; exact readers add the
  // pending ones). The rollups likewise: the batch's rows wait in spendlens.spend_log_pending until a fold,
  // and the answer comes after one that started after the commit, so a standby that has replayed up to
  // the answer has them in its rollups too. A failed fold does not fail the write: it is retried.
  if (!db.isTransaction && r.inserted > 0)
    await Promise.all([foldSpendCountersSoon(db).catch(() => {}), foldRollupsSoon(db).catch(() => 0)]);
  let spendAdded = 0;
  for (const row of r.insertedRows) spendAdded += row.spend as number;
  const providerAdded: Record<string, number> = {};
  for (const [provider, added] of r.windows) if (added > 0) providerAdded[provider] = added;
  const { insertedRows: _rows, windows: _windows, ...result } = r;
  return { ...result, spend_added: spendAdded, provider_spend_added: providerAdded };
}

/** The spend-log columns ingest writes on this database: the catalog's, less optional ones it lacks. */
function spendLogIngestColumns(facts: SchemaFacts): Column[] {
  return [
    ...SPEND_LOG_COLUMNS,
    ...OPTIONAL_SPEND_LOG_COLUMNS.filter((c) => facts.spendLogColumns.has(c.name)),
  ];
}

type SpendConfig = Pick<SpendlensConfig, "modelList" | "providerBudgets">;

/** One statement for a group of spend-log batches: rows, counters, provider windows (at the time it runs). */
function writeSpendGroup(
  db: Db,
  cols: Column[],
  config: SpendConfig,
  batches: Batch[],
  state?: WriteState,
): Promise<RowsResult[]> {
  const seen = new Set<string>();
  for (const b of batches) for (const v of b.parsed.valid) if (v.row.p !== null) seen.add(v.row.p as string);
  const at = now().getTime();
  return ingestRows(
    db,
    "LiteLLM_SpendLogs",
    cols,
    batches,
    () => [...spendCounterCtes(), ...providerWindowCtes(config, seen, at)],
    state,
  );
}

/**
 * POST /error/logs/ingest: writes error logs (LiteLLM_ErrorLogs rows), idempotent on request_id like
 * spend logs, in one statement (the error rollup trigger fires in it). Error logs carry no user, so only
 * an unscoped caller (admin or ingest key) may write them.
 */
export async function ingestErrorLogs(
  db: Db,
  scope: Scope,
  input: { logs: unknown[] },
): Promise<IngestResult> {
  checkBatch(input.logs);
  if (scopeUserId(scope) !== null)
    throw forbidden("error logs carry no user: only an ingest key may write them");
  const parsed = parseRows(input.logs, checkErrorLogRow);
  const batch: Batch = { parsed, received: input.logs.length };
  const write = (_: unknown, b: Batch[], st?: WriteState) =>
    ingestRows(db, "LiteLLM_ErrorLogs", ERROR_LOG_COLUMNS, b, () => [], st);
  const r = db.isTransaction
    ? (await write(null, [batch]))[0]!
    : await laneOf(db, "LiteLLM_ErrorLogs", write).submit(null, batch);
  const { insertedRows: _rows, windows: _windows, ...result } = r;
  return result;
}
