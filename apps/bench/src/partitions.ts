import { ALL, type DbHandle, emptyConfig, ingestSpendLogs, migrate, openDatabase } from "@spendlens/core";
import { buildWorld, generateLogs, migrations, seedDemoData } from "@spendlens/core/demo";
import { ensurePartitions } from "@spendlens/core/runtime";
import { type Kysely, Migrator, sql } from "kysely";

/**
 * Partitioned against plain log tables (migration 0011), side by side on one Postgres:
 *   PLAIN_URL=postgres://…/a PART_URL=postgres://…/b tsx src/partitions.ts [--logs 300000] [--rounds 6]
 * Both databases must be empty. PLAIN is migrated up to 0009 (the plain table of an existing install),
 * PART to the end (partitioned); both get the same demo logs. Then, interleaved (A B, B A, …): ingest
 * throughput (batches of 1000, 4 callers, as the bench's) and request_id lookups. Last: the conversion
 * of PLAIN by migration 0011 (time per million logs) and a retention drop on PART.
 */

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function ingestRound(h: DbHandle, seed: number, n: number): Promise<number> {
  const world = buildWorld({ seed: 42 });
  const rows = [...generateLogs(world, n, { seed, days: 1, end: new Date() })].map(({ log: l }) => {
    let tags: unknown = [];
    try {
      tags = JSON.parse(l.request_tags);
    } catch {}
    // As the main bench sends them: request_tags an array (the demo data holds a few non-arrays).
    return { ...l, metadata: JSON.parse(l.metadata), request_tags: Array.isArray(tags) ? tags : [] };
  });
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < rows.length; i += 1000) batches.push(rows.slice(i, i + 1000));
  let next = 0;
  let inserted = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (;;) {
        const b = batches[next++];
        if (!b) return;
        const r = await ingestSpendLogs(h.db, ALL, { logs: b }, emptyConfig());
        inserted += r.inserted;
        if (r.inserted !== b.length) throw new Error(`inserted ${r.inserted} of ${b.length}`);
      }
    }),
  );
  return inserted / ((performance.now() - t0) / 1000);
}

async function lookups(h: DbHandle, ids: string[]): Promise<number> {
  const t0 = performance.now();
  for (const id of ids)
    await sql`SELECT spend FROM "LiteLLM_SpendLogs" WHERE request_id = ${id}`.execute(h.db);
  return (performance.now() - t0) / ids.length;
}

async function main() {
  const logs = arg("--logs", 300_000);
  const rounds = arg("--rounds", 6);
  const plain = await openDatabase({
    databaseUrl: process.env.PLAIN_URL!,
    statementTimeoutMs: 0,
    maxConnections: 6,
  });
  const part = await openDatabase({
    databaseUrl: process.env.PART_URL!,
    statementTimeoutMs: 0,
    maxConnections: 6,
  });
  await sql`CREATE SCHEMA IF NOT EXISTS spendlens`.execute(plain.db);
  const upTo0009 = Object.fromEntries(Object.entries(migrations).filter(([k]) => k < "0010"));
  const r0 = await new Migrator({
    db: plain.db as Kysely<any>,
    provider: { getMigrations: async () => upTo0009 },
    migrationTableSchema: "spendlens",
  }).migrateToLatest();
  if (r0.error) throw r0.error;
  // The writers of this code skip registered request_ids; an install before 0011 has an empty registry.
  await sql`CREATE TABLE IF NOT EXISTS spendlens.spend_log_ids (request_id text PRIMARY KEY, "startTime" timestamp(3) NOT NULL)`.execute(
    plain.db,
  );
  await sql`CREATE TABLE IF NOT EXISTS spendlens.error_log_ids (request_id text PRIMARY KEY, "startTime" timestamp(3) NOT NULL)`.execute(
    plain.db,
  );
  await migrate(part.db);
  // Partitions over the 90 days of demo data (the migration made this month's and 3 ahead).
  const first = new Date(Date.now() - 95 * 86_400_000).toISOString().slice(0, 10);
  await ensurePartitions(part.db, { today: first, ahead: 5 });
  for (const [name, h] of [
    ["plain", plain],
    ["partitioned", part],
  ] as const) {
    const t0 = performance.now();
    await seedDemoData(h, { logs, days: 90, seed: 42, end: new Date() });
    console.log(`seeded ${name}: ${logs} logs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await sql`VACUUM ANALYZE "LiteLLM_SpendLogs"`.execute(h.db);
  }
  const ids = (
    await sql<{
      request_id: string;
    }>`SELECT request_id FROM "LiteLLM_SpendLogs" ORDER BY md5(request_id) LIMIT 300`.execute(plain.db)
  ).rows.map((r) => r.request_id);
  const rate: Record<string, number[]> = { plain: [], partitioned: [] };
  const look: Record<string, number[]> = { plain: [], partitioned: [] };
  for (let k = 0; k < rounds; k++) {
    const order =
      k % 2
        ? ([
            ["partitioned", part],
            ["plain", plain],
          ] as const)
        : ([
            ["plain", plain],
            ["partitioned", part],
          ] as const);
    for (const [name, h] of order) {
      rate[name]!.push(await ingestRound(h, 1000 + k, 20_000));
      look[name]!.push(await lookups(h, ids));
    }
    console.log(
      `round ${k + 1}: ingest plain ${rate.plain!.at(-1)!.toFixed(0)} / partitioned ${rate.partitioned!.at(-1)!.toFixed(0)} logs/s; lookup plain ${look.plain!.at(-1)!.toFixed(2)} / partitioned ${look.partitioned!.at(-1)!.toFixed(2)} ms`,
    );
  }
  console.log(
    `median ingest: plain ${median(rate.plain!).toFixed(0)}, partitioned ${median(rate.partitioned!).toFixed(0)} logs/s (ratio ${(median(rate.partitioned!) / median(rate.plain!)).toFixed(3)})`,
  );
  console.log(
    `median request_id lookup: plain ${median(look.plain!).toFixed(3)}, partitioned ${median(look.partitioned!).toFixed(3)} ms`,
  );
  const n = await sql<{ n: number }>`SELECT count(*)::int AS n FROM "LiteLLM_SpendLogs"`.execute(plain.db);
  let t0 = performance.now();
  const m = await migrate(plain.db);
  const conv = (performance.now() - t0) / 1000;
  console.log(
    `conversion (${m.applied.join(",")}) of ${n.rows[0]!.n} logs: ${conv.toFixed(1)} s (${(conv / (n.rows[0]!.n / 1e6)).toFixed(1)} s per million)`,
  );
  const today = new Date().toISOString().slice(0, 10);
  t0 = performance.now();
  const dropped = await ensurePartitions(part.db, { today, ahead: 3, retentionDays: 40 });
  console.log(
    `retention drop: ${dropped.filter((d) => d.action === "dropped").length} partitions in ${((performance.now() - t0) / 1000).toFixed(2)} s: ${dropped.map((d) => `${d.action} ${d.partition}`).join(", ")}`,
  );
  await plain.close();
  await part.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
