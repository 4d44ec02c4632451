import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { restRoutes } from "@spendlens/api";
import { type DbHandle, migrate, openDatabase } from "@spendlens/core";
import {
  buildWorld,
  type DemoLog,
  demoConfigYaml,
  generateLogs,
  pauseRollups,
  rebuildRollups,
  resumeRollups,
  rollupStatus,
  seedDemoData,
} from "@spendlens/core/demo";
import { getMeta, setMeta } from "@spendlens/core/runtime";
import { sql } from "kysely";
import { removeBenchLogs } from "./cleanup.ts";
import { type HeavyBenchOptions, runHeavyBench } from "./heavy.ts";
import { benchLiteLLMDaily, fillLiteLLMDaily } from "./litellmDaily.ts";
import { benchLogsUiFilters } from "./logsUi.ts";
import { describeMachine, type Machine } from "./machine.ts";
import { benchContext, CTX_SAMPLE_SQL, type Ctx, ORIGINAL, type OriginalQuery } from "./original.ts";
import { benchReplicas } from "./replicas.ts";
import { NOT_TIMED, type Numbers, ROUTE_BENCH, type RouteBench } from "./routes.ts";
import { type ChildServer, startChildServer } from "./server.ts";
import { fmtMs, percentile, table } from "./stats.ts";

/**
 * `pnpm bench`: spendlens against the original SQL on the same Postgres.
 *   DATABASE_URL=postgres://…/spendlens_bench pnpm bench [--logs 1000000] [--fresh] [--calls 30]
 *     [--warmup 2] [--orig-calls 5] [--ingest 100000] [--ingest-concurrency 4] [--seed-mode paused|triggers]
 *     [--no-cluster] [--only <text>] [--markdown FILE]
 *     [--logs-ui]   (only /spend/logs/ui with each filter and sort, logsUi.ts)
 *     [--litellm-daily [--page-size 0] [--baseline <checkout>] [--no-aggregated]]   (the daily-activity routes against LiteLLM's
 *       own tables and SQL, litellmDaily.ts; --baseline also times another checkout's server, interleaved)
 *     [--replicas N [--replica-callers 8] [--replica-rounds 1] [--replica-statements n]]   (ingest only: N servers vs 1, replicas.ts)
 *   DATABASE_URL=… pnpm bench --heavy [--heavy-concurrency 8] [--heavy-days 366]: only concurrent big
 *     reports (heavy.ts), on the data already there.
 * Seeds N demo logs over 90 days (once; kept between runs), starts the real server in a child process,
 * times every REST route through HTTP (p50/p99) and the original's SQL for the same question, checks that
 * both give the same numbers, measures ingest throughput through POST /spend/logs/ingest and the
 * server's peak RSS, and prints one table.
 */

