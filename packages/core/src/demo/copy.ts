/** The Postgres bulk loader: COPY FROM STDIN into a staging table, moved into the logs chunk by chunk. */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Kysely, PostgresDialect, sql } from "kysely";
import type pg from "pg";
import pgCopy from "pg-copy-streams";
import type { Db } from "../db/connect.ts";
import { ERROR_LOG_CATALOG, type LogColumn, SPEND_LOG_CATALOG, SQL_TYPE } from "../db/logColumns.ts";
import type { Database } from "../db/schema.ts";
import { addLogToDeltas, emptyDeltas, recordSpendDeltas } from "../spend/counters.ts";
import type { DemoErrorLog, DemoLog } from "./generate.ts";
import { moveStagedErrors, moveStagedLogs } from "./pgliteBulk.ts";
import { aborted, type GeneratedRow, type SeedOptions, type WriteCounts } from "./seedTypes.ts";

/** A catalog's columns the demo generator fills, with their SQL types (staging tables, COPY lists). */
function demoColumns<Row>(
  catalog: readonly LogColumn[],
): ReadonlyArray<readonly [keyof Row & string, string]> {
  return catalog.filter((c) => c.demo).map((c) => [c.name as keyof Row & string, SQL_TYPE[c.type]] as const);
}

/** The spend log columns the loaders write, in the order `writeLogRow` writes them (db/logColumns.ts). */
export const LOG_COLUMNS = demoColumns<DemoLog>(SPEND_LOG_CATALOG);
/** The error log columns the loaders write, in the order `writeErrorRow` writes them. */
export const ERROR_COLUMNS = demoColumns<DemoErrorLog>(ERROR_LOG_CATALOG);

export const colList = (cols: ReadonlyArray<readonly [string, string]>) =>
  cols.map(([c]) => `"${c}"`).join(", ");
export const colDefs = (cols: ReadonlyArray<readonly [string, string]>) =>
  cols.map(([c, t]) => `"${c}" ${t}`).join(", ");

/** CSV goes to COPY in blocks of about this many bytes. */
export const CSV_BLOCK = 64 * 1024;

/**
 * Writes COPY ... (FORMAT csv) input straight into Buffers. (Building each row as a JS string and
 * encoding it afterwards costs several times the CPU, and on a small machine Node's CPU is what the
 * database ends up waiting for.)
 *
 * Escaping: every non-null string is quoted, so '' stays an empty string while an unquoted empty field
 * is NULL; quotes inside are doubled, and commas, CR/LF and a lone `\.` are then plain data. Text is
 * UTF-8. Numbers use JS's shortest round-trip form, which float8/integer input parses back exactly.
 */
export class CsvWriter {
  private buf = Buffer.allocUnsafe(CSV_BLOCK);
  private off = 0;
  /** Finished blocks, in order, waiting to be sent. */
  readonly ready: Buffer[] = [];

  /** Hands over what has been written so far. */
  flush(): void {
    if (!this.off) return;
    this.ready.push(this.buf.subarray(0, this.off));
    this.buf = Buffer.allocUnsafe(CSV_BLOCK);
    this.off = 0;
  }

  /** Makes room for `n` more bytes (a field may straddle two blocks' worth; COPY data need not align). */
  private reserve(n: number): void {
    if (this.buf.length - this.off >= n) return;
    this.flush();
    if (this.buf.length < n) this.buf = Buffer.allocUnsafe(n);
  }

