import { openDatabase } from "@spendlens/core";
import { openRuntime, type Runtime, settingsFromEnv } from "@spendlens/core/runtime";
import { createTestDb, insertLogs, makeLog, type TestDb, testEngine } from "@spendlens/core/testing";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../src/server.ts";

/**
 * SPENDLENS_STATEMENT_TIMEOUT_MS end to end: the setting reaches every query (statement_timeout), and a
 * query that runs past it is a 504 in LiteLLM's error shape, not a hang and not a 500.
 * Postgres only: the query is held up by a lock that another connection holds, and PGlite has a single
 * connection (it has no concurrent session that could hold a lock).
 */
const MASTER = "sk-master-statement-timeout";
const postgres = testEngine() === "postgres";
let t: TestDb;
let rt: Runtime;
let srv: RunningServer;

beforeAll(async () => {
  if (!postgres) return;
  t = await createTestDb();
  await insertLogs(t.db, [makeLog({ startTime: new Date().toISOString(), spend: 2.5, user: "alice" })]);
  // The server's own database handle, opened the way `spendlens serve` opens it: from the environment.
  rt = await openRuntime(
    settingsFromEnv({
      DATABASE_URL: t.url!,
      SPENDLENS_STATEMENT_TIMEOUT_MS: "300",
      SPENDLENS_MASTER_KEY: MASTER,
    }),
  );
  srv = await startServer({
    services: { db: rt.handle.db, handle: rt.handle, config: rt.config, masterKey: MASTER },
    port: 0,
    logger: pino({ level: "silent" }),
  });
});
afterAll(async () => {
  await srv?.close();
  await rt?.close();
  await t?.drop();
});

describe.skipIf(!postgres)("statement timeout", () => {
  it("a report held up past SPENDLENS_STATEMENT_TIMEOUT_MS answers 504 timeout_error, then works again", async () => {
    const get = async () => {
      const started = performance.now();
      const r = await fetch(`${srv.url}/global/spend`, { headers: { authorization: `Bearer ${MASTER}` } });
      return { status: r.status, body: (await r.json()) as any, ms: performance.now() - started };
    };
    expect((await get()).body.spend).toBe(2.5);

    // Another session takes the rollup table /global/spend reads and keeps it.
    const other = await openDatabase({ databaseUrl: t.url!, statementTimeoutMs: 0 });
    const locker = await other.pool!.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE spendlens.model_daily IN ACCESS EXCLUSIVE MODE");
      const r = await get();
      expect(r.status).toBe(504);
      expect(r.body.error.type).toBe("timeout_error");
      expect(r.body.error.code).toBe("504");
      expect(r.body.error.message).toMatch(/statement timeout/);
      expect(r.ms).toBeLessThan(5_000); // the 300 ms timeout, not a hang
      await locker.query("ROLLBACK");
    } finally {
      locker.release();
      await other.close();
    }
    const after = await get();
    expect(after.status).toBe(200);
    expect(after.body.spend).toBe(2.5);
  });
});
