#!/usr/bin/env node
// The test command: the whole suite on PGlite and on the real Postgres (a fresh database per test file,
// cloned from the run's migrated template, dropped after). Each engine's pass is one vitest process over
// every package (the root vitest.config.ts); the passes run one after the other, or side by side with
// SPENDLENS_TEST_PARALLEL=1 (it fills the Postgres pass's waits, but the timing tests — hostile input's
// 1 s answers, restarts — then share the cores with twice the workers). Arguments go to both vitest runs
// (e.g. `pnpm test -- --project core`). Ends with one line `N passed, N failed` from vitest's JSON reports.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createInterface } from "node:readline";
import pg from "./pg.cjs";

const root = new URL("..", import.meta.url).pathname;
const reports = join(root, ".test-reports");
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });
const pgUrl = process.env.SPENDLENS_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const extra = process.argv.slice(2).filter((a) => a !== "--");
// This run's id: every database and temp folder the run creates carries it, and the clean-up below
// removes only those (never another run's, which may be a developer's and CI's on the same Postgres).
const runId = process.env.SPENDLENS_TEST_RUN_ID ?? randomBytes(6).toString("hex");
const parallel = process.env.SPENDLENS_TEST_PARALLEL === "1";
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

/** One engine's pass: `vitest run` at the root; its output lines prefixed with the engine when parallel. */
function pass(engine, prefix) {
  const t0 = Date.now();
  const child = spawn(process.execPath, [join(root, "node_modules/vitest/vitest.mjs"), "run", ...extra], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      SPENDLENS_TEST_ENGINE: engine,
      SPENDLENS_TEST_REPORT_DIR: reports,
      SPENDLENS_TEST_PG_URL: pgUrl,
      SPENDLENS_TEST_RUN_ID: runId,
      // One migrated template per run and engine, removed below with the run's other databases and folder.
      SPENDLENS_TEST_KEEP_TEMPLATE: "1",
      // Its output is piped through the prefixer: colours when our own output is a terminal.
      ...(process.stdout.isTTY ? { FORCE_COLOR: "1" } : {}),
    },
  });
  for (const [from, to] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ]) {
    createInterface({ input: from }).on("line", (l) => to.write(prefix ? `[${engine}] ${l}\n` : `${l}\n`));
  }
  return new Promise((resolve) =>
    child.on("close", (code) => {
      console.log(`\n=== ${engine} pass: exit ${code}, ${((Date.now() - t0) / 1000).toFixed(1)} s ===\n`);
      resolve(code === 0);
    }),
  );
}

// The CLI tests run the real binary: bundle it first (bin/spendlens.mjs falls back to the TypeScript
// sources when the bundle is missing or older than them, but then every run compiles at start-up). The
// server and browser tests serve apps/web's bundle.
for (const pkg of ["@spendlens/cli", "@spendlens/web"]) {
  const built = spawnSync("pnpm", ["--filter", pkg, "build"], { cwd: root, stdio: "inherit" });
  if (built.status !== 0) console.log(`${pkg} not built`);
}

const withPostgres = await postgresReachable();
const engines = withPostgres ? ["pglite", "postgres"] : ["pglite"];
let ok = true;
if (!parallel || engines.length === 1) {
  for (const e of engines) ok = (await pass(e, null)) && ok;
} else {
  ok = (await Promise.all(engines.map((e) => pass(e, true)))).every(Boolean);
}

if (withPostgres) {
  // This run's migrated template (spendlens_t_<id>_tpl_<hash>) and the leftovers of its crashed test
  // files (only this run's: the prefix carries its id).
  const c = new pg.Client({ connectionString: pgUrl });
  await c.connect();
  const prefix = `spendlens_t_${runId}_`;
  const left = await c.query("SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1", [
    prefix,
  ]);
  for (const { datname } of left.rows) await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  await c.end();
} else if (process.env.CI) {
  console.error(`\nPostgres pass FAILED: no Postgres at ${pgUrl} (CI requires both passes)`);
  ok = false;
} else {
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
for (const engine of engines) {
  const file = join(reports, `${engine}.json`);
  if (!existsSync(file)) {
    console.log(`${engine}: no report (the run did not finish)`);
    failed += 1;
    continue;
  }
  const j = JSON.parse(readFileSync(file, "utf8"));
  passed += j.numPassedTests ?? 0;
  failed += (j.numFailedTests ?? 0) + (j.numRuntimeErrorTestSuites ?? 0);
  // Per package (apps/server, packages/core …), from each file's path.
  const byPkg = new Map();
  for (const f of j.testResults ?? []) {
    const pkg = relative(root, f.name).split("/").slice(0, 2).join("/");
    const s = byPkg.get(pkg) ?? { passed: 0, failed: 0 };
    for (const a of f.assertionResults ?? []) {
      if (a.status === "passed") s.passed += 1;
      else if (a.status === "failed") s.failed += 1;
    }
    byPkg.set(pkg, s);
  }
  for (const [pkg, s] of [...byPkg].sort())
    console.log(`${engine} ${pkg}: ${s.passed} passed, ${s.failed} failed`);
}
console.log(`test time: ${((Date.now() - started) / 1000).toFixed(0)} s`);
// The last line, exactly `N passed, N failed` (CI reads it).
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
