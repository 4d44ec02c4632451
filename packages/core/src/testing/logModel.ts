/**
 * What a rollup property test (rollups, tagRollup, derivedRollups) knows of a log table, kept beside the
 * database as the logs are written, changed and deleted: the logs the rollups count (present ones, and
 * ones deleted in keep mode until their day is rebuilt) and the ids in the table now. The brute-force
 * answers are computed from it; the statements that change the table here change the model with it.
 */
import { type Kysely, sql } from "kysely";

export class LogModel<L extends { request_id: string; startTime: string }> {
  /** Logs the rollups count, as last written. */
  readonly counted = new Map<string, L>();
  /** Ids in the table now. */
  readonly present = new Set<string>();

  /** Written with ON CONFLICT DO NOTHING: an id already counted or present keeps its first version. */
  inserted(logs: Iterable<L>): void {
    for (const l of logs) {
      if (this.present.has(l.request_id) || this.counted.has(l.request_id)) continue;
      this.counted.set(l.request_id, l);
      this.present.add(l.request_id);
    }
  }

  /**
   * Written with ON CONFLICT DO UPDATE of `columns` (LiteLLM's upsert): a present log takes those columns
   * of the new row; a new id counts as `fresh` makes it (the row as the table stores it).
   */
  upserted(logs: Iterable<L>, columns: readonly (keyof L)[], fresh: (l: L) => L = (l) => l): void {
    for (const l of logs) {
      const old = this.counted.get(l.request_id);
      if (old && this.present.has(l.request_id)) {
        const next = { ...old };
        for (const c of columns) next[c] = l[c];
        this.counted.set(l.request_id, next);
      } else if (!old) {
        this.counted.set(l.request_id, fresh(l));
        this.present.add(l.request_id);
      }
    }
  }

  /** The present logs, as last written. */
  presentLogs(): L[] {
    return [...this.present].map((id) => this.counted.get(id)!);
  }

  /** Deleted in keep mode (retention): gone from the table, still counted by the rollups. */
  deletedKept(ids: Iterable<string>): void {
    for (const id of ids) this.present.delete(id);
  }

  /** Retention in keep mode: the logs before `cutoff` leave the table, their totals stay. */
  deletedBefore(cutoff: string): void {
    for (const id of [...this.present]) if (this.counted.get(id)!.startTime < cutoff) this.present.delete(id);
  }

  /** Deleted in subtract mode: gone from the table and from the totals. */
  deletedSubtracted(ids: Iterable<string>): void {
    for (const id of ids) {
      this.counted.delete(id);
      this.present.delete(id);
    }
  }

  /** A rebuild of `days` recomputes them from the raw logs: logs deleted in keep mode leave their totals. */
  forgetDeletedOn(days: Iterable<string>): void {
    const set = new Set(days);
    for (const [id, l] of this.counted)
      if (!this.present.has(id) && set.has(l.startTime.slice(0, 10))) this.counted.delete(id);
  }

  /** Empties the model (a TRUNCATE in subtract mode, or another database's logs next). */
  clear(): void {
    this.counted.clear();
    this.present.clear();
  }

  /** Runs `fn` with the model holding only `logs` (another database's, say), then restores it. */
  async swapped(logs: Iterable<L>, fn: () => Promise<void>): Promise<void> {
    const counted = new Map(this.counted);
    const present = new Set(this.present);
    this.clear();
    this.inserted(logs);
    try {
      await fn();
    } finally {
      this.clear();
      for (const [k, v] of counted) this.counted.set(k, v);
      for (const k of present) this.present.add(k);
    }
  }
}

/** Runs `fn` with every model swapped for its own list of logs (see LogModel.swapped). */
export async function swappedAll(
  pairs: [LogModel<any>, Iterable<{ request_id: string; startTime: string }>][],
  fn: () => Promise<void>,
): Promise<void> {
  const [first, ...rest] = pairs;
  if (!first) return fn();
  await first[0].swapped(first[1], () => swappedAll(rest, fn));
}

/** The columns a test may rewrite in place, with the SQL type each is sent as (an allowlist). */
const UPDATABLE = {
  spend: "float8",
  startTime: "timestamp",
  user: "text",
  api_key: "text",
  end_user: "text",
  request_tags: "jsonb",
} as const;
export type UpdatableColumn = keyof typeof UPDATABLE;

/**
 * One UPDATE statement that sets `columns` of every given log (by request_id) to the log's values: old
 * and new rows meet in the statement's transition tables. The model then counts the new versions.
 */
export async function updateLogs<L extends { request_id: string; startTime: string }>(
  db: Kysely<any>,
  model: LogModel<L>,
  logs: readonly L[],
  columns: readonly UpdatableColumn[],
): Promise<void> {
  const col = (c: UpdatableColumn) => sql.raw(`"${c}"`);
  const arrays = columns.map((c) => {
    const values = logs.map((l) => (l as Record<string, unknown>)[c]);
    return UPDATABLE[c] === "float8" ? sql`${values}::float8[]` : sql`${values}::text[]`;
  });
  const sets = columns.map((c, i) =>
    UPDATABLE[c] === "float8" || UPDATABLE[c] === "text"
      ? sql`${col(c)} = v.${sql.raw(`c${i}`)}`
      : sql`${col(c)} = v.${sql.raw(`c${i}`)}::${sql.raw(UPDATABLE[c])}`,
  );
  const names = sql.raw(["id", ...columns.map((_, i) => `c${i}`)].join(", "));
  await sql`UPDATE "LiteLLM_SpendLogs" AS s SET ${sql.join(sets)}
    FROM unnest(${logs.map((l) => l.request_id)}::text[], ${sql.join(arrays)}) AS v(${names})
    WHERE s.request_id = v.id`.execute(db);
  for (const l of logs) model.counted.set(l.request_id, l);
}

/** The log tables a test deletes from (an allowlist). */
export type LogTable = "LiteLLM_SpendLogs" | "LiteLLM_ErrorLogs";
const tableRef = (table: LogTable) =>
  sql.raw(table === "LiteLLM_ErrorLogs" ? '"LiteLLM_ErrorLogs"' : '"LiteLLM_SpendLogs"');

/**
 * DELETE the logs `ids` from `table`, in the delete mode the test set: `kept` (the rollups keep their
 * totals) or `subtracted` (they leave the totals too). The model follows.
 */
export async function deleteLogs<L extends { request_id: string; startTime: string }>(
  db: Kysely<any>,
  model: LogModel<L>,
  ids: readonly string[],
  mode: "kept" | "subtracted",
  table: LogTable = "LiteLLM_SpendLogs",
): Promise<void> {
  await sql`DELETE FROM ${tableRef(table)} WHERE request_id = ANY(${ids}::text[])`.execute(db);
  if (mode === "kept") model.deletedKept(ids);
  else model.deletedSubtracted(ids);
}

/** Retention in keep mode: DELETE the logs of `table` before `cutoff`; the rollups keep their totals. */
export async function deleteLogsBefore<L extends { request_id: string; startTime: string }>(
  db: Kysely<any>,
  model: LogModel<L>,
  cutoff: string,
  table: LogTable = "LiteLLM_SpendLogs",
): Promise<void> {
  await sql`DELETE FROM ${tableRef(table)} WHERE "startTime" < ${cutoff}`.execute(db);
  model.deletedBefore(cutoff);
}