  /** A text field: nothing (NULL) for null, else quoted. */
  text(s: string | null | undefined): void {
    if (s == null) return;
    // Worst case per UTF-16 unit: 3 bytes (non-ASCII) or 2 (a doubled quote); plus the two quotes.
    this.reserve(3 * s.length + 2);
    const b = this.buf;
    let o = this.off;
    b[o++] = 34;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        b[o++] = c;
        if (c === 34) b[o++] = 34;
      } else {
        const rest = s.slice(i);
        o += b.write(rest.includes('"') ? rest.replaceAll('"', '""') : rest, o, "utf8");
        break;
      }
    }
    b[o++] = 34;
    this.off = o;
  }

  /** A numeric field: nothing (NULL) for null. */
  num(v: number | null | undefined): void {
    if (v == null) return;
    if (Number.isSafeInteger(v)) {
      // Integers (token counts) by hand: String() costs several times more, per field, per row.
      let x = v < 0 ? -v : v;
      let len = v < 0 ? 2 : 1;
      for (let t = x; t >= 10; t = Math.floor(t / 10)) len++;
      this.reserve(len);
      const b = this.buf;
      if (v < 0) b[this.off] = 45;
      let o = this.off + len;
      do {
        b[--o] = 48 + (x % 10);
        x = Math.floor(x / 10);
      } while (x > 0);
      this.off += len;
      return;
    }
    const t = String(v); // digits . e + - or NaN/Infinity: ASCII, never needs quoting
    this.reserve(t.length);
    const b = this.buf;
    let o = this.off;
    for (let i = 0; i < t.length; i++) b[o++] = t.charCodeAt(i);
    this.off = o;
  }

  comma(): void {
    this.reserve(1);
    this.buf[this.off++] = 44;
  }

  endRow(): void {
    this.reserve(1);
    this.buf[this.off++] = 10;
    if (this.off >= CSV_BLOCK - 1024) this.flush();
  }
}

/** One spend log as a CSV row, fields in LOG_COLUMNS order. */
export function writeLogRow(w: CsvWriter, r: DemoLog): void {
  w.text(r.request_id);
  w.comma();
  w.text(r.call_type);
  w.comma();
  w.text(r.api_key);
  w.comma();
  w.num(r.spend);
  w.comma();
  w.num(r.total_tokens);
  w.comma();
  w.num(r.prompt_tokens);
  w.comma();
  w.num(r.completion_tokens);
  w.comma();
  w.text(r.startTime);
  w.comma();
  w.text(r.endTime);
  w.comma();
  w.text(r.model);
  w.comma();
  w.text(r.model_id);
  w.comma();
  w.text(r.model_group);
  w.comma();
  w.text(r.custom_llm_provider);
  w.comma();
  w.text(r.api_base);
  w.comma();
  w.text(r.user);
  w.comma();
  w.text(r.metadata);
  w.comma();
  w.text(r.cache_hit);
  w.comma();
  w.text(r.request_tags);
  w.comma();
  w.text(r.team_id);
  w.comma();
  w.text(r.end_user);
  w.comma();
  w.text(r.status);
  w.endRow();
}

/** One error log as a CSV row, fields in ERROR_COLUMNS order. */
export function writeErrorRow(w: CsvWriter, r: DemoErrorLog): void {
  w.text(r.request_id);
  w.comma();
  w.text(r.startTime);
  w.comma();
  w.text(r.endTime);
  w.comma();
  w.text(r.api_base);
  w.comma();
  w.text(r.model_group);
  w.comma();
  w.text(r.litellm_model_name);
  w.comma();
  w.text(r.model_id);
  w.comma();
  w.text(r.exception_type);
  w.comma();
  w.text(r.status_code);
  w.endRow();
}

/**
 * Pulls up to `limit` rows from the shared generator and yields their CSV block by block; the chunk's
 * error logs go to `errors` (sent after the logs). Only a block or two of logs is held at a time.
 */
export function* logCsv(
  rows: Iterator<GeneratedRow>,
  limit: number,
  errors: CsvWriter,
  counter: { n: number },
): Generator<Buffer> {
  const w = new CsvWriter();
  while (counter.n < limit) {
    const r = rows.next();
    if (r.done) break;
    counter.n++;
    writeLogRow(w, r.value.log);
    if (r.value.error) writeErrorRow(errors, r.value.error);
    if (w.ready.length) yield* w.ready.splice(0);
  }
  w.flush();
  yield* w.ready.splice(0);
}

