import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * Every package's vitest config. The engine (SPENDLENS_TEST_ENGINE=pglite|postgres) is chosen by
 * scripts/test.mjs, which runs the whole suite once per engine; with SPENDLENS_TEST_REPORT_DIR set, each
 * run also writes vitest's JSON report there for the closing `N passed, N failed` line. The globalSetup
 * (packages/core/src/testing/globalSetup.ts) makes the run's migrated template before any test file.
 */
export function spendlensVitest(pkg: string) {
  const dir = process.env.SPENDLENS_TEST_REPORT_DIR;
  const engine = process.env.SPENDLENS_TEST_ENGINE === "postgres" ? "postgres" : "pglite";
  return defineConfig({
    test: {
      include: ["test/**/*.test.ts"],
      // The run id and the migrated test-database template, made once before the test files start.
      globalSetup: [fileURLToPath(new URL("./packages/core/src/testing/globalSetup.ts", import.meta.url))],
      testTimeout: 120_000,
      hookTimeout: 180_000,
      pool: "forks",
      maxWorkers: 2,
      reporters: dir ? ["default", ["json", { outputFile: `${dir}/${engine}-${pkg}.json` }]] : ["default"],
    },
  });
}
