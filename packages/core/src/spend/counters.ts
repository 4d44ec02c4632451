import { type RawBuilder, sql } from "kysely";
import type { Db } from "../db/connect.ts";
import { type Coalesced, coalesced, perHandle, runAfterCurrent } from "../db/perHandle.ts";

/** Spend to add, per entity. Built from logs that were actually inserted. */
export interface SpendDeltas {
  keys: Map<string, number>;
  users: Map<string, number>;
  teams: Map<string, number>;
  endUsers: Map<string, number>;
}

export const emptyDeltas = (): SpendDeltas => ({
  keys: new Map(),
  users: new Map(),
  teams: new Map(),
  endUsers: new Map(),
});

const bump = (m: Map<string, number>, k: string | null | undefined, v: number) => {
  if (k) m.set(k, (m.get(k) ?? 0) + v);
};

/** Adds one inserted log's spend to the deltas. */
export function addLogToDeltas(
  d: SpendDeltas,
  log: {
    api_key: string;
    spend: number;
    user: string | null;
    team_id: string | null;
    end_user: string | null;
  },
): void {
  if (!(log.spend > 0)) return;
  bump(d.keys, log.api_key, log.spend);
  bump(d.users, log.user, log.spend);
  bump(d.teams, log.team_id, log.spend);
  bump(d.endUsers, log.end_user, log.spend);
}

/**
 * Spend counters (key, user, team and end-user `spend` in LiteLLM's tables) are not updated by the writers
 * of spend logs. A writer appends its increments to `spendlens.counter_deltas` (one row per entity and
 * statement, no lock on any shared row) in the transaction that inserts the logs, and `foldSpendCounters`
 * adds them to the counters later (right after the write, see ingest.ts). Why: every batch touches the
 * same hot counter rows (the busy keys and teams); locked inside the ingest statement they were held from
 * the counter update until the commit, and two statements (several replicas) or LiteLLM's own spend
 * writer (one transaction per table, rows in no particular order) locked them in different orders and
 * deadlocked. The fold never waits for a row lock (FOR UPDATE SKIP LOCKED; a row locked by someone else
 * keeps its delta for the next fold), so it cannot be part of a deadlock, and only one fold runs at a time
 * (an advisory lock). Readers that must be exact add the pending deltas (`pendingSpendSql`).
 */
export type CounterKind = "key" | "user" | "team" | "end_user";

/** Each counter: its table and id column (allowlist for the SQL below). */
const COUNTERS: Record<CounterKind, { table: string; id: string }> = {
  key: { table: "LiteLLM_VerificationToken", id: "token" },
  user: { table: "LiteLLM_UserTable", id: "user_id" },
  team: { table: "LiteLLM_TeamTable", id: "team_id" },
  end_user: { table: "LiteLLM_EndUserTable", id: "user_id" },
};

/** pg_advisory_xact_lock key held by a fold (and by a counter reset): one fold at a time per database. */
export const COUNTER_FOLD_LOCK = 0x5e_c0_f0_1d;

/**
 * Records deltas (built from logs that were actually inserted) as pending counter increments, in the
 * caller's transaction. Keys, users and teams that do not exist are skipped (LiteLLM owns them).
 */
export async function recordSpendDeltas(db: Db, d: SpendDeltas): Promise<void> {
  const rows: [CounterKind, string, number][] = [];
  for (const [kind, m] of [
    ["key", d.keys],
    ["user", d.users],
    ["team", d.teams],
    ["end_user", d.endUsers],
  ] as const)
    for (const [id, delta] of m) rows.push([kind, id, delta]);
  if (!rows.length) return;
  await sql`INSERT INTO spendlens.counter_deltas (kind, entity, delta)
    SELECT v.kind, v.entity, v.delta
    FROM unnest(${rows.map((r) => r[0])}::text[], ${rows.map((r) => r[1])}::text[], ${rows.map((r) => r[2])}::float8[])
      AS v(kind, entity, delta)
    WHERE ${existsClause(sql`v.kind`, sql`v.entity`)}`.execute(db);
}

/** True when the entity's counter row exists, or is an end user (created by the fold when missing). */
function existsClause(kind: RawBuilder<unknown>, entity: RawBuilder<unknown>): RawBuilder<unknown> {
  const parts = (["key", "user", "team"] as const).map((k) => {
    const c = COUNTERS[k];
    return sql`(${kind} = ${k} AND EXISTS (SELECT 1 FROM ${sql.table(c.table)} t WHERE t.${sql.ref(c.id)} = ${entity}))`;
  });
  return sql`(${kind} = 'end_user' OR ${sql.join(parts, sql` OR `)})`;
}

