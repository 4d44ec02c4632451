import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * Every package's vitest config. The engine (SPENDLENS_TEST_ENGINE=pglite|postgres) is chosen by
 * scripts/test.mjs, which runs the whole suite once per engine in one vitest process per engine (the root
 * vitest.config.ts lists every package as a project); `npx vitest run` inside a package runs that package
 * alone. With SPENDLENS_TEST_REPORT_DIR set, a package run writes vitest's JSON report there. The
 * globalSetup (packages/core/src/testing/globalSetup.ts) makes the run's migrated template before any
 * test file.
 *
 * Test files share their worker process (`isolate: false`): a fresh process per file cost ~0.9 s of CPU
 * (Node start, importing kysely/PGlite/tRPC/fastify again, compiling PGlite's WebAssembly again), about a
 * third of the suite's CPU time. Files hold no module state of their own that another file could see: each
 * opens its own database (createTestDb) and undoes what it set (setClock(null) in afterAll).
 * SPENDLENS_TEST_ISOLATE=1 gives each file its own process again (to rule out a leak between files).
 */
export function spendlensVitest(pkg: string) {
  const dir = process.env.SPENDLENS_TEST_REPORT_DIR;
  const engine = process.env.SPENDLENS_TEST_ENGINE === "postgres" ? "postgres" : "pglite";
  return defineConfig({
    test: {
      name: pkg,
      include: ["test/**/*.test.ts"],
      // The run id and the migrated test-database template, made once before the test files start.
      globalSetup: [fileURLToPath(new URL("./packages/core/src/testing/globalSetup.ts", import.meta.url))],
      testTimeout: 120_000,
      hookTimeout: 180_000,
      pool: "forks",
      isolate: process.env.SPENDLENS_TEST_ISOLATE === "1",
      maxWorkers: testWorkers(),
      reporters: dir ? ["default", ["json", { outputFile: `${dir}/${engine}-${pkg}.json` }]] : ["default"],
    },
  });
}

/** Worker processes per vitest run: SPENDLENS_TEST_WORKERS, default 2 (the machine's two cores). */
export function testWorkers(): number {
  const n = Number(process.env.SPENDLENS_TEST_WORKERS);
  return Number.isInteger(n) && n > 0 ? n : 2;
}
