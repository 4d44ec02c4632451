/**
 * The server the hostile-input test attacks, in its own process (started by harness.ts: bundled, then
 * run by `node`): a request that hangs or kills it cannot take the test runner with it, and the test
 * can kill it and start another. It is the real startServer on the database the test made, with core's
 * clock pinned. Over the IPC channel it answers `{op: "checksum"}` with a digest of every table's contents.
 */
import { type Db, openDatabase } from "@spendlens/core";
import { parseConfig, setClock } from "@spendlens/core/testing";
import { sql } from "kysely";
import pino from "pino";
import { startServer } from "../../src/server.ts";

export interface ServerProcessOptions {
  databaseUrl?: string;
  dataDir?: string;
  masterKey: string;
  /** Core's clock, ISO. */
  now: string;
  configYaml: string;
}

/**
 * md5 of every table's rows (ordered as text), table by table: equal digests, equal contents. One
 * statement for all the tables (a round trip per table cost more than the digests).
 */
export async function tablesChecksum(db: Db): Promise<Record<string, string>> {
  const tables = await sql<{ schema: string; name: string }>`
    SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
    WHERE table_type = 'BASE TABLE' AND table_schema IN ('public', 'spendlens')
    ORDER BY 1, 2`.execute(db);
  if (!tables.rows.length) return {};
  // Identifiers from the catalog, quoted by kysely; the names come back as bound values. No input
  // reaches this statement.
  const parts = tables.rows.map(
    (t, i) => sql`SELECT ${i}::int AS i, count(*)::int AS n,
      md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) AS digest
      FROM ${sql.table(`${t.schema}.${t.name}`)} AS x`,
  );
  const r = await sql<{ i: number; n: number; digest: string }>`${sql.join(parts, sql` UNION ALL `)}`.execute(
    db,
  );
  const out: Record<string, string> = {};
  for (const row of r.rows) {
    const t = tables.rows[row.i]!;
    out[`${t.schema}.${t.name}`] = `${row.n}:${row.digest}`;
  }
  return out;
}

async function main() {
  const o = JSON.parse(process.env.SPENDLENS_HOSTILE_SERVER ?? "{}") as ServerProcessOptions;
  const at = new Date(o.now);
  setClock(() => at);
  const handle = await openDatabase(
    o.databaseUrl ? { databaseUrl: o.databaseUrl } : { ...(o.dataDir ? { dataDir: o.dataDir } : {}) },
  );
  const srv = await startServer({
    services: { db: handle.db, handle, config: parseConfig(o.configYaml), masterKey: o.masterKey },
    port: 0,
    logger: pino({ level: "silent" }),
  });
  process.on("message", (m: { op: string; id: number }) => {
    if (m.op !== "checksum") return;
    tablesChecksum(handle.db).then(
      (checksum) => process.send?.({ id: m.id, checksum }),
      (e: unknown) => process.send?.({ id: m.id, error: String(e) }),
    );
  });
  process.on("disconnect", () => process.exit(0));
  process.send?.({ url: srv.url });
}

if (process.env.SPENDLENS_HOSTILE_SERVER) void main();
