#!/usr/bin/env node
// The test command: the whole suite on PGlite and on the real Postgres (a fresh database per test file,
// cloned from the run's migrated template, all dropped at the end): each package runs on the engines of
// its layer (vitest.shared.ts `LAYERS`: core on both, the transport layers on Postgres plus their
// embedded-mode files on PGlite), in two vitest processes side by side (the root vitest.config.ts with
// SPENDLENS_TEST_ENGINES and SPENDLENS_TEST_LANE: `lanes` below). Without a Postgres, everything runs on
// PGlite in one vitest process. Arguments go to vitest; `--project core` means the package on every
// engine it runs on (`--project core:postgres` one of them), in one vitest process. Ends with one line
// `N passed, N failed`.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "./pg.cjs";
import { ownClusterUnavailable, startOwnCluster } from "./runCluster.mjs";

const root = new URL("..", import.meta.url).pathname;
const reports = join(root, ".test-reports");
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });
let pgUrl = process.env.SPENDLENS_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
// `--project core` names the package: its projects are `core:pglite`, `core:postgres` (vitest.config.ts).
const extra = process.argv
  .slice(2)
  .filter((a) => a !== "--")
  .map((a, i, all) => {
    const value = a.startsWith("--project=") ? a.slice(10) : all[i - 1] === "--project" ? a : null;
    if (value === null || value.includes(":")) return a;
    return a.startsWith("--project=") ? `--project=${value}:*` : `${value}:*`;
  });
// This run's id: every database and temp folder the run creates carries it, and the clean-up below
// removes only those (never another run's, which may be a developer's and CI's on the same Postgres).
const runId = process.env.SPENDLENS_TEST_RUN_ID ?? randomBytes(6).toString("hex");
const started = Date.now();

async function postgresReachable() {
  const c = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/** CPU seconds of this process's waited-for children (the vitest run and everything it started), Linux. */
function childCpu() {
  if (!existsSync("/proc/self/stat")) return null;
  const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
  return (Number(f[13]) + Number(f[14])) / 100; // cutime + cstime, in clock ticks (USER_HZ 100)
}

/**
 * The Postgres server's CPU seconds so far, when it runs on this machine: its postmaster's own and its
 * reaped children's (every backend that exited; the postmaster waits for each), Linux. The tests' queries
 * are the server's work, so a run's CPU is the test processes' plus this. Null when it can't be read.
 */
async function postgresCpu() {
  if (!existsSync("/proc/self/stat")) return null;
  const c = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    const dir = (await c.query("SHOW data_directory")).rows[0].data_directory;
    const pid = readFileSync(join(dir, "postmaster.pid"), "utf8").split("\n")[0].trim();
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return null; // another machine's server, or its folder not readable
  } finally {
    await c.end().catch(() => {});
  }
}

/** The machine's idle CPU seconds so far (all cores), from /proc/stat, Linux; null elsewhere. */
function machineIdle() {
  if (!existsSync("/proc/stat")) return null;
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
  return (Number(f[4]) + Number(f[5])) / 100; // idle + iowait, in clock ticks (USER_HZ 100)
}

/**
 * One vitest process at the root over `engines`; with `lane`, only that lane's projects (vitest.shared.ts
 * `laneProjects`), on `workers` worker processes, its reports in `<reports>/<lane>`.
 */
// The vitest processes while they run, and whether a signal asked the runner to stop (then none starts).
const running = new Set();
let stopping = false;

