import { fork } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DbHandle, SpendlensError } from "@spendlens/core";
import { demoConfigYaml, seedDemoData } from "@spendlens/core/demo";
import {
  configureTokenCounter,
  DEMO_MARK,
  EMBEDDED_SERVER_SHARED_BUFFERS,
  embeddedDemoWanted,
  ensureEmbeddedMasterKey,
  foldRollupsSoon,
  foldSpendCountersSoon,
  getMeta,
  openRuntime,
  recordEmbeddedServer,
  type Settings,
  setMeta,
  settingsFromEnv,
  startPeriodic,
  vacuumPendingIfBloated,
} from "@spendlens/core/runtime";
import pino from "pino";
import { limitsFromEnv } from "./limits.ts";
import { limitHeapGrowth } from "./memory.ts";
import { startServer } from "./server.ts";

export interface ServeOptions {
  /** Demo logs to write on a fresh embedded database. Default SPENDLENS_DEMO_LOGS or 50000. */
  demoLogs?: number;
  host?: string;
  /**
   * How to run this same `serve()` in a child process: the program's entry module and its arguments
   * (`spendlens serve` passes its own). With it, a fresh embedded folder is created, migrated and given
   * its demo data by that child, which exits before this process opens the folder: PGlite's memory grows
   * and never shrinks, and initdb plus a seed would leave the server holding ~850 MiB it no longer needs.
   * Without it (tests calling serve() in process) that work is done here. A folder that already holds
   * spend logs (`spendlens seed` before the first start) gets no demo data (`embeddedDemoWanted`).
   */
  prepareChild?: { module: string; args: string[] };
}

/** Set in the child that prepares a fresh embedded folder: serve() stops after the demo data. */
const PREPARE_ONLY = "SPENDLENS_SERVE_PREPARE_ONLY";

/**
 * In the embedded folder once its demo data is settled (written, or not wanted because the folder held
 * spend logs): the demo mark's value. Without it the server has the preparing child look first.
 */
export const PREPARED_FILE = "demo_prepared";

/** Runs the preparing child (same program, same arguments, PREPARE_ONLY set) and waits for it to exit. */
function prepareInChild(child: { module: string; args: string[] }): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = fork(child.module, child.args, {
      execArgv: process.execArgv,
      env: { ...process.env, [PREPARE_ONLY]: "1" },
      stdio: "inherit",
    });
    p.once("error", reject);
    p.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `preparing the embedded data folder failed (child process ${p.pid} ended with ${signal ?? `exit code ${code}`})`,
          ),
        );
    });
  });
}

/** The embedded database's memory settings as PGlite runs with them (the listening log line shows them). */
async function pgliteShown(pg: NonNullable<DbHandle["pglite"]>): Promise<Record<string, string>> {
  const r = await pg.query<{ name: string; setting: string }>(
    "SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem') ORDER BY name",
  );
  return Object.fromEntries(r.rows.map((x) => [x.name, x.setting]));
}

/** A positive whole number of milliseconds from the environment; anything else is a clear error. */
function msSetting<K extends string>(key: K, env: string): Partial<Record<K, number>> {
  const raw = process.env[env];
  if (raw === undefined || raw === "") return {};
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new SpendlensError("CONFIG", `${env} must be a whole number of milliseconds`);
  return { [key]: n } as Partial<Record<K, number>>;
}

/** A whole number from the environment variable `name` in lo..hi (unset or empty: undefined). */
function envWhole(name: string, lo: number, hi: number, must: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new SpendlensError("CONFIG", `${name} must be ${must}`);
  return n;
}

/** Log partitions (standalone mode): SPENDLENS_LOG_RETENTION_DAYS (unset: keep), SPENDLENS_LOG_PARTITIONS_AHEAD. */
function partitionSettings(): { ahead?: number; retentionDays?: number } {
  const out: { ahead?: number; retentionDays?: number } = {};
  const days = envWhole("SPENDLENS_LOG_RETENTION_DAYS", 1, 1_000_000, "a whole number of days, at least 1");
  if (days !== undefined) out.retentionDays = days;
  const ahead = envWhole("SPENDLENS_LOG_PARTITIONS_AHEAD", 0, 120, "a whole number of months, 0..120");
  if (ahead !== undefined) out.ahead = ahead;
  return out;
}

