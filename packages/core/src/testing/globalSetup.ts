import { setFlagsFromString } from "node:v8";
import {
  dropRunDatabases,
  ensurePostgresTemplate,
  migratedPgliteTemplate,
  removeTestRunDir,
  testEngine,
  testRunId,
} from "./index.ts";

/**
 * vitest globalSetup of every package (vitest.shared.ts): fixes the run id for all worker processes and
 * makes the migrated template once, before any test file starts (createTestDb would also make it on
 * first use, under a lock). The teardown removes what the run made (its Postgres databases, the template
 * and the test files' ones, which they leave to it; the run's temp folder with the PGlite templates),
 * unless the caller owns the clean-up (scripts/test.mjs sets
 * SPENDLENS_TEST_KEEP_TEMPLATE=1: one template serves every package of its run, and it removes every
 * database and the temp folder of the run at the end).
 */
export default async function setup(): Promise<() => Promise<void>> {
  testRunId(); // sets SPENDLENS_TEST_RUN_ID, which the workers inherit
  // This process (vitest's main one) runs PGlite only here, once: initdb and the migrations, before any
  // test file starts. V8's baseline tier alone (Liftoff) costs less than tiering hot functions up to
  // TurboFan for that one short job (apps/cli/src/wasmTier.ts); read when PGlite's module is compiled.
  setFlagsFromString("--liftoff-only");
  const keep = process.env.SPENDLENS_TEST_KEEP_TEMPLATE === "1";
  // `pnpm test` runs both engines (SPENDLENS_TEST_ENGINES): a template for each; in its two lanes
  // (SPENDLENS_TEST_LANE, vitest.shared.ts), the cpu lane (the PGlite projects) makes PGlite's and the wait
  // lane (the Postgres projects) Postgres's. A template a lane's file needs besides is made on first use
  // (PGlite's under a lock another process waits on, pgliteTemplate; Postgres's under an advisory lock).
  const lane = process.env.SPENDLENS_TEST_LANE;
  const engines =
    lane === "cpu"
      ? ["pglite"]
      : lane === "wait"
        ? ["postgres"]
        : (process.env.SPENDLENS_TEST_ENGINES ?? testEngine()).split(",");
  // Side by side: PGlite's migration is this process's CPU, Postgres's the server's.
  const [, pg] = await Promise.all([
    engines.includes("pglite") ? migratedPgliteTemplate() : null,
    engines.includes("postgres") ? ensurePostgresTemplate() : null,
  ]);
  const created = pg?.created ?? false;
  // The run's owner (scripts/test.mjs, or this teardown when it made the template) drops every database
  // of the run at its end, so the test files leave theirs (dropsAtRunEnd: why). Set before any worker
  // starts; they inherit it.
  if (keep || created) process.env.SPENDLENS_TEST_DROP_AT_END = "1";
  return async () => {
    if (keep) return;
    if (created) await dropRunDatabases();
    removeTestRunDir();
  };
}