export async function copyIn(
  client: pg.PoolClient,
  table: string,
  cols: ReadonlyArray<readonly [string, string]>,
  source: Iterable<Buffer>,
): Promise<void> {
  const stream = client.query(pgCopy.from(`COPY ${table} (${colList(cols)}) FROM STDIN (FORMAT csv)`));
  await pipeline(Readable.from(source), stream);
}

/** A Kysely instance that runs every query on one checked-out client (temp tables and COPY need one session). */
export function pinnedKysely(client: pg.PoolClient): Db {
  const conn = { query: client.query.bind(client), release: () => {} };
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool: { connect: async () => conn as never, end: async () => {} } }),
  });
}

/**
 * Whether "LiteLLM_SpendLogs" has an index led by api_key (spendlens's log-page indexes, standalone
 * mode). Such indexes are inserted into in random order, and with a small shared_buffers that costs a
 * page read and write per row; moving a chunk sorted by (api_key, "startTime") touches each of their
 * pages about once instead (measured: about a fifth less CPU per chunk with those indexes, and more
 * without them, where the sort only costs).
 */
export async function keyLedIndex(pool: pg.Pool): Promise<boolean> {
  const r = await pool.query<{ found: boolean }>(`SELECT EXISTS (
      SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
      WHERE i.indrelid = '"LiteLLM_SpendLogs"'::regclass AND a.attname = 'api_key') AS found`);
  return r.rows[0]?.found === true;
}

/** A place in a sequence: `wait` resolves once the previous holder called `done`; `next` is for the next one. */
export function takeTurn(prev: Promise<void>): {
  wait: Promise<void>;
  done: () => void;
  next: Promise<void>;
} {
  let done!: () => void;
  const next = new Promise<void>((r) => {
    done = r;
  });
  return { wait: prev, done, next };
}

/**
 * Writes spend logs (and their error logs) on Postgres, with counters; `opts.logs` is only the total
 * reported to onProgress. Each chunk is one transaction on a dedicated connection:
 *   1. COPY the chunk's logs (CSV made on the fly from the generator) and its error logs into temp
 *      staging tables;
 *   2. INSERT the logs into "LiteLLM_SpendLogs" (request_ids not registered, migration 0011) ON CONFLICT
 *      DO NOTHING, summing the spend
 *      of the rows actually inserted in SQL (RETURNING feeds a GROUP BY; only the sums reach the client),
 *      and the error logs into "LiteLLM_ErrorLogs" likewise;
 *   3. recordSpendDeltas (pending counter increments, one row per entity; seedDemoData folds them into
 *      the counters at the end), then commit.
 * Two connections ("lanes") take alternate chunks and run in parallel: on a 2-core machine the two
 * backends' INSERTs (index and rollup-trigger upkeep is most of a seed's cost) use both cores while
 * Node generates the next chunk. COPYs run in chunk order (the generator is shared). Locks:
 * - the rollup triggers upsert in one global order (table, day, key_hash), so two lanes may wait for
 *   each other's commit (adjacent chunks share a day) but never deadlock;
 * - step 3 only appends rows: no counter row is locked by a chunk;
 * - a deadlock with some other writer (e.g. a live gateway) is retried from a savepoint: the staged
 *   rows are still there.
 * Progress is reported as chunks commit (possibly out of order; the count is what matters).
 */
