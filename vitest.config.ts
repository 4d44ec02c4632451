import { relative } from "node:path";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import { testWorkers } from "./vitest.shared.ts";

/**
 * The whole suite in one vitest process (scripts/test.mjs runs it once per engine): every package is a
 * project with its own config (vitest.shared.ts), and the projects' test files share one pool of
 * workers, so no package waits for the previous one's last file (turbo ran the packages one after
 * another, each ending on one busy worker).
 */
const dir = process.env.SPENDLENS_TEST_REPORT_DIR;
const engine = process.env.SPENDLENS_TEST_ENGINE === "postgres" ? "postgres" : "pglite";

/**
 * Longest files first across all packages (vitest's own order runs the projects one after another), so
 * the run does not end on one long file with the other worker idle: the durations of the last run
 * (vitest's cache), else the file's size; failed files first, as vitest does.
 */
/** Files far longer than their size suggests (ms on PGlite, measured 2026-12-06): a first run's order. */
const KNOWN_LONG: Record<string, number> = {
  "apps/server/test/hostile.test.ts": 180_000,
  "packages/api/test/authMatrix.test.ts": 75_000,
  "apps/server/test/openapi.test.ts": 60_000,
  "apps/server/test/authMatrix.test.ts": 55_000,
  "packages/core/test/migrations.test.ts": 50_000,
  "packages/core/test/demo.test.ts": 40_000,
  "packages/api/test/edges.test.ts": 35_000,
};

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cache = this.ctx.cache;
    const weight = (s: TestSpecification) => {
      const key = `${s.project.name}:${relative(this.ctx.config.root, s.moduleId)}`;
      const r = cache.getFileTestResults(key);
      if (r) return { failed: r.failed, ms: r.duration };
      // No duration yet (a first run): the known long files, then ~1 ms per byte of test file.
      const known = KNOWN_LONG[relative(this.ctx.config.root, s.moduleId)];
      return { failed: false, ms: known ?? cache.getFileStats(key)?.size ?? 0 };
    };
    const w = new Map(files.map((f) => [f, weight(f)]));
    return [...files].sort((a, b) => {
      const x = w.get(a)!;
      const y = w.get(b)!;
      if (x.failed !== y.failed) return x.failed ? -1 : 1;
      return y.ms - x.ms;
    });
  }
}

export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "apps/*/vitest.config.ts"],
    maxWorkers: testWorkers(),
    sequence: { sequencer: LongestFirst },
    reporters: dir ? ["default", ["json", { outputFile: `${dir}/${engine}.json` }]] : ["default"],
  },
});
