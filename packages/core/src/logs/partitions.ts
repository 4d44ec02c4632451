import { sql } from "kysely";
import { now } from "../clock.ts";
import type { Db } from "../db/connect.ts";
import { badRequest } from "../errors.ts";
import { type Periodic, startPeriodic } from "../periodic.ts";

/**
 * Partitions of the log tables that spendlens created (standalone mode, migration 0011): one per UTC
 * month of "startTime". `ensurePartitions` makes the partitions of this month and `ahead` months after
 * it, moves rows that sat in the DEFAULT partition into their month's new partition, and, with
 * `retentionDays`, drops every partition that ends before today minus that many days. Dropping keeps
 * the rollups' totals (reports over that period answer as before; raw-log reads such as /spend/logs
 * find nothing there) and the request_id registry (a log sent again is still a duplicate).
 * A database whose log tables LiteLLM made (attach mode) is left alone: nothing happens.
 */

export interface PartitionOptions {
  /** Months after the current one to have partitions for (default 3, 0..120). */
  ahead?: number;
  /** Drop partitions wholly older than this many days (null/undefined: keep everything). */
  retentionDays?: number | null;
  /** 'YYYY-MM-DD' (UTC) the partitions are made from; default today by `now()`. */
  today?: string;
  /**
   * A month with more rows than this in the DEFAULT partition is left there (migration 0023): moving
   * it holds every writer back while it runs. Default DEFAULT_MAX_MOVE_ROWS; null: no bound (an
   * operator's call in a quiet window, without a statement timeout).
   */
  maxMoveRows?: number | null;
}

/** How many rows of one month `ensurePartitions` moves out of the DEFAULT partition at most. */
export const DEFAULT_MAX_MOVE_ROWS = 50_000;

export interface PartitionChange {
  /**
   * 'created' | 'dropped' | 'kept (dirty days)' (past retention, but a day of it is dirty) |
   * 'kept in default (more than max_move rows)' (not made: its month has more than maxMoveRows rows in
   * the DEFAULT partition, which stay there).
   */
  action: string;
  partition: string;
}

export const DEFAULT_PARTITIONS_AHEAD = 3;

export async function ensurePartitions(db: Db, opts: PartitionOptions = {}): Promise<PartitionChange[]> {
  const ahead = opts.ahead ?? DEFAULT_PARTITIONS_AHEAD;
  if (!Number.isInteger(ahead) || ahead < 0 || ahead > 120)
    throw badRequest("ahead", "must be a whole number of months, 0..120");
  const retention = opts.retentionDays ?? null;
  if (retention !== null && (!Number.isInteger(retention) || retention < 1 || retention > 1_000_000))
    throw badRequest("retention_days", "must be a whole number of days, at least 1");
  const today = opts.today ?? now().toISOString().slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(today)) throw badRequest("today", "must be a date YYYY-MM-DD");
  const maxMove = opts.maxMoveRows === undefined ? DEFAULT_MAX_MOVE_ROWS : opts.maxMoveRows;
  if (maxMove !== null && (!Number.isSafeInteger(maxMove) || maxMove < 0))
    throw badRequest("max_move_rows", "must be a whole number of rows, at least 0");
  const run = async (trx: Db) => {
    const r = await sql<{ action: string; partition_name: string }>`
      SELECT action, partition_name FROM spendlens.ensure_partitions(${ahead}::int, ${retention}::int, ${today}::date, ${maxMove}::bigint)`.execute(
      trx,
    );
    return r.rows.map((x) => ({ action: x.action, partition: x.partition_name }));
  };
  if (db.isTransaction) return run(db);
  const changes = await db.transaction().execute(run);
  await analyzeCreated(db, changes);
  return changes;
}

/**
 * A partition made by `ensurePartitions` may hold a month of rows moved out of the DEFAULT partition,
 * and the DEFAULT partition then holds them as dead rows: until both are analyzed (and the DEFAULT
 * vacuumed) the planner sees an empty new partition and misplans every raw-log read of that month (a
 * capped COUNT over a month's "startTime" index: 27 ms instead of 0.3 ms at 1M logs). Autovacuum would
 * get there eventually, when it runs; this does it at once. Outside a transaction only (VACUUM).
 */
async function analyzeCreated(db: Db, changes: PartitionChange[]): Promise<void> {
  const created = changes.filter((c) => c.action === "created").map((c) => c.partition);
  if (!created.length) return;
  for (const name of created) await sql`ANALYZE public.${sql.id(name)}`.execute(db);
  const defaults = await sql<{ name: string }>`SELECT c.relname AS name FROM pg_inherits h
      JOIN pg_class c ON c.oid = h.inhrelid
    WHERE h.inhparent IN (to_regclass('public."LiteLLM_SpendLogs"'), to_regclass('public."LiteLLM_ErrorLogs"'))
      AND (spendlens.partition_bounds(c.oid)).is_default`.execute(db);
  for (const d of defaults.rows) await sql`VACUUM (ANALYZE) public.${sql.id(d.name)}`.execute(db);
}

/** Whether the spend log table is partitioned by spendlens (standalone mode after migration 0011). */
export async function logsPartitioned(db: Db): Promise<boolean> {
  const r = await sql<{ p: boolean }>`SELECT EXISTS (SELECT 1 FROM pg_trigger
    WHERE tgrelid = to_regclass('public."LiteLLM_SpendLogs"') AND tgname = 'spend_log_ids_insert') AS p`.execute(
    db,
  );
  return r.rows[0]?.p === true;
}

/** `tick()`: one round now (rounds never overlap). */
export type PartitionMaintainer = Periodic;

/** Runs `ensurePartitions` at once and then every `everyMs` (default one hour). */
export function startPartitionMaintainer(
  db: Db,
  opts: PartitionOptions & {
    everyMs?: number;
    onError?: (e: unknown) => void;
    onChange?: (c: PartitionChange[]) => void;
  },
): PartitionMaintainer {
  const { everyMs, onError, onChange, ...o } = opts;
  return startPeriodic(
    async () => {
      const changes = await ensurePartitions(db, o);
      if (changes.length) onChange?.(changes);
    },
    everyMs ?? 3_600_000,
    onError,
  );
}
