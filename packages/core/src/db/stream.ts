import { type ControlledTransaction, type RawBuilder, sql } from "kysely";
import { foldBeforeRead } from "../rollups/fold.ts";
import type { Db } from "./connect.ts";
import type { Database } from "./schema.ts";
import { schemaFacts } from "./schemaFacts.ts";

/**
 * Reading a big answer in chunks, so that memory is bounded by a chunk and not by the answer.
 *
 * Postgres: the statement runs as a server-side cursor (`DECLARE … NO SCROLL CURSOR` in a READ ONLY
 * transaction on one pooled connection), read with `FETCH FORWARD n`. The next chunk is fetched while
 * the caller handles the current one (one chunk of read-ahead). The cursor is one statement, so the
 * whole answer is one snapshot. While a caller streams, it holds that connection and its snapshot: a
 * client that reads slowly keeps them until it is done or the connection is closed (then the generator
 * is returned, the transaction rolled back and the connection released).
 *
 * PGlite (one connection for the whole process): the chunks are read to the end first and the
 * connection released before the first chunk is handed out, so a slow HTTP client never blocks the
 * embedded database; memory there is the whole answer (embedded data sets are small).
 */

export interface StreamOptions {
  /** Rows per FETCH (1..100000). Default 500. */
  chunkRows?: number;
  /**
   * Transaction-local settings (SET LOCAL), from an allowlist: `jit` (off: a per-day LATERAL read is
   * estimated far above jit_above_cost and a JIT compile costs more than the query) and
   * `extra_float_digits` (3: every float8 printed as text round-trips exactly).
   */
  settings?: Partial<Record<StreamSetting, string>>;
}

const STREAM_SETTINGS = ["jit", "extra_float_digits", "work_mem"] as const;
export type StreamSetting = (typeof STREAM_SETTINGS)[number];

/** True on PGlite (Postgres compiled to WebAssembly), false on a Postgres server (schema facts). */
export async function isEmbeddedDb(db: Db): Promise<boolean> {
  return (await schemaFacts(db)).embedded;
}

type Trx = ControlledTransaction<Database>;

/** A transaction that a stream owns: a failed COMMIT still releases its connection (by a rollback). */
class Owned {
  private open = true;
  constructor(readonly trx: Trx) {}
  async commit(): Promise<void> {
    if (!this.open) return;
    await this.trx.commit().execute();
    this.open = false;
  }
  async rollback(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await this.trx.rollback().execute();
  }
}

/** READ ONLY, REPEATABLE READ: every query of the transaction sees one snapshot (a plan and its cursor). */
async function begin(db: Db): Promise<Owned> {
  return new Owned(
    await db.startTransaction().setAccessMode("read only").setIsolationLevel("repeatable read").execute(),
  );
}

async function applySettings(trx: Trx, opts: StreamOptions): Promise<void> {
  for (const [k, v] of Object.entries(opts.settings ?? {})) {
    if (!(STREAM_SETTINGS as readonly string[]).includes(k)) throw new Error(`setting ${k} not allowed`);
    await sql`SELECT set_config(${k}, ${v}, true)`.execute(trx);
  }
}

function chunkSize(opts: StreamOptions): number {
  const n = opts.chunkRows ?? 500;
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new Error(`chunkRows must be 1..100000, not ${n}`);
  return n;
}

/**
 * `stmt` as a cursor on an open transaction, `n` rows per FETCH, the next FETCH sent while the caller
 * handles the current chunk. Leaves the transaction open (its owner ends it).
 */
async function* cursorOn<R>(
  trx: Trx,
  stmt: RawBuilder<R>,
  n: number,
  name: string,
): AsyncGenerator<R[], void, undefined> {
  // DECLARE and FETCH take the cursor's name and FETCH its count as syntax: both are made here.
  await sql`DECLARE ${sql.raw(name)} NO SCROLL CURSOR FOR ${stmt}`.execute(trx);
  const fetch = () =>
    sql<R>`FETCH FORWARD ${sql.raw(String(n))} FROM ${sql.raw(name)}`.execute(trx).then((r) => r.rows);
  let pending: Promise<R[]> | null = fetch();
  try {
    for (;;) {
      const rows: R[] = await (pending as Promise<R[]>);
      pending = null;
      if (rows.length === n) {
        pending = fetch();
        // An unobserved rejection would crash the process if the consumer stops here; awaited below.
        pending.catch(() => {});
      }
      if (rows.length) yield rows;
      if (rows.length < n) return;
    }
  } finally {
    if (pending) await pending.catch(() => {});
  }
}

/**
 * The rows of `stmt`, in its order, `chunkRows` at a time. Stop early by leaving the `for await`
 * (break, throw, or the consumer being destroyed): the cursor is closed and the connection released.
 */
export async function* streamRows<R>(
  db: Db,
  stmt: RawBuilder<R>,
  opts: StreamOptions = {},
): AsyncGenerator<R[], void, undefined> {
  yield* streamPlanned(
    db,
    async () => [stmt],
    () => 0,
    opts,
  );
}

/**
 * Several statements read side by side, each on its own connection and backend (so a big read uses
 * more than one CPU of the database server), all in ONE snapshot: the first transaction exports it
 * (pg_export_snapshot), the others import it, so the merged answer is exactly what one statement
 * would have read. Each statement's rows must come ordered by `compare`, and rows that compare equal
 * must all come from one statement (e.g. the days of a window dealt out round-robin, compared by
 * day; or keys dealt out by hash): the merge then yields every row in order. Read-ahead is one chunk
 * per statement; memory stays a few chunks. On PGlite (one connection) the statements are read one
 * after the other.
 */
