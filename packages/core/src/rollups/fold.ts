import { type QueryResult, type RawBuilder, sql } from "kysely";
import { type Db, pgPoolOf } from "../db/connect.ts";
import { executeNamed } from "../db/named.ts";
import { type Coalesced, coalesced, perHandle, runAfterCurrent } from "../db/perHandle.ts";
import { schemaFacts } from "../db/schemaFacts.ts";

/**
 * Inserted spend logs reach the rollup tables through a fold (migration 0010): the insert trigger on
 * "LiteLLM_SpendLogs" only appends a narrow copy of each row to `spendlens.spend_log_pending`, and
 * `spendlens.rollups_fold()` applies every committed pending row to the rollups (the same upserts the
 * insert triggers of 0003/0004/0009 ran, now once per fold instead of once per INSERT statement) and
 * deletes it, one fold at a time (an advisory lock: a fold that finds another one running waits for it,
 * so it never misses rows the other took but has not committed). Readers fold before they read
 * (`foldBeforeRead`), the server folds every second, maintenance (rebuilds) folds under its lock.
 */

/**
 * Rows one fold statement takes at most. Each chunk is its own statement (and, outside a transaction, its
 * own transaction), so a backlog (the server was down while LiteLLM wrote) is folded in steps that each
 * finish within the statement timeout, and every finished step stays folded.
 */
export const FOLD_CHUNK_ROWS = 5000;

/** Applies every pending inserted log to the rollups now, a chunk at a time; returns how many it applied. */
export async function foldRollups(db: Db): Promise<number> {
  // A database migrated part of the way (as some tests make) has no fold (migration 0010).
  if (!(await schemaFacts(db)).fold) return 0;
  let total = 0;
  for (;;) {
    const r = await executeNamed(
      db,
      sql<{ n: string | number }>`SELECT spendlens.rollups_fold(${FOLD_CHUNK_ROWS}::int) AS n`,
    );
    const n = Number(r.rows[0]?.n ?? 0);
    total += n;
    if (n < FOLD_CHUNK_ROWS) return total;
  }
}

/**
 * Dead rows in `spendlens.spend_log_pending` above which `vacuumPendingIfBloated` vacuums it: 0010 sets
 * the same autovacuum threshold on the table, but autovacuum may be off (as on some CI and bench
 * machines) or late, and every reader's "anything pending?" check scans the queue's dead pages until a
 * vacuum: 224,000 dead rows (three bulk loads folded) made that check ~20 ms on every request.
 */
export const PENDING_VACUUM_DEAD_ROWS = 20_000;

/**
 * Vacuums the fold's queue when the statistics count at least `deadRows` dead rows in it (one stats
 * function call, cheap enough for every timed fold)
 * (the server calls it after its timed fold). `SKIP_LOCKED`: a replica's vacuum already running is
 * enough. Not in a transaction, not on a standby. Returns whether it vacuumed.
 */
export async function vacuumPendingIfBloated(
  db: Db,
  deadRows: number = PENDING_VACUUM_DEAD_ROWS,
): Promise<boolean> {
  if (db.isTransaction || standbys.has(db) || !(await schemaFacts(db)).fold) return false;
  const r = await sql<{
    dead: string | number | null;
  }>`SELECT pg_stat_get_dead_tuples(to_regclass('spendlens.spend_log_pending')) AS dead`.execute(db);
  if (Number(r.rows[0]?.dead ?? 0) < deadRows) return false;
  await sql`VACUUM (SKIP_LOCKED) spendlens.spend_log_pending`.execute(db);
  return true;
}

const states = perHandle<Db, Coalesced<number>>(() => coalesced());

/**
 * A fold that starts after this call, so it sees every insert committed before the call: the running
 * fold's successor, shared by every caller that arrives while one runs (concurrent readers cost one fold).
 */
export function foldRollupsSoon(db: Db): Promise<number> {
  return runAfterCurrent(states.get(db), () => foldRollups(db));
}

const standbys = new WeakSet<object>();
/**
 * Marks a handle on a hot standby: it cannot write, so its readers never fold. Its answers are the
 * rollups as of the last fold the standby has replayed: spendlens's own ingest folds before it answers,
 * so every acknowledged batch is in them; rows another writer (LiteLLM) inserted reach them with the
 * primary server's next timed fold (SPENDLENS_ROLLUP_FOLD_MS).
 */
export function markStandby(db: Db): void {
  standbys.add(db);
}

/**
 * Called by every reader of the spend rollup tables before it reads: a report right after an insert's
 * commit includes it. Inside a transaction nothing is done: a fold there would hold the fold's lock until
 * that transaction ends (and a READ ONLY snapshot cannot fold), so a transaction's owner folds before it
 * begins (db/stream.ts does).
 */
export async function foldBeforeRead(db: Db): Promise<void> {
  if (!foldsBeforeRead(db)) return;
  await foldRollupsSoon(db);
}

/**
 * Whether `foldBeforeRead(db)` folds on this handle (a primary outside a transaction); false on a hot
 * standby and inside a transaction, where readers read the rollups as they are.
 */
