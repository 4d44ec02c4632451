import type { DbHandle } from "@spendlens/core";
import { buildWorld, type DemoLog, generateLogs } from "@spendlens/core/demo";
import { sql } from "kysely";
import { removeBenchLogs } from "./cleanup.ts";
import { type ChildServer, startChildServer } from "./server.ts";
import { fmtMs, percentile, table } from "./stats.ts";

/**
 * `pnpm bench -- --replicas 3`: ingest through one server process, then through N server processes on
 * the same Postgres database, with the same callers (each caller sends its batches to the servers in
 * turn) and the same number of logs of the same shape. Per phase: logs/s, p50/p99 of a batch's answer,
 * the database's deadlock counter before and after (read once the servers have exited, so every backend
 * has reported), and whether /global/spend and the counters equal the raw logs afterwards. The ingested
 * logs are deleted (subtract mode) and the tables vacuumed after each phase, so each starts from the
 * same data set. Phases alternate (1, N, N, 1, …) so that a drift of the shared machine's load shows.
 */

export interface ReplicaBenchOptions {
  url: string;
  masterKey: string;
  env: Record<string, string>;
  replicas: number;
  logs: number;
  callers: number;
  rounds: number;
  /** SPENDLENS_INGEST_STATEMENTS for each of the N servers (absent: the server's default). */
  statementsPerReplica: number | null;
  toIngestRow: (l: DemoLog) => Record<string, unknown>;
  log: (s: string) => void;
}

export interface ReplicaPhase {
  servers: number;
  logs: number;
  inserted: number;
  ms: number;
  perSecond: number;
  p50: number;
  p99: number;
  deadlocks: number;
  exact: boolean;
  detail: string;
  error: string | null;
}

async function deadlockCount(h: DbHandle): Promise<number> {
  await sql`SELECT pg_stat_clear_snapshot()`.execute(h.db);
  const r = await sql<{
    n: string;
  }>`SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()`.execute(h.db);
  return Number(r.rows[0]!.n);
}

async function phase(h: DbHandle, o: ReplicaBenchOptions, servers: number): Promise<ReplicaPhase> {
  const runSeed = 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
  const world = buildWorld({ seed: 42 });
  const rows = [...generateLogs(world, o.logs, { seed: runSeed, days: 1, end: new Date() })].map((x) =>
    o.toIngestRow(x.log),
  );
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < rows.length; i += 1000) batches.push(rows.slice(i, i + 1000));
  const started: ChildServer[] = [];
  const dl0 = await deadlockCount(h);
  let error: string | null = null;
  let inserted = 0;
  const samples: number[] = [];
  let ms = 0;
  try {
    // One after the other: each start bundles the CLI first.
    const env =
      servers > 1 && o.statementsPerReplica !== null
        ? { ...o.env, SPENDLENS_INGEST_STATEMENTS: String(o.statementsPerReplica) }
        : o.env;
    for (let i = 0; i < servers; i++) started.push(await startChildServer(env));
    let next = 0;
    const t0 = performance.now();
    const caller = async (c: number) => {
      let turn = c;
      while (next < batches.length && !error) {
        const b = batches[next++]!;
        const srv = started[turn++ % started.length]!;
        const s0 = performance.now();
        const res = await fetch(`${srv.url}/spend/logs/ingest`, {
          method: "POST",
          headers: { authorization: `Bearer ${o.masterKey}`, "content-type": "application/json" },
          body: JSON.stringify({ logs: b }),
        });
        const text = await res.text();
        samples.push(performance.now() - s0);
        if (res.status !== 200) error = `HTTP ${res.status}: ${text.slice(0, 200)}`;
        else inserted += Number((JSON.parse(text) as { inserted?: number }).inserted ?? 0);
      }
    };
    await Promise.all(Array.from({ length: o.callers }, (_, c) => caller(c)));
    ms = performance.now() - t0;
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }
  const deadlocks = (await deadlockCount(h)) - dl0;
  // Exact afterwards: the ingested rows' sum in the rollups (/global/spend's source) and in the counters.
  const check = await sql<{ raw: number; rollup: number; pending: number }>`SELECT
      (SELECT coalesce(sum(spend), 0) FROM "LiteLLM_SpendLogs" WHERE request_id LIKE ${`demo-${runSeed}-%`})::float8 AS raw,
      (SELECT coalesce(sum(spend), 0) FROM "LiteLLM_SpendLogs")::float8 - (SELECT coalesce(sum(spend), 0) FROM spendlens.model_daily)::float8 AS rollup,
      (SELECT count(*) FROM spendlens.counter_deltas)::float8 AS pending`.execute(h.db);
  const c = check.rows[0]!;
  const exact = Math.abs(c.rollup) < 1e-6 * Math.max(1, c.raw) && c.pending === 0;
  const detail = `ingested spend ${c.raw.toFixed(4)}; raw − rollup ${c.rollup.toExponential(1)}; pending counter rows ${c.pending}`;
  await removeBenchLogs(h, `demo-${runSeed}-`);
  await sql`VACUUM`.execute(h.db);
  return {
    servers,
    logs: rows.length,
    inserted,
    ms,
    perSecond: (inserted / ms) * 1000,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    deadlocks,
    exact,
    detail,
    error,
  };
}

export async function benchReplicas(h: DbHandle, o: ReplicaBenchOptions): Promise<string> {
  const order: number[] = [];
  for (let r = 0; r < o.rounds; r++) order.push(...(r % 2 === 0 ? [1, o.replicas] : [o.replicas, 1]));
  const phases: ReplicaPhase[] = [];
  for (const n of order) {
    o.log(`ingest: ${o.logs.toLocaleString("en-US")} logs, ${o.callers} callers, ${n} server process(es)`);
    const p = await phase(h, o, n);
    o.log(
      `  ${p.perSecond.toFixed(0)} logs/s, p99 ${fmtMs(p.p99)}, deadlocks +${p.deadlocks}${p.error ? `, ${p.error}` : ""}`,
    );
    phases.push(p);
  }
  const rate = (n: number) => {
    const r = phases.filter((p) => p.servers === n).map((p) => p.perSecond);
    return r.reduce((s, x) => s + x, 0) / r.length;
  };
  const lines = [
    `## Ingest: ${o.replicas} server processes vs 1 on one Postgres`,
    "",
    `${o.logs.toLocaleString("en-US")} logs per phase in batches of 1000, ${o.callers} callers (each sends its batches to the servers in turn), phases in the order run${o.statementsPerReplica !== null ? `; SPENDLENS_INGEST_STATEMENTS=${o.statementsPerReplica} on each of the ${o.replicas} servers` : ""}.`,
    "",
    table(
      ["servers", "logs/s", "p50", "p99", "deadlocks", "exact", "note"],
      phases.map((p) => [
        String(p.servers),
        p.perSecond.toFixed(0),
        fmtMs(p.p50),
        fmtMs(p.p99),
        `+${p.deadlocks}`,
        p.exact ? "yes" : "NO",
        p.error ?? p.detail,
      ]),
    ),
    "",
    `Ratio ${o.replicas} servers / 1 (mean logs/s of each): ${(rate(o.replicas) / rate(1)).toFixed(2)}×; deadlocks in all phases: ${phases.reduce((s, p) => s + p.deadlocks, 0)}.`,
  ];
  return lines.join("\n");
}
