import { sql } from "kysely";
import { dayNumber, eachDay } from "../days.ts";
import type { Db } from "../db/connect.ts";
import { getMetas, setMeta } from "../db/meta.ts";
import { badRequest } from "../errors.ts";
import { ACTIVITY_TABLE, TRIGGERS_V9 } from "./activityRollup.ts";
import { foldBeforeRead } from "./fold.ts";
import { TAG_REQUEST_TABLE, TRIGGERS_V2 } from "./grains.ts";

/** Whether migration 0009's activity rollups exist (a database migrated part of the way lacks them). */
export async function hasActivityRollups(db: Db): Promise<boolean> {
  const r = await sql<{
    oid: string | null;
  }>`SELECT to_regclass(${`spendlens.${ACTIVITY_TABLE}`})::text AS oid`.execute(db);
  return r.rows[0]?.oid != null;
}

/**
 * Looking after the rollups: status, pausing for bulk loads, the delete setting, and rebuilding days
 * from the raw logs. Settings live in spendlens.meta:
 *   'rollups.status'      'ready' (triggers keep the rollups exact) | 'paused' (triggers only mark the
 *                         days they touch dirty; readers answer dirty days from the raw logs)
 *   'rollups.delete_mode' 'keep' (default: deleting raw logs, e.g. retention, keeps the totals) |
 *                         'subtract' (a DELETE subtracts the deleted logs; TRUNCATE empties the rollups)
 */

export type RollupStatusValue = "ready" | "paused";
export type RollupDeleteMode = "keep" | "subtract";

export interface RollupStatus {
  status: RollupStatusValue;
  deleteMode: RollupDeleteMode;
  /** Days whose rollups are not trusted (readers use the raw logs for them), oldest first. */
  dirtyDays: { day: string; reason: string | null }[];
  /** Days that lost raw logs while their totals were kept; a rebuild leaves them alone unless asked. */
  rawDeletedDays: string[];
  /**
   * Rollup triggers that are not on the log tables (e.g. a LiteLLM migration recreated a table): while
   * any is missing, writes go uncounted and the rollups cannot be trusted. Empty when all is well.
   */
  missingTriggers: string[];
}

const EXPECTED_TRIGGERS = ["LiteLLM_SpendLogs", "LiteLLM_ErrorLogs"].flatMap((t) =>
  ["insert", "update", "delete", "truncate"].map((e) => `${t}.spendlens_rollup_${e}`),
);

const FOLD_TRIGGERS = ["update", "delete", "truncate"].map((e) => `LiteLLM_SpendLogs.spendlens_fold_${e}`);

export async function rollupStatus(db: Db): Promise<RollupStatus> {
  // Pending inserts are folded first: a fold that fails marks its days dirty, which this reports.
  await foldBeforeRead(db);
  const m = await getMetas(db, ["rollups.status", "rollups.delete_mode"]);
  const days = await db
    .selectFrom("spendlens.rollup_days")
    .select(["day", "dirty_reason", "raw_deleted", sql<boolean>`dirty_at IS NOT NULL`.as("dirty")])
    .orderBy("day")
    .execute();
  const trg = await sql<{ name: string }>`SELECT c.relname || '.' || t.tgname AS name
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ((n.nspname = 'public' AND c.relname IN ('LiteLLM_SpendLogs', 'LiteLLM_ErrorLogs'))
        OR (n.nspname = 'spendlens' AND c.relname = 'spend_log_fold'))
      AND t.tgname LIKE 'spendlens_%' AND t.tgenabled <> 'D'`.execute(db);
  const present = new Set(trg.rows.map((r) => r.name));
  // Migration 0004's triggers are expected once it has run (its table exists).
  const v2 = await sql<{
    oid: string | null;
  }>`SELECT to_regclass(${`spendlens.${TAG_REQUEST_TABLE}`})::text AS oid`.execute(db);
  let expected = [
    ...EXPECTED_TRIGGERS,
    ...(v2.rows[0]?.oid ? TRIGGERS_V2 : []),
    ...((await hasActivityRollups(db)) ? TRIGGERS_V9 : []),
  ];
  // Migration 0010: the insert triggers of 0004 and 0009 moved to the fold table (with 0003's, whose
  // name on the log table now appends), and UPDATE/DELETE/TRUNCATE fold first.
  const folded = await sql<{
    oid: string | null;
  }>`SELECT to_regclass('spendlens.spend_log_pending')::text AS oid`.execute(db);
  if (folded.rows[0]?.oid) {
    const moved = expected.filter((x) => x.startsWith("LiteLLM_SpendLogs.") && x.endsWith("_insert"));
    expected = [
      ...expected.filter((x) => !moved.includes(x) || x === "LiteLLM_SpendLogs.spendlens_rollup_insert"),
      ...moved.map((x) => x.replace("LiteLLM_SpendLogs.", "spend_log_fold.")),
      ...FOLD_TRIGGERS,
    ];
  }
  return {
    status: m.get("rollups.status") === "paused" ? "paused" : "ready",
    deleteMode: m.get("rollups.delete_mode") === "subtract" ? "subtract" : "keep",
    dirtyDays: days.filter((r) => r.dirty).map((r) => ({ day: r.day, reason: r.dirty_reason })),
    rawDeletedDays: days.filter((r) => r.raw_deleted).map((r) => r.day),
    missingTriggers: expected.filter((x) => !present.has(x)),
  };
}

