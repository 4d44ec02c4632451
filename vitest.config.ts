import { defineConfig } from "vitest/config";
import { testWorkers } from "./vitest.shared.ts";

/**
 * The whole suite in one vitest process (scripts/test.mjs runs it once per engine): every package is a
 * project with its own config (vitest.shared.ts), and the projects' test files share one pool of
 * workers, so the longest files start first across packages and no package waits for the previous one's
 * last file (turbo ran the packages one after another, each ending on one busy worker).
 */
const dir = process.env.SPENDLENS_TEST_REPORT_DIR;
const engine = process.env.SPENDLENS_TEST_ENGINE === "postgres" ? "postgres" : "pglite";

export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "apps/*/vitest.config.ts"],
    maxWorkers: testWorkers(),
    reporters: dir ? ["default", ["json", { outputFile: `${dir}/${engine}.json` }]] : ["default"],
  },
});