interface Args {
  logs: number;
  days: number;
  fresh: boolean;
  calls: number;
  /** Untimed calls per route before the timed ones (the first also checks the route answers 200). */
  warmup: number;
  origCalls: number;
  ingest: number;
  /** --ingest was given: measure ingest even with --only. */
  ingestAsked: boolean;
  ingestConcurrency: number;
  seedMode: "paused" | "triggers";
  cluster: boolean;
  only: string | null;
  markdown: string | null;
  /** --heavy: only the concurrent heavy reports bench (heavy.ts). */
  heavy: HeavyBenchOptions | null;
  /** --replicas N: only the ingest comparison of N server processes against one (replicas.ts). */
  replicas: number;
  replicaCallers: number;
  replicaRounds: number;
  replicaStatements: number | null;
  /** --litellm-daily: only the daily-activity routes against LiteLLM's own tables and SQL (litellmDaily.ts). */
  litellmDaily: boolean;
  /** --logs-ui: only /spend/logs/ui with each filter and sort (logsUi.ts). */
  logsUi: boolean;
  /** --page-size: the page of the paginated daily-activity routes in --litellm-daily (0: each route's default). */
  pageSize: number;
  /** --baseline <checkout>: --litellm-daily also times that checkout's server, interleaved (A/B). */
  baseline: string | null;
  /** --no-aggregated: --litellm-daily without /user/daily/activity/aggregated. */
  noAggregated: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    logs: 1_000_000,
    days: 90,
    fresh: false,
    calls: 30,
    warmup: 2,
    origCalls: 5,
    ingest: 100_000,
    ingestAsked: false,
    ingestConcurrency: 4,
    seedMode: "paused",
    cluster: true,
    only: null,
    markdown: null,
    heavy: null,
    replicas: 0,
    replicaCallers: 8,
    replicaRounds: 1,
    replicaStatements: null,
    litellmDaily: false,
    logsUi: false,
    pageSize: 1000,
    baseline: null,
    noAggregated: false,
  };
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v?.replaceAll("_", ""));
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = () => argv[++i];
    if (k === "--") continue;
    else if (k === "--logs") a.logs = int("logs", v(), 1);
    else if (k === "--days") a.days = int("days", v(), 31);
    else if (k === "--fresh") a.fresh = true;
    else if (k === "--no-cluster") a.cluster = false;
    else if (k === "--calls") a.calls = int("calls", v(), 1);
    else if (k === "--warmup") a.warmup = int("warmup", v(), 1);
    else if (k === "--orig-calls") a.origCalls = int("orig-calls", v(), 0);
    else if (k === "--ingest") {
      a.ingest = int("ingest", v(), 0);
      a.ingestAsked = true;
    } else if (k === "--ingest-concurrency") a.ingestConcurrency = int("ingest-concurrency", v(), 1);
    else if (k === "--seed-mode") {
      const m = v();
      if (m !== "paused" && m !== "triggers") throw new Error("--seed-mode must be paused or triggers");
      a.seedMode = m;
    } else if (k === "--only") a.only = v() ?? null;
    else if (k === "--markdown") a.markdown = v() ?? null;
    else if (k === "--heavy") a.heavy = { concurrency: 8, days: 366, ...a.heavy };
    else if (k === "--heavy-concurrency")
      a.heavy = { days: 366, ...a.heavy, concurrency: int("heavy-concurrency", v(), 2) };
    else if (k === "--heavy-days") a.heavy = { concurrency: 8, ...a.heavy, days: int("heavy-days", v(), 1) };
    else if (k === "--replicas") a.replicas = int("replicas", v(), 2);
    else if (k === "--litellm-daily") a.litellmDaily = true;
    else if (k === "--logs-ui") a.logsUi = true;
    else if (k === "--page-size") a.pageSize = int("page-size", v(), 0);
    else if (k === "--baseline") a.baseline = v() ?? null;
    else if (k === "--no-aggregated") a.noAggregated = true;
    else if (k === "--replica-callers") a.replicaCallers = int("replica-callers", v(), 1);
    else if (k === "--replica-rounds") a.replicaRounds = int("replica-rounds", v(), 1);
    else if (k === "--replica-statements") a.replicaStatements = int("replica-statements", v(), 1);
    else throw new Error(`unknown option ${k}`);
  }
  return a;
}

const log = (s: string) => process.stderr.write(`${s}\n`);
function emitReport(a: Args, lines: string[]): void {
  const report = lines.join("\n");
  process.stdout.write(`${report}\n`);
  if (a.markdown) writeFileSync(a.markdown, `${report}\n`);
}
const machineLine = (m: Machine) =>
  `Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB RAM, Node ${m.node}, PostgreSQL ${m.postgres} (${m.postgresSettings}); load average at the end ${m.loadAverage}.`;

// ---- data ----

const DATASET_KEY = "bench.dataset";

async function resetStandalone(h: DbHandle): Promise<void> {
  // Only tables spendlens created (standalone mode) are dropped; checked by the caller.
  await sql`DROP SCHEMA IF EXISTS spendlens CASCADE`.execute(h.db);
  for (const t of [
    "LiteLLM_SpendLogs",
    "LiteLLM_ErrorLogs",
    "LiteLLM_VerificationToken",
    "LiteLLM_UserTable",
    "LiteLLM_TeamTable",
    "LiteLLM_EndUserTable",
  ]) {
    await sql`DROP TABLE IF EXISTS ${sql.table(t)} CASCADE`.execute(h.db);
  }
}

interface SeedReport {
  seeded: boolean;
  logs: number;
  errorLogs: number;
  seedMs: number;
  rebuildMs: number;
  vacuumMs: number;
  mode: string;
}

