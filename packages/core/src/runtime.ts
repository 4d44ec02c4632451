import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { sql } from "kysely";
import { setAggregatedDayCache } from "./activity/aggregatedCache.ts";
import { setDailyPageCache } from "./activity/pageCache.ts";
import { loadConfig, type SpendlensConfig } from "./config/config.ts";
import { type Db, type DbHandle, openDatabase } from "./db/connect.ts";
import { getMeta, setMeta } from "./db/meta.ts";
import { type MigrationReport, migrate } from "./db/migrations.ts";
import { SpendlensError } from "./errors.ts";
import { DEFAULT_LANE_STATEMENTS, setIngestStatements } from "./ingest/ingest.ts";
import { processAlive } from "./processAlive.ts";
import { DEFAULT_REPORT_CACHE_MB, setReportDayCache } from "./reports/dayCache.ts";

/**
 * Settings, from the environment and the same names as CLI flags:
 * DATABASE_URL, SPENDLENS_DATA_DIR, SPENDLENS_MASTER_KEY, SPENDLENS_PORT, SPENDLENS_CONFIG,
 * SPENDLENS_STATEMENT_TIMEOUT_MS, SPENDLENS_DB_POOL_MAX, SPENDLENS_INGEST_STATEMENTS,
 * SPENDLENS_REPORT_CACHE_MB, SPENDLENS_PGLITE_SHARED_BUFFERS. Read here, at the edge, once; the rest of
 * core takes them as arguments.
 */
export interface Settings {
  databaseUrl: string | undefined;
  dataDir: string;
  masterKey: string | undefined;
  port: number;
  configPath: string | undefined;
  statementTimeoutMs: number;
  /** Postgres connections in the pool (PGlite has one). Default 10. */
  dbPoolMax: number;
  /** Ingest group statements run at once per table (group commit). Default 2. */
  ingestStatements: number;
  /** Memory for the spend report's per-day answers, in MiB; 0 turns the cache off. Default 32, 8 embedded. */
  reportCacheMb: number;
  /**
   * A hot standby of `databaseUrl` for report reads (`spendlens serve` reads DATABASE_READ_URL or
   * `--database-read-url`; nothing else uses it). Opened as `handle.read`.
   */
  databaseReadUrl?: string | undefined;
  /** The embedded folder's PGlite shared_buffers (e.g. "32MB"); default PGLITE_DEFAULT_SETTINGS. */
  pgliteSharedBuffers?: string | undefined;
}

/**
 * A numeric setting: the flag, else the environment variable `name`, else `fallback`; a value `valid`
 * refuses is a CONFIG error saying what the variable must be (`must`).
 */
function numberSetting(
  flag: number | undefined,
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  valid: ((n: number) => boolean) | null,
  must = "",
): number {
  const n = flag ?? Number(env[name] ?? fallback);
  if (valid && !valid(n)) throw new SpendlensError("CONFIG", `${name} must be ${must}, got ${env[name]}`);
  return n;
}

/**
 * The report cache's default on the embedded default (no DATABASE_URL): the server's whole memory is
 * meant to stay under 300 MiB there, and at 1M logs a full cache (the 30-day customer and team
 * answers, ~20 MB) was what pushed it over (BENCHMARKS.md, "Session 7, the lean embedded mode").
 */
export const EMBEDDED_REPORT_CACHE_MB = 8;

/**
 * The embedded server's PGlite shared_buffers when SPENDLENS_PGLITE_SHARED_BUFFERS is not set (the CLI in
 * process, `spendlens seed` and the server's preparing child keep PGLITE_DEFAULT_SETTINGS' 32MB): the
 * buffer pool is resident once used and PGlite's memory never shrinks, while the folder's files stay in
 * the OS's page cache: ~17 MiB less RSS after a round of routes at 1M logs, route times within noise
 * (BENCHMARKS.md, "Session 9, the embedded server's memory at 1M").
 */
export const EMBEDDED_SERVER_SHARED_BUFFERS = "16MB";

const wholeIn = (lo: number, hi: number) => (n: number) => Number.isInteger(n) && n >= lo && n <= hi;

export function settingsFromEnv(env: NodeJS.ProcessEnv, flags: Partial<Settings> = {}): Settings {
  const port = numberSetting(flags.port, env, "SPENDLENS_PORT", 4000, wholeIn(0, 65535), "a port number");
  const timeout = numberSetting(flags.statementTimeoutMs, env, "SPENDLENS_STATEMENT_TIMEOUT_MS", 15000, null);
  const poolMax = numberSetting(
    flags.dbPoolMax,
    env,
    "SPENDLENS_DB_POOL_MAX",
    10,
    wholeIn(1, 1000),
    "a whole number from 1 to 1000",
  );
  const ingestStatements = numberSetting(
    flags.ingestStatements,
    env,
    "SPENDLENS_INGEST_STATEMENTS",
    DEFAULT_LANE_STATEMENTS,
    wholeIn(1, 64),
    "a whole number from 1 to 64",
  );
  const databaseUrl = flags.databaseUrl ?? (env.DATABASE_URL || undefined);
  const reportCacheMb = numberSetting(
    flags.reportCacheMb,
    env,
    "SPENDLENS_REPORT_CACHE_MB",
    databaseUrl ? DEFAULT_REPORT_CACHE_MB : EMBEDDED_REPORT_CACHE_MB,
    (n) => Number.isFinite(n) && n >= 0 && n <= 65536,
    "a number of MiB from 0 to 65536",
  );
  const sharedBuffers = flags.pgliteSharedBuffers ?? (env.SPENDLENS_PGLITE_SHARED_BUFFERS || undefined);
  if (sharedBuffers !== undefined && !/^\d{1,7}(kB|MB|GB)$/.test(sharedBuffers)) {
    throw new SpendlensError(
      "CONFIG",
      `SPENDLENS_PGLITE_SHARED_BUFFERS must be a size like 32MB (kB, MB or GB), got ${sharedBuffers}`,
    );
  }
  return {
    ingestStatements,
    reportCacheMb,
    databaseUrl,
    dataDir: resolve(flags.dataDir ?? env.SPENDLENS_DATA_DIR ?? ".spendlens"),
    masterKey: flags.masterKey ?? (env.SPENDLENS_MASTER_KEY || undefined),
    port,
    configPath: flags.configPath ?? (env.SPENDLENS_CONFIG || undefined),
    statementTimeoutMs: Number.isFinite(timeout) && timeout >= 0 ? timeout : 15000,
    dbPoolMax: poolMax,
    pgliteSharedBuffers: sharedBuffers,
  };
}

