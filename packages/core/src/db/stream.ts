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

/**
 * The rows of `stmt`, in its order, `chunkRows` at a time. Stop early by leaving the `for await`
 * (break, throw, or the consumer being destroyed): the cursor is closed and the connection released.
 */
export async function* streamRows<R>(
  db: Db,
  stmt: RawBuilder<R>,
  opts: StreamOptions = {},
): AsyncGenerator<R[], void, undefined> {
  const n = opts.chunkRows ?? 500;
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new Error(`chunkRows must be 1..100000, not ${n}`);
  const embedded = await isEmbeddedDb(db);
  const trx = await db.startTransaction().setAccessMode("read only").execute();
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
    await end(true);
  } finally {
    if (pending) await pending.catch(() => {});
    await end(false).catch(() => {});
  }
}
