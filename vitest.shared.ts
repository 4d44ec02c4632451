import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * Every package's vitest config. `npx vitest run` inside a package (or at the root with
 * `--project <pkg>`) runs that package on the engine SPENDLENS_TEST_ENGINE names (pglite, the default, or
 * postgres). `pnpm test` (scripts/test.mjs) runs the whole suite in one vitest process, each package on
 * the engines its layer needs (LAYERS below, the root vitest.config.ts). With SPENDLENS_TEST_REPORT_DIR
 * set, a package run writes vitest's JSON report there. The globalSetup
 * (packages/core/src/testing/globalSetup.ts) makes the run's migrated templates before any test file.
 *
 * Test files share their worker process (`isolate: false`): a fresh process per file cost ~0.9 s of CPU
 * (Node start, importing kysely/PGlite/tRPC/fastify again, compiling PGlite's WebAssembly again), about a
 * third of the suite's CPU time. Files hold no module state of their own that another file could see: each
 * opens its own database (createTestDb) and undoes what it set (setClock(null) in afterAll).
 * SPENDLENS_TEST_ISOLATE=1 gives each file its own process again (to rule out a leak between files).
 */
export type Engine = "pglite" | "postgres";
export type Pkg = "core" | "api" | "server" | "cli" | "web";

/**
 * Tests by layer (docs/architecture.md, "Tests"): which engines each package's tests run on in `pnpm test`.
 * - core owns the numbers (every query against brute force) and the SQL both engines run: both engines.
 * - api (roles, one matrix from meta), server (transport), cli (the binary), web (the dashboard) are the
 *   same whatever the engine under core: the real Postgres only (the production engine; also the cheaper
 *   one, no WebAssembly database in the test process or in each CLI run), plus their files about the
 *   embedded mode on PGlite (`embedded`: a file named `*.embedded.test.ts`, or listed here).
 * Without a reachable Postgres the run has one engine, PGlite, and every layer runs on it.
 */
export const LAYERS: Record<Pkg, { dir: string; engines: Engine[]; embedded: string[]; noDb?: string[] }> = {
  // noDb: files that open no database (pure functions, the tokenizer's child process, the migration
  // files' hashes): the same test on both engines would prove nothing more, so they run on the first
  // engine of the run (PGlite, with the other CPU-bound files).
  core: {
    dir: "packages/core",
    engines: ["pglite", "postgres"],
    embedded: [],
    noDb: [
      "test/config.test.ts",
      "test/days.test.ts",
      "test/ingestRowChecks.test.ts",
      "test/migrationFiles.test.ts",
      "test/pricing.test.ts",
      "test/tokenCounter.test.ts",
      "test/writeOnce.test.ts",
    ],
  },
  api: { dir: "packages/api", engines: ["postgres"], embedded: [] },
  server: { dir: "apps/server", engines: ["postgres"], embedded: [] },
  cli: { dir: "apps/cli", engines: ["postgres"], embedded: ["test/embeddedServer.test.ts"] },
  web: { dir: "apps/web", engines: ["postgres"], embedded: [] },
};
/** A transport layer's test file about the embedded mode (PGlite), by name. */
export const EMBEDDED_GLOB = "test/**/*.embedded.test.ts";
const ALL_FILES = "test/**/*.test.ts";

export interface ProjectOptions {
  /** The engine this project's workers get (SPENDLENS_TEST_ENGINE); default: the environment's. */
  engine?: Engine;
  /** Project name (default: the package's). */
  name?: string;
  include?: string[];
  exclude?: string[];
}

export function spendlensVitest(pkg: string, opts: ProjectOptions = {}) {
  const dir = process.env.SPENDLENS_TEST_REPORT_DIR;
  const engine = opts.engine ?? (process.env.SPENDLENS_TEST_ENGINE === "postgres" ? "postgres" : "pglite");
  return defineConfig({
    test: {
      name: opts.name ?? pkg,
      include: opts.include ?? [ALL_FILES],
      ...(opts.exclude ? { exclude: [...opts.exclude, "**/node_modules/**"] } : {}),
      ...(opts.engine ? { env: { SPENDLENS_TEST_ENGINE: opts.engine } } : {}),
      // The run id and the migrated test-database templates, made once before the test files start.
      globalSetup: [fileURLToPath(new URL("./packages/core/src/testing/globalSetup.ts", import.meta.url))],
      // SPENDLENS_TEST_CPU_LOG=<file>: one JSON line per test file with the CPU time it cost (scripts/testCpu.ts).
      setupFiles: process.env.SPENDLENS_TEST_CPU_LOG
        ? [fileURLToPath(new URL("./scripts/testCpu.ts", import.meta.url))]
        : [],
      testTimeout: 120_000,
      hookTimeout: 180_000,
      pool: "forks",
      isolate: process.env.SPENDLENS_TEST_ISOLATE === "1",
      maxWorkers: testWorkers(),
      reporters: dir ? ["default", ["json", { outputFile: `${dir}/${engine}-${pkg}.json` }]] : ["default"],
    },
  });
}

/**
 * The projects of one `pnpm test` run over `engines` (what scripts/test.mjs found: both, or PGlite alone),
 * named `<package>:<engine>`: each package on the engines of its layer, a transport layer's embedded files
 * on PGlite. With one engine, every package runs all its files on it.
 */
export function layeredProjects(engines: Engine[]) {
  const projects = [];
  for (const [pkg, layer] of Object.entries(LAYERS) as [Pkg, (typeof LAYERS)[Pkg]][]) {
    const embedded = [EMBEDDED_GLOB, ...layer.embedded];
    for (const engine of engines) {
      const own = layer.engines.includes(engine);
      // A transport layer's embedded files run on PGlite only; its other files on its own engines.
      // Files that open no database run once, on the first of the run's engines (PGlite: in `pnpm test`
      // they are pure CPU work, the cpu lane's kind).
      const noDb = engines.length > 1 && engine !== engines[0] ? (layer.noDb ?? []) : [];
      const files =
        engines.length === 1 || (own && engine === "pglite")
          ? noDb.length
            ? { include: [ALL_FILES], exclude: noDb }
            : { include: [ALL_FILES] }
          : own
            ? { include: [ALL_FILES], exclude: [...embedded, ...noDb] }
            : engine === "pglite"
              ? { include: embedded }
              : null;
      if (!files) continue;
      const cfg = spendlensVitest(pkg, { engine, name: `${pkg}:${engine}`, ...files });
      projects.push({ ...cfg, root: fileURLToPath(new URL(`./${layer.dir}`, import.meta.url)) });
    }
  }
  return projects;
}

/** Worker processes per vitest run: SPENDLENS_TEST_WORKERS, default 2 (the machine's two cores). */
export function testWorkers(): number {
  const n = Number(process.env.SPENDLENS_TEST_WORKERS);
  return Number.isInteger(n) && n > 0 ? n : 2;
}

/**
 * The lanes of a `pnpm test` run with both engines: two vitest processes side by side (scripts/test.mjs).
 * - `cpu`: the PGlite projects (core, and the CLI's embedded-mode files). PGlite runs inside the worker or
 *   in the CLI processes a file starts, so these files keep the cores busy.
 * - `wait`: the Postgres projects, whose files mostly wait: on the Postgres server, on child servers, on
 *   timers and on Chromium.
 * The cpu lane's work fills the wait lane's waits. (Measured: the CLI's embedded files in the wait lane
 * instead, 137–146 s against 134–141 s; BENCHMARKS.md, "Session 14".)
 */
export type Lane = "cpu" | "wait";
export const laneOf = (project: string): Lane => (project.endsWith(":pglite") ? "cpu" : "wait");

/** The lane this vitest process runs (SPENDLENS_TEST_LANE, set by scripts/test.mjs); null: every project. */
export function testLane(): Lane | null {
  const l = process.env.SPENDLENS_TEST_LANE;
  return l === "cpu" || l === "wait" ? l : null;
}

/** The repository's root (this file's folder). */
const ROOT = fileURLToPath(new URL(".", import.meta.url));
/** The wait lane's one project of every Postgres file (`laneProjects`). */
export const MERGED_POSTGRES = "postgres";

/**
 * The projects of one lane (`laneOf`). In the wait lane, the packages' Postgres projects (core, api, server,
 * cli and web on Postgres) are one project, `postgres`, rooted at the repository: vitest keeps a worker
 * process only for a file of the same project, so five projects in turn started each worker afresh
 * five times (Node, the imports of core, kysely, pg, tRPC and the server again, 1–3 s of the lane's time
 * at each turn), and each project transformed core's sources again. Its files still report as
 * `<package>:postgres` (`reportName`).
 */
export function laneProjects(engines: Engine[], lane: Lane) {
  const nameOf = (p: { test?: { name?: unknown } }) => (typeof p.test?.name === "string" ? p.test.name : "");
  const mine = layeredProjects(engines).filter((p) => laneOf(nameOf(p)) === lane);
  const pg = mine.filter((p) => nameOf(p).endsWith(":postgres"));
  if (lane !== "wait" || pg.length < 2) return mine;
  const from = (p: (typeof pg)[number], globs: string[] | undefined) =>
    (globs ?? []).filter((g) => g !== "**/node_modules/**").map((g) => `${relative(ROOT, p.root)}/${g}`);
  const merged = spendlensVitest(MERGED_POSTGRES, {
    engine: "postgres",
    name: MERGED_POSTGRES,
    include: pg.flatMap((p) => from(p, p.test?.include)),
    exclude: pg.flatMap((p) => from(p, p.test?.exclude)),
  });
  return [...mine.filter((p) => !pg.includes(p)), { ...merged, root: ROOT }];
}

/** A test file's project as reports name it, `<package>:<engine>`, also for a file of the merged project. */
export function reportName(project: string, file: string): string {
  if (project !== MERGED_POSTGRES) return project;
  const path = relative(ROOT, file);
  const pkg = (Object.entries(LAYERS) as [Pkg, { dir: string }][]).find(([, l]) =>
    path.startsWith(`${l.dir}/`),
  );
  return `${pkg?.[0] ?? "unknown"}:postgres`;
}
