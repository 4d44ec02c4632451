/** Group commit: batches that arrive while a statement runs are written together by the next one. */
import type { Db } from "../db/connect.ts";
import type { Batch, RowsResult, WriteState } from "./statement.ts";

/**
 * Group commit. Concurrent ingest calls on one database handle (and one table) go through one lane: while
 * the lane's statements run, the batches that arrive wait, and the next statement takes all of them at
 * once (up to MAX_GROUP_ROWS rows), each caller getting its own answer after that statement has committed. Batches
 * from many gateway workers then cost one statement instead of many that would queue on the same rollup and
 * counter rows (today's rows of every busy key, team and model) one commit at a time. A batch that arrives
 * on an idle lane runs at once. Should a group statement fail, its batches are run again one by one, so an
 * error reaches only the caller whose rows caused it. Inside a caller's transaction there is no lane.
 */
export const MAX_GROUP_ROWS = 8000;
/**
 * Group statements a lane runs at once, by default. One keeps a single Postgres backend busy and leaves
 * the second core idle; two overlap one group's insert with the other's rollup upserts (10M-log bench,
 * 8 concurrent callers: 14.6–16.2k logs/s with one, 19.4–20.8k with two, 19.1k with three). The server
 * sets it per database from SPENDLENS_INGEST_STATEMENTS (`setIngestStatements`, read at the edge).
 */
export const DEFAULT_LANE_STATEMENTS = 2;
export const laneStatements = new WeakMap<object, number>();

/** How many group statements the ingest lanes of `db` run at once (a whole number ≥ 1). */
export function setIngestStatements(db: Db, n: number): void {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`ingest statements must be a whole number ≥ 1, got ${n}`);
  laneStatements.set(db, n);
}

export interface Queued {
  batch: Batch;
  key: unknown;
  resolve: (r: RowsResult) => void;
  reject: (e: unknown) => void;
}

/** What a lane has done since the process started (the bench reports batches per statement). */
export interface IngestLaneStats {
  /** Group statements run (each holds one or more batches). */
  groups: number;
  /** Batches written through those statements. */
  batches: number;
  /** Groups that failed and were written again one batch at a time. */
  regrouped: number;
}

export class IngestLane {
  private queue: Queued[] = [];
  private running = 0;
  readonly stats: IngestLaneStats = { groups: 0, batches: 0, regrouped: 0 };

  constructor(
    private readonly run: (key: unknown, batches: Batch[], state: WriteState) => Promise<RowsResult[]>,
    private readonly statements: number,
  ) {}

  submit(key: unknown, batch: Batch): Promise<RowsResult> {
    return new Promise<RowsResult>((resolve, reject) => {
      this.queue.push({ batch, key, resolve, reject });
      if (this.running < this.statements) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running++;
    try {
      while (this.queue.length) {
        // The next group: queued batches with the first one's key (config), in arrival order.
        const key = this.queue[0]!.key;
        const group: Queued[] = [];
        let rows = 0;
        const rest: Queued[] = [];
        for (const q of this.queue) {
          if (q.key === key && (group.length === 0 || rows + q.batch.received <= MAX_GROUP_ROWS)) {
            group.push(q);
            rows += q.batch.received;
          } else rest.push(q);
        }
        this.queue = rest;
        const state: WriteState = { written: false };
        this.stats.groups++;
        this.stats.batches += group.length;
        try {
          const out = await this.run(
            key,
            group.map((q) => q.batch),
            state,
          );
          for (const [k, q] of group.entries()) q.resolve(out[k]!);
        } catch (e) {
          if (group.length === 1 || state.written) {
            // Alone, or the rows were stored and only the comparison failed: a retry of the call is a no-op
            // (idempotent), so the error goes to every caller of the group.
            for (const q of group) q.reject(e);
          } else {
            // Nothing of the group was stored (one statement): each batch on its own, for its own answer.
            this.stats.regrouped++;
            for (const q of group) {
              try {
                q.resolve((await this.run(key, [q.batch], { written: false }))[0]!);
              } catch (e1) {
                q.reject(e1);
              }
            }
          }
        }
      }
    } finally {
      this.running--;
    }
  }
}

export const lanes = new WeakMap<object, Map<string, IngestLane>>();

/** The group-commit counters of a database handle's spend-log lane (zeros before its first ingest). */
export function ingestLaneStats(db: Db, table = "LiteLLM_SpendLogs"): IngestLaneStats {
  return { ...(lanes.get(db)?.get(table)?.stats ?? { groups: 0, batches: 0, regrouped: 0 }) };
}

/**
 * The lane of (db, table). `run` writes a group with the config its batches share (`key`, compared by
 * identity); the first call on the pair fixes it, so every call on that pair passes the same function.
 */
export function laneOf(
  db: Db,
  table: string,
  run: (key: unknown, batches: Batch[], state: WriteState) => Promise<RowsResult[]>,
): IngestLane {
  let m = lanes.get(db);
  if (!m) {
    m = new Map();
    lanes.set(db, m);
  }
  let lane = m.get(table);
  if (!lane) {
    lane = new IngestLane(run, laneStatements.get(db) ?? DEFAULT_LANE_STATEMENTS);
    m.set(table, lane);
  }
  return lane;
}
