import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALL,
  alertIdempotencyKey,
  type DbHandle,
  deliverBudgetAlerts,
  detectBudgetAlerts,
  emptyConfig,
  ingestSpendLogs,
  openDatabase,
  setClock,
  startBudgetAlerter,
} from "../src/internal.ts";
import { createTestDb, insertLogs, makeLog, type TestDb } from "../src/testing/index.ts";

/** A real webhook receiver: records every POST; answers 500 while `failing` > 0. */
class Receiver {
  server: Server;
  url = "";
  failing = 0;
  /** Every request: its Idempotency-Key, body, and the status answered. */
  seen: { key: string; body: Record<string, unknown>; status: number }[] = [];
  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c as Buffer));
      req.on("end", () => {
        const status = this.failing > 0 ? 500 : 200;
        if (this.failing > 0) this.failing -= 1;
        this.seen.push({
          key: String(req.headers["idempotency-key"]),
          body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
          status,
        });
        res.writeHead(status).end(status === 200 ? "ok" : "down");
      });
    });
  }
  async start() {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
  /** Events answered 200, in order. */
  delivered() {
    return this.seen.filter((s) => s.status === 200);
  }
}

const config = { ...emptyConfig(), alerting: ["webhook"] };

describe("budget alerts: outbox and webhook delivery", () => {
  let t: TestDb;
  let now = new Date("2026-05-20T20:00:00.000Z");
  const rx = new Receiver();
  const deliver = (db = t.db) => deliverBudgetAlerts(db, { url: rx.url, backoffMs: 1000 });
  const spendLog = (api_key: string, startTime: string, spend: number) => ({
    ...makeLog({ api_key, startTime, spend, model: "gpt-4o" }),
    metadata: {},
    request_tags: [],
  });

  beforeAll(async () => {
    setClock(() => now);
    t = await createTestDb();
    await rx.start();
    await sql`INSERT INTO "LiteLLM_BudgetTable" (budget_id, soft_budget) VALUES ('b-a', 9)`.execute(t.db);
    await sql`INSERT INTO "LiteLLM_VerificationToken" (token, key_alias, user_id, max_budget, budget_duration,
        budget_reset_at, budget_id)
      VALUES ('hash-a', 'alerted', 'ua', 10, '1d', '2026-05-21T00:00:00', 'b-a')`.execute(t.db);
  });
  afterAll(async () => {
    setClock(null);
    rx.server.close();
    await t?.drop();
  });

  it("85 %, the soft budget, 95 % and the hard budget each fire exactly once, through ingest or straight into the table", async () => {
    const step = async (write: () => Promise<unknown>, expected: string[]) => {
      const before = rx.delivered().length;
      await write();
      await detectBudgetAlerts(t.db, config);
      await detectBudgetAlerts(t.db, config); // a second detection (another replica) adds nothing
      await deliver();
      await deliver();
      const got = rx.delivered().slice(before);
      expect(got.map((g) => g.body.event_message)).toEqual(expected);
    };
    // Key hash-a's logs, written through ingest or straight into the table (LiteLLM writing its own).
    const viaIngest = (startTime: string, spend: number) => () =>
      ingestSpendLogs(t.db, ALL, { logs: [spendLog("hash-a", startTime, spend)] }, config);
    const viaTable = (startTime: string, spend: number) => () =>
      insertLogs(t.db, [makeLog({ api_key: "hash-a", startTime, spend })]);
    // 8.5 through ingest: 85 % of 10.
    await step(viaIngest("2026-05-20T10:00:00.000Z", 8.5), ["Key Budget: 15% Threshold Crossed"]);
    // + 0.5 straight into the table: the soft budget of 9.
    await step(viaTable("2026-05-20T11:00:00.000Z", 0.5), ["Soft Budget Crossed: Total Soft Budget:`9.0`"]);
    // Nothing new: nothing sent.
    await step(async () => {}, []);
    // + 0.5 through ingest: 95 %.
    await step(viaIngest("2026-05-20T12:00:00.000Z", 0.5), ["Key Budget: 5% Threshold Crossed "]);
    // + 0.5 straight into the table: the hard budget.
    await step(viaTable("2026-05-20T13:00:00.000Z", 0.5), [
      "Key Budget: Budget Crossed\n Total Budget:`10.0`",
    ]);
    const all = rx.delivered();
    expect(new Set(all.map((a) => a.key)).size).toBe(all.length);
    expect(all[0]!.body).toEqual({
      spend: 8.5,
      max_budget: 10,
      soft_budget: 9,
      token: "hash-a",
      customer_id: null,
      user_id: "ua",
      team_id: null,
      team_alias: null,
      user_email: null,
      key_alias: "alerted",
      organization_id: null,
      projected_exceeded_date: null,
      projected_spend: null,
      event_group: "key",
      event: "threshold_crossed",
      event_message: "Key Budget: 15% Threshold Crossed",
    });
    expect(all[0]!.key).toBe(
      alertIdempotencyKey("key", "hash-a", "threshold_crossed_85", "2026-05-20T00:00:00.000Z"),
    );
    expect(all.map((a) => a.body.event)).toEqual([
      "threshold_crossed",
      "soft_budget_crossed",
      "threshold_crossed",
      "budget_crossed",
    ]);
  });

  it("the next budget window fires again, once", async () => {
    now = new Date("2026-05-21T20:00:00.000Z");
    await insertLogs(t.db, [
      makeLog({ api_key: "hash-a", startTime: "2026-05-21T10:00:00.000Z", spend: 10 }),
    ]);
    const before = rx.delivered().length;
    expect(await detectBudgetAlerts(t.db, config)).toBe(4);
    expect(await detectBudgetAlerts(t.db, config)).toBe(0);
    await deliver();
    const got = rx.delivered().slice(before);
    expect(got.map((g) => g.body.event).sort()).toEqual([
      "budget_crossed",
      "soft_budget_crossed",
      "threshold_crossed",
      "threshold_crossed",
    ]);
    expect(got.every((g) => g.body.spend === 10)).toBe(true);
  });

  it("a receiver that fails for a while gets every event late, never lost, never twice", async () => {
    await sql`INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, max_budget) VALUES ('t-f', 'flaky', 4)`.execute(
      t.db,
    );
    await insertLogs(t.db, [makeLog({ team_id: "t-f", startTime: "2026-05-21T09:00:00.000Z", spend: 5 })]);
    expect(await detectBudgetAlerts(t.db, config)).toBe(3); // 85 %, 95 %, budget
    const before = rx.delivered().length;
    rx.failing = 7;
    let rounds = 0;
    while (rx.delivered().length - before < 3 && rounds < 50) {
      await deliver();
      now = new Date(now.getTime() + 10_000); // past any backoff so far (1 s, 2 s, 4 s …)
      rounds += 1;
    }
    expect(rx.failing).toBe(0);
    const got = rx.delivered().slice(before);
    expect(got.map((g) => g.body.event_message).sort()).toEqual([
      "Team Budget: 15% Threshold Crossed",
      "Team Budget: 5% Threshold Crossed ",
      "Team Budget: Budget Crossed\n Total Budget:`4.0`",
    ]);
    expect(new Set(got.map((g) => g.key)).size).toBe(3);
    // Failed tries carried the same key as the success.
    const tries = rx.seen.filter((s) => got.some((g) => g.key === s.key));
    expect(tries.length).toBe(3 + 7);
    const rows = await sql<{ attempts: number; delivered: boolean }>`SELECT attempts,
        delivered_at IS NOT NULL AS delivered FROM spendlens.budget_alerts WHERE entity_id = 't-f'`.execute(
      t.db,
    );
    expect(rows.rows.every((r) => r.delivered)).toBe(true);
    expect(rows.rows.reduce((s, r) => s + r.attempts, 0)).toBe(10);
    await deliver();
    expect(rx.delivered().length - before).toBe(3);
  });

  it("two deliverers on the database send each event once", async () => {
    const n = 24;
    const tokens = Array.from({ length: n }, (_, i) => `hash-m${i}`);
    await sql`INSERT INTO "LiteLLM_VerificationToken" (token, max_budget)
      SELECT unnest(${tokens}::text[]), 1`.execute(t.db);
    await insertLogs(
      t.db,
      tokens.map((k) => makeLog({ api_key: k, startTime: "2026-05-21T09:00:00.000Z", spend: 2 })),
    );
    expect(await detectBudgetAlerts(t.db, config)).toBe(3 * n);
    let other: DbHandle | null = null;
    if (t.url) other = await openDatabase({ databaseUrl: t.url, maxConnections: 4 });
    const before = rx.delivered().length;
    const beforeSeen = rx.seen.length;
    try {
      for (let i = 0; i < 10 && rx.delivered().length - before < 3 * n; i++) {
        await Promise.all([
          deliverBudgetAlerts(t.db, { url: rx.url, batch: 5 }),
          deliverBudgetAlerts(other?.db ?? t.db, { url: rx.url, batch: 5 }),
          deliverBudgetAlerts(other?.db ?? t.db, { url: rx.url, batch: 5 }),
        ]);
      }
    } finally {
      await other?.close();
    }
    const got = rx.seen.slice(beforeSeen);
    expect(got.length).toBe(3 * n);
    expect(new Set(got.map((g) => g.key)).size).toBe(3 * n);
  });

  it("a restarted alerter resends nothing delivered and delivers what is pending", async () => {
    const a1 = startBudgetAlerter(t.db, config, { url: rx.url, pollMs: 60_000 });
    await a1.tick();
    await a1.stop();
    const before = rx.seen.length;
    await sql`INSERT INTO "LiteLLM_UserTable" (user_id, max_budget) VALUES ('u-r', 3)`.execute(t.db);
    await insertLogs(t.db, [makeLog({ user: "u-r", startTime: "2026-05-21T09:00:00.000Z", spend: 3 })]);
    // Detected (outbox rows written) but the process stops before sending.
    expect(await detectBudgetAlerts(t.db, config)).toBe(3);
    const a2 = startBudgetAlerter(t.db, config, { url: rx.url, pollMs: 60_000 });
    await a2.tick();
    await a2.tick();
    await a2.stop();
    const got = rx.seen.slice(before);
    expect(got.map((g) => g.body.event_message).sort()).toEqual([
      "User Budget: 15% Threshold Crossed",
      "User Budget: 5% Threshold Crossed ",
      "User Budget: Budget Crossed\n Total Budget:`3.0`",
    ]);
    const pending = await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.budget_alerts
      WHERE delivered_at IS NULL`.execute(t.db);
    expect(pending.rows[0]!.n).toBe(0);
  });
});
