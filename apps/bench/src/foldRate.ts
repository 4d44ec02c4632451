import { randomBytes } from "node:crypto";
import { type DbHandle, migrate, openDatabase } from "@spendlens/core";
import { buildWorld, generateLogs, insertLogBatch } from "@spendlens/core/demo";
import { foldRollups } from "@spendlens/core/testing";
import { sql } from "kysely";
import pg from "pg";

/**
 * `pnpm --filter @spendlens/bench exec tsx src/foldRate.ts [--preload 200000] [--chunk 5000] [--rounds 8]
 *   [--before 0011_partitioned_logs [--before 0014_provider_hourly …]]` (DATABASE_URL: a Postgres role that
 * may create databases): what a migration costs the append-only fold (migration 0010's
 * `spendlens.rollups_fold`), as a ratio measured in one run. Fresh standalone databases, one migrated up to
 * (and including) each `--before`, one to the head; all
 * get the same `--preload` demo logs (30 days, folded), then in each round the same `--chunk` new logs
 * of those days go into both and each folds them (one `rollups_fold` call, as the server's chunk), the
 * order alternating round by round. Prints rows/s per side and the ratio. Databases carry this run's id
 * and are dropped at the end.
 */

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const n = Number(args[i + 1]);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1`);
  return n;
};
const PRELOAD = opt("preload", 200_000);
const CHUNK = opt("chunk", 5000);
const ROUNDS = opt("rounds", 8);
// `--before` may repeat (e.g. `--before 0011_partitioned_logs --before 0014_provider_hourly`): one database
// per migration named, all folding the same rounds interleaved with the head's.
const BEFORES = args.flatMap((a, i) => (a === "--before" && args[i + 1] ? [args[i + 1]!] : []));
if (BEFORES.length === 0) BEFORES.push("0011_partitioned_logs");
const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const runId = randomBytes(4).toString("hex");

function urlOf(name: string): string {
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

async function main() {
  const pool = new pg.Pool({ connectionString: admin, max: 1 });
  const sides = [...BEFORES, "head"];
  const names = sides.map(
    (_, i) => `spendlens_foldrate_${runId}_${i === sides.length - 1 ? "head" : `before${i}`}`,
  );
  const handles: DbHandle[] = [];
  try {
    for (const n of names) {
      await pool.query(`CREATE DATABASE "${n}"`);
      // Per-function times (pg_stat_user_functions), printed at the end: where the fold's time goes.
      await pool.query(`ALTER DATABASE "${n}" SET track_functions = 'all'`);
    }
    for (const [i, n] of names.entries()) {
      const h = await openDatabase({ databaseUrl: urlOf(n), statementTimeoutMs: 0 });
      await migrate(h.db, i < BEFORES.length ? { upTo: BEFORES[i]! } : {});
      handles.push(h);
    }
    const world = buildWorld();
    const end = new Date("2026-09-30T12:00:00Z");
    const load = async (count: number, seed: number) => {
      const batch: Parameters<typeof insertLogBatch>[1] = [];
      const flush = async () => {
        for (const h of handles) await insertLogBatch(h.db, batch);
        batch.length = 0;
      };
      for (const { log } of generateLogs(world, count, { seed, days: 30, end })) {
        batch.push(log);
        if (batch.length === 5000) await flush();
      }
      if (batch.length) await flush();
    };
    if (PRELOAD > 0) {
      await load(PRELOAD, 1);
      for (const h of handles) await foldRollups(h.db);
      for (const h of handles) await sql`VACUUM ANALYZE`.execute(h.db);
    }
    for (const h of handles) await sql`SELECT pg_stat_reset()`.execute(h.db);
    const ms = sides.map(() => 0);
    for (let r = 0; r < ROUNDS; r++) {
      await load(CHUNK, 100 + r);
      const order = sides.map((_, i) => i);
      if (r % 2 === 1) order.reverse();
      for (const i of order) {
        const t0 = performance.now();
        const n = await sql<{ n: string }>`SELECT spendlens.rollups_fold(${CHUNK * 2}::int) AS n`.execute(
          handles[i]!.db,
        );
        ms[i]! += performance.now() - t0;
        if (Number(n.rows[0]!.n) !== CHUNK) throw new Error(`folded ${n.rows[0]!.n}, expected ${CHUNK}`);
      }
    }
    const rate = ms.map((m) => (CHUNK * ROUNDS) / (m / 1000));
    const head = sides.length - 1;
    console.log(`fold of ${CHUNK}-row chunks, ${ROUNDS} rounds, after ${PRELOAD} preloaded logs (30 days):`);
    for (const [i, s] of sides.entries())
      console.log(`  ${i === head ? "head" : `up to ${s}`}: ${Math.round(rate[i]!)} rows/s`);
    for (const [i, s] of BEFORES.entries())
      console.log(
        `  head / ${s}: ${(rate[head]! / rate[i]!).toFixed(2)}× the rate (${(ms[head]! / ms[i]!).toFixed(2)}× the time)`,
      );
    for (const [i, h] of handles.entries()) {
      await new Promise((r) => setTimeout(r, 600)); // the statistics collector's flush
      const f = await sql<{
        name: string;
        calls: number;
        self_ms: number;
        total_ms: number;
      }>`SELECT funcname AS name,
          calls::int AS calls, round(self_time)::int AS self_ms, round(total_time)::int AS total_ms
        FROM pg_stat_user_functions WHERE schemaname = 'spendlens' ORDER BY self_time DESC LIMIT 12`.execute(
        h.db,
      );
      console.log(
        `${i === head ? "head" : `up to ${sides[i]}`}: trigger functions by self time (ms over every round)`,
      );
      for (const r of f.rows)
        console.log(`  ${r.name}: ${r.self_ms} ms self, ${r.total_ms} ms total, ${r.calls} calls`);
    }
  } finally {
    for (const h of handles) await h.close();
    for (const n of names) await pool.query(`DROP DATABASE IF EXISTS "${n}"`);
    await pool.end();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