function run(engines, lane = null, workers = null) {
  if (stopping) return Promise.resolve(false);
  const t0 = Date.now();
  const dir = lane ? join(reports, lane) : reports;
  mkdirSync(dir, { recursive: true });
  // A lane whose filter matches none of its files passes empty (the other lane may hold them).
  const args = lane ? [...extra, "--passWithNoTests"] : extra;
  const child = spawn(process.execPath, [join(root, "node_modules/vitest/vitest.mjs"), "run", ...args], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      SPENDLENS_TEST_ENGINES: engines.join(","),
      SPENDLENS_TEST_REPORT_DIR: dir,
      SPENDLENS_TEST_PG_URL: pgUrl,
      SPENDLENS_TEST_RUN_ID: runId,
      // One migrated template per run and engine, removed below with the run's other databases and folder.
      SPENDLENS_TEST_KEEP_TEMPLATE: "1",
      ...(lane ? { SPENDLENS_TEST_LANE: lane } : {}),
      ...(workers ? { SPENDLENS_TEST_WORKERS: String(workers) } : {}),
    },
  });
  running.add(child);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      running.delete(child);
      const what = lane ? `${lane} lane` : engines.join(" + ");
      console.log(`\n=== ${what}: exit ${code}, ${((Date.now() - t0) / 1000).toFixed(1)} s ===\n`);
      resolve(code === 0);
    }),
  );
}

/**
 * Workers per lane. Both engines, the whole suite: two vitest processes side by side (vitest.shared.ts,
 * `laneOf`): the cpu lane, the PGlite projects (PGlite runs in the worker or in the CLI processes a file
 * starts: its files keep the cores busy), on SPENDLENS_TEST_CPU_WORKERS (default 2), and the wait lane, the
 * Postgres projects, on SPENDLENS_TEST_WORKERS (default 2: its files wait on the Postgres server, on child
 * servers, on timers and on Chromium). The cpu lane's work fills the wait lane's waits. One vitest process
 * for all could not: its pool hands files out in one order, and a worker is kept for the next file only
 * when that file is of the same project. Measured (BENCHMARKS.md, "Session 14"): 2 + 2 workers 134–146 s;
 * 1 + 3 145–146 s; 2 + 3 154–171 s (contention); one process 154–163 s.
 * SPENDLENS_TEST_LANES=0, or `--project`: one vitest process for all (SPENDLENS_TEST_WORKERS, default 2).
 */
function lanes(engines) {
  const projectsNamed = extra.some((a) => a.startsWith("--project"));
  if (engines.length < 2 || projectsNamed || process.env.SPENDLENS_TEST_LANES === "0") return [[null, null]];
  const n = (v, d) => (Number.isInteger(Number(v)) && Number(v) > 0 ? Number(v) : d);
  return [
    ["cpu", n(process.env.SPENDLENS_TEST_CPU_WORKERS, 2)],
    ["wait", n(process.env.SPENDLENS_TEST_WORKERS, 2)],
  ];
}

// The CLI tests run the real binary: bundle it first (bin/spendlens.mjs falls back to the TypeScript
// sources when the bundle is missing or older than them, but then every run compiles at start-up). The
// server and browser tests serve apps/web's bundle.
// The two builds side by side (each mostly one core), and the Postgres check meanwhile.
const builds = ["@spendlens/cli", "@spendlens/web"].map(
  (pkg) =>
    new Promise((resolve) =>
      spawn("pnpm", ["--filter", pkg, "build"], { cwd: root, stdio: "inherit" }).on("close", (code) => {
        if (code !== 0) console.log(`${pkg} not built`);
        resolve();
      }),
    ),
);
// The run's own Postgres cluster where the machine allows one (scripts/runCluster.mjs), made beside the
// builds; else the shared server at pgUrl.
let own = null;
const unavailable = ownClusterUnavailable();
const ownCluster = unavailable
  ? Promise.resolve(null)
  : startOwnCluster(runId).catch((e) => {
      console.log(`no cluster of the run's own (${String(e.message ?? e).split("\n")[0]}): using ${pgUrl}`);
      return null;
    });
// Once, whenever asked (a signal may come while the cluster is still being made: it is awaited).
let ownDropped = false;
const dropOwn = async () => {
  const c = await ownCluster;
  if (ownDropped) return;
  ownDropped = true;
  await c?.drop();
};
for (const signal of ["SIGINT", "SIGTERM"])
  process.once(signal, () => {
    stopping = true;
    for (const child of running) child.kill(signal);
    dropOwn().finally(() => {
      rmSync(join(tmpdir(), `spendlens-t-${runId}`), { recursive: true, force: true });
      process.exit(130);
    });
  });