async function ensureData(h: DbHandle, a: Args): Promise<SeedReport> {
  let migration = await migrate(h.db);
  const wanted = JSON.stringify({ logs: a.logs, days: a.days, seed: 42 });
  const have = await getMeta(h.db, DATASET_KEY);
  const anyLogs = await sql<{
    n: number;
  }>`SELECT count(*)::int AS n FROM (SELECT 1 FROM "LiteLLM_SpendLogs" LIMIT 1) x`.execute(h.db);
  if (migration.mode !== "standalone") {
    throw new Error(
      "DATABASE_URL is a database spendlens did not create (attach mode): the bench writes demo data and may drop tables, so point it at a database of its own",
    );
  }
  const stale = have !== wanted;
  if (stale && !a.fresh && (have !== null || anyLogs.rows[0]!.n > 0)) {
    throw new Error(
      `the database holds another data set (${have ?? "not made by the bench"}); add --fresh to recreate it`,
    );
  }
  if (!stale && !a.fresh) {
    const n = await sql<{ n: number; e: number }>`SELECT (SELECT count(*) FROM "LiteLLM_SpendLogs")::int AS n,
      (SELECT count(*) FROM "LiteLLM_ErrorLogs")::int AS e`.execute(h.db);
    return {
      seeded: false,
      logs: n.rows[0]!.n,
      errorLogs: n.rows[0]!.e,
      seedMs: 0,
      rebuildMs: 0,
      vacuumMs: 0,
      mode: "kept",
    };
  }
  if (have !== null || anyLogs.rows[0]!.n > 0) {
    log("recreating the bench database (--fresh)");
    await resetStandalone(h);
    migration = await migrate(h.db);
    if (migration.mode !== "standalone") throw new Error("expected a standalone database after the reset");
  }
  log(`seeding ${a.logs.toLocaleString("en-US")} logs over ${a.days} days (rollups: ${a.seedMode})`);
  if (a.seedMode === "paused") await pauseRollups(h.db);
  const t0 = performance.now();
  let lastPct = -1;
  const r = await seedDemoData(h, {
    logs: a.logs,
    days: a.days,
    seed: 42,
    end: new Date(),
    onProgress: (done, total) => {
      const pct = Math.floor((100 * done) / total);
      if (pct >= lastPct + 10) {
        lastPct = pct;
        log(
          `  ${pct}% (${done.toLocaleString("en-US")} logs, ${((performance.now() - t0) / 1000).toFixed(0)} s)`,
        );
      }
    },
  });
  const seedMs = performance.now() - t0;
  let rebuildMs = 0;
  if (a.seedMode === "paused") {
    await resumeRollups(h.db);
    const t1 = performance.now();
    const rb = await rebuildRollups(h.db, { chunkDays: 7 });
    rebuildMs = performance.now() - t1;
    log(`rollups rebuilt: ${rb.days} days in ${(rebuildMs / 1000).toFixed(1)} s`);
  }
  const t2 = performance.now();
  if (a.cluster) {
    // LiteLLM appends logs as requests finish, so a real table is in time order on disk; the demo
    // generator writes random times. CLUSTER gives the raw table the physical order a real one has.
    log('CLUSTER on "startTime" (the physical order of a real, append-only log table)');
    await sql`CLUSTER "LiteLLM_SpendLogs" USING "LiteLLM_SpendLogs_startTime_idx"`.execute(h.db);
  }
  await sql`VACUUM ANALYZE`.execute(h.db);
  const vacuumMs = performance.now() - t2;
  await setMeta(h.db, DATASET_KEY, wanted);
  return {
    seeded: true,
    logs: r.logs,
    errorLogs: r.errorLogs,
    seedMs,
    rebuildMs,
    vacuumMs,
    mode: a.seedMode,
  };
}

// ---- timing ----

interface Timed {
  samples: number[];
  body: unknown;
  error: string | null;
}

async function callRoute(
  server: ChildServer,
  key: string,
  r: RouteBench,
  c: Ctx,
): Promise<{ ms: number; status: number; text: string }> {
  const q = r.query ? `?${new URLSearchParams(r.query(c))}` : "";
  const t0 = performance.now();
  const res = await fetch(`${server.url}${r.path}${q}`, {
    method: r.method,
    headers: { authorization: `Bearer ${key}`, ...(r.body ? { "content-type": "application/json" } : {}) },
    ...(r.body ? { body: JSON.stringify(r.body(c)) } : {}),
  });
  const text = await res.text();
  return { ms: performance.now() - t0, status: res.status, text };
}