export interface Runtime {
  handle: DbHandle;
  config: SpendlensConfig;
  migration: MigrationReport;
  settings: Settings;
  close(): Promise<void>;
}

/**
 * The embedded data folder may be open in one process only (PGlite has no locking of its own): a lock
 * file holds the owner's pid, and a second opener is told which process has it.
 */
function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, "spendlens.lock");
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, "utf8").trim());
    // A process of another user (EPERM) holds it too.
    if (pid && pid !== process.pid && processAlive(pid)) {
      throw new SpendlensError(
        "UNAVAILABLE",
        `the data folder ${dir} is in use by process ${pid} (a spendlens server? once it listens, the CLI goes through it)`,
      );
    }
  }
  writeFileSync(lock, String(process.pid));
  return () => {
    try {
      if (readFileSync(lock, "utf8").trim() === String(process.pid)) unlinkSync(lock);
    } catch {
      /* already gone */
    }
  };
}

/** The config file: SPENDLENS_CONFIG, else config.yaml in the embedded data folder if there is one. */
export function resolveConfigPath(s: Settings): string | undefined {
  if (s.configPath) return s.configPath;
  if (!s.databaseUrl) {
    const p = join(s.dataDir, "config.yaml");
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Opens the database the settings name (Postgres, or the embedded folder), migrates, loads the config. */
export async function openRuntime(s: Settings): Promise<Runtime> {
  const config = loadConfig(resolveConfigPath(s));
  const unlock = s.databaseUrl ? () => {} : lockDataDir(s.dataDir);
  let handle: DbHandle | undefined;
  try {
    handle = await openDatabase({
      databaseUrl: s.databaseUrl,
      ...(s.databaseReadUrl ? { databaseReadUrl: s.databaseReadUrl } : {}),
      dataDir: s.databaseUrl ? undefined : s.dataDir,
      statementTimeoutMs: s.statementTimeoutMs,
      maxConnections: s.dbPoolMax,
      ...(s.pgliteSharedBuffers ? { pgliteSettings: { shared_buffers: s.pgliteSharedBuffers } } : {}),
    });
    const migration = await migrate(handle.db);
    setIngestStatements(handle.db, s.ingestStatements);
    setReportDayCache(handle.db, Math.floor(s.reportCacheMb * 2 ** 20));
    // The aggregated daily route's per-day cache has a budget of the same size (activity/aggregatedCache.ts).
    setAggregatedDayCache(handle.db, Math.floor(s.reportCacheMb * 2 ** 20));
    // So has the paginated daily routes' page cache (activity/pageCache.ts).
    setDailyPageCache(handle.db, Math.floor(s.reportCacheMb * 2 ** 20));
    const h = handle;
    return {
      handle: h,
      config,
      migration,
      settings: s,
      async close() {
        await h.close();
        unlock();
      },
    };
  } catch (e) {
    await handle?.close().catch(() => {});
    unlock();
    throw e;
  }
}

/**
 * The master key of the embedded default when none is configured: made once, kept in the data folder
 * (mode 0600), and returned so the caller can print it.
 */
export function ensureEmbeddedMasterKey(dataDir: string): { key: string; created: boolean } {
  const p = join(dataDir, "master_key");
  if (existsSync(p)) return { key: readFileSync(p, "utf8").trim(), created: false };
  const key = `sk-${randomBytes(24).toString("base64url")}`;
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(p, `${key}\n`, { mode: 0o600 });
  return { key, created: true };
}

/** The embedded folder's mark of its demo data (`spendlens.meta`): the logs written, or "pending". */
export const DEMO_MARK = "demo_seeded";

/**
 * Whether the embedded default should write its demo data into this database now. Yes for a database
 * without spend logs and without the mark (a fresh folder; one made by `spendlens migrate`), and for a
 * demo seed that did not finish (mark "pending": the seed skips the logs already there). No once the
 * mark says it was done, and no for a folder that already holds spend logs without the mark (made by
 * `spendlens seed`, or fed through ingest): those logs are the user's, served as they are, and the
 * mark is set to "0" so the question is asked once.
 */
export async function embeddedDemoWanted(db: Db): Promise<boolean> {
  const mark = await getMeta(db, DEMO_MARK);
  if (mark === "pending") return true;
  if (mark !== null) return false;
  const held = await db.selectFrom("LiteLLM_SpendLogs").select(sql<number>`1`.as("one")).limit(1).execute();
  if (held.length === 0) return true;
  await setMeta(db, DEMO_MARK, "0");
  return false;
}
