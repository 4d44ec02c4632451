import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { testEngine, testRunId } from "@spendlens/core/testing";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, runCli } from "./harness.ts";

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

const env = (): Record<string, string> => {
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) e[k] = v;
  delete e.DATABASE_URL;
  delete e.SPENDLENS_MASTER_KEY;
  delete e.SPENDLENS_API_KEY;
  return e;
};

interface Started {
  server: ChildProcess;
  url: string;
  key: string;
  /** The server's (and its preparing child's) JSON log lines so far. */
  lines(): { pid: number; msg: string; logs?: number }[];
  stop(): Promise<void>;
}

const SERVER_DIR = fileURLToPath(new URL("../../server/", import.meta.url));

/** `spendlens serve` on the folder; `startScript`: as `pnpm start` runs it (apps/server's start script). */
async function serveFolder(dir: string, startScript = false): Promise<Started> {
  let log = "";
  const script = JSON.parse(readFileSync(join(SERVER_DIR, "package.json"), "utf8")).scripts.start as string;
  const server = spawn(startScript ? "sh" : process.execPath, startScript ? ["-c", script] : [BIN, "serve"], {
    cwd: SERVER_DIR,
    env: {
      ...env(),
      SPENDLENS_DATA_DIR: dir,
      SPENDLENS_PORT: "0",
      SPENDLENS_DEMO_LOGS: String(DEMO_LOGS),
      SPENDLENS_LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout!.on("data", (b) => (log += b));
  server.stderr!.on("data", (b) => (log += b));
  const deadline = Date.now() + 300_000;
  while (!existsSync(join(dir, "server.json"))) {
    if (server.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    server,
    url: JSON.parse(readFileSync(join(dir, "server.json"), "utf8")).url,
    key: readFileSync(join(dir, "master_key"), "utf8").trim(),
    lines: () =>
      log
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l)),
    stop: async () => {
      if (server.exitCode !== null || server.signalCode !== null) return;
      server.kill("SIGTERM");
      await new Promise((r) => server.once("exit", r));
    },
  };
}

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
  afterAll(async () => {
    for (const s of servers) await s.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it(
    "a folder made by `spendlens seed` is served as it is: no demo data on the first start nor later",
    async () => {
      const dir = folder("seeded");
      const seeded = await runCli(["--data-dir", dir, "--json", "seed", "--logs", String(SEEDED)], {
        env: env(),
      });
      expect(seeded.code).toBe(0);
      const held = JSON.parse(seeded.stdout).logs_now as number;
      expect(held).toBeGreaterThan(0);
      for (const start of ["first", "second"]) {
        const s = await serveFolder(dir);
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
        await s.stop();
      }
    },
    SLOW,
  );

  it(
    "`pnpm start` runs the server with a small young generation (--max-semi-space-size=4)",
    async () => {
      // A smaller young generation is ~30 MiB less RSS for the embedded server at 1M logs (BENCHMARKS.md,
      // "Session 9, the embedded server's memory at 1M"); only a start flag can set it.
      const dir = folder("start");
      expect((await runCli(["--data-dir", dir, "seed", "--logs", "20"], { env: env() })).code).toBe(0);
      const s = await serveFolder(dir, true);
      servers.push(s);
      const pid = Number(readFileSync(join(dir, "spendlens.lock"), "utf8").trim());
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      expect(argv).toContain("--max-semi-space-size=4");
      expect(argv.some((a) => a.endsWith("spendlens.mjs"))).toBe(true);
      expect(await totalLogs(s)).toBeGreaterThan(0);
      // The server itself (sh may have forked it rather than exec'd it), then the shell.
      process.kill(pid, "SIGTERM");
      await s.stop();
    },
    SLOW,
  );

  it(
    "a folder made by `spendlens migrate` gets its demo data from the preparing child process",
    async () => {
      const dir = folder("migrated");
      const migrated = await runCli(["--data-dir", dir, "migrate"], { env: env() });
      expect(migrated.code).toBe(0);
      const s = await serveFolder(dir);
      servers.push(s);
      const seeded = s.lines().filter((l) => l.msg === WRITING);
      expect(seeded).toHaveLength(1);
      expect(seeded[0]!.logs).toBe(DEMO_LOGS);
      expect(seeded[0]!.pid).not.toBe(s.server.pid);
      expect(s.lines().find((l) => l.msg === "spendlens is listening")?.pid).toBe(s.server.pid);
      expect(await totalLogs(s)).toBe(DEMO_LOGS);
      await s.stop();
      // Restarted: the mark holds, nothing is written again.
      const again = await serveFolder(dir);
      servers.push(again);
      expect(again.lines().filter((l) => l.msg === WRITING || l.msg.startsWith("preparing"))).toEqual([]);
      expect(await totalLogs(again)).toBe(DEMO_LOGS);
      await again.stop();
    },
    SLOW,
  );
});
