import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testEngine, testRunId, writeMigratedFolder } from "@spendlens/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { env, type Started, serveFolder as serve } from "./embeddedServe.ts";
import { runCli } from "./harness.ts";

/**
 * `spendlens serve`'s first start on an embedded folder that already exists: one made by `spendlens
 * seed` holds the user's logs and gets no demo data (it used to get 50k more, written inside the server,
 * which then kept the memory of that seed); one made by `spendlens migrate` (no logs) gets its demo data
 * from the preparing child process, as a fresh folder does. The server itself opens the folder once. Real binary, real folders; PGlite whatever
 * the test engine, so this runs once, in the PGlite pass.
 */
const DEMO_LOGS = 200;
const SEEDED = 120;
const SLOW = 400_000;

async function totalLogs(s: Started): Promise<number> {
  const r = await fetch(`${s.url}/spendlens/logs?limit=1&include_total=true`, {
    headers: { authorization: `Bearer ${s.key}` },
  });
  expect(r.status).toBe(200);
  return ((await r.json()) as { total: number }).total;
}

const WRITING = "writing demo data into the embedded database";

describe.skipIf(testEngine() === "postgres")("serve's first start on an embedded folder that exists", () => {
  const dirs: string[] = [];
  const servers: Started[] = [];
  const folder = (what: string) => {
    const d = mkdtempSync(join(tmpdir(), `spendlens-prepare-${what}-${testRunId()}-`));
    dirs.push(d);
    return d;
  };
  // One migrated folder with no logs, as `spendlens migrate` leaves one: the run's migrated PGlite template
  // written to disk (writeMigratedFolder), which `spendlens migrate` then finds up to date, rather than initdb
  // and the migrations in a CLI process (~10 CPU-s; the serve of a fresh folder in embeddedServer.test.ts
  // runs those, through the same openRuntime, and the migrations themselves are core's tests). A copy
  // of it, before any server opened it, that `spendlens seed` then fills: a folder made by `spendlens
  // migrate` and then `spendlens seed`, as one made by `spendlens seed` alone holds (its own initdb and
  // migrations are the same code as migrate's, openRuntime).
  let migratedDir: string;
  let seededDir: string;
  let held: number;
  beforeAll(async () => {
    migratedDir = folder("migrated");
    await writeMigratedFolder(migratedDir);
    // `spendlens migrate` in process on it: nothing left to apply.
    const migrate = await runCli(["--data-dir", migratedDir, "--json", "migrate"], { env: env() });
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(JSON.parse(migrate.stdout)).toEqual({ mode: "standalone", applied: "(none)" });
    seededDir = folder("seeded");
    cpSync(migratedDir, seededDir, { recursive: true });
    const seeded = await runCli(["--data-dir", seededDir, "--json", "seed", "--logs", String(SEEDED)], {
      env: env(),
    });
    expect(seeded.code, seeded.stderr).toBe(0);
    held = JSON.parse(seeded.stdout).logs_now as number;
  }, SLOW);
  afterAll(async () => {
    for (const s of servers) await s.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it(
    "a folder made by `spendlens seed` is served as it is: no demo data on the first start nor later; `pnpm start` runs the server with a small young generation (--max-semi-space-size=4)",
    async () => {
      expect(held).toBeGreaterThan(0);
      // The first start as `spendlens serve`, the second as `pnpm start` (apps/server's start script).
      for (const start of ["first", "second"]) {
        const s = await serve(seededDir, DEMO_LOGS, start === "second");
        servers.push(s);
        expect(await totalLogs(s), `${start} start`).toBe(held);
        expect(
          s.lines().filter((l) => l.msg === WRITING),
          `${start} start`,
        ).toEqual([]);
        // The first start had the child look (and mark the folder); the second one does not need it.
        expect(s.lines().filter((l) => l.msg.startsWith("preparing")).length, `${start} start`).toBe(
          start === "first" ? 1 : 0,
        );
        if (start === "first") expect(existsSync(join(seededDir, "demo_prepared"))).toBe(true);
        if (start === "second") {
          // A smaller young generation is ~30 MiB less RSS for the embedded server at 1M logs (BENCHMARKS.md,
          // "Session 9, the embedded server's memory at 1M"); only a start flag can set it.
          const pid = Number(readFileSync(join(seededDir, "spendlens.lock"), "utf8").trim());
          const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
          expect(argv).toContain("--max-semi-space-size=4");
          expect(argv.some((a) => a.endsWith("spendlens.mjs"))).toBe(true);
          // The server itself (sh may have forked it rather than exec'd it), then the shell.
          process.kill(pid, "SIGTERM");
        }
        await s.stop();
      }
    },
    SLOW,
  );

  it(
    "a folder made by `spendlens migrate` gets its demo data from the preparing child process",
    async () => {
      const s = await serve(migratedDir, DEMO_LOGS);
      servers.push(s);
      const seeded = s.lines().filter((l) => l.msg === WRITING);
      expect(seeded).toHaveLength(1);
      expect(seeded[0]!.logs).toBe(DEMO_LOGS);
      expect(seeded[0]!.pid).not.toBe(s.server.pid);
      expect(s.lines().find((l) => l.msg === "spendlens is listening")?.pid).toBe(s.server.pid);
      expect(await totalLogs(s)).toBe(DEMO_LOGS);
      // The folder is marked as the seeded one is: a restart neither prepares nor writes (the seeded
      // folder's second start above; the mark's presence is all the server reads).
      expect(readFileSync(join(migratedDir, "demo_prepared"), "utf8")).toBe(`${DEMO_LOGS}\n`);
      await s.stop();
    },
    SLOW,
  );
});
