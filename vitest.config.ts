import { readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type Reporter, type TestModule, type TestSpecification } from "vitest/node";
import {
  type Engine,
  laneProjects,
  layeredProjects,
  reportName,
  testLane,
  testWorkers,
} from "./vitest.shared.ts";

/**
 * The suite at the root: every package is a project with its own config (vitest.shared.ts), and the
 * projects' test files share one pool of workers, so no package waits for the previous one's last file.
 *
 * Three ways to run it:
 * - `pnpm test` (scripts/test.mjs) with a Postgres sets SPENDLENS_TEST_ENGINES=pglite,postgres and runs
 *   two of these processes side by side, one per lane (SPENDLENS_TEST_LANE, vitest.shared.ts
 *   `laneProjects`): core on PGlite in one, everything else in the other, each package on the engines of
 *   its layer (`LAYERS`), files reported as `<package>:<engine>` (`core:pglite`, `api:postgres` …).
 * - The same without lanes (SPENDLENS_TEST_LANES=0, `--project`, or PGlite alone): one process, projects
 *   named `<package>:<engine>`.
 * - `npx vitest run --project core` at the root, without SPENDLENS_TEST_ENGINES: the packages' own configs,
 *   every file on the engine SPENDLENS_TEST_ENGINE names (the way to run one file while developing).
 */
const dir = process.env.SPENDLENS_TEST_REPORT_DIR;
const engines = (process.env.SPENDLENS_TEST_ENGINES ?? "")
  .split(",")
  .filter((e): e is Engine => e === "pglite" || e === "postgres");
const engine = process.env.SPENDLENS_TEST_ENGINE === "postgres" ? "postgres" : "pglite";
const report = engines.length ? "run" : engine;
// One lane of a run (scripts/test.mjs, SPENDLENS_TEST_LANE): only that lane's projects (vitest.shared.ts).
const lane = testLane();

/**
 * The per-file durations of a full run (scripts/testDurations.json, written by scripts/testDurations.mjs
 * from a run's .test-reports/projects.json): the order of a run without vitest's cache of the last
 * durations (a clean checkout, CI). Keyed `<project>:<file from the root>`, as vitest's cache is.
 */
const MEASURED: Record<string, number> = JSON.parse(
  readFileSync(new URL("./scripts/testDurations.json", import.meta.url), "utf8"),
);

/**
 * Longest files first, one project after another. A worker process is kept for the next file only when
 * that file is of the same project (vitest's shared runners, `isolate: false`), so interleaving the
 * projects' files would start a fresh process (~1 s of CPU: Node, the imports, PGlite's WebAssembly) at
 * almost every file. The projects go in the order of their longest file, each project's files longest
 * first (the durations of the last run from vitest's cache, else MEASURED, else ~1 ms per byte of the
 * file); within a project, failed files first, as vitest does.
 */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cache = this.ctx.cache;
    const weight = (s: TestSpecification) => {
      const file = relative(this.ctx.config.root, s.moduleId);
      const key = `${s.project.name}:${file}`;
      const r = cache.getFileTestResults(key);
      if (r) return { failed: r.failed, ms: r.duration };
      const measured = MEASURED[`${reportName(s.project.name, s.moduleId)}:${file}`];
      return { failed: false, ms: measured ?? cache.getFileStats(key)?.size ?? 0 };
    };
    const w = new Map(files.map((f) => [f, weight(f)]));
    const longest = new Map<string, number>();
    for (const [f, x] of w) longest.set(f.project.name, Math.max(longest.get(f.project.name) ?? 0, x.ms));
    return [...files].sort((a, b) => {
      const pa = a.project.name;
      const pb = b.project.name;
      if (pa !== pb) return longest.get(pb)! - longest.get(pa)! || (pa < pb ? -1 : 1);
      const x = w.get(a)!;
      const y = w.get(b)!;
      if (x.failed !== y.failed) return x.failed ? -1 : 1;
      return y.ms - x.ms;
    });
  }
}

/**
 * Per project (`core:pglite` …): tests passed, failed and skipped, and each file's duration, written to
 * `<report dir>/projects.json` for scripts/test.mjs (vitest's JSON report does not name the project).
 * A file that failed to load counts as one failed test, as vitest's JSON report counts it.
 */
class ProjectSummary implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>) {
    if (!dir) return;
    const projects: Record<string, { passed: number; failed: number; skipped: number; files: number }> = {};
    const files: { project: string; file: string; ms: number; state: string }[] = [];
    for (const m of modules) {
      const name = reportName(m.project.name, m.moduleId);
      projects[name] ??= { passed: 0, failed: 0, skipped: 0, files: 0 };
      const s = projects[name];
      s.files += 1;
      let failed = 0;
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === "passed") s.passed += 1;
        else if (state === "failed") failed += 1;
        else s.skipped += 1;
      }
      if (failed === 0 && m.state() === "failed") failed = 1;
      s.failed += failed;
      files.push({
        project: name,
        file: relative(process.cwd(), m.moduleId),
        ms: Math.round(m.diagnostic().duration),
        state: m.state(),
      });
    }
    // This vitest process's own CPU seconds (transforms, the pool, the reporters; not its workers').
    const u = process.cpuUsage();
    const mainCpu = +((u.user + u.system) / 1e6).toFixed(2);
    writeFileSync(`${dir}/projects.json`, JSON.stringify({ projects, mainCpu, files }, null, 1));
  }
}

export default defineConfig({
  // Each lane keeps its own record of the last durations (LongestFirst reads it): two vitest processes
  // writing one file would each drop the other's.
  ...(lane ? { cacheDir: `node_modules/.vite-${lane}` } : {}),
  test: {
    projects: engines.length
      ? lane
        ? laneProjects(engines, lane)
        : layeredProjects(engines)
      : ["packages/*/vitest.config.ts", "apps/*/vitest.config.ts"],
    maxWorkers: testWorkers(),
    sequence: { sequencer: LongestFirst },
    reporters: dir
      ? ["default", ["json", { outputFile: `${dir}/${report}.json` }], new ProjectSummary()]
      : ["default"],
  },
});