/**
 * The ingest statement's part: one CTE that reads `ins` (the rows the statement actually inserted: spend,
 * api_key, "user", team_id, end_user), sums the spend per entity (only spend > 0, no empty or null ids)
 * and appends one pending increment per entity to `spendlens.counter_deltas`. Takes no lock on any
 * counter row: `foldSpendCounters` applies them.
 */
export function spendCounterCtes(): [string, RawBuilder<unknown>][] {
  const delta = (kind: CounterKind, col: string) =>
    sql`SELECT ${kind}::text AS kind, ${sql.ref(col)} AS entity, sum(spend) AS delta FROM ins
      WHERE spend > 0 AND ${sql.ref(col)} <> '' GROUP BY 2`;
  return [
    [
      "c_deltas",
      sql`INSERT INTO spendlens.counter_deltas (kind, entity, delta)
        SELECT d.kind, d.entity, d.delta FROM (${delta("key", "api_key")} UNION ALL ${delta("user", "user")}
          UNION ALL ${delta("team", "team_id")} UNION ALL ${delta("end_user", "end_user")}) d
        WHERE ${existsClause(sql`d.kind`, sql`d.entity`)}
        RETURNING 1`,
    ],
  ];
}

/** `coalesce(sum of the pending increments of entity, 0)`: add it to a counter for an exact read. */
export function pendingSpendSql(kind: CounterKind, entity: RawBuilder<unknown>): RawBuilder<number> {
  return sql<number>`coalesce((SELECT sum(d.delta) FROM spendlens.counter_deltas d
    WHERE d.kind = ${kind} AND d.entity = ${entity}), 0)::float8`;
}

/**
 * Every row of the keys' or the users' table with its exact spend (`spend_exact`: the counter plus its
 * pending increments, read in the same statement), highest first, ties by id; `userId` keeps the rows of
 * that user (a key's owner, or the user).
 */
export async function rowsBySpend<Row>(
  db: Db,
  kind: "key" | "user",
  userId: string | null,
): Promise<(Row & { spend_exact: number })[]> {
  const c = COUNTERS[kind];
  const id = sql.ref(`t.${c.id}`);
  const exact = sql<number>`(t.spend + ${pendingSpendSql(kind, id)})`;
  const r = await sql<Row & { spend_exact: number }>`SELECT t.*, ${exact} AS spend_exact
    FROM ${sql.table(c.table)} t ${userId !== null ? sql`WHERE t.user_id = ${userId}` : sql``}
    ORDER BY ${exact} DESC, ${id}`.execute(db);
  return r.rows;
}

export interface FoldResult {
  /** Counter rows incremented. */
  applied: number;
  /** Entities whose row was locked by another transaction: their increments wait for the next fold. */
  deferred: number;
}

/**
 * Adds every committed pending increment to its counter, in one transaction: takes the fold lock (waits
 * for a running fold; holds nothing else meanwhile), removes the pending rows it sees, locks the counter
 * rows that are free (`ORDER BY id FOR UPDATE SKIP LOCKED`: never waits for a row lock), adds the sums to
 * them, creates missing end users, and puts back the increments of rows it could not lock. Increments of
 * keys, users and teams deleted meanwhile are dropped (as an UPDATE of a missing row would).
 */