/**
 * Starts spendlens. On the embedded default (no DATABASE_URL) a fresh data folder gets a demo config
 * and demo data, and a master key is made and printed if none is set. With DATABASE_URL the database is
 * served as it is: spendlens migrates its own objects and writes no demo data.
 */
export async function serve(settings: Settings, opts: ServeOptions = {}) {
  limitHeapGrowth();
  // Read once here, at the edge: a bad setting stops the start with its name.
  const limits = limitsFromEnv(process.env);
  const { foldMs = 1000 } = msSetting("foldMs", "SPENDLENS_ROLLUP_FOLD_MS");
  const partitions = partitionSettings();
  // /spend/calculate counts tokens in a child process that exits after this long without work.
  configureTokenCounter(msSetting("idleMs", "SPENDLENS_TOKENIZER_IDLE_MS"));
  const log = pino({ level: process.env.SPENDLENS_LOG_LEVEL ?? "info" });
  const embedded = !settings.databaseUrl;
  if (embedded && !settings.configPath && !existsSync(join(settings.dataDir, "config.yaml"))) {
    // A fresh embedded folder: write the demo world's config beside the data.
    const fresh = !existsSync(join(settings.dataDir, "PG_VERSION"));
    if (fresh) {
      mkdirSync(settings.dataDir, { recursive: true });
      writeFileSync(join(settings.dataDir, "config.yaml"), demoConfigYaml());
    }
  }
  // A hot standby for report reads: `--database-read-url`, else DATABASE_READ_URL (read here only).
  const databaseReadUrl = settings.databaseReadUrl ?? (process.env.DATABASE_READ_URL || undefined);
  const maxLag = msSetting("maxLagMs", "SPENDLENS_MAX_READ_LAG_MS");
  // How long a verified virtual key is trusted before it is looked up again (0: every request).
  const keyCacheMs =
    envWhole(
      "SPENDLENS_KEY_CACHE_MS",
      0,
      60_000,
      "a whole number of milliseconds from 0 (no cache) to 60000",
    ) ?? 1000;
  const metricsPublic = process.env.SPENDLENS_METRICS_PUBLIC ?? "";
  if (!["", "0", "1"].includes(metricsPublic))
    throw new SpendlensError("CONFIG", "SPENDLENS_METRICS_PUBLIC must be 1 (public) or 0 (master key only)");
  const prepareOnly = process.env[PREPARE_ONLY] === "1";
  // The child that prepares the folder, when there is one and this is not it. It runs until the folder
  // says it was prepared (PREPARED_FILE): a fresh folder (initdb, migrations, demo data), one made by
  // `spendlens migrate` (demo data), one made by `spendlens seed` (no demo data: only the mark), and
  // once for a folder prepared before the file existed. This process then opens the folder only once:
  // a PGlite instance closed in the same process does not give its memory back.
  const child = embedded && !prepareOnly ? opts.prepareChild : undefined;
  const prepared = join(settings.dataDir, PREPARED_FILE);
  if (child && !existsSync(prepared)) {
    log.info("preparing the embedded data folder in a child process");
    await prepareInChild(child);
  }
  // The server's own PGlite gets a smaller buffer pool than the preparing child (initdb, demo seed).
  const rt = await openRuntime({
    ...settings,
    databaseReadUrl,
    ...(embedded && !prepareOnly && !settings.pgliteSharedBuffers
      ? { pgliteSharedBuffers: EMBEDDED_SERVER_SHARED_BUFFERS }
      : {}),
  });
  if (embedded && !existsSync(prepared)) {
    if (await embeddedDemoWanted(rt.handle.db)) {
      const n = opts.demoLogs ?? Number(process.env.SPENDLENS_DEMO_LOGS ?? 50_000);
      log.info({ logs: n, pid: process.pid }, "writing demo data into the embedded database");
      await setMeta(rt.handle.db, DEMO_MARK, "pending");
      const r = await seedDemoData(rt.handle, { logs: n });
      await setMeta(rt.handle.db, DEMO_MARK, String(r.logs));
    }
    writeFileSync(prepared, `${(await getMeta(rt.handle.db, DEMO_MARK)) ?? ""}\n`);
  }
  const db = rt.handle.db;
  if (prepareOnly) {
    await rt.close();
    process.exit(0);
  }
  // Counter increments a replica committed but did not fold before it died (kill -9 between the two):
  // folded now rather than at the next ingest. Readers are exact either way.
  foldSpendCountersSoon(db).catch((e) => log.warn({ err: e }, "folding pending spend counters failed"));
  // Inserted logs wait in spendlens.spend_log_pending until a fold applies them to the rollups (readers
  // fold first, so answers are exact either way): folding every second keeps a reader's fold small.
  let foldFailed = false;
  const folder = startPeriodic(
    async () => {
      await foldRollupsSoon(db);
      // The queue's dead rows, vacuumed here when autovacuum is off or behind (rollups/fold.ts).
      await vacuumPendingIfBloated(db);
      foldFailed = false;
    },
    foldMs,
    (e) => {
      if (!foldFailed) log.warn({ err: e }, "folding pending rollup rows failed");
      foldFailed = true;
    },
  );
  let masterKey = settings.masterKey;
  let printedKey: string | null = null;
  if (!masterKey && embedded) {
    masterKey = ensureEmbeddedMasterKey(settings.dataDir).key;
    printedKey = masterKey;
  }
  if (!masterKey)
    log.warn("SPENDLENS_MASTER_KEY is not set: only virtual keys from LiteLLM_VerificationToken can sign in");
  const running = await startServer({
    services: { db, handle: rt.handle, config: rt.config, masterKey },
    port: settings.port,
    host: opts.host ?? process.env.SPENDLENS_HOST ?? "127.0.0.1",
    logger: log,
    limits,
    standby: maxLag,
    metrics: { public: metricsPublic === "1" },
    budgetAlerts: {
      webhookUrl: process.env.WEBHOOK_URL || undefined,
      ...msSetting("pollMs", "SPENDLENS_BUDGET_POLL_MS"),
      ...msSetting("backoffMs", "SPENDLENS_WEBHOOK_BACKOFF_MS"),
    },
    partitions,
    keyCacheMs,
  });
  log.info(
    {
      url: running.url,
      database: rt.handle.location,
      ...(rt.handle.read ? { standby: rt.handle.read.location } : {}),
      engine: rt.handle.engine,
      ...(rt.handle.pglite ? { pglite: await pgliteShown(rt.handle.pglite) } : {}),
      mode: rt.migration.mode,
      config: rt.config.path,
    },
    "spendlens is listening",
  );
  // The CLI on this folder then goes through this server (the folder cannot be opened twice).
  const unrecord = embedded ? recordEmbeddedServer(settings.dataDir, running.url) : () => {};
  process.stderr.write(`\nspendlens is listening on ${running.url}\n`);
  if (printedKey) {
    process.stderr.write(`admin key (stored in ${join(settings.dataDir, "master_key")}): ${printedKey}\n`);
    process.stderr.write(`dashboard: ${running.url}/#key=${printedKey}\n`);
  }
  process.stderr.write(
    `try: curl -H 'Authorization: Bearer ${printedKey ?? "<key>"}' ${running.url}/global/spend\n\n`,
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    unrecord();
    await running.close();
    await folder.stop();
    await rt.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("exit", unrecord);
  return { running, runtime: rt };
}

const isMain = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"));
if (isMain) {
  serve(settingsFromEnv(process.env), {
    prepareChild: { module: process.argv[1] as string, args: process.argv.slice(2) },
  }).catch((e) => {
    const msg = e instanceof SpendlensError ? e.message : e instanceof Error ? e.message : String(e);
    process.stderr.write(`spendlens: ${msg}\n`);
    process.exit(1);
  });
}