async function setStatus(db: Db, status: RollupStatusValue): Promise<void> {
  await setMeta(db, "rollups.status", status);
}

/**
 * For bulk loads: the triggers stop computing rollups and only mark the days they touch dirty (readers
 * stay exact by reading those days raw). Follow with `resumeRollups` and `rebuildRollups`.
 */
export async function pauseRollups(db: Db): Promise<void> {
  await setStatus(db, "paused");
}

export async function resumeRollups(db: Db): Promise<void> {
  await setStatus(db, "ready");
}

export async function setRollupDeleteMode(db: Db, mode: RollupDeleteMode): Promise<void> {
  if (mode !== "keep" && mode !== "subtract") throw badRequest("delete_mode", "must be keep or subtract");
  await setMeta(db, "rollups.delete_mode", mode);
}

export interface RebuildOptions {
  /**
   * Which days: 'dirty' (default) rebuilds the days marked dirty; 'all' every day from the first to the
   * last raw log (and every dirty day). Explicit `from`/`to` ('YYYY-MM-DD', inclusive) rebuild that range.
   */
  scope?: "dirty" | "all";
  from?: string;
  to?: string;
  /** Rebuild days that lost raw logs while totals were kept (their kept totals are then lost). Default false. */
  includeRawDeleted?: boolean;
  /** Days per transaction: each one holds a write lock on the log tables while it runs. Default 7. */
  chunkDays?: number;
  onProgress?: (doneDays: number, totalDays: number) => void;
}

export interface RebuildResult {
  days: number;
  chunks: number;
  skippedRawDeleted: string[];
  ms: number;
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** Groups sorted days into runs of consecutive days, each at most `max` long. */
function runs(days: string[], max: number): [string, string][] {
  const out: [string, string][] = [];
  let start: string | null = null;
  let prev: string | null = null;
  let len = 0;
  for (const d of days) {
    if (start !== null && prev !== null && dayNumber(prev) + 1 === dayNumber(d) && len < max) {
      prev = d;
      len++;
      continue;
    }
    if (start !== null && prev !== null) out.push([start, prev]);
    start = d;
    prev = d;
    len = 1;
  }
  if (start !== null && prev !== null) out.push([start, prev]);
  return out;
}

/**
 * Recomputes rollup days from the raw logs, a chunk of days per transaction. Each chunk locks the log
 * tables against writers (SHARE ROW EXCLUSIVE: readers go on) for its duration, deletes the chunk's
 * rollup rows and recomputes them, so concurrent writers never fall between the two: a write either
 * lands before the lock (and is recomputed) or after the commit (and its trigger adds it).
 * Rebuilt days are clean (no longer dirty or raw_deleted).
 */
export async function rebuildRollups(db: Db, opts: RebuildOptions = {}): Promise<RebuildResult> {
  const started = performance.now();
  for (const [k, v] of [
    ["from", opts.from],
    ["to", opts.to],
  ] as const) {
    if (v !== undefined && !DAY_RE.test(v)) throw badRequest(k, "must be a date YYYY-MM-DD");
  }
  const chunkDays = Math.max(1, Math.floor(opts.chunkDays ?? 7));
  const st = await rollupStatus(db);
  const dirty = new Set(st.dirtyDays.map((d) => d.day));
  const rawDeleted = new Set(st.rawDeletedDays);
  const wanted = new Set<string>(dirty);
  if (opts.from !== undefined || opts.to !== undefined || opts.scope === "all") {
    let lo = opts.from ?? null;
    let hi = opts.to ?? null;
    if (lo === null || hi === null) {
      const r = await sql<{ lo: string | null; hi: string | null }>`
        SELECT least(a.lo, b.lo)::text AS lo, greatest(a.hi, b.hi)::text AS hi FROM
          (SELECT spendlens.utc_day(min("startTime")) AS lo, spendlens.utc_day(max("startTime")) AS hi FROM "LiteLLM_SpendLogs") a,
          (SELECT spendlens.utc_day(min("startTime")) AS lo, spendlens.utc_day(max("startTime")) AS hi FROM "LiteLLM_ErrorLogs") b`.execute(
        db,
      );
      lo ??= r.rows[0]?.lo ?? null;
      hi ??= r.rows[0]?.hi ?? null;
    }
    if (lo !== null && hi !== null) for (const d of eachDay(lo, hi)) wanted.add(d);
  }
  const skipped: string[] = [];
  const days = [...wanted].sort().filter((d) => {
    if (rawDeleted.has(d) && !dirty.has(d) && !opts.includeRawDeleted) {
      skipped.push(d);
      return false;
    }
    return true;
  });
  const chunks = runs(days, chunkDays);
  const activity = await hasActivityRollups(db);
  let done = 0;
  for (const [a, b] of chunks) {
    await db.transaction().execute(async (trx) => {
      await sql`SET LOCAL statement_timeout = 0`.execute(trx);
      await sql`SELECT spendlens.rollups_rebuild_days(${a}::date, ${b}::date)`.execute(trx);
      // Migration 0009's activity rollups are rebuilt in the same transaction, under the same lock.
      if (activity)
        await sql`SELECT spendlens.activity_rollups_fill_days(${a}::date, ${b}::date)`.execute(trx);
    });
    done += dayNumber(b) - dayNumber(a) + 1;
    opts.onProgress?.(done, days.length);
  }
  return {
    days: days.length,
    chunks: chunks.length,
    skippedRawDeleted: skipped,
    ms: performance.now() - started,
  };
}
