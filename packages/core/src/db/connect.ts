import { mkdirSync } from "node:fs";
import v8 from "node:v8";
import type { PGlite, PGliteOptions } from "@electric-sql/pglite";
import { Kysely, PostgresDialect } from "kysely";
import { PGliteDialect } from "kysely-pglite-dialect";
import type pg from "pg";
import { SpendlensError } from "../errors.ts";
import { markStandby } from "../rollups/fold.ts";
import type { Database } from "./schema.ts";

export type DbEngine = "postgres" | "pglite";
export type Db = Kysely<Database>;

export interface DbHandle {
  db: Db;
  engine: DbEngine;
  /** Where the data lives: a redacted connection string, a folder, or "memory". */
  location: string;
  /** The pg pool (postgres engine only): COPY and LISTEN need a raw client. */
  pool?: pg.Pool;
  pglite?: PGlite;
  /**
   * A hot standby of the same database (`databaseReadUrl`, Postgres only): report reads may go there
   * (apps/server `standby.ts` decides per request); everything else uses `db`. Closed with the handle.
   */
  read?: ReadHandle;
  close(): Promise<void>;
}

/** A read-only handle on a streaming replica: same drivers settings as the primary's, its own pool. */
export interface ReadHandle {
  db: Db;
  pool: pg.Pool;
  /** The redacted connection string. */
  location: string;
}

export interface OpenOptions {
  /** A postgres:// URL. When absent, PGlite is used. */
  databaseUrl?: string;
  /**
   * A postgres:// URL of a hot standby of `databaseUrl` (streaming replication): opened beside it as
   * `handle.read`. Its pool gives up connecting after 2 s (the server then reads from the primary).
   */
  databaseReadUrl?: string;
  /** PGlite data folder; absent (with no databaseUrl) means in memory. */
  dataDir?: string;
  /** statement_timeout for every query, in ms (0 disables). Default 15000. */
  statementTimeoutMs?: number;
  /** Pool size for postgres. Default 10. */
  maxConnections?: number;
  /** PGlite only: start from a dumped data folder (tests use a migrated template). */
  loadDataDir?: Blob;
  /**
   * PGlite only: the file system PGlite runs on, in place of the one `dataDir` names (tests: an in-memory
   * one filled with a migrated template's files).
   */
  pgliteFs?: PGliteOptions["fs"];
  /**
   * Postgres only: leave the server's JIT setting as it is. By default spendlens turns JIT off for its own
   * connections: its statements read rollups and finish in milliseconds, but a plan with a raw-log branch
   * for dirty days is costed in the hundreds of thousands at 10M logs, above jit_above_cost, and then
   * spent 230 ms compiling code for a branch that never ran (the tag routes: 240 ms instead of 3 ms).
   */
  jit?: boolean;
  /**
   * PGlite only: Postgres settings given at its start (`-c name=value`), over PGLITE_DEFAULT_SETTINGS.
   * PGlite's memory is a WebAssembly memory that grows and never shrinks, so what a process touches
   * once it keeps: shared_buffers is resident from the start.
   */
  pgliteSettings?: Partial<Record<PgliteSetting, string>>;
}

/** The settings `pgliteSettings` may name. */
export const PGLITE_SETTINGS = [
  "shared_buffers",
  "work_mem",
  "maintenance_work_mem",
  "wal_buffers",
  "temp_buffers",
  "max_wal_size",
] as const;
export type PgliteSetting = (typeof PGLITE_SETTINGS)[number];

/**
 * PGlite's own defaults are Postgres's (shared_buffers 128MB, all of it resident once the buffer pool
 * is initialised: 290 MiB RSS for a bare open of a folder against 180 MiB with 16MB). spendlens's reads
 * go to the rollups and indexes, and the folder's files stay in the OS's page cache, so a small pool
 * costs little time (BENCHMARKS.md, "Lean embedded mode").
 */
export const PGLITE_DEFAULT_SETTINGS: Partial<Record<PgliteSetting, string>> = {
  shared_buffers: "32MB",
};

