import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildWorld, generateLogs } from "@spendlens/core/demo";
import { testEngine, testRunId } from "@spendlens/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { env, type Started, serveFolder } from "./embeddedServe.ts";
import { runCli } from "./harness.ts";

/**
 * `spendlens serve` on an embedded folder, and the CLI on the same folder: commands go through the
 * server (which wrote where it listens into the folder), signed in with the folder's admin key;
 * seed through ingest, migrate a no-op; once the server stops, in process again. The embedded folder
 * is PGlite whatever the test engine, so this runs once, in the PGlite pass.
 */
const DEMO_LOGS = 300;
const SLOW = 400_000;

describe.skipIf(testEngine() === "postgres")("the CLI while a server holds the embedded folder", () => {
  let dir: string;
  let started: Started;
  let server: ChildProcess;
  let url: string;
  let key: string;
  const cli = (args: string[]) => runCli(["--data-dir", dir, ...args], { env: env() });
  const get = async (path: string): Promise<any> =>
    (await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` } })).json();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `spendlens-embedded-${testRunId()}-`));
    started = await serveFolder(dir, DEMO_LOGS);
    ({ server, url, key } = started);
  }, 320_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill("SIGTERM");
      await new Promise((r) => server.once("exit", r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    "the fresh folder was prepared (demo data written) by a child process that exited before the server opened it",
    async () => {
      const lines = started.lines();
      const seeded = lines.filter((l) => l.msg === "writing demo data into the embedded database");
      expect(seeded).toHaveLength(1);
      expect(seeded[0]!.logs).toBe(DEMO_LOGS);
      expect(seeded[0]!.pid).not.toBe(server.pid);
      expect(lines.find((l) => l.msg === "spendlens is listening")?.pid).toBe(server.pid);
      let childAlive = true;
      try {
        process.kill(seeded[0]!.pid, 0);
      } catch {
        childAlive = false;
      }
      expect(childAlive).toBe(false);
      expect((await get("/spendlens/logs?limit=1&include_total=true")).total).toBe(DEMO_LOGS);
    },
    SLOW,
  );

  it(
    "a report goes through the server, as proxy_admin",
    async () => {
      const r = await cli(["--json", "global-spend"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual(await get("/global/spend"));
      const keys = await cli(["--json", "global-spend-keys", "--limit", "3"]);
      expect(JSON.parse(keys.stdout)).toEqual(await get("/global/spend/keys?limit=3"));
    },
    SLOW,
  );

  it(
    "seed goes through ingest and says how many logs were there before",
    async () => {
      // What the CLI sends: the demo generator's rows for seed 42, ids demo-42-<n>; the server's first
      // start wrote ids 0..299. Ingest refuses a legacy request_tags shape that the in-process seed keeps.
      const sent = [...generateLogs(buildWorld({ seed: 42 }), 400, { seed: 42, days: 90 })];
      const valid = sent.map(({ log }) => Array.isArray(JSON.parse(log.request_tags)));
      const firstValid = valid.slice(0, DEMO_LOGS).filter(Boolean).length;
      const restValid = valid.slice(DEMO_LOGS).filter(Boolean).length;
      const r = await cli(["--json", "seed", "--logs", "400"]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`seeding through the server at ${url} (it holds ${dir})`);
      expect(JSON.parse(r.stdout)).toMatchObject({
        logs_before: DEMO_LOGS,
        logs_inserted: restValid,
        logs_already_there: firstValid,
        logs_now: DEMO_LOGS + restValid,
        invalid: 400 - firstValid - restValid,
        through: url,
      });
      expect((await get("/spendlens/logs?limit=1&include_total=true")).total).toBe(DEMO_LOGS + restValid);
    },
    SLOW,
  );

  it(
    "a client that leaves mid-answer, or a SIGPIPE, does not stop the server",
    async () => {
      // Node ignores SIGPIPE and reports EPIPE on the socket; a SIGPIPE handler in the CLI once made
      // `spendlens serve` exit (status 0, no log line) when a browser closed a tab mid-answer.
      for (let i = 0; i < 10; i++) {
        const ac = new AbortController();
        const res = await fetch(`${url}/spendlens/logs?limit=500`, {
          headers: { authorization: `Bearer ${key}` },
          signal: ac.signal,
        });
        ac.abort();
        await res.body?.cancel().catch(() => {});
      }
      server.kill("SIGPIPE");
      await new Promise((r) => setTimeout(r, 500));
      expect(server.exitCode).toBeNull();
      expect(server.signalCode).toBeNull();
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
    },
    SLOW,
  );

  it(
    "migrate is a no-op that says so",
    async () => {
      const r = await cli(["migrate"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        `migrate: nothing to do: the server at ${url} holds ${dir} and brought it up to date when it started\n`,
      );
    },
    SLOW,
  );

  // The folder's log count when the server stopped (read through it), for the in-process seed below.
  let heldAtStop: number;

  it(
    "once the server stops, the CLI opens the folder in process again",
    async () => {
      const before = await get("/global/spend");
      heldAtStop = (await get("/spendlens/logs?limit=1&include_total=true")).total;
      server.kill("SIGTERM");
      await new Promise((r) => server.once("exit", r));
      expect(existsSync(join(dir, "server.json"))).toBe(false);
      const r = await cli(["--json", "global-spend"]);
      expect(r.stderr).toBe("");
      expect(JSON.parse(r.stdout)).toEqual(before);
    },
    SLOW,
  );

  it(
    "seed in process says how many logs the folder held, skips those, and keeps the counts exact",
    async () => {
      const before = heldAtStop;
      expect(before).toBeGreaterThan(DEMO_LOGS);
      // Seed 42 again, 500 logs: ids demo-42-0..499; the folder holds 0..299 (first start) and the
      // ingested 300..399 that ingest took.
      const ids = new Set<string>();
      for (const { log } of generateLogs(buildWorld({ seed: 42 }), 500, { seed: 42, days: 90 }))
        ids.add(log.request_id);
      const r = await cli(["--json", "seed", "--logs", "500"]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(
        `${dir} holds ${before} spend logs already; writing 500 demo logs (seed 42: logs already there are skipped)`,
      );
      const out = JSON.parse(r.stdout);
      expect(out.logs_before).toBe(before);
      expect(out.logs_inserted + out.logs_already_there).toBe(500);
      expect(out.logs_now).toBe(before + out.logs_inserted);
      const all = JSON.parse(
        (
          await runCli(
            ["--data-dir", dir, "--json", "call", "logs.page", '{"limit":1,"include_total":true}'],
            { env: env() },
          )
        ).stdout,
      );
      expect(all.total).toBe(out.logs_now);
    },
    SLOW,
  );
});