async function timeRoute(
  server: ChildServer,
  key: string,
  r: RouteBench,
  c: Ctx,
  calls: number,
  warmup: number,
): Promise<Timed> {
  let last: { ms: number; status: number; text: string } | null = null;
  for (let i = 0; i < Math.max(1, warmup); i++) {
    last = await callRoute(server, key, r, c);
    if (last.status !== 200)
      return { samples: [], body: null, error: `HTTP ${last.status}: ${last.text.slice(0, 200)}` };
  }
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    last = await callRoute(server, key, r, c);
    if (last.status !== 200)
      return { samples, body: null, error: `HTTP ${last.status}: ${last.text.slice(0, 200)}` };
    samples.push(last.ms);
  }
  return { samples, body: JSON.parse(last!.text), error: null };
}

async function timeOriginal(
  h: DbHandle,
  qs: OriginalQuery[],
  calls: number,
): Promise<{ samples: number[]; rows: any[][]; error: string | null }> {
  const pool = h.pool!;
  let rows: any[][] = [];
  try {
    const samples: number[] = [];
    for (let i = 0; i < calls + 1; i++) {
      const t0 = performance.now();
      rows = [];
      for (const q of qs) rows.push((await pool.query(q.text, q.values)).rows);
      if (i > 0 || calls === 0) samples.push(performance.now() - t0); // the first run warms the cache
    }
    return { samples, rows, error: null };
  } catch (e) {
    return { samples: [], rows, error: e instanceof Error ? e.message : String(e) };
  }
}

function compare(a: Numbers, b: Numbers): { ok: boolean; detail: string } {
  const bad: string[] = [];
  for (const k of Object.keys({ ...a, ...b })) {
    const x = a[k] ?? Number.NaN;
    const y = b[k] ?? Number.NaN;
    const rel = Math.abs(x - y) / Math.max(1e-12, Math.abs(x), Math.abs(y));
    if (!(x === y || rel <= 1e-6)) bad.push(`${k} ${x} vs ${y}`);
  }
  return bad.length
    ? { ok: false, detail: bad.join("; ") }
    : {
        ok: true,
        detail: Object.entries(a)
          .map(([k, v]) => `${k}=${Number(v.toPrecision(10))}`)
          .join(" "),
      };
}

// ---- ingest ----

interface IngestReport {
  logs: number;
  ms: number;
  perSecond: number;
  inserted: number;
  batch: number;
  concurrency: number;
  exact: { ok: boolean; detail: string } | null;
  error: string | null;
  /** CPU seconds spent during the ingest by the server, every postgres process, and the bench (the client). */
  cpu: { server: number; postgres: number; client: number } | null;
}

