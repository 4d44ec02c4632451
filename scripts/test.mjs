#!/usr/bin/env node
// The test command: the whole suite on PGlite, then again on the real Postgres (a fresh database per
// test file, dropped after). Ends with one line `N passed, N failed` summed from vitest's JSON reports.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import pg from "./pg.cjs";

const root = new URL("..", import.meta.url).pathname;
const reports = join(root, ".test-reports");
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });
const pgUrl = process.env.SPENDLENS_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const extra = process.argv.slice(2);
// This run's id: every database the run creates carries it, and the clean-up below drops only those
// (never another run's, which may be a developer's and CI's on the same Postgres at once).
const runId = process.env.SPENDLENS_TEST_RUN_ID ?? randomBytes(6).toString("hex");

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

function pass(engine) {
  console.log(`\n=== test pass: ${engine} ===\n`);
  const r = spawnSync("pnpm", ["exec", "turbo", "run", "test", "--concurrency=1", "--continue", ...extra], {
    cwd: root,
    stdio: "inherit",
    env: {
      ...process.env,
      SPENDLENS_TEST_ENGINE: engine,
      SPENDLENS_TEST_REPORT_DIR: reports,
      SPENDLENS_TEST_PG_URL: pgUrl,
      SPENDLENS_TEST_RUN_ID: runId,
      // One migrated template per run (made by the first package's globalSetup), dropped below with the
      // run's other databases.
      SPENDLENS_TEST_KEEP_TEMPLATE: "1",
    },
  });
  return r.status === 0;
}

// The CLI tests run the real binary: bundle it first (bin/spendlens.mjs falls back to the TypeScript
// sources when the bundle is missing or older than them, but then every run compiles at start-up).
const built = spawnSync("pnpm", ["--filter", "@spendlens/cli", "build"], { cwd: root, stdio: "inherit" });
if (built.status !== 0) console.log("CLI bundle not built: the CLI tests run the TypeScript sources");

let ok = pass("pglite");
if (await postgresReachable()) {
  ok = pass("postgres") && ok;
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

let passed = 0;
let failed = 0;
for (const f of readdirSync(reports)) {
  const j = JSON.parse(readFileSync(join(reports, f), "utf8"));
  passed += j.numPassedTests ?? 0;
  failed += (j.numFailedTests ?? 0) + (j.numRuntimeErrorTestSuites ?? 0);
  console.log(`${f.replace(/\.json$/, "")}: ${j.numPassedTests} passed, ${j.numFailedTests} failed`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