export async function foldSpendCounters(db: Db): Promise<FoldResult> {
  if (!db.isTransaction) return db.transaction().execute((trx) => foldSpendCounters(trx));
  await sql`SELECT pg_advisory_xact_lock(${COUNTER_FOLD_LOCK})`.execute(db);
  const locked = (k: Exclude<CounterKind, "end_user">) => {
    const c = COUNTERS[k];
    return sql`SELECT t.${sql.ref(c.id)} AS id FROM ${sql.table(c.table)} t
      WHERE t.${sql.ref(c.id)} IN (SELECT entity FROM agg WHERE kind = ${k})
      ORDER BY t.${sql.ref(c.id)} COLLATE "C" FOR UPDATE OF t SKIP LOCKED`;
  };
  const update = (k: CounterKind, lockCte: string) => {
    const c = COUNTERS[k];
    return sql`UPDATE ${sql.table(c.table)} t SET spend = t.spend + a.delta FROM agg a
      WHERE a.kind = ${k} AND a.entity = t.${sql.ref(c.id)} AND t.${sql.ref(c.id)} IN (SELECT id FROM ${sql.ref(lockCte)})
      RETURNING ${k}::text AS kind, t.${sql.ref(c.id)} AS entity`;
  };
  const r = await sql<{ applied: number; deferred: number }>`
    WITH taken AS (DELETE FROM spendlens.counter_deltas RETURNING kind, entity, delta),
      agg AS (SELECT kind, entity, sum(delta)::float8 AS delta FROM taken GROUP BY 1, 2),
      l_key AS (${locked("key")}),
      l_user AS (${locked("user")}),
      l_team AS (${locked("team")}),
      l_end AS (SELECT t.user_id AS id FROM "LiteLLM_EndUserTable" t
        WHERE t.user_id IN (SELECT entity FROM agg WHERE kind = 'end_user')
        ORDER BY t.user_id COLLATE "C" FOR UPDATE OF t SKIP LOCKED),
      u_key AS (${update("key", "l_key")}),
      u_user AS (${update("user", "l_user")}),
      u_team AS (${update("team", "l_team")}),
      u_end AS (${update("end_user", "l_end")}),
      new_end AS (INSERT INTO "LiteLLM_EndUserTable" AS t (user_id, spend)
        SELECT a.entity, a.delta FROM agg a WHERE a.kind = 'end_user'
          AND NOT EXISTS (SELECT 1 FROM "LiteLLM_EndUserTable" e WHERE e.user_id = a.entity)
        ORDER BY a.entity COLLATE "C"
        ON CONFLICT (user_id) DO NOTHING
        RETURNING 'end_user'::text AS kind, t.user_id AS entity),
      done AS (SELECT * FROM u_key UNION ALL SELECT * FROM u_user UNION ALL SELECT * FROM u_team
        UNION ALL SELECT * FROM u_end UNION ALL SELECT * FROM new_end),
      kept AS (INSERT INTO spendlens.counter_deltas (kind, entity, delta)
        SELECT a.kind, a.entity, a.delta FROM agg a
        WHERE NOT EXISTS (SELECT 1 FROM done WHERE done.kind = a.kind AND done.entity = a.entity)
          AND ${existsClause(sql`a.kind`, sql`a.entity`)}
        RETURNING 1)
    SELECT (SELECT count(*) FROM done)::int AS applied, (SELECT count(*) FROM kept)::int AS deferred`.execute(
    db,
  );
  return r.rows[0]!;
}

/** Per database handle: the fold running now and the one that will start after it, and the retries. */
interface FoldState extends Coalesced<FoldResult> {
  retry: ReturnType<typeof setTimeout> | null;
  /** Folds in a row that failed or deferred (the retries stop after FOLD_RETRIES; the next ingest folds). */
  misses: number;
}
const foldStates = perHandle<object, FoldState>(() => ({
  ...coalesced<FoldResult>(),
  retry: null,
  misses: 0,
}));

/** How long a fold that left increments pending (a locked row, an error) waits before it is tried again. */
const FOLD_RETRY_MS = 1000;
const FOLD_RETRIES = 30;

/**
 * A fold that starts after this call (so it sees every increment committed before it): the running
 * fold's successor, shared by every caller that arrives while one runs, so folds coalesce under load.
 * When a fold defers increments or fails, another is scheduled a second later (timer not keeping the
 * process alive; at most FOLD_RETRIES in a row, e.g. while the database is down: then the next ingest or
 * the next server start folds); readers are exact meanwhile.
 */
export function foldSpendCountersSoon(db: Db): Promise<FoldResult> {
  const s = foldStates.get(db);
  return runAfterCurrent(
    s,
    () => foldSpendCounters(db),
    (ok, r) => {
      const again = !ok || (r?.deferred ?? 0) > 0;
      s.misses = again ? s.misses + 1 : 0;
      if (again && !s.retry && s.misses <= FOLD_RETRIES) {
        s.retry = setTimeout(() => {
          s.retry = null;
          foldSpendCountersSoon(db).catch(() => {});
        }, FOLD_RETRY_MS);
        s.retry.unref?.();
      }
    },
  );
}