export async function copyLogRows(
  pool: pg.Pool,
  source: Iterable<GeneratedRow>,
  opts: Pick<SeedOptions, "logs" | "batchSize" | "onProgress">,
): Promise<WriteCounts> {
  const rows = source[Symbol.iterator]();
  const chunkSize = Math.max(1, opts.batchSize ?? 100_000);
  const lanes = Math.max(1, Math.min(2, pool.options.max ?? 2));
  const st = {
    written: 0,
    inserted: 0,
    errorLogs: 0,
    exhausted: false,
    failed: null as { error: unknown } | null,
  };
  let copyGate = Promise.resolve();

  const order = (await keyLedIndex(pool)) ? sql`ORDER BY api_key, "startTime"` : sql``;

  /** Step 2 and 3 of one chunk; returns [logs inserted, error logs inserted]. */
  const move = async (trx: Db, withErrors: boolean): Promise<[number, number]> => {
    const agg = await moveStagedLogs(trx, order);
    const errorsInserted = withErrors ? await moveStagedErrors(trx) : 0;
    const deltas = emptyDeltas();
    let inserted = 0;
    for (const r of agg.rows) {
      inserted += r.n;
      addLogToDeltas(deltas, r);
    }
    await recordSpendDeltas(trx, deltas);
    return [inserted, errorsInserted];
  };

  const onClientError = (error: Error) => {
    st.failed ??= { error };
  };
  const lane = async (): Promise<void> => {
    let client: pg.PoolClient | undefined;
    let db: Db | undefined;
    let broken = false;
    try {
      client = await pool.connect();
      const c = client;
      // A connection that dies mid-COPY (a Postgres restart) must fail this seed, not the process:
      // the error reaches the statement in flight, and the client is discarded below.
      c.on("error", onClientError);
      db = pinnedKysely(c);
      while (!st.exhausted && !st.failed) {
        // Take this chunk's place in the COPY sequence before the other lane can.
        const copy = takeTurn(copyGate);
        copyGate = copy.next;
        const counter = { n: 0 };
        try {
          await copy.wait;
          if (st.exhausted || st.failed) break;
          const errors = new CsvWriter();
          await db.transaction().execute(async (trx) => {
            // A chunk's statements can outlast the pool's per-statement timeout; seeding is a bulk job.
            await sql`SET LOCAL statement_timeout = 0`.execute(trx);
            await sql`SET LOCAL work_mem = '128MB'`.execute(trx); // a chunk's sort (keyLedIndex) stays in memory
            await sql
              .raw(`CREATE TEMP TABLE seed_logs (${colDefs(LOG_COLUMNS)}) ON COMMIT DROP`)
              .execute(trx);
            try {
              await copyIn(c, "pg_temp.seed_logs", LOG_COLUMNS, logCsv(rows, chunkSize, errors, counter));
            } catch (err) {
              broken = true;
              throw err;
            }
            if (counter.n < chunkSize) st.exhausted = true;
            copy.done();
            if (!counter.n) return;
            errors.flush();
            if (errors.ready.length) {
              await sql
                .raw(`CREATE TEMP TABLE seed_errors (${colDefs(ERROR_COLUMNS)}) ON COMMIT DROP`)
                .execute(trx);
              await copyIn(c, "pg_temp.seed_errors", ERROR_COLUMNS, errors.ready);
            }
            if (st.failed) throw aborted; // the other lane failed: roll this chunk back too
            for (let attempt = 1; ; attempt++) {
              await sql`SAVEPOINT seed_move`.execute(trx);
              try {
                const [inserted, errorsInserted] = await move(trx, errors.ready.length > 0);
                st.inserted += inserted;
                st.errorLogs += errorsInserted;
                break;
              } catch (err) {
                if ((err as { code?: string }).code !== "40P01" || attempt >= 5) throw err;
                await sql`ROLLBACK TO SAVEPOINT seed_move`.execute(trx);
              }
            }
          });
          if (counter.n) {
            st.written += counter.n;
            opts.onProgress?.(st.written, opts.logs);
          }
        } catch (error) {
          st.failed ??= { error }; // set before the turn is handed on, so the other lane sees it
          throw error;
        } finally {
          copy.done();
        }
      }
    } catch (error) {
      st.failed ??= { error };
    } finally {
      // A client whose COPY broke off is discarded rather than returned to the pool.
      client?.off("error", onClientError);
      client?.release(broken || undefined);
      await db?.destroy();
    }
  };

  await Promise.all(Array.from({ length: lanes }, lane));
  if (st.failed) throw st.failed.error;
  return { logs: st.inserted, errorLogs: st.errorLogs };
}

// ---- PGlite: COPY FROM '/dev/blob' into a staging table, then move ----

/** The log tables whose secondary indexes a bulk seed into PGlite builds after the load. */