export function streamRowsMerged<R>(
  db: Db,
  stmts: readonly RawBuilder<R>[],
  compare: (a: R, b: R) => number,
  opts: StreamOptions = {},
): AsyncGenerator<R[], void, undefined> {
  return streamPlanned(db, async () => [...stmts], compare, opts);
}

/**
 * streamRowsMerged whose statements are decided inside the read's first transaction: `plan` runs there
 * first and returns the statements (none: nothing to read). Every transaction is READ ONLY and
 * REPEATABLE READ, so what `plan` queries is the snapshot every statement then reads (e.g. to check
 * what a cache holds against the very data a miss is computed from).
 */
export async function* streamPlanned<R>(
  db: Db,
  plan: (trx: Db) => Promise<RawBuilder<R>[]>,
  compare: (a: R, b: R) => number,
  opts: StreamOptions = {},
): AsyncGenerator<R[], void, undefined> {
  const n = chunkSize(opts);
  const embedded = await isEmbeddedDb(db);
  const owned: Owned[] = [];
  const gens: AsyncGenerator<R[], void, undefined>[] = [];
  try {
    // The plan reads rollups inside the snapshot, where no fold can run: fold first (rollups/fold.ts).
    await foldBeforeRead(db);
    const first = await begin(db);
    owned.push(first);
    await applySettings(first.trx, opts);
    const stmts = await plan(first.trx);
    if (stmts.length === 0) {
      await first.commit();
      return;
    }
    if (embedded) {
      // One connection for the whole process: read everything, release it, then hand the rows out.
      const all: R[][] = [];
      for (let j = 0; j < stmts.length; j++) {
        const rows: R[] = [];
        for await (const c of cursorOn(first.trx, stmts[j]!, n, `spendlens_stream_${j}`)) rows.push(...c);
        all.push(rows);
      }
      await first.commit();
      yield* mergeArrays(all, compare, n);
      return;
    }
    gens.push(cursorOn(first.trx, stmts[0]!, n, "spendlens_stream_0"));
    if (stmts.length > 1) {
      const id = (await sql<{ id: string }>`SELECT pg_export_snapshot() AS id`.execute(first.trx)).rows[0]!
        .id;
      // SET TRANSACTION SNAPSHOT takes a literal; the id comes from pg_export_snapshot(), checked here.
      if (!/^[0-9A-Fa-f-]+$/.test(id)) throw new Error("unexpected snapshot id");
      for (let j = 1; j < stmts.length; j++) {
        const o = await begin(db);
        owned.push(o);
        await sql`SET TRANSACTION SNAPSHOT ${sql.raw(`'${id}'`)}`.execute(o.trx);
        await applySettings(o.trx, opts);
        gens.push(cursorOn(o.trx, stmts[j]!, n, "spendlens_stream_0"));
      }
    }
    yield* mergeStreams(gens, compare, n);
    for (const o of owned) await o.commit();
  } finally {
    await Promise.all(gens.map((g) => g.return(undefined).catch(() => {})));
    // Rolls back what is still open (an error, or a consumer that stopped early); no-op once committed.
    await Promise.all(owned.map((o) => o.rollback().catch(() => {})));
  }
}

async function* mergeArrays<R>(
  all: R[][],
  compare: (a: R, b: R) => number,
  n: number,
): AsyncGenerator<R[], void, undefined> {
  yield* mergeStreams(
    all.map((rows) =>
      (async function* () {
        if (rows.length) yield rows;
      })(),
    ),
    compare,
    n,
  );
}

/** Merges ordered chunk streams (rows that compare equal all in one stream) into chunks of about n. */
async function* mergeStreams<R>(
  gens: AsyncGenerator<R[], void, undefined>[],
  compare: (a: R, b: R) => number,
  n: number,
): AsyncGenerator<R[], void, undefined> {
  if (gens.length === 1) {
    yield* gens[0]!;
    return;
  }
  const heads: { rows: R[]; i: number }[] = [];
  const starts = gens.map((g) => g.next());
  for (const s of starts) s.catch(() => {});
  for (const s of starts) {
    const r = await s;
    heads.push({ rows: r.done ? [] : r.value, i: 0 });
  }
  let out: R[] = [];
  for (;;) {
    let best = -1;
    for (let j = 0; j < heads.length; j++) {
      const h = heads[j]!;
      if (h.i >= h.rows.length) continue;
      if (best < 0 || compare(h.rows[h.i]!, heads[best]!.rows[heads[best]!.i]!) < 0) best = j;
    }
    if (best < 0) break;
    const h = heads[best]!;
    const lead = h.rows[h.i]!;
    // Every row equal to this one comes from this stream: take them all.
    do {
      out.push(h.rows[h.i++]!);
      if (h.i >= h.rows.length) {
        const r = await gens[best]!.next();
        h.rows = r.done ? [] : r.value;
        h.i = 0;
      }
    } while (h.i < h.rows.length && compare(h.rows[h.i]!, lead) === 0);
    if (out.length >= n) {
      yield out;
      out = [];
    }
  }
  if (out.length) yield out;
}