/**
 * V8 compiles PGlite's WebAssembly (Postgres, 9.9 MB) with up to 128 parallel background tasks, and what
 * those threads allocate while compiling stays in their malloc arenas afterwards: 20–35 MiB of the
 * process's RSS for nothing. One task: the same open time and route times within noise, ~19 MiB less
 * RSS for the embedded server at 1M logs (BENCHMARKS.md, "Session 9"). A process-wide V8 flag, read when
 * a module is compiled, so it is set before PGlite's module is; a later compile (another PGlite) keeps it.
 */
function limitWasmCompileTasks(): void {
  v8.setFlagsFromString(`--wasm-num-compilation-tasks=${WASM_COMPILE_TASKS}`);
}
export const WASM_COMPILE_TASKS = 1;

// PGlite's start parameters when none are given (PGlite 0.4's defaultStartParams): passing any replaces
// them, so they are repeated here before ours.
const PGLITE_START = [
  "--single",
  "-F",
  "-O",
  "-j",
  "-c",
  "search_path=public",
  "-c",
  "exit_on_error=false",
  "-c",
  "log_checkpoints=false",
  "-c",
  "max_worker_processes=0",
  "-c",
  "max_parallel_workers=0",
  "-c",
  "max_parallel_workers_per_gather=0",
];

const SETTING_VALUE = /^\d{1,7}(kB|MB|GB)?$/;

/** `-c name=value` start parameters for PGlite; a name or value outside the allowlist is refused. */
export function pgliteStartParams(settings: Partial<Record<PgliteSetting, string>>): string[] {
  const out = [...PGLITE_START];
  for (const [k, v] of Object.entries({ ...PGLITE_DEFAULT_SETTINGS, ...settings })) {
    if (v === undefined) continue;
    if (!(PGLITE_SETTINGS as readonly string[]).includes(k) || !SETTING_VALUE.test(v))
      throw new Error(`PGlite setting ${k}=${v}: not a known setting or not a size like 32MB`);
    out.push("-c", `${k}=${v}`);
  }
  return out;
}

// Type OIDs whose text form the two drivers would otherwise turn into different JS values.
const INT8 = 20;
const NUMERIC = 1700;
const DATE = 1082;
const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;

// Postgres's text form of a timestamp: 'YYYY-MM-DD HH:MM:SS' with up to 6 fraction digits.
const PG_TIMESTAMP =
  /^(\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])) ([01]\d|2[0-3])(:[0-5]\d:[0-5]\d)(?:\.(\d{1,6}))?$/;

/** `timestamp without time zone` holds UTC here: '2024-01-02 03:04:05.6' -> '2024-01-02T03:04:05.600Z'. */
export function timestampToIso(text: string): string {
  // Fast path (string edits, no Date): the common case; ~15x cheaper, which matters for wide lists
  // (GET /spend/keys parses four timestamps per key). Days 29-31, other years and odd forms take the
  // Date path below, which gives the same text for them.
  const m = PG_TIMESTAMP.exec(text);
  if (m) return `${m[1]}T${m[2]}${m[3]}.${(m[4] ?? "").padEnd(3, "0").slice(0, 3)}Z`;
  const d = new Date(`${text.replace(" ", "T")}Z`);
  return Number.isNaN(d.getTime()) ? text : d.toISOString();
}

function timestamptzToIso(text: string): string {
  const d = new Date(text.length > 22 && /[+-]\d\d$/.test(text) ? `${text}:00` : text);
  return Number.isNaN(d.getTime()) ? text : d.toISOString();
}

const parsers: Record<number, (text: string) => unknown> = {
  [INT8]: (t) => Number(t),
  [NUMERIC]: (t) => Number(t),
  [DATE]: (t) => t,
  [TIMESTAMP]: timestampToIso,
  [TIMESTAMPTZ]: timestamptzToIso,
};

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres://(unparseable url)";
  }
}

/**
 * The two drivers are imported when a database of theirs is first opened, not with this module: a
 * process that opens neither (the CLI talking to a server with --url, `--help`) does not load them
 * (~0.08 CPU-s of the CLI's start, BENCHMARKS.md "Session 11, the test suite").
 */
let pgDriver: Promise<typeof pg> | undefined;
const loadPg = () => (pgDriver ??= import("pg").then((m) => m.default));

