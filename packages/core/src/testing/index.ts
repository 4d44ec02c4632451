import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { MemoryFS } from "@electric-sql/pglite";
import { CompiledQuery, type Insertable, type Kysely } from "kysely";
import pg from "pg";
import { hashToken } from "../auth/hash.ts";
import { parseConfig, type SpendlensConfig } from "../config/config.ts";
import { type DbHandle, openDatabase } from "../db/connect.ts";
import { migrate, migrations, migrationsHash } from "../db/migrations.ts";
import type { Database } from "../db/schema.ts";
import { probeSchemaFacts } from "../db/schemaFacts.ts";
import type { SpendlensError } from "../errors.ts";
import { processAlive } from "../processAlive.ts";

/**
 * One suite, two engines: SPENDLENS_TEST_ENGINE=pglite (default) or postgres. On postgres every test
 * file gets a fresh database (created here, dropped by `drop()`), on the server at
 * SPENDLENS_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres): a migrated one is
 * `CREATE DATABASE … TEMPLATE` of the run's migrated template (`ensurePostgresTemplate`); PGlite loads a
 * dump of a migrated one (`migratedPgliteTemplate`), made once per run in the run's temp folder. Both are
 * keyed by the migration files' hash.
 */
export type TestEngine = "pglite" | "postgres";
export const testEngine = (): TestEngine =>
  process.env.SPENDLENS_TEST_ENGINE === "postgres" ? "postgres" : "pglite";
export const adminPgUrl = () =>
  process.env.SPENDLENS_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
/**
 * This test run's own id (set by scripts/test.mjs; one per process otherwise). Every database a run
 * creates carries it, so a run cleans up only what it made and never another checkout's databases.
 */
export const testRunId = (): string => {
  const id = process.env.SPENDLENS_TEST_RUN_ID;
  if (id && /^[a-z0-9]{1,24}$/.test(id)) return id;
  process.env.SPENDLENS_TEST_RUN_ID = randomBytes(6).toString("hex");
  return process.env.SPENDLENS_TEST_RUN_ID;
};