/** CPU seconds (user + system) of a process from /proc (Linux), or NaN. */
function procCpuSeconds(pid: number | string): number {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of each process whose command is postgres (the server's backends and its workers), by pid. */
function postgresCpuSeconds(): Map<string, number> | null {
  const out = new Map<string, number>();
  try {
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      let comm = "";
      try {
        comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      } catch {
        continue;
      }
      if (comm === "postgres" || comm.startsWith("postgres:")) {
        const c = procCpuSeconds(pid);
        if (Number.isFinite(c)) out.set(pid, c);
      }
    }
  } catch {
    return null;
  }
  return out;
}

/** CPU spent by postgres processes between two readings (a process that ended meanwhile is not counted). */
function postgresCpuDelta(a: Map<string, number> | null, b: Map<string, number> | null): number {
  if (!a || !b) return Number.NaN;
  let d = 0;
  for (const [pid, t] of b) d += t - (a.get(pid) ?? 0);
  return d;
}

function toIngestRow(l: DemoLog): Record<string, unknown> {
  let tags: unknown;
  try {
    tags = JSON.parse(l.request_tags);
  } catch {
    tags = [];
  }
  return {
    request_id: l.request_id,
    call_type: l.call_type,
    api_key: l.api_key,
    spend: l.spend,
    total_tokens: l.total_tokens,
    prompt_tokens: l.prompt_tokens,
    completion_tokens: l.completion_tokens,
    startTime: l.startTime,
    endTime: l.endTime,
    model: l.model,
    model_id: l.model_id,
    model_group: l.model_group,
    custom_llm_provider: l.custom_llm_provider,
    api_base: l.api_base,
    user: l.user,
    metadata: JSON.parse(l.metadata),
    cache_hit: l.cache_hit,
    request_tags: Array.isArray(tags) ? tags : [],
    team_id: l.team_id,
    end_user: l.end_user,
    status: l.status,
  };
}

async function measureIngest(h: DbHandle, server: ChildServer, key: string, a: Args): Promise<IngestReport> {
  const runSeed = 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
  const world = buildWorld({ seed: 42 });
  const rows = [...generateLogs(world, a.ingest, { seed: runSeed, days: 1, end: new Date() })].map((x) =>
    toIngestRow(x.log),
  );
  const batch = 1000;
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < rows.length; i += batch) batches.push(rows.slice(i, i + batch));
  const before = await sql<{ s: number }>`SELECT coalesce(sum(spend), 0)::float8 AS s FROM "LiteLLM_SpendLogs"
    WHERE "startTime" >= CURRENT_DATE - 30`.execute(h.db);
  let inserted = 0;
  let error: string | null = null;
  let next = 0;
  const cpu0 = {
    server: procCpuSeconds(server.pid),
    postgres: postgresCpuSeconds(),
    client: process.cpuUsage(),
  };
  const t0 = performance.now();
  const worker = async () => {
    while (next < batches.length && !error) {
      const b = batches[next++]!;
      const res = await fetch(`${server.url}/spend/logs/ingest`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ logs: b }),
      });
      const text = await res.text();
      if (res.status !== 200) error = `HTTP ${res.status}: ${text.slice(0, 200)}`;
      else inserted += Number((JSON.parse(text) as { inserted?: number }).inserted ?? 0);
    }
  };
  await Promise.all(Array.from({ length: a.ingestConcurrency }, worker));
  const ms = performance.now() - t0;
  const client = process.cpuUsage(cpu0.client);
  const cpuRaw = {
    server: procCpuSeconds(server.pid) - cpu0.server,
    postgres: postgresCpuDelta(cpu0.postgres, postgresCpuSeconds()),
    client: (client.user + client.system) / 1e6,
  };
  const cpu = Object.values(cpuRaw).every(Number.isFinite) ? cpuRaw : null;
  // Fresh and exact: /global/spend right after the ingest equals the raw sum.
  let exact: IngestReport["exact"] = null;
  if (!error) {
    const res = await fetch(`${server.url}/global/spend`, { headers: { authorization: `Bearer ${key}` } });
    const api = (await res.json()) as { spend: number };
    const raw = await sql<{ s: number }>`SELECT coalesce(sum(spend), 0)::float8 AS s FROM "LiteLLM_SpendLogs"
      WHERE "startTime" >= CURRENT_DATE - 30`.execute(h.db);
    exact = compare({ spend: api.spend }, { spend: raw.rows[0]!.s });
    exact.detail += ` (+${(raw.rows[0]!.s - before.rows[0]!.s).toFixed(4)} from the ingest)`;
  }
  // Put the data set back: take the ingested logs out of the raw table and the rollups.
  await removeBenchLogs(h, `demo-${runSeed}-`);
  // The deleted rows' dead index entries sit where the next run inserts ("now", each key's newest end):
  // left in place they made the next run's inserts ~20% slower (79–84 instead of 66 ms of Postgres CPU
  // per 1000 logs after a dozen runs). Vacuumed, the data set is as it was.
  await sql`VACUUM`.execute(h.db);
  return {
    logs: rows.length,
    ms,
    perSecond: (inserted / ms) * 1000,
    inserted,
    batch,
    concurrency: a.ingestConcurrency,
    exact,
    error,
    cpu,
  };
}

// ---- main ----