function openPool(
  pg: typeof import("pg").default,
  url: string,
  opts: OpenOptions,
  timeout: number,
  connectTimeoutMs: number,
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.maxConnections ?? 10,
    connectionTimeoutMillis: connectTimeoutMs,
    options: `-c TimeZone=UTC -c statement_timeout=${Math.max(0, Math.floor(timeout))}${opts.jit ? "" : " -c jit=off"}`,
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        parsers[oid] ?? pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on("error", () => {});
  // Nor a checked-out one. pg-pool listens for 'error' only on the clients it holds idle; a client that
  // a transaction, a stream's cursor or a COPY holds between two queries (or the query's own socket
  // closing after the server's FATAL, e.g. 57P01 when Postgres shuts down) emits 'error' with nobody
  // listening, and Node then kills the process. Every client gets a listener for its whole life: the
  // query in flight fails on its own (and answers 503), and the client, no longer queryable, is
  // dropped by the pool when it is released.
  pool.on("connect", (client) => {
    client.on("error", () => {});
  });
  return pool;
}

/** The pg pool behind each Postgres handle's `db` (openDatabase), for statements kysely cannot name. */
const pools = new WeakMap<Db, pg.Pool>();

/**
 * The pg pool a Postgres `db` made by openDatabase runs on; undefined for PGlite, a transaction, a
 * standby's handle or any other Kysely instance. A caller may run a named (prepared per connection)
 * statement on it (`pool.query({ name, text, values })`): the same connections, settings and type parsers
 * as `db`'s own queries.
 */
export function pgPoolOf(db: Db): pg.Pool | undefined {
  return pools.get(db);
}

/**
 * The PGlite behind a PGlite `db` made by openDatabase, with PGlite's own wire-protocol helpers (from the
 * same module instance, loaded only when a PGlite is opened), for statements kysely cannot name
 * (db/named.ts). Undefined for Postgres, a transaction or any other Kysely instance.
 */
export interface PgliteSession {
  pglite: PGlite;
  serialize: typeof import("@electric-sql/pglite").protocol.serialize;
  parse: typeof import("@electric-sql/pglite").parse;
}
const pglites = new WeakMap<Db, PgliteSession>();

export function pgliteOf(db: Db): PgliteSession | undefined {
  return pglites.get(db);
}

export async function openDatabase(opts: OpenOptions = {}): Promise<DbHandle> {
  const timeout = opts.statementTimeoutMs ?? 15_000;
  if (opts.databaseReadUrl && !opts.databaseUrl)
    throw new SpendlensError(
      "CONFIG",
      "DATABASE_READ_URL needs DATABASE_URL (a standby of a Postgres primary)",
    );
  if (opts.databaseUrl) {
    const pg = await loadPg();
    const pool = openPool(pg, opts.databaseUrl, opts, timeout, 5_000);
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    pools.set(db, pool);
    let read: ReadHandle | undefined;
    if (opts.databaseReadUrl) {
      const rpool = openPool(pg, opts.databaseReadUrl, opts, timeout, 2_000);
      const rdb = new Kysely<Database>({ dialect: new PostgresDialect({ pool: rpool }) });
      markStandby(rdb);
      read = {
        db: rdb,
        pool: rpool,
        location: redactUrl(opts.databaseReadUrl),
      };
    }
    return {
      db,
      engine: "postgres",
      location: redactUrl(opts.databaseUrl),
      pool,
      ...(read ? { read } : {}),
      close: async () => {
        await Promise.all([db.destroy(), read?.db.destroy()]);
      },
    };
  }
  if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
  limitWasmCompileTasks();
  const { PGlite, protocol, parse } = await import("@electric-sql/pglite");
  const pglite = await PGlite.create({
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
    ...(opts.pgliteFs ? { fs: opts.pgliteFs } : {}),
    parsers,
    startParams: pgliteStartParams(opts.pgliteSettings ?? {}),
  });
  await pglite.exec(`SET TimeZone = 'UTC'; SET statement_timeout = ${Math.max(0, Math.floor(timeout))};`);
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  pglites.set(db, { pglite, serialize: protocol.serialize, parse });
  return {
    db,
    engine: "pglite",
    location: opts.dataDir ?? "memory",
    pglite,
    close: () => db.destroy(),
  };
}
