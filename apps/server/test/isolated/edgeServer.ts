/**
 * A real server in its own process, for edges.test.ts: a regression to an endless loop on some input
 * must fail that test (its requests time out) instead of hanging the test run. Writes pino's JSON log
 * lines to stdout, then one line `{"ready": url, "database": url|null}`. SIGTERM closes and drops all.
 */
import { emptyConfig } from "@spendlens/core";
import { createTestDb, insertLogs, makeLog, writeFixtures } from "@spendlens/core/testing";
import pino from "pino";
import { startServer } from "../../src/server.ts";

export const EDGE_MASTER = "sk-edge-master";
export const EDGE_ALICE = "sk-edge-alice";
/** An ingested row whose request_id starts so makes the database fail as a full disk does. */
export const DISK_FULL_PREFIX = "disk-full-";
export const DISK_FULL_MESSAGE = 'could not extend file "base/16384/16385.1": No space left on device';

async function main() {
  const t = await createTestDb();
  await writeFixtures(t.db, {
    users: [{ user_id: "alice", user_role: "internal_user" }],
    keys: [{ raw: EDGE_ALICE, user_id: "alice" }],
  });
  await insertLogs(t.db, [
    makeLog({ request_id: "edge-1", startTime: "2026-01-10T10:00:00.000Z", spend: 1.5, user: "alice" }),
  ]);
  // SQLSTATE 53100 (disk_full) with a message holding a file path, as Postgres writes it.
  const ddl = `CREATE FUNCTION spendlens_test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.request_id LIKE '${DISK_FULL_PREFIX}%' THEN
          RAISE EXCEPTION USING ERRCODE = '53100', MESSAGE = '${DISK_FULL_MESSAGE.replace(/'/g, "''")}';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER spendlens_test_disk_full BEFORE INSERT ON "LiteLLM_SpendLogs"
        FOR EACH ROW EXECUTE FUNCTION spendlens_test_disk_full();`;
  if (t.pool) await t.pool.query(ddl);
  else await t.pglite!.exec(ddl);
  const srv = await startServer({
    services: { db: t.db, handle: t, config: emptyConfig(), masterKey: EDGE_MASTER },
    port: 0,
    logger: pino({ level: "info" }),
  });
  process.stdout.write(`${JSON.stringify({ ready: srv.url, database: t.url })}\n`);
  process.once("SIGTERM", () => {
    void (async () => {
      await srv.close();
      await t.drop();
      process.exit(0);
    })();
  });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) await main();