interface Row {
  route: string;
  size: string;
  p50: number;
  p99: number;
  o50: number;
  o99: number;
  same: string;
  note: string;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const url = process.env.DATABASE_URL;
  if (!url) {
    throw new Error(
      "DATABASE_URL is required: the bench measures Postgres and refuses to run on the embedded default (PGlite)",
    );
  }
  if (a.heavy) return runHeavyBench(url, a.heavy);
  // The original's SQL runs as LiteLLM would run it: with the server's own settings (JIT included).
  const h = await openDatabase({ databaseUrl: url, statementTimeoutMs: 0, maxConnections: 4, jit: true });
  let server: ChildServer | null = null;
  let baseline: ChildServer | null = null;
  try {
    const machine: Machine = await describeMachine(h.pool!);
    const seed = await ensureData(h, a);
    const st = await rollupStatus(h.db);
    if (st.dirtyDays.length) {
      log(`${st.dirtyDays.length} dirty rollup days: rebuilding them first`);
      await rebuildRollups(h.db);
    }
    const masterKey = `sk-bench-${randomBytes(12).toString("hex")}`;
    const dir = mkdtempSync(join(tmpdir(), "spendlens-bench-"));
    writeFileSync(join(dir, "config.yaml"), demoConfigYaml());
    if (a.replicas > 0) {
      const report = await benchReplicas(h, {
        url,
        masterKey,
        env: {
          DATABASE_URL: url,
          SPENDLENS_MASTER_KEY: masterKey,
          SPENDLENS_CONFIG: join(dir, "config.yaml"),
          SPENDLENS_LOG_LEVEL: "warn",
        },
        replicas: a.replicas,
        logs: a.ingest,
        callers: a.replicaCallers,
        rounds: a.replicaRounds,
        statementsPerReplica: a.replicaStatements,
        toIngestRow,
        log,
      });
      process.stdout.write(`${report}\n`);
      if (a.markdown) writeFileSync(a.markdown, `${report}\n`);
      return;
    }
    server = await startChildServer({
      DATABASE_URL: url,
      SPENDLENS_MASTER_KEY: masterKey,
      SPENDLENS_CONFIG: join(dir, "config.yaml"),
      SPENDLENS_LOG_LEVEL: "warn",
    });
    log(`server ${server.url} (pid ${server.pid}), RSS at start ${server.rssMiB().toFixed(0)} MiB`);

    const sample = await sql<{
      model_group: string | null;
      api_key: string | null;
    }>`${sql.raw(CTX_SAMPLE_SQL)}`.execute(h.db);
    const ctx = benchContext(new Date(), sample.rows[0]);

    const dailyOpts = {
      server,
      key: masterKey,
      start: ctx.start,
      end: ctx.end,
      calls: a.calls,
      warmup: Math.max(1, a.warmup),
      pageSize: a.pageSize,
      log,
    };
    if (a.logsUi && !a.litellmDaily) {
      const ui = await benchLogsUiFilters(h, dailyOpts);
      emitReport(a, [
        `## /spend/logs/ui filters — run of ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
        "",
        machineLine(await describeMachine(h.pool!)),
        `Data: ${seed.logs.toLocaleString("en-US")} spend logs over ${a.days} days; window ${ctx.start}..${ctx.end} (30 days); ${a.calls} timed calls per row after ${dailyOpts.warmup} warm-ups.`,
        ...ui.notes.map((x) => `- ${x}`),
        "",
        ui.table,
      ]);
      return;
    }

    if (a.litellmDaily) {
      if (a.baseline) {
        baseline = await startChildServer(
          {
            DATABASE_URL: url,
            SPENDLENS_MASTER_KEY: masterKey,
            SPENDLENS_CONFIG: join(dir, "config.yaml"),
            SPENDLENS_LOG_LEVEL: "warn",
          },
          undefined,
          a.baseline,
        );
        log(`baseline server ${baseline.url} (pid ${baseline.pid}) from ${a.baseline}`);
      }
      const fill = await fillLiteLLMDaily(h, JSON.stringify({ logs: a.logs, days: a.days, seed: 42 }), log);
      const daily = await benchLiteLLMDaily(h, { ...dailyOpts, baseline, noAggregated: a.noAggregated });
      const ui = await benchLogsUiFilters(h, dailyOpts);
      const m = await describeMachine(h.pool!);
      emitReport(a, [
        `## LiteLLM's daily tables and SQL vs spendlens — run of ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
        "",
        machineLine(m),
        `Data: ${seed.logs.toLocaleString("en-US")} spend logs over ${a.days} days; LiteLLM's daily tables ${fill.filled ? `filled in ${(fill.ms / 1000).toFixed(1)} s` : "kept from an earlier run"}: ${Object.entries(
          fill.rows,
        )
          .map(([t, n]) => `${t} ${n.toLocaleString("en-US")} rows`)
          .join(", ")}.`,
        ...(a.baseline
          ? [`Baseline: the server of the checkout ${a.baseline}, timed interleaved with this one.`]
          : []),
        `Window ${ctx.start}..${ctx.end} (30 days); paginated routes page 1 of ${a.pageSize || "the route's default size (50 on /user, 10 elsewhere)"}; ${a.calls} timed calls per side, interleaved (LiteLLM, spendlens, …), after ${Math.max(1, a.warmup)} warm-ups.`,
        ...fill.notes.map((x) => `- ${x}`),
        ...ui.notes.map((x) => `- ${x}`),
        "",
        daily,
        "",
        ui.table,
      ]);
      return;
    }

    const served = new Set(restRoutes().map((r) => `${r.method} ${r.path}`));
    const rows: Row[] = [];
    const notes: string[] = [];
    const covered = new Set<string>();
    for (const r of ROUTE_BENCH) {
      covered.add(`${r.method} ${r.path}`);
      if (a.only && !r.name.includes(a.only)) continue;
      if (!served.has(`${r.method} ${r.path}`)) {
        notes.push(`${r.method} ${r.name}: skipped, the server does not serve this route yet`);
        continue;
      }
      log(`timing ${r.method} ${r.name}`);
      const api = await timeRoute(server, masterKey, r, ctx, a.calls, a.warmup).catch((e: unknown) => {
        throw new Error(
          `${r.method} ${r.name}: ${e instanceof Error ? e.message : String(e)}\n${server?.death() ?? ""}`,
        );
      });
      const origFn = ORIGINAL[r.name];
      const qs = origFn ? ([] as OriginalQuery[]).concat(origFn(ctx)) : [];
      // --orig-calls 0: the original's SQL is not run (at 10M+ logs it takes minutes per route).
      const orig = qs.length && a.origCalls > 0 ? await timeOriginal(h, qs, a.origCalls) : null;
      let same = "–";
      const noteParts: string[] = [];
      if (api.error) noteParts.push(`spendlens: ${api.error}`);
      if (orig?.error) noteParts.push(`original: ${orig.error}`);
      if (!api.error && orig && !orig.error && r.api && r.orig) {
        const cmp = compare(r.api(api.body), r.orig(orig.rows));
        same = cmp.ok ? "yes" : "NO";
        noteParts.push(cmp.detail);
      }
      const fix = qs.map((q) => q.fix).find(Boolean);
      if (fix) noteParts.push(`original: ${fix}`);
      if (r.note) noteParts.push(r.note);
      rows.push({
        route: `${r.method} ${r.name}`,
        size: r.size,
        p50: percentile(api.samples, 50),
        p99: percentile(api.samples, 99),
        o50: orig ? percentile(orig.samples, 50) : Number.NaN,
        o99: orig ? percentile(orig.samples, 99) : Number.NaN,
        same,
        note: noteParts.join("; "),
      });
    }
    for (const s of [...served].sort()) {
      if (!covered.has(s) && !NOT_TIMED.has(s))
        notes.push(`${s}: served, but the bench has no parameters for it (apps/bench/src/routes.ts)`);
    }
    const rssAfterReports = server.peakRssMiB();

    let ingest: IngestReport | null = null;
    if (a.ingest > 0 && (!a.only || a.ingestAsked)) {
      if (!served.has("POST /spend/logs/ingest"))
        notes.push("POST /spend/logs/ingest: not served yet, ingest not measured");
      else {
        log(`ingesting ${a.ingest.toLocaleString("en-US")} logs through POST /spend/logs/ingest`);
        ingest = await measureIngest(h, server, masterKey, a);
      }
    }
    const peakRss = server.peakRssMiB();
    await server.stop();
    server = null;

    const report = render(a, machine, seed, rows, notes, ingest, peakRss, rssAfterReports);
    process.stdout.write(`${report}\n`);
    if (a.markdown) {
      writeFileSync(a.markdown, `${report}\n`);
      log(`written to ${a.markdown}`);
    }
  } finally {
    await server?.stop();
    await baseline?.stop();
    await h.close();
  }
}

