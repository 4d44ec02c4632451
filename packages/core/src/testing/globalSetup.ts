import {
  dropPostgresTemplate,
  ensurePostgresTemplate,
  migratedPgliteTemplate,
  testEngine,
  testRunId,
} from "./index.ts";

/**
 * vitest globalSetup of every package (vitest.shared.ts): fixes the run id for all worker processes and
 * makes the migrated template once, before any test file starts (createTestDb would also make it on
 * first use, under a lock). On Postgres the teardown drops the template it made, unless the caller owns
 * the clean-up (scripts/test.mjs sets SPENDLENS_TEST_KEEP_TEMPLATE=1: one template serves every package
 * of its run, and it drops every database of the run at the end).
 */
export default async function setup(): Promise<() => Promise<void>> {
  testRunId(); // sets SPENDLENS_TEST_RUN_ID, which the workers inherit
  if (testEngine() !== "postgres") {
    await migratedPgliteTemplate();
    return async () => {};
  }
  const { created } = await ensurePostgresTemplate();
  return async () => {
    if (created && process.env.SPENDLENS_TEST_KEEP_TEMPLATE !== "1") await dropPostgresTemplate();
  };
}