// A runner that fails on its own (a report it cannot read) still removes the cluster.
process.once("uncaughtException", (e) => {
  console.error(e);
  dropOwn().finally(() => process.exit(1));
});
[own] = await Promise.all([ownCluster, ...builds]);
if (own) {
  pgUrl = own.url;
  console.log(`Postgres: the run's own cluster spendlens_t_${runId} at ${own.url}`);
} else if (unavailable) console.log(`Postgres: ${pgUrl} (no cluster of the run's own: ${unavailable})`);
const withPostgres = await postgresReachable();
const engines = withPostgres ? ["pglite", "postgres"] : ["pglite"];
const cpu0 = childCpu();
const pg0 = withPostgres ? await postgresCpu() : null;
const idle0 = machineIdle();
const t0 = Date.now();
// A checkpoint every few seconds while the tests run (`SPENDLENS_TEST_CHECKPOINT_S`, default 10; 0: none).
// The test files leave their databases to the clean-up below; a checkpoint then fsyncs each file they
// wrote once, in the background while tests run, instead of all of them in the first checkpoint of the
// clean-up (each DROP DATABASE waits for one), which took ~40 s at the end of a run.
const checkpointEvery = Number(process.env.SPENDLENS_TEST_CHECKPOINT_S ?? 10);
// On the run's own cluster (fsync off, thrown away whole) neither checkpoints nor drops are needed.
const checkpointer =
  withPostgres && !own && checkpointEvery > 0 ? new pg.Client({ connectionString: pgUrl }) : null;
let checkpointTimer = null;
if (checkpointer) {
  checkpointer.on("error", () => {});
  await checkpointer.connect();
  let busy = false;
  checkpointTimer = setInterval(() => {
    if (busy) return;
    busy = true;
    checkpointer
      .query("CHECKPOINT")
      .catch(() => {})
      .finally(() => {
        busy = false;
      });
  }, checkpointEvery * 1000);
}
const laneRuns = lanes(engines);
let ok = (await Promise.all(laneRuns.map(([lane, workers]) => run(engines, lane, workers)))).every(Boolean);
if (checkpointTimer) clearInterval(checkpointTimer);
await checkpointer?.end().catch(() => {});
const cpu = cpu0 === null ? null : childCpu() - cpu0;
const idle = idle0 === null ? null : machineIdle() - idle0;
const vitestWall = (Date.now() - t0) / 1000;