function render(
  a: Args,
  m: Machine,
  seed: SeedReport,
  rows: Row[],
  notes: string[],
  ingest: IngestReport | null,
  peakRss: number,
  rssAfterReports: number,
): string {
  const ratio = (r: Row) =>
    Number.isNaN(r.o50) || Number.isNaN(r.p50) ? "–" : `${(r.o50 / r.p50).toFixed(1)}×`;
  const out: string[] = [];
  out.push(`## Run of ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`);
  out.push("");
  out.push(
    `Machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB RAM, Node ${m.node}, PostgreSQL ${m.postgres} (${m.postgresSettings}); load average at the end ${m.loadAverage}.`,
  );
  out.push(
    `Data: ${seed.logs.toLocaleString("en-US")} spend logs and ${seed.errorLogs.toLocaleString("en-US")} error logs over ${a.days} days (demo generator, seed 42)` +
      (seed.seeded
        ? `, seeded in ${(seed.seedMs / 1000).toFixed(1)} s (${Math.round((seed.logs / seed.seedMs) * 1000).toLocaleString("en-US")} logs/s, rollups ${seed.mode === "paused" ? `paused, then rebuilt in ${(seed.rebuildMs / 1000).toFixed(1)} s` : "kept by the triggers"}), ${a.cluster ? "CLUSTER on startTime + " : ""}VACUUM ANALYZE ${(seed.vacuumMs / 1000).toFixed(1)} s.`
        : " (kept from an earlier run)."),
  );
  out.push(
    `Calls: window ${"30 days ending today"}; spendlens ${a.calls} timed calls per route through HTTP (after ${Math.max(1, a.warmup)} warm-ups, sequential, keep-alive); ${a.origCalls > 0 ? `original ${a.origCalls} timed runs on the same database (after 1 warm-up)` : "the original's SQL not run (--orig-calls 0)"}.`,
  );
  out.push("");
  out.push(
    table(
      [
        "route",
        "answer",
        "spendlens p50",
        "spendlens p99",
        "original p50",
        "original p99",
        "ratio (p50)",
        "same numbers",
      ],
      rows.map((r) => [
        r.route,
        r.size,
        fmtMs(r.p50),
        fmtMs(r.p99),
        fmtMs(r.o50),
        fmtMs(r.o99),
        ratio(r),
        r.same,
      ]),
    ),
  );
  out.push("");
  if (ingest) {
    out.push(
      ingest.error
        ? `Ingest: failed: ${ingest.error}`
        : `Ingest: ${ingest.inserted.toLocaleString("en-US")} logs through POST /spend/logs/ingest in ${(ingest.ms / 1000).toFixed(1)} s = **${Math.round(ingest.perSecond).toLocaleString("en-US")} logs/s** (batches of ${ingest.batch}, ${ingest.concurrency} concurrent requests). /global/spend right after: ${ingest.exact?.ok ? "equal to the raw sum" : "DIFFERENT from the raw sum"} (${ingest.exact?.detail}).${ingest.cpu ? ` CPU during the ingest: Postgres ${ingest.cpu.postgres.toFixed(1)} s, server ${ingest.cpu.server.toFixed(1)} s, bench client ${ingest.cpu.client.toFixed(1)} s (per 1000 logs: ${(((1000 * ingest.cpu.postgres) / ingest.inserted) * 1000).toFixed(0)} / ${(((1000 * ingest.cpu.server) / ingest.inserted) * 1000).toFixed(0)} / ${(((1000 * ingest.cpu.client) / ingest.inserted) * 1000).toFixed(0)} ms).` : ""}`,
    );
  }
  out.push(
    `Server peak RSS: **${peakRss.toFixed(0)} MiB** (${rssAfterReports.toFixed(0)} MiB after the report calls, before the ingest).`,
  );
  out.push("");
  out.push("Details per route:");
  for (const r of rows) if (r.note) out.push(`- ${r.route}: ${r.note}`);
  for (const n of notes) out.push(`- ${n}`);
  return out.join("\n");
}

main().catch((e) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
