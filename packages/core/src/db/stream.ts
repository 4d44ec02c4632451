import { type RawBuilder, sql } from "kysely";
import type { Db } from "./connect.ts";

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

const engineCache = new WeakMap<Db, Promise<boolean>>();

/** True on PGlite (Postgres compiled to WebAssembly), false on a Postgres server. */
export function isEmbeddedDb(db: Db): Promise<boolean> {
  let p = engineCache.get(db);
  if (!p) {
    p = sql<{ v: string }>`SELECT version() AS v`
      .execute(db)
      .then((r) => /wasm|emscripten/i.test(r.rows[0]?.v ?? ""));
    engineCache.set(db, p);
    p.catch(() => engineCache.delete(db));
  }
  return p;
}

const CURSOR = "spendlens_stream";

/** How a cursor's transaction takes its snapshot (parallel reads: streamRowsMerged). */
type SnapshotRole =
  /** Export the snapshot; keep the transaction open (even when done) until `hold` settles. */
  { export: (id: string) => void; hold: Promise<void> } | { import: string } | null;

/**
 * The rows of `stmt`, in its order, `chunkRows` at a time. Stop early by leaving the `for await`
 * (break, throw, or the consumer being destroyed): the cursor is closed and the connection released.
 */
export function streamRows<R>(
  db: Db,
  stmt: RawBuilder<R>,
  opts: StreamOptions = {},
): AsyncGenerator<R[], void, undefined> {
  return cursorRows(db, stmt, opts, null);
}

async function* cursorRows<R>(
  db: Db,
  stmt: RawBuilder<R>,
  opts: StreamOptions,
  snapshot: SnapshotRole,
): AsyncGenerator<R[], void, undefined> {
  const n = opts.chunkRows ?? 500;
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new Error(`chunkRows must be 1..100000, not ${n}`);
  const embedded = await isEmbeddedDb(db);
  let begin = db.startTransaction().setAccessMode("read only");
  if (snapshot) begin = begin.setIsolationLevel("repeatable read");
  const trx = await begin.execute();
  let open = true;
  // A failed COMMIT leaves the connection taken: the rollback in `finally` then releases it.
  const end = async (ok: boolean) => {
    if (!open) return;
    if (ok) {
      await trx.commit().execute();
      open = false;
    } else {
      open = false;
      await trx.rollback().execute();
    }
  };
  let pending: Promise<R[]> | null = null;
  try {
    if (snapshot && "import" in snapshot) {
      // SET TRANSACTION SNAPSHOT takes a literal; the id comes from pg_export_snapshot(), checked here.
      if (!/^[0-9A-Fa-f-]+$/.test(snapshot.import)) throw new Error("unexpected snapshot id");
      await sql`SET TRANSACTION SNAPSHOT ${sql.raw(`'${snapshot.import}'`)}`.execute(trx);
    } else if (snapshot) {
      const r = await sql<{ id: string }>`SELECT pg_export_snapshot() AS id`.execute(trx);
      snapshot.export(r.rows[0]!.id);
    }
    for (const [k, v] of Object.entries(opts.settings ?? {})) {
      if (!(STREAM_SETTINGS as readonly string[]).includes(k)) throw new Error(`setting ${k} not allowed`);
      await sql`SELECT set_config(${k}, ${v}, true)`.execute(trx);
    }
    await sql`DECLARE ${sql.raw(CURSOR)} NO SCROLL CURSOR FOR ${stmt}`.execute(trx);
    // FETCH takes its count as syntax, not as a parameter: n is a checked integer.
    const fetch = () =>
      sql<R>`FETCH FORWARD ${sql.raw(String(n))} FROM ${sql.raw(CURSOR)}`.execute(trx).then((r) => r.rows);
    if (embedded) {
      const chunks: R[][] = [];
      for (;;) {
        const rows = await fetch();
        if (rows.length) chunks.push(rows);
        if (rows.length < n) break;
      }
      await end(true);
      yield* chunks;
      return;
    }
    pending = fetch();
    for (;;) {
      const rows: R[] = await (pending as Promise<R[]>);
      pending = null;
      if (rows.length === n) {
        pending = fetch();
        // An unobserved rejection would crash the process if the consumer stops here; it is awaited below.
        pending.catch(() => {});
      }
      if (rows.length) yield rows;
      if (rows.length < n) break;
    }
    // An exported snapshot lives as long as its transaction: the importers must have taken it first.
    if (snapshot && "export" in snapshot) await snapshot.hold;
    await end(true);
  } finally {
    if (pending) await pending.catch(() => {});
    await end(false).catch(() => {});
  }
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
export async function* streamRowsMerged<R>(
  db: Db,
  stmts: readonly RawBuilder<R>[],
  compare: (a: R, b: R) => number,
  opts: StreamOptions = {},
): AsyncGenerator<R[], void, undefined> {
  if (stmts.length === 0) return;
  if (stmts.length === 1) {
    yield* streamRows(db, stmts[0]!, opts);
    return;
  }
  const n = opts.chunkRows ?? 500;
  const embedded = await isEmbeddedDb(db);
  let exported!: (id: string) => void;
  let failed!: (e: unknown) => void;
  const snapshotId = new Promise<string>((res, rej) => {
    exported = res;
    failed = rej;
  });
  let release!: () => void;
  const hold = new Promise<void>((res) => {
    release = res;
  });
  const gens: AsyncGenerator<R[], void, undefined>[] = [];
  const heads: { rows: R[]; i: number }[] = [];
  try {
    gens.push(cursorRows(db, stmts[0]!, opts, embedded ? null : { export: (id) => exported(id), hold }));
    const first = gens[0]!.next();
    first.catch((e) => failed(e));
    const id = embedded ? null : await snapshotId;
    for (const s of stmts.slice(1)) gens.push(cursorRows(db, s, opts, id === null ? null : { import: id }));
    const starts = [first, ...gens.slice(1).map((g) => (embedded ? null : g.next()))];
    // Each importer has taken the snapshot (or failed) once its first chunk is in.
    await Promise.allSettled(starts.slice(1));
    release();
    for (let j = 0; j < gens.length; j++) {
      const r = await (starts[j] ?? gens[j]!.next());
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
      // Every row equal to this one comes from this statement: take them all.
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
  } finally {
    release();
    await Promise.all(gens.map((g) => g.return(undefined).catch(() => {})));
  }
}