export interface TestDb extends DbHandle {
  /** The connection string of the fresh database (postgres engine), for servers and CLIs the test starts. */
  url: string | null;
  /** PGlite on disk (with `onDisk`): the folder, for a CLI the test runs after closing this handle. */
  dataDir: string | null;
  /** CLI flags that open this same database in process: --database-url or --data-dir. */
  cliArgs: string[];
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database for one test file. With `onDisk` on the PGlite engine it lives in a temp
 * folder, so a CLI process can open it once this handle is closed (PGlite allows one process at a time).
 */
export async function createTestDb(opts: { migrate?: boolean; onDisk?: boolean } = {}): Promise<TestDb> {
  const engine = testEngine();
  let handle: DbHandle;
  let url: string | null = null;
  let dropDb = async () => {};
  if (engine === "postgres") {
    const name = `spendlens_t_${testRunId()}_${process.pid}_${randomBytes(4).toString("hex")}`;
    // A migrated database is a copy of this run's migrated template (a file copy, no migration run).
    const template = opts.migrate === false ? null : (await ensurePostgresTemplate()).name;
    const admin = new pg.Client({ connectionString: adminPgUrl() });
    admin.on("error", () => {});
    await admin.connect();
    try {
      // Both names are generated here, not input.
      await admin.query(
        `CREATE DATABASE ${pg.escapeIdentifier(name)}${template ? ` TEMPLATE ${pg.escapeIdentifier(template)}` : ""}`,
      );
    } finally {
      await admin.end();
    }
    const u = new URL(adminPgUrl());
    u.pathname = `/${name}`;
    url = u.toString();
    handle = await openDatabase({ databaseUrl: url, maxConnections: 20 });
    dropDb = async () => {
      if (dropsAtRunEnd()) return; // the run's owner drops it with the run's other databases
      const c = new pg.Client({ connectionString: adminPgUrl() });
      c.on("error", () => {});
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    };
  } else {
    const template = opts.migrate === false ? emptyPgliteTemplate : migratedPgliteTemplate;
    if (opts.onDisk) {
      const dataDir = mkdtempSync(join(testRunDir(), "db-"));
      handle = await openDatabase({ dataDir, loadDataDir: await template() });
      dropDb = async () => rmSync(dataDir, { recursive: true, force: true });
    } else {
      handle = await openDatabase({ pgliteFs: new TemplateMemoryFS(await templateFiles(template)) });
    }
  }
  // A copy of a migrated template: nothing to migrate; the planner's schema facts probed as migrate() ends
  // (one statement instead of the migrator's lock, its table reads and the schema check).
  if (opts.migrate !== false) await probeSchemaFacts(handle.db);
  const dataDir = handle.engine === "pglite" && handle.location !== "memory" ? handle.location : null;
  return {
    ...handle,
    url,
    dataDir,
    cliArgs: url ? ["--database-url", url] : dataDir ? ["--data-dir", dataDir] : [],
    async drop() {
      await handle.close().catch(() => {});
      await dropDb();
    },
  };
}

/**
 * Whether this run's owner drops every database of the run when the run ends (`dropRunDatabases`;
 * scripts/test.mjs, or the vitest globalSetup that made the run's template, sets
 * SPENDLENS_TEST_DROP_AT_END=1): a test file's `drop()` then closes its connections and leaves the
 * database. Why: a test database is ~580 files, and on ext4 without a journal (this machine's and CI's
 * file system) the kernel skips, one by one, every inode freed in the last 60 s (360 s while its inode
 * table block is dirty) when it allocates a new one (`recently_deleted()`, fs/ext4/ialloc.c). With a
 * database dropped every few seconds, each CREATE DATABASE cost ~0.5 CPU-s of kernel time (0.05 with no
 * drop in the last minute), a third of the Postgres server's CPU in `--project core:postgres`.
 */
export const dropsAtRunEnd = (): boolean => process.env.SPENDLENS_TEST_DROP_AT_END === "1";

/**
 * Drops every database of this run (`spendlens_t_<run id>_…`: the test files' databases and the
 * template), newest first, a few at a time. Each DROP DATABASE waits for a checkpoint, which fsyncs every
 * file written since the last one but those of the databases already dropped: the newest ones hold
 * the files written last.
 */
export async function dropRunDatabases(): Promise<void> {
  const prefix = `spendlens_t_${testRunId()}_`;
  const clients = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const c = new pg.Client({ connectionString: adminPgUrl() });
      c.on("error", () => {});
      await c.connect();
      return c;
    }),
  );
  try {
    const names = (
      await clients[0]!.query<{ datname: string }>(
        "SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1 ORDER BY oid DESC",
        [prefix],
      )
    ).rows.map((r) => r.datname);
    await Promise.all(
      clients.map(async (c) => {
        // Names read from pg_database, each with this run's prefix.
        for (let n = names.shift(); n !== undefined; n = names.shift())
          await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(n)} WITH (FORCE)`);
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}

/**
 * This run's own temp folder, `<tmp>/spendlens-t-<run id>`: the PGlite templates and the on-disk test
 * databases live in it, and the run's clean-up (scripts/test.mjs, or the globalSetup's teardown) removes
 * it, and only it.
 */
export const testRunDir = (): string => {
  const dir = join(tmpdir(), `spendlens-t-${testRunId()}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

/** Removes this run's temp folder (templates, on-disk databases). */
export const removeTestRunDir = (): void =>
  rmSync(join(tmpdir(), `spendlens-t-${testRunId()}`), { recursive: true, force: true });

// Test files share worker processes (vitest.shared.ts): a template read once serves every later file.
const templates = new Map<string, Promise<Blob>>();

/**
 * A PGlite dump made once per run (`writeOnce`: another process waits for the first one's), read once per
 * process. Loading a dump takes a fraction of a second where a fresh PGlite's initdb takes seconds and
 * the migrations more. `from`: the dump to start from (none: a fresh PGlite, initdb).
 */
function pgliteTemplate(
  name: string,
  build: (h: DbHandle) => Promise<void>,
  from?: () => Promise<Blob>,
): Promise<Blob> {
  const file = join(testRunDir(), name);
  let p = templates.get(file);
  if (!p) {
    p = (async () => {
      await writeOnce(file, async () => {
        const h = await openDatabase(from ? { loadDataDir: await from() } : {});
        await build(h);
        const dump = await h.pglite!.dumpDataDir("none");
        await h.close();
        return new Uint8Array(await dump.arrayBuffer());
      });
      return new Blob([readFileSync(file)]);
    })();
    p.catch(() => templates.delete(file));
    templates.set(file, p);
  }
  return p;
}

/**
 * Makes `file` with `make` unless it exists, once among processes: the first caller takes a lock (a
 * folder next to it, made atomically, holding its pid); a caller that finds the lock waits for the file.
 * A lock whose holder died, or one held past `waitMs`, no longer holds a caller back: it makes its own,
 * and the atomic rename keeps one whole file.
 */
export async function writeOnce(
  file: string,
  make: () => Promise<Uint8Array>,
  waitMs = TEMPLATE_WAIT_MS,
): Promise<void> {
  const lock = `${file}.lock`;
  const locked = () => {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      return true;
    } catch {
      return false;
    }
  };
  if (!existsSync(file) && !locked()) {
    const until = Date.now() + waitMs;
    while (!existsSync(file) && existsSync(lock) && lockHolderAlive(lock) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
  }
  if (existsSync(file)) return;
  try {
    const data = await make();
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, data);
    renameSync(tmp, file); // atomic: a reader sees a whole file or none
  } finally {
    if (readLockPid(lock) === process.pid) rmSync(lock, { recursive: true, force: true });
  }
}

/** How long a caller waits for another process's PGlite template before making its own. */
const TEMPLATE_WAIT_MS = 180_000;
/** The process holding a template's lock (its folder's `pid`), or null while unwritten or gone. */
function readLockPid(lock: string): number | null {
  try {
    const n = Number(readFileSync(join(lock, "pid"), "utf8"));
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}
/** Whether a lock's maker still runs (a lock without its pid yet counts as held: it is being made). */
function lockHolderAlive(lock: string): boolean {
  const pid = readLockPid(lock);
  return pid === null || processAlive(pid);
}

/** A dump's directories and files, as PGlite's dumpDataDir writes them (ustar), paths from the data folder. */
interface TemplateFiles {
  dirs: string[];
  files: [string, Uint8Array][];
}

function untar(buf: Uint8Array): TemplateFiles {
  const dec = new TextDecoder();
  const text = (at: number, n: number) => {
    const s = dec.decode(buf.subarray(at, at + n));
    const end = s.indexOf("\0");
    return end < 0 ? s : s.slice(0, end);
  };
  const out: TemplateFiles = { dirs: [], files: [] };
  for (let at = 0; at + 512 <= buf.length; ) {
    const name = text(at, 100);
    if (!name) break;
    const size = Number.parseInt(text(at + 124, 12).trim() || "0", 8);
    const type = buf[at + 156];
    const prefix = text(at + 257, 6).startsWith("ustar") ? text(at + 345, 155) : "";
    const path = (prefix ? `${prefix}/${name}` : name).replace(/^\/+|\/+$/g, "");
    // "5": a directory; "0" or NUL: a regular file (PGlite's dumps hold nothing else).
    if (type === 0x35) out.dirs.push(path);
    else if (type === 0x30 || type === 0) out.files.push([path, buf.subarray(at + 512, at + 512 + size)]);
    else throw new Error(`unexpected tar entry type ${type} for ${path}`);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/**
 * A migrated embedded folder without logs, as `spendlens migrate` leaves one, written from the run's
 * migrated PGlite template (`migratedPgliteTemplate`, the dump every PGlite test database loads): its
 * files written into `dir`, where PGlite resumes them as it does a loaded dump. For a test of the CLI or
 * server on a folder that is not about migrating it: no initdb and migrations in a CLI process (~10 CPU-s),
 * and no PGlite in the test process.
 */
export async function writeMigratedFolder(dir: string): Promise<void> {
  const t = await templateFiles(migratedPgliteTemplate);
  mkdirSync(dir, { recursive: true });
  for (const d of t.dirs) mkdirSync(join(dir, d), { recursive: true });
  for (const [path, data] of t.files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), data);
  }
}

const parsedTemplates = new Map<() => Promise<Blob>, Promise<TemplateFiles>>();

/** A template's files, read from its dump once per process. */
function templateFiles(template: () => Promise<Blob>): Promise<TemplateFiles> {
  let p = parsedTemplates.get(template);
  if (!p) {
    p = template().then(async (b) => untar(new Uint8Array(await b.arrayBuffer())));
    p.catch(() => parsedTemplates.delete(template));
    parsedTemplates.set(template, p);
  }
  return p;
}

/**
 * PGlite's in-memory file system, filled with a template's files before Postgres starts (PGlite then
 * finds a data folder and resumes it). Same files as `loadDataDir` with the dump, less work: the dump is
 * parsed once per process, and each directory is made once rather than looked up again for every file
 * below it (~0.15 CPU-s less per test database; BENCHMARKS.md, "Session 10, the test suite"). Every
 * file is copied in: the instances never share a byte.
 */
class TemplateMemoryFS extends MemoryFS {
  constructor(private readonly template: TemplateFiles) {
    super();
  }
  override async initialSyncFs(): Promise<void> {
    const fs = (this.pg as unknown as { Module: { FS: EmscriptenFs } }).Module.FS;
    const root = `${PGLITE_ROOT}/data`;
    const mkdir = (d: string) => {
      if (!fs.analyzePath(d).exists) fs.mkdir(d);
    };
    mkdir(PGLITE_ROOT);
    mkdir(root);
    for (const d of [...this.template.dirs].sort((a, b) => a.split("/").length - b.split("/").length))
      fs.mkdir(`${root}/${d}`);
    for (const [path, data] of this.template.files) fs.writeFile(`${root}/${path}`, data);
  }
}
/** The folder PGlite's data folder lives in inside its file system (`/pglite/data`, PGlite's PGDATA). */
const PGLITE_ROOT = "/pglite";
interface EmscriptenFs {
  analyzePath(path: string): { exists: boolean };
  mkdir(path: string): void;
  writeFile(path: string, data: Uint8Array): void;
}

/** A migrated PGlite, keyed by the migration files' combined sha256 (`migrationsHash`): the empty one, migrated. */
export const migratedPgliteTemplate = (): Promise<Blob> =>
  pgliteTemplate(
    `pglite-migrated-${migrationsHash.slice(0, 16)}.tar`,
    async (h) => {
      await migrate(h.db);
    },
    emptyPgliteTemplate,
  );

/**
 * An empty PGlite (`createTestDb({ migrate: false })`): initdb's output, without its seconds, and without
 * the databases template0 and template1, which a test database never uses (PGlite serves one database,
 * `postgres`): half of the dump's ~1,250 files, so every test database loads ~30 % faster (BENCHMARKS.md,
 * "Session 10, the test suite").
 */
export const emptyPgliteTemplate = (): Promise<Blob> =>
  pgliteTemplate("pglite-empty.tar", async (h) => {
    for (const d of ["template0", "template1"]) {
      await h.pglite!.exec(`ALTER DATABASE ${d} IS_TEMPLATE false`);
      await h.pglite!.exec(`DROP DATABASE ${d}`);
    }
    await h.pglite!.exec("CHECKPOINT");
  });

/**
 * This run's migrated Postgres template: `spendlens_t_<run id>_tpl_<first 8 hex of migrationsHash>`. It
 * carries the run id, so the run's clean-up (scripts/test.mjs, or the vitest globalSetup's teardown)
 * drops it with the rest, and the migrations' hash, so a changed migration never reuses an old one.
 */
export const postgresTemplateName = (): string =>
  `spendlens_t_${testRunId()}_tpl_${migrationsHash.slice(0, 8)}`;

/**
 * Makes this run's migrated template unless it exists. Test files run in parallel processes: the first
 * one builds it under a Postgres advisory lock (the others wait, then find it), in a database named
 * `…_b` renamed into place once migrated and closed, so a name that exists is always a whole template
 * and a build that crashed leaves only the `…_b` that the next build replaces.
 */
export async function ensurePostgresTemplate(): Promise<{ name: string; created: boolean }> {
  const name = postgresTemplateName();
  const admin = new pg.Client({ connectionString: adminPgUrl() });
  admin.on("error", () => {});
  await admin.connect();
  const exists = async () =>
    ((await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount ?? 0) > 0;
  try {
    if (await exists()) return { name, created: false };
    await admin.query("SELECT pg_advisory_lock(hashtext($1))", [name]);
    try {
      if (await exists()) return { name, created: false };
      const building = `${name}_b`;
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(building)} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(building)}`);
      const u = new URL(adminPgUrl());
      u.pathname = `/${building}`;
      const h = await openDatabase({ databaseUrl: u.toString(), maxConnections: 1, statementTimeoutMs: 0 });
      try {
        await migrate(h.db);
      } finally {
        await h.close();
      }
      // The pool's backend may still be exiting; RENAME waits up to 5 s for it, then fails: retry.
      for (let attempt = 1; ; attempt++) {
        try {
          await admin.query(
            `ALTER DATABASE ${pg.escapeIdentifier(building)} RENAME TO ${pg.escapeIdentifier(name)}`,
          );
          break;
        } catch (e) {
          if (attempt >= 5) throw e;
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
      return { name, created: true };
    } finally {
      await admin.query("SELECT pg_advisory_unlock(hashtext($1))", [name]).catch(() => {});
    }
  } finally {
    await admin.end().catch(() => {});
  }
}

export {
  daysAgo,
  insertErrorLogs,
  insertLogs,
  makeErrorLog,
  makeLog,
  reportWindow,
} from "./logs.ts";

/** A row to insert into one of the LiteLLM tables (for test fixtures). */
export type InsertRow<T extends keyof Database> = Insertable<Database[T]>;

/** A key by its raw value (stored as its sha256, as LiteLLM stores keys) and any other columns. */
export type FixtureKey = { raw: string } & Omit<InsertRow<"LiteLLM_VerificationToken">, "token">;

export interface Fixtures {
  teams?: InsertRow<"LiteLLM_TeamTable">[];
  users?: InsertRow<"LiteLLM_UserTable">[];
  keys?: FixtureKey[];
}

/** Writes teams, users and keys (keys hashed) for a test. */
export async function writeFixtures(db: DbHandle["db"], f: Fixtures): Promise<void> {
  if (f.teams?.length) await db.insertInto("LiteLLM_TeamTable").values(f.teams).execute();
  if (f.users?.length) await db.insertInto("LiteLLM_UserTable").values(f.users).execute();
  if (f.keys?.length) {
    const rows = f.keys.map(({ raw, ...rest }) => ({ ...rest, token: hashToken(raw) }));
    await db.insertInto("LiteLLM_VerificationToken").values(rows).execute();
  }
}
export { type Bundle, bundleTs, runBundled, spawnBundled } from "./bundleTs.ts";
export { awaitChild, type IsolatedRun } from "./isolated.ts";

/**
 * Drops the Postgres test database at `url` (made by createTestDb in another process that could not
 * drop it itself, e.g. one killed by a test's timeout). Only a `spendlens_t_<this run's id>_…` name.
 */
export async function dropTestDatabaseAt(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  if (!name.startsWith(`spendlens_t_${testRunId()}_`))
    throw new Error(`not this run's test database: ${name}`);
  const c = new pg.Client({ connectionString: adminPgUrl() });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

/** Runs one statement with bound parameters ($1, $2 …), for tests outside core that have no kysely import. */
export async function execSql(db: DbHandle["db"], text: string, params: unknown[] = []): Promise<unknown[]> {
  const r = await db.executeQuery(CompiledQuery.raw(text, params));
  return r.rows as unknown[];
}

/**
 * Postgres's count of deadlocks in the test's database (pg_stat_database). A backend reports its
 * statistics at exit (a pooled, busy one only now and then): close the handles that raced first.
 */
export async function deadlockCount(db: DbHandle["db"]): Promise<number> {
  await db.executeQuery(CompiledQuery.raw("SELECT pg_stat_clear_snapshot()"));
  const r = await db.executeQuery<{ n: string }>(
    CompiledQuery.raw("SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()"),
  );
  return Number(r.rows[0]!.n);
}

/**
 * Runs `fn` with `n` connections of their own to the test's Postgres database (each its own pool, as
 * another replica or LiteLLM would write), all closed after, whatever `fn` does.
 */
export async function withOwnConnections<T>(
  t: TestDb,
  n: number,
  fn: (dbs: DbHandle["db"][]) => Promise<T>,
): Promise<T> {
  const handles: DbHandle[] = [];
  try {
    for (let i = 0; i < n; i++) handles.push(await openDatabase({ databaseUrl: t.url! }));
    return await fn(handles.map((h) => h.db));
  } finally {
    for (const h of handles) await h.close();
  }
}

/**
 * An older install on a database made with `migrate: false`: schema spendlens and every migration named
 * before `name`, each applied as it was (a test then writes logs and applies `name` with applyMigration).
 */
export async function applyMigrationsBefore(db: DbHandle["db"], name: string): Promise<void> {
  await db.executeQuery(CompiledQuery.raw("CREATE SCHEMA IF NOT EXISTS spendlens"));
  for (const [k, m] of Object.entries(migrations).sort(([a], [b]) => (a < b ? -1 : 1)))
    if (k < name) await m.up(db as Kysely<any>);
}

/** One migration by its name, in a transaction (as migrate() applies it). */
export async function applyMigration(db: DbHandle["db"], name: string): Promise<void> {
  await db.transaction().execute((trx) => migrations[name]!.up(trx as Kysely<any>));
}

/** The error a promise rejects with (a test of an error's code, field and message); throws if it resolves. */
export async function errorOf(p: Promise<unknown>): Promise<SpendlensError> {
  try {
    await p;
  } catch (e) {
    return e as SpendlensError;
  }
  throw new Error("expected an error");
}

/**
 * A config with one Claude deployment (`my-claude`, id `dep-claude`) and these provider budgets, each
 * the inside of its `provider_budget_config` entry (`budget_limit: 100, time_period: 1d`).
 */
export function providerBudgetConfig(budgets: Record<string, string>): SpendlensConfig {
  const lines = Object.entries(budgets).map(([provider, spec]) => `    ${provider}: { ${spec} }`);
  return parseConfig(
    `
model_list:
  - model_name: my-claude
    litellm_params: { model: anthropic/claude-3-5-sonnet-20241022 }
    model_info: { id: dep-claude }
router_settings:
  provider_budget_config:
${lines.join("\n")}
`,
    "test.yaml",
  );
}

/** Core functions only tests call directly (the server runs them on its own schedule, or at start). */
export { hashToken } from "../auth/hash.ts";
export { detectBudgetAlerts } from "../budgets/alerts.ts";
export { setClock } from "../clock.ts";
export { parseConfig } from "../config/config.ts";
export { endFoldFirstWindow, foldRollups } from "../rollups/fold.ts";
export * as analyticsFixture from "./analytics.ts";
export { createOlderSpendLogs, litellmFixtureStatements, writeLitellmFixture } from "./litellmTables.ts";
export {
  bruteCustomers,
  bruteKeys,
  bruteReportDays,
  bruteTeams,
  cmpCodePoints,
  type ReportLog,
} from "./spendReport.ts";
/**
 * The shared fixtures every layer's tests use (one set): the spend world (keys, users, teams, logs and
 * their brute-force sums, clock pinned), the analytics rows with their brute-force aggregation, the spend
 * report's oracle, and the ways rows reach the log table outside the API (LiteLLM's INSERTs, COPY).
 */
export * as spendWorld from "./spendWorld.ts";
export * as writePaths from "./writePaths.ts";
