import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "@spendlens/core";
import { demoConfigYaml, setRollupDeleteMode } from "@spendlens/core/demo";
import { litellmAggregated } from "./litellmDaily.ts";
import { type ChildServer, startChildServer } from "./server.ts";
import { percentile } from "./stats.ts";

/**
 * `/user/daily/activity/aggregated` (30 days): cold, warm and warm under ingest, against the same route
 * with its per-day cache off and against LiteLLM's own SQL over its Daily*Spend tables (litellmDaily.ts,
 * filled by an earlier `--litellm-daily` run on the same database). Interleaved call by call.
 *
 *   DATABASE_URL=… npx tsx src/aggregated.ts [calls=15] [ingestRowsPerTick=200] [baselineCheckout]
 *
 * A call's time is to the whole body (fetch, then text()), as a client that reads the answer sees it.
 * With a baseline checkout (another spendlens tree, e.g. main's), its server (cache on) is timed too,
 * taking turns going first with this one. The totals, per-day spend and requests, the top keys and
 * total_api_keys are checked equal to LiteLLM's answer (its SQL over LiteLLM_DailyUserSpend).
 *
 * Ingest: every 250 ms an INSERT of `ingestRowsPerTick` logs stamped now (copies of the last day's logs
 * with new request ids), as a live gateway writes; the servers fold every second. At the end those logs
 * are deleted again in subtract mode (the delete mode is left at `keep`), so the data stays the seeded
 * data that LiteLLM's daily tables were filled from.
 */

const url = process.env.DATABASE_URL!;
const calls = Number(process.argv[2] ?? 15);
const perTick = Number(process.argv[3] ?? 200);
const baselineCheckout = process.argv[4] ?? null;
const log = (s: string) => process.stderr.write(`${s}\n`);
const day = (d: Date) => d.toISOString().slice(0, 10);

