import { sql } from "kysely";
import type { Db } from "./connect.ts";

/**
 * What the server needs to read from a hot standby safely (apps/server standby.ts) and what /metrics
 * reports about the database. Postgres only (PGlite has no replication; `rollupFreshness` works on both).
 */

/** A standby's position: the last WAL it replayed and the commit time of the last transaction replayed. */
export interface ReplayPosition {
  /** Whether the server is a standby (in recovery). A promoted standby answers false. */
  recovery: boolean;
  /** pg_last_wal_replay_lsn(), e.g. '0/5000A28'; null on a primary. */
  lsn: string | null;
  /** pg_last_xact_replay_timestamp() (ISO); null before the first transaction replayed since start. */
  replayedAt: string | null;
}

export async function replayPosition(db: Db): Promise<ReplayPosition> {
  const r = await sql<{ recovery: boolean; lsn: string | null; ts: string | null }>`SELECT
      pg_is_in_recovery() AS recovery, pg_last_wal_replay_lsn()::text AS lsn,
      pg_last_xact_replay_timestamp() AS ts`.execute(db);
  const row = r.rows[0]!;
  return { recovery: row.recovery, lsn: row.lsn, replayedAt: row.ts };
}

/**
 * The primary's WAL flushed so far: every transaction acknowledged before this call committed at or
 * before it (its commit record was flushed before the client was told).
 */
export async function primaryFlushLsn(db: Db): Promise<string> {
  const r = await sql<{ lsn: string }>`SELECT pg_current_wal_flush_lsn()::text AS lsn`.execute(db);
  return r.rows[0]!.lsn;
}

/** An LSN's text form ('16/B374D848') as a number of bytes (exact below 2^53, i.e. 8 PiB of WAL). */
export function lsnBytes(lsn: string): number {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!m) throw new RangeError(`not an LSN: ${lsn}`);
  return Number.parseInt(m[1]!, 16) * 2 ** 32 + Number.parseInt(m[2]!, 16);
}

/** How far derived data is behind the raw logs (what readers add on the fly meanwhile). */
export interface RollupFreshness {
  /** Spend-counter increments written by ingest and not folded yet (spendlens.counter_deltas rows). */
  pendingCounterDeltas: number;
  /** Inserted logs not folded into the rollups yet (spendlens.spend_log_pending rows; readers fold first). */
  pendingLogs: number;
  /** Rollup days marked dirty (read from the raw logs until rebuilt). */
  dirtyDays: number;
  /** Seconds since the oldest dirty day was marked; null when none is dirty. */
  oldestDirtySeconds: number | null;
}

export async function rollupFreshness(db: Db): Promise<RollupFreshness> {
  const r = await sql<{ deltas: number; pending: number; dirty: number; oldest: number | null }>`SELECT
      (SELECT count(*) FROM spendlens.counter_deltas)::int AS deltas,
      (SELECT count(*) FROM spendlens.spend_log_pending)::int AS pending,
      (SELECT count(*) FROM spendlens.rollup_days WHERE dirty_at IS NOT NULL)::int AS dirty,
      (SELECT extract(epoch FROM clock_timestamp() - min(dirty_at))::float8 FROM spendlens.rollup_days
        WHERE dirty_at IS NOT NULL) AS oldest`.execute(db);
  const row = r.rows[0]!;
  return {
    pendingCounterDeltas: row.deltas,
    pendingLogs: row.pending,
    dirtyDays: row.dirty,
    oldestDirtySeconds: row.oldest,
  };
}
