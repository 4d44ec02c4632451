import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execSql, insertLogs, makeLog, parseConfig } from "@spendlens/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestServer } from "../src/testing.ts";

/** A real webhook receiver: records every POST and its Idempotency-Key. */
class Receiver {
  server: Server;
  url = "";
  seen: { key: string; body: Record<string, unknown> }[] = [];
  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c as Buffer));
      req.on("end", () => {
        this.seen.push({
          key: String(req.headers["idempotency-key"]),
          body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
        });
        res.writeHead(200).end("ok");
      });
    });
  }
  async start() {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
  /** Waits until `n` events arrived (or the time is up), then a little longer to catch duplicates. */
  async waitFor(n: number, ms = 20_000) {
    const until = Date.now() + ms;
    while (this.seen.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 800));
  }
}

const MASTER = "sk-master-budgets";
const CONFIG_YAML = "general_settings:\n  alerting: [webhook]\n";
const rx = new Receiver();
await rx.start();

const h = useTestServer({
  master: MASTER,
  config: parseConfig(CONFIG_YAML, "budgets.yaml"),
  users: [{ user_id: "alice", user_role: "internal_user" }],
  keys: [{ raw: "sk-alice", user_id: "alice" }],
  budgetAlerts: { webhookUrl: rx.url, pollMs: 100 },
  setup: async (t) => {
    await execSql(t.db, `UPDATE "LiteLLM_UserTable" SET max_budget = 4 WHERE user_id = 'alice'`);
    await execSql(
      t.db,
      `INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, max_budget) VALUES ('tb', 'tee', 2)`,
    );
  },
});
afterAll(() => rx.server.close());

describe("GET /budget/status", () => {
  it("answers every budget to an admin and only their own to an internal user; 400 names the field; 401 without a key", async () => {
    const all = await h.get("/budget/status");
    expect(all.status).toBe(200);
    expect(
      all.body.budgets.map(
        (b: { entity_type: string; entity_id: string }) => `${b.entity_type}:${b.entity_id}`,
      ),
    ).toEqual(["user:alice", "team:tb"]);
    const mine = await h.get("/budget/status", "sk-alice");
    expect(mine.status).toBe(200);
    expect(mine.body.budgets.map((b: { entity_id: string }) => b.entity_id)).toEqual(["alice"]);
    expect((await h.get("/budget/status?entity_type=team", "sk-alice")).status).toBe(403);
    const bad = await h.get("/budget/status?entity_type=planet");
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe("entity_type");
    expect((await h.get("/budget/status", null)).status).toBe(401);
    expect((await h.get("/budget/alerts", "sk-alice")).status).toBe(403);
  });

  it("spend LiteLLM writes straight into the table reaches the webhook within seconds, each event once", async () => {
    const before = rx.seen.length;
    await insertLogs(h.t.db, [makeLog({ team_id: "tb", startTime: new Date().toISOString(), spend: 2.5 })]);
    await rx.waitFor(before + 3);
    const got = rx.seen.slice(before);
    expect(got.map((g) => g.body.event_message).sort()).toEqual([
      "Team Budget: 15% Threshold Crossed",
      "Team Budget: 5% Threshold Crossed ",
      "Team Budget: Budget Crossed\n Total Budget:`2.0`",
    ]);
    expect(new Set(got.map((g) => g.key)).size).toBe(3);
    const outbox = await h.get("/budget/alerts?status=delivered");
    expect(outbox.status).toBe(200);
    expect(outbox.body.alerts).toHaveLength(3);
    expect(outbox.body.alerts.every((a: { delivered_at: string | null }) => a.delivered_at !== null)).toBe(
      true,
    );
  });
});

const BIN = fileURLToPath(new URL("../../cli/bin/spendlens.mjs", import.meta.url));

/** `spendlens serve` in its own process on the test database; resolves once it listens. */
function serveProcess(url: string, configPath: string): Promise<ChildProcess> {
  const p = spawn(
    process.execPath,
    [BIN, "--database-url", url, "--config", configPath, "serve", "--port", "0"],
    {
      env: {
        ...process.env,
        WEBHOOK_URL: rx.url,
        SPENDLENS_MASTER_KEY: MASTER,
        SPENDLENS_BUDGET_POLL_MS: "100",
        SPENDLENS_LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  return new Promise((resolve, reject) => {
    let err = "";
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 60_000);
    p.stderr!.on("data", (c: Buffer) => {
      err += c.toString();
      if (err.includes("spendlens is listening")) {
        clearTimeout(timer);
        resolve(p);
      }
    });
    p.on("exit", (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

const stop = (p: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (p.exitCode !== null) return resolve();
    p.once("exit", () => resolve());
    p.kill("SIGTERM");
  });

// Several processes on one database need a real Postgres (PGlite is one process's).
describe.runIf(process.env.SPENDLENS_TEST_ENGINE === "postgres")(
  "two server processes on one database",
  () => {
    let dir: string;
    let configPath: string;
    const procs: ChildProcess[] = [];
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "spendlens-budget-procs-"));
      configPath = join(dir, "config.yaml");
      writeFileSync(configPath, CONFIG_YAML);
    });
    afterAll(async () => {
      await Promise.all(procs.map(stop));
      rmSync(dir, { recursive: true, force: true });
    });

    it("deliver each event once; a restart in between resends nothing and delivers what came after", async () => {
      const url = h.t.url!;
      const [a, b] = await Promise.all([serveProcess(url, configPath), serveProcess(url, configPath)]);
      procs.push(a!, b!);
      const teams = Array.from({ length: 8 }, (_, i) => `pt-${i}`);
      for (const id of teams) {
        await execSql(h.t.db, `INSERT INTO "LiteLLM_TeamTable" (team_id, max_budget) VALUES ($1, 1)`, [id]);
      }
      const before = rx.seen.length;
      await insertLogs(
        h.t.db,
        teams.map((id) => makeLog({ team_id: id, startTime: new Date().toISOString(), spend: 1 })),
      );
      await rx.waitFor(before + 3 * teams.length);
      let got = rx.seen.slice(before);
      expect(got).toHaveLength(3 * teams.length);
      expect(new Set(got.map((g) => g.key)).size).toBe(3 * teams.length);

      // Restart one process; new spend afterwards is delivered once, nothing earlier again.
      await stop(a!);
      const c = await serveProcess(url, configPath);
      procs.push(c);
      await execSql(h.t.db, `INSERT INTO "LiteLLM_TeamTable" (team_id, max_budget) VALUES ('pt-late', 1)`);
      await insertLogs(h.t.db, [
        makeLog({ team_id: "pt-late", startTime: new Date().toISOString(), spend: 1 }),
      ]);
      await rx.waitFor(before + 3 * teams.length + 3);
      got = rx.seen.slice(before);
      expect(got).toHaveLength(3 * teams.length + 3);
      expect(new Set(got.map((g) => g.key)).size).toBe(got.length);
      expect(got.filter((g) => g.body.team_id === "pt-late")).toHaveLength(3);
    }, 120_000);
  },
);
