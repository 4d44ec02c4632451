import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { type DbHandle, migrate, openDatabase } from "@spendlens/core";
import { testEngine, testRunId, writeFixtures } from "@spendlens/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectCountersEqualBruteForce,
  getJson,
  postJson,
  type Replica,
  startReplica,
  type WireLog,
} from "./replicas.ts";

/**
 * Postgres stopped and started (fast shutdown: every connection gets 57P01) several times while server
 * processes ingest and read: answers are 200 or 503 while it is down, never a dead process or a hung
 * request; the servers recover by themselves; a client that retries a batch until it is acknowledged
 * (the same request_ids) loses nothing and counts nothing twice. Then a replica is killed with SIGKILL
 * while batches are in flight: each batch is stored whole or not at all, and its counter increments
 * reach the counters exactly once.
 *
 * On a throwaway cluster this test makes (pg_createcluster, named with the run's id, on a free port) and
 * drops in afterAll, never the machine's own server. Postgres only; skipped without pg_createcluster.
 */

const run = promisify(execFile);
const MASTER = "sk-master-fault";
const KEYS = ["sk-fault-0", "sk-fault-1", "sk-fault-2"];
const USERS = ["fu-a", "fu-b"];
const TEAMS = ["ft-x", "ft-y"];
const CYCLES = 3;

/** Debian's cluster tools (postgresql-common), which make, start, stop and drop a cluster. */
const hasClusterTools = () =>
  ["pg_createcluster", "pg_ctlcluster", "pg_dropcluster"].every((b) =>
    (process.env.PATH ?? "").split(":").some((d) => existsSync(join(d, b))),
  );

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enabled = testEngine() === "postgres" && hasClusterTools();