if (withPostgres && !own) {
  // This run's databases: its migrated template (spendlens_t_<id>_tpl_<hash>) and every test file's
  // (only this run's: the prefix carries its id). The test files leave theirs to this (createTestDb,
  // `dropsAtRunEnd`: dropping them during the run made every later CREATE DATABASE ~10 times dearer in
  // the kernel). Newest first, many at once: each DROP DATABASE waits for a checkpoint, which fsyncs the
  // files written since the last one except those of the databases dropped meanwhile (the newest hold
  // the files written last; a checkpoint already running skips the files of those dropped meanwhile).
  // Up to 24 connections (fewer if the server has no more to spare: it may be shared).
  const clients = (
    await Promise.allSettled(
      Array.from({ length: Number(process.env.SPENDLENS_TEST_DROP_CONNS ?? 24) }, async () => {
        const c = new pg.Client({ connectionString: pgUrl });
        c.on("error", () => {});
        await c.connect();
        return c;
      }),
    )
  ).flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  if (clients.length === 0) throw new Error(`no connection to ${pgUrl} to drop the run's databases`);
  const prefix = `spendlens_t_${runId}_`;
  const left = await clients[0].query(
    "SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1 ORDER BY oid DESC",
    [prefix],
  );
  const names = left.rows.map((r) => r.datname);
  const [n0, d0] = [names.length, Date.now()];
  await Promise.all(
    clients.map(async (c) => {
      for (let n = names.shift(); n !== undefined; n = names.shift())
        await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(n)} WITH (FORCE)`);
      await c.end();
    }),
  );
  console.log(`dropped the run's ${n0} databases in ${((Date.now() - d0) / 1000).toFixed(1)} s`);
}
// After the clean-up: the drops of the run's databases are the run's work too.
const pgEnd = pg0 === null ? null : await postgresCpu();
// The run's own cluster, with all of the run's databases in it.
await dropOwn();
if (!withPostgres && process.env.CI) {
  console.error(`\nPostgres pass FAILED: no Postgres at ${pgUrl} (CI requires both passes)`);
  ok = false;
} else if (!withPostgres) {
  console.log(`\nPostgres pass SKIPPED: no Postgres reachable at ${pgUrl}. Only the PGlite pass ran.`);
}
// The run's temp folder (the PGlite templates and on-disk test databases, packages/core/src/testing), and
// the folders test files name with the run's id (`spendlens-<what>-<run id>-…`) that a test killed before
// its afterAll left behind.
rmSync(join(tmpdir(), `spendlens-t-${runId}`), { recursive: true, force: true });
for (const f of readdirSync(tmpdir()))
  if (f.startsWith("spendlens-") && f.includes(`-${runId}-`))
    rmSync(join(tmpdir(), f), { recursive: true, force: true });

let passed = 0;
let failed = 0;
let mainCpu = null; // the vitest main processes' own CPU seconds (their reports)
// Each lane's report (or the one run's), merged into .test-reports/projects.json.
const summaries = laneRuns.map(([lane]) => join(lane ? join(reports, lane) : reports, "projects.json"));
if (!summaries.every((f) => existsSync(f))) {
  console.log("no report (the run did not finish)");
  failed += 1;
  ok = false;
} else {
  const parts = summaries.map((f) => JSON.parse(readFileSync(f, "utf8")));
  const projects = Object.assign({}, ...parts.map((p) => p.projects));
  mainCpu = +parts.reduce((a, p) => a + (p.mainCpu ?? 0), 0).toFixed(2);
  if (laneRuns.length > 1) {
    const files = parts.flatMap((p) => p.files);
    writeFileSync(join(reports, "projects.json"), JSON.stringify({ projects, mainCpu, files }, null, 1));
    if (files.length === 0) {
      console.log("no test file matched");
      failed += 1;
      ok = false;
    }
  }
  // Per project (`core:pglite`, `api:postgres` …), and per engine.
  const byEngine = new Map();
  for (const [name, s] of Object.entries(projects).sort()) {
    console.log(`${name}: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped (${s.files} files)`);
    const e = name.split(":")[1] ?? "";
    const t = byEngine.get(e) ?? { passed: 0, failed: 0 };
    t.passed += s.passed;
    t.failed += s.failed;
    byEngine.set(e, t);
    passed += s.passed;
    failed += s.failed;
  }
  for (const [e, t] of byEngine) console.log(`${e}: ${t.passed} passed, ${t.failed} failed`);
}
const wall = (Date.now() - started) / 1000;
console.log(
  `test time: ${wall.toFixed(0)} s${cpu === null ? "" : `, ${cpu.toFixed(0)} s of CPU (the test processes; the Postgres server's own not counted)`}${mainCpu === null ? "" : `; vitest's main process${laneRuns.length > 1 ? "es" : ""} ${mainCpu.toFixed(0)} s of it`}`,
);
// The machine during the vitest run: the Postgres server's CPU (its backends' work for the tests, and
// anything else it served meanwhile) and the idle CPU left on all cores.
if (pgEnd !== null || idle !== null)
  console.log(
    [
      pgEnd === null ? null : `Postgres server ${(pgEnd - pg0).toFixed(0)} s of CPU`,
      idle === null
        ? null
        : `machine idle ${idle.toFixed(0)} s of ${vitestWall.toFixed(0)} s × ${availableParallelism()} cores`,
    ]
      .filter(Boolean)
      .join(", "),
  );
// The last line, exactly `N passed, N failed` (CI reads it).
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
