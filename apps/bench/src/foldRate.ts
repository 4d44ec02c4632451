import { randomBytes } from "node:crypto";
import { type DbHandle, migrate, openDatabase } from "@spendlens/core";
import { buildWorld, generateLogs, insertLogBatch } from "@spendlens/core/demo";
import { foldRollups } from "@spendlens/core/testing";
import { sql } from "kysely";
import pg from "pg";

/**
 * `pnpm --filter @spendlens/bench exec tsx src/foldRate.ts [--preload 200000] [--chunk 5000] [--rounds 8]
 *   [--before 0011_partitioned_logs]` (DATABASE_URL: a Postgres role that may create databases): what a
 * migration costs the append-only fold (migration 0010's `spendlens.rollups_fold`), as a ratio measured
 * in one run. Two fresh standalone databases, one migrated up to `--before`, the other to the head; both
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
const BEFORE = args.includes("--before") ? args[args.indexOf("--before") + 1]! : "0011_partitioned_logs";
const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const runId = randomBytes(4).toString("hex");

function urlOf(name: string): string {
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

async function main() {
  const pool = new pg.Pool({ connectionString: admin, max: 1 });
  const names = [`spendlens_foldrate_${runId}_before`, `spendlens_foldrate_${runId}_head`];
  const handles: DbHandle[] = [];
  try {
    for (const n of names) {
      await pool.query(`CREATE DATABASE "${n}"`);
      // Per-function times (pg_stat_user_functions), printed at the end: where the fold's time goes.
      await pool.query(`ALTER DATABASE "${n}" SET track_functions = 'all'`);
    }
    for (const [i, n] of names.entries()) {
      const h = await openDatabase({ databaseUrl: urlOf(n), statementTimeoutMs: 0 });
      await migrate(h.db, i === 0 ? { upTo: BEFORE } : {});
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
    const ms = [0, 0];
    for (let r = 0; r < ROUNDS; r++) {
      await load(CHUNK, 100 + r);
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
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
    console.log(
      `fold of ${CHUNK}-row chunks, ${ROUNDS} rounds, after ${PRELOAD} preloaded logs (30 days):\n` +
        `  up to ${BEFORE}: ${Math.round(rate[0]!)} rows/s\n` +
        `  head:           ${Math.round(rate[1]!)} rows/s\n` +
        `  head / before:  ${(rate[1]! / rate[0]!).toFixed(2)}× the rate (${(ms[1]! / ms[0]!).toFixed(2)}× the time)`,
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
      console.log(`${i === 0 ? "before" : "head"}: trigger functions by self time (ms over every round)`);
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