async function get(s: ChildServer, key: string, q: Record<string, string>) {
  const t0 = performance.now();
  const res = await fetch(`${s.url}/user/daily/activity/aggregated?${new URLSearchParams(q)}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
  return { ms: performance.now() - t0, bytes: Buffer.byteLength(text), text };
}

/** Equal values and keys (object key order aside), floats within 1e-12 relative (sums in another order). */
function same2(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number")
    return a === b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every(
    (k) => k in b && same2((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

/**
 * The answer against LiteLLM's own (litellmAggregated): the window's totals, each day's spend and
 * requests, the top keys and total_api_keys; "yes" or what differs.
 */
async function sameAsLiteLLM(body: any, start: string, end: string): Promise<string> {
  const lite = await litellmAggregated(h, start, end);
  const diffs: string[] = [];
  const close = (x: number, y: number) =>
    x === y || Math.abs(x - y) <= 1e-6 * Math.max(Math.abs(x), Math.abs(y));
  const t = lite.totals as unknown as Record<string, number>;
  for (const [k, m] of [
    ["spend", "total_spend"],
    ["api_requests", "total_api_requests"],
    ["prompt_tokens", "total_prompt_tokens"],
    ["completion_tokens", "total_completion_tokens"],
  ] as const)
    if (!close(Number(t[k]), Number(body.metadata[m]))) diffs.push(`${k} ${t[k]} vs ${body.metadata[m]}`);
  for (const d of body.results as { date: string; metrics: Record<string, number> }[]) {
    const l = lite.perDay.get(d.date) as unknown as Record<string, number> | undefined;
    if (!l || !close(l.spend!, d.metrics.spend!) || l.api_requests !== d.metrics.api_requests)
      diffs.push(`day ${d.date}`);
  }
  if (lite.perDay.size !== body.results.length)
    diffs.push(`days ${lite.perDay.size} vs ${body.results.length}`);
  const mine = new Set<string>();
  for (const d of body.results) for (const k of Object.keys(d.breakdown.api_keys)) if (k) mine.add(k);
  if (!(mine.size === lite.topKeys.size && [...mine].every((k) => lite.topKeys.has(k))))
    diffs.push(`top keys (${mine.size} vs ${lite.topKeys.size})`);
  if (Number(body.metadata.total_api_keys) !== lite.distinctKeys)
    diffs.push(`total_api_keys ${body.metadata.total_api_keys} vs ${lite.distinctKeys}`);
  return diffs.length ? `NO: ${diffs.slice(0, 5).join("; ")}` : "yes";
}

const h = await openDatabase({ databaseUrl: url, statementTimeoutMs: 0, maxConnections: 4, jit: true });
const key = `sk-bench-${randomBytes(12).toString("hex")}`;
const dir = mkdtempSync(join(tmpdir(), "spendlens-agg-"));
writeFileSync(join(dir, "config.yaml"), demoConfigYaml());
const env = (mb: string) => ({
  DATABASE_URL: url,
  SPENDLENS_MASTER_KEY: key,
  SPENDLENS_CONFIG: join(dir, "config.yaml"),
  SPENDLENS_LOG_LEVEL: "warn",
  SPENDLENS_REPORT_CACHE_MB: mb,
});
const cached = await startChildServer(env("256"));
const plain = await startChildServer(env("0"));
const base = baselineCheckout ? await startChildServer(env("256"), 120_000, baselineCheckout) : null;
const end = day(new Date());
const start = day(new Date(Date.parse(`${end}T00:00:00Z`) - 29 * 86_400_000));
const q = { start_date: start, end_date: end };
const rows: string[][] = [];
try {
  const first = await get(cached, key, q);
  log(`cold (first call, empty cache): ${first.ms.toFixed(1)} ms, ${(first.bytes / 2 ** 20).toFixed(1)} MiB`);
  const same = (await get(plain, key, q)).text;
  const again = await get(cached, key, q);
  const a = JSON.parse(same);
  const b = JSON.parse(again.text);
  log(`same answer (cached vs cache off, floats within 1e-12 relative): ${same2(a, b) ? "yes" : "NO"}`);
  if (base) {
    await get(base, key, q);
    const c = JSON.parse((await get(base, key, q)).text);
    log(
      `same answer (this checkout vs the baseline's, floats within 1e-12 relative): ${same2(c, b) ? "yes" : "NO"}`,
    );
  }
  log(`same as LiteLLM's answer: ${await sameAsLiteLLM(b, start, end)}`);
  const round = async (label: string) => {
    const lite: number[] = [];
    const off: number[] = [];
    const on: number[] = [];
    const bs: number[] = [];
    const cpu0 = [cached.cpuMs(), base?.cpuMs() ?? Number.NaN];
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      await litellmAggregated(h, start, end);
      lite.push(performance.now() - t0);
      off.push((await get(plain, key, q)).ms);
      // The baseline and this checkout take turns going first.
      if (base && i % 2 === 0) bs.push((await get(base, key, q)).ms);
      on.push((await get(cached, key, q)).ms);
      if (base && i % 2 === 1) bs.push((await get(base, key, q)).ms);
    }
    const cpu = [(cached.cpuMs() - cpu0[0]!) / calls, ((base?.cpuMs() ?? Number.NaN) - cpu0[1]!) / calls];
    const p = (x: number[]) => percentile(x, 50).toFixed(1);
    rows.push([
      label,
      p(on),
      `${cpu[0]!.toFixed(0)}`,
      ...(base ? [p(bs), `${cpu[1]!.toFixed(0)}`, (percentile(bs, 50) / percentile(on, 50)).toFixed(2)] : []),
      p(off),
      p(lite),
      (percentile(lite, 50) / percentile(on, 50)).toFixed(1),
    ]);
    log(
      `${label}: cached ${p(on)}${base ? ` / baseline ${p(bs)}` : ""} / cache off ${p(off)} / LiteLLM SQL ${p(lite)} ms (p50); load ${loadavg()[0]!.toFixed(1)}`,
    );
  };
  await round("warm, no ingest");
  // A live gateway: logs for today every 250 ms.
  let stop = false;
  let written = 0;
  const ingest = (async () => {
    while (!stop) {
      const r = await h.pool!.query(
        `INSERT INTO "LiteLLM_SpendLogs" SELECT (jsonb_populate_record(l, jsonb_build_object(
           'request_id', 'agg-' || md5(random()::text || clock_timestamp()::text),
           'startTime', now() AT TIME ZONE 'UTC', 'endTime', now() AT TIME ZONE 'UTC'))).*
         FROM "LiteLLM_SpendLogs" l WHERE l."startTime" >= (now() AT TIME ZONE 'UTC') - interval '1 day' LIMIT $1`,
        [perTick],
      );
      written += r.rowCount ?? 0;
      await new Promise((res) => setTimeout(res, 250));
    }
  })();
  await new Promise((res) => setTimeout(res, 1500));
  await round("warm, ingest running");
  stop = true;
  await ingest;
  log(`ingested ${written} logs during the run`);
  // Back to the seeded data (LiteLLM's daily tables hold only those logs, so the next run's check
  // against LiteLLM's answer stays meaningful): the ingested logs deleted, subtracted from the rollups.
  await setRollupDeleteMode(h.db, "subtract");
  try {
    const d = await h.pool!.query(`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id LIKE 'agg-%'`);
    log(`deleted the ${d.rowCount ?? 0} ingested logs (rollups subtracted)`);
  } finally {
    await setRollupDeleteMode(h.db, "keep");
  }
  const head = [
    "case (30 days)",
    "cached p50 ms",
    "server CPU ms / call",
    ...(base ? ["baseline p50 ms", "baseline CPU ms / call", "baseline / cached"] : []),
    "cache off p50 ms",
    "LiteLLM SQL p50 ms",
    "LiteLLM / cached",
  ];
  process.stdout.write(
    `answer ${(first.bytes / 2 ** 20).toFixed(1)} MiB; cold (first call, empty cache) ${first.ms.toFixed(0)} ms; load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}\n\n| ${head.join(" | ")} |\n|${head.map(() => "---|").join("")}\n${rows
      .map((r) => `| ${r.join(" | ")} |`)
      .join("\n")}\n`,
  );
} finally {
  await cached.stop();
  await plain.stop();
  await base?.stop();
  await h.close();
}