export function foldsBeforeRead(db: Db): boolean {
  return !db.isTransaction && !standbys.has(db);
}

/**
 * After a read found logs waiting for a fold, the reads of the next FOLD_FIRST_MS on that handle fold
 * first (two round trips, as `foldBeforeRead`) rather than try the one-statement read, which would fail
 * again while a writer keeps the queue busy.
 */
export const FOLD_FIRST_MS = 1000;

const pendingSeenAt = perHandle<Db, { at: number }>(() => ({ at: Number.NEGATIVE_INFINITY }));

/**
 * Ends the handle's fold-first window now: its next read tries its one checked statement, as it would
 * FOLD_FIRST_MS after the last read that found logs waiting (tests, instead of waiting that long).
 */
export function endFoldFirstWindow(db: Db): void {
  pendingSeenAt.get(db).at = Number.NEGATIVE_INFINITY;
}

/** What a checked read answers when its statement found a log waiting for a fold (`readFolded`). */
export const LOGS_WAITING: unique symbol = Symbol("logs waiting for a fold");

/**
 * The checked read alone, unless this handle folds first for now (a read on it found logs waiting less
 * than FOLD_FIRST_MS ago): its answer, or LOGS_WAITING when it did not run or found a log waiting (from
 * then on the handle folds first for FOLD_FIRST_MS). Nothing is folded here.
 */
async function tryChecked<T>(db: Db, checked: () => Promise<T | typeof LOGS_WAITING>) {
  const seen = pendingSeenAt.get(db);
  if (performance.now() - seen.at < FOLD_FIRST_MS) return LOGS_WAITING;
  const r = await checked();
  if (r === LOGS_WAITING) seen.at = performance.now();
  return r;
}

/**
 * A read of the rollups as fresh as `foldBeforeRead` then the read: every log committed before it is in
 * its answer. `checked` (null where it cannot run) is the read whose own statement also checks, in its
 * snapshot, that no log waits for a fold, and answers LOGS_WAITING otherwise: alone it is one round
 * trip. When it finds logs waiting, or within FOLD_FIRST_MS after a read on this handle did, the handle
 * folds first and runs `plain`. A standby or a transaction (no fold there) runs `plain` as it is.
 */
export async function readFolded<T>(
  db: Db,
  checked: (() => Promise<T | typeof LOGS_WAITING>) | null,
  plain: () => Promise<T>,
): Promise<T> {
  if (!foldsBeforeRead(db)) return plain();
  if (checked) {
    const r = await tryChecked(db, checked);
    if (r !== LOGS_WAITING) return r;
  }
  await foldBeforeRead(db);
  return plain();
}

/** SQLSTATE of migration 0022's `spendlens.logs_folded()` when a log waits for a fold. */
export const LOGS_PENDING = "SLF01";

/** Whether a statement on this handle can carry the fold check: a Postgres pool at 0022 or later. */
async function canGuard(db: Db): Promise<boolean> {
  return pgPoolOf(db) !== undefined && (await schemaFacts(db)).foldGuard;
}

/** A statement carrying the fold check, named: its rows, or LOGS_WAITING when it raised SLF01. */
async function runGuarded<R>(db: Db, statement: RawBuilder<R>) {
  try {
    return await executeNamed(db, statement);
  } catch (e) {
    if ((e as { code?: unknown } | null)?.code !== LOGS_PENDING) throw e;
    return LOGS_WAITING;
  }
}

/**
 * `readFolded` for a statement over the spend rollups: `statement(true)` carries the check itself
 * (render's `guard`, migration 0022's `spendlens.logs_folded()`, which fails with SQLSTATE 'SLF01' when a
 * log waits) on a Postgres primary at 0022 or later; elsewhere (PGlite, before 0022) the handle folds
 * first and runs `statement(false)`, as every reader did before. Both as named statements on Postgres
 * (db/named.ts).
 */
export async function executeFolded<R>(
  db: Db,
  statement: (guard: boolean) => RawBuilder<R>,
): Promise<QueryResult<R>> {
  const checked = (await canGuard(db)) ? () => runGuarded(db, statement(true)) : null;
  return readFolded(db, checked, () => executeNamed(db, statement(false)));
}

/**
 * A statement carrying the fold check (render's `guard`) run alone, for a reader that has its own way
 * to read otherwise: its rows, or null when it did not answer: the handle cannot check (PGlite, before
 * 0022, a standby, a transaction), the handle folds first for now (a read found logs waiting less than
 * FOLD_FIRST_MS ago), or the statement found a log waiting (from then on the handle folds first, as
 * after `readFolded`). Nothing is folded here. For a statement whose check may never be evaluated (it
 * sits in a branch that runs only when needed): a reader that reads no rollup need not fold.
 */
export async function executeCheckedOnly<R>(
  db: Db,
  statement: () => RawBuilder<R>,
): Promise<QueryResult<R> | null> {
  if (!foldsBeforeRead(db) || !(await canGuard(db))) return null;
  const r = await tryChecked(db, () => runGuarded(db, statement()));
  return r === LOGS_WAITING ? null : r;
}