describe.skipIf(!enabled)(
  "Postgres restarts and a killed replica (Postgres only, on a throwaway cluster from pg_createcluster)",
  () => {
    const cluster = `spendlens_${testRunId()}_${process.pid}`;
    let created = false;
    let url = "";
    let h: DbHandle | undefined;
    let replicas: Replica[] = [];
    const pgctl = (action: "start" | "stop") =>
      run("pg_ctlcluster", ["15", cluster, action, ...(action === "stop" ? ["-m", "fast"] : [])]);
    const q = async <R>(text: string): Promise<R[]> => (await h!.pool!.query(text)).rows as R[];

    beforeAll(async () => {
      const port = await freePort();
      // Trust auth for this cluster only (its own pg_hba.conf); fsync off and small: a throwaway cluster.
      await run("pg_createcluster", [
        "15",
        cluster,
        "-p",
        String(port),
        "-o",
        "fsync=off",
        "-o",
        "synchronous_commit=off",
        "-o",
        "shared_buffers=16MB",
        "--",
        "--auth=trust",
        // initdb does not flush its files: a throwaway cluster (~1.5 s less wall time, a little CPU).
        "--no-sync",
      ]);
      created = true;
      await pgctl("start");
      const admin = await openDatabase({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres` });
      const db = `spendlens_t_${testRunId()}_fault`;
      await admin.pool!.query(`CREATE DATABASE "${db}"`); // name made above from the run id
      await admin.close();
      url = `postgres://postgres@127.0.0.1:${port}/${db}`;
      h = await openDatabase({ databaseUrl: url });
      await migrate(h.db);
      await writeFixtures(h.db, {
        teams: TEAMS.map((team_id) => ({ team_id })),
        users: USERS.map((user_id) => ({ user_id })),
        keys: KEYS.map((raw) => ({ raw, spend: 0 })),
      });
      replicas = await Promise.all([0, 1].map(() => startReplica(url, MASTER)));
    }, 90_000);

    afterAll(async () => {
      await Promise.all(replicas.map((r) => r.stop().catch(() => {})));
      await h?.close().catch(() => {});
      if (created) await run("pg_dropcluster", ["--stop", "15", cluster]);
    }, 60_000);

    it("restarts during ingest and reads: 503 while down, processes alive, recovery, nothing lost or counted twice; kill -9 mid-batch leaves whole batches", async () => {
      const [a, b] = replicas as [Replica, Replica];
      const now = Date.now();
      const logOf = (id: string, n: number): WireLog => ({
        request_id: id,
        api_key: KEYS[n % KEYS.length]!,
        spend: ((n % 13) + 1) / 64,
        startTime: new Date(now - (n % 120) * 60_000).toISOString(),
        model: n % 2 ? "gpt-4o" : "claude-3-5-sonnet",
        user: USERS[n % USERS.length]!,
        team_id: TEAMS[(n >> 1) % TEAMS.length]!,
        end_user: `feu-${n % 5}`,
        prompt_tokens: n % 40,
        completion_tokens: 1,
      });
      const sent = new Map<string, WireLog>();
      const statuses = new Map<number, number>();
      const note = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
      let stopping = false;
      let retried = 0;

      /** Sends batches until told to stop; each batch is retried (same ids) until acknowledged. */
      const writer = async (w: number) => {
        let n = 0;
        while (!stopping) {
          const logs: WireLog[] = [];
          for (let j = 0; j < 100; j++) {
            const k = w * 1_000_000 + n++;
            logs.push(logOf(`f${w}-${k}`, k));
          }
          for (const l of logs) sent.set(l.request_id, l);
          for (let attempt = 0; ; attempt++) {
            const target = [a, b][(w + attempt) % 2]!;
            const r = await postJson(`${target.url}/spend/logs/ingest`, MASTER, { logs }, 15_000);
            note(r.status);
            if (r.status === 200) {
              expect(r.body.conflicts).toEqual([]);
              break;
            }
            retried++;
            // A dead server process fails the test at once (its stderr says why) instead of retrying forever.
            for (const r of [a, b]) if (!r.alive()) throw new Error(`a server process died:\n${r.stderr()}`);
            await sleep(100);
          }
        }
      };
      const reader = async (k: number) => {
        while (!stopping) {
          const r = await getJson(`${[a, b][k % 2]!.url}/global/spend`, MASTER, 15_000);
          note(r.status);
          await sleep(20);
        }
      };
      // A streamed answer (a server-side cursor on a checked-out client, db/stream.ts): its status, or
      // "cut" when the database went away after the answer had started (the body then ends early).
      const streamed = new Map<string, number>();
      const day = new Date(now).toISOString().slice(0, 10);
      const streamReader = async () => {
        while (!stopping) {
          let outcome: string;
          try {
            const r = await fetch(
              `${a.url}/global/spend/report?start_date=${day}&end_date=${day}&group_by=api_key`,
              {
                headers: { authorization: `Bearer ${MASTER}` },
                signal: AbortSignal.timeout(15_000),
              },
            );
            outcome = String(r.status);
            try {
              await r.text();
            } catch {
              outcome = "cut";
            }
          } catch (e) {
            const x = e as { name?: string; cause?: { code?: string } };
            outcome = `no answer (${x.name}${x.cause?.code ? ` ${x.cause.code}` : ""})`;
          }
          streamed.set(outcome, (streamed.get(outcome) ?? 0) + 1);
          await sleep(20);
        }
      };
      const load = Promise.all([0, 1, 2, 3].map(writer).concat([reader(0), reader(1), streamReader()]));
      try {
        for (let i = 0; i < CYCLES; i++) {
          await sleep(500);
          await pgctl("stop");
          await sleep(400);
          // While down: every process answers, with 503.
          for (const r of [a, b]) {
            const g = await getJson(`${r.url}/global/spend`, MASTER, 10_000);
            expect(g.status).toBe(503);
            expect(JSON.stringify(g.body)).not.toMatch(/57P01|terminat|ECONNREFUSED/);
          }
          await pgctl("start");
        }
        await sleep(800);
      } finally {
        stopping = true;
        await load;
      }
      // Only 200 and 503 were ever answered (no 500, no dropped connection: status 0).
      expect([...statuses.keys()].sort()).toEqual([200, 503]);
      expect(streamed.get("200")).toBeGreaterThan(0);
      for (const outcome of streamed.keys()) expect(["200", "503", "cut"]).toContain(outcome);
      expect(retried).toBeGreaterThan(0);
      expect(replicas.every((r) => r.alive())).toBe(true);
      for (const r of [a, b]) expect((await getJson(`${r.url}/healthz`, MASTER)).status).toBe(200);

      // kill -9 of replica b while five 1000-row batches are in flight.
      const killed: WireLog[][] = Array.from({ length: 5 }, (_, bi) =>
        Array.from({ length: 1000 }, (_, j) => logOf(`k${bi}-${j}`, 5_000_000 + bi * 1000 + j)),
      );
      const inFlight = killed.map((logs) => postJson(`${b.url}/spend/logs/ingest`, MASTER, { logs }, 15_000));
      await sleep(150);
      b.proc.kill("SIGKILL");
      await b.exited;
      const killedAnswers = await Promise.all(inFlight);
      // A statement the dead server had sent runs on in its backend (Postgres notices the closed socket only
      // when it answers) and may still commit: wait until no other backend is running a statement.
      for (let i = 0; i < 150; i++) {
        const busy = await q<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()",
        );
        if (busy[0]!.n === 0) break;
        await sleep(100);
      }
      for (const [bi, logs] of killed.entries()) {
        const n = Number(
          (
            await q<{ n: string }>(
              `SELECT count(*) AS n FROM "LiteLLM_SpendLogs" WHERE request_id LIKE 'k${bi}-%'`,
            )
          )[0]!.n,
        );
        expect([0, 1000]).toContain(n); // all or nothing per batch
        if (killedAnswers[bi]!.status === 200) expect(n).toBe(1000);
        if (n === 1000) for (const l of logs) sent.set(l.request_id, l);
      }
      // One more acknowledged batch on a live replica folds whatever b committed but did not fold.
      const last = [logOf("last-0", 7)];
      sent.set("last-0", last[0]!);
      expect((await postJson(`${a.url}/spend/logs/ingest`, MASTER, { logs: last })).status).toBe(200);

      // Stored = every row acknowledged (plus whole batches of the killed replica), each once.
      const stored = await q<{ request_id: string; spend: number }>(
        `SELECT request_id, spend FROM "LiteLLM_SpendLogs"`,
      );
      expect(new Map(stored.map((r) => [r.request_id, r.spend]))).toEqual(
        new Map([...sent.values()].map((l) => [l.request_id, l.spend])),
      );
      const rows = [...sent.values()];
      const total = rows.reduce((s, l) => s + l.spend, 0);
      expect((await getJson(`${a.url}/global/spend`, MASTER)).body.spend).toBe(total);
      // Counters: nothing pending, each equal to its brute-force sum (no increment lost or applied twice).
      await expectCountersEqualBruteForce(q, rows);
      expect(a.alive()).toBe(true);
    }, 60_000);
  },
);
