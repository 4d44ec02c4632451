/** What a demo seed takes and answers, and the helpers its phases share. */
import type { DemoErrorLog, DemoLog, DemoWorld, WorldOptions } from "./generate.ts";

export interface SeedOptions extends WorldOptions {
  logs: number;
  days?: number;
  end?: Date;
  errorRate?: number;
  /**
   * Rows per write: per COPY + move transaction on Postgres (default 100000), per INSERT statement on
   * PGlite or a bare Kysely handle (default 5000).
   */
  batchSize?: number;
  onProgress?: (written: number, total: number) => void;
  /**
   * Bulk mode on Postgres: pause the rollups while the logs go in (the triggers then only mark the days
   * they touch dirty, and readers answer dirty days from the raw logs, so every report stays exact
   * meanwhile), then resume and rebuild those days once. Skipped when the rollups are already paused
   * (whoever paused them rebuilds) or some day holds the totals of deleted raw logs (a rebuild would
   * lose them). Default: BULK_DEFAULT.
   */
  bulk?: boolean;
  /** Progress of the rebuild after a bulk seed (days done, days in all). */
  onRebuild?: (doneDays: number, totalDays: number) => void;
  /**
   * PGlite bulk mode: drop the log tables' secondary indexes for a big load and build them after it
   * (`deferLogIndexes`). Default true; false keeps them maintained row by row (for comparisons).
   */
  deferIndexes?: boolean;
}

/** Where a seed's time went, in milliseconds per phase (PGlite path; see SeedResult.timings). */
export type SeedTimings = Record<string, number>;

/**
 * Adds the time `f` takes to `t[phase]` (wall milliseconds) and the process's CPU time meanwhile to
 * `t["cpu_" + phase]` (user + system milliseconds: PGlite runs in this process, so on the embedded
 * default this is the database's work too, and it does not grow when other processes load the machine).
 */
export async function timed<T>(t: SeedTimings, phase: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  try {
    return await f();
  } finally {
    t[phase] = (t[phase] ?? 0) + Math.round(performance.now() - t0);
    const c = process.cpuUsage(c0);
    t[`cpu_${phase}`] = (t[`cpu_${phase}`] ?? 0) + Math.round((c.user + c.system) / 1000);
  }
}

/** Whether a Postgres seed runs in bulk mode unless told (see SeedOptions.bulk). */
export const BULK_DEFAULT = false;

export interface SeedResult {
  logs: number;
  errorLogs: number;
  keys: number;
  users: number;
  teams: number;
  world: DemoWorld;
  /** Milliseconds per phase of the write (the PGlite path reports them; elsewhere empty). */
  timings: SeedTimings;
}

/** Writes the demo world's teams, users and keys (idempotent: existing rows are kept). */

export const aborted = new Error("seed aborted: another chunk failed");

/** One generated request: its spend log and, sometimes, an error log. */
export type GeneratedRow = { log: DemoLog; error: DemoErrorLog | null };

export interface WriteCounts {
  logs: number;
  errorLogs: number;
}
