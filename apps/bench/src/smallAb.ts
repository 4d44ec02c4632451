import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { demoConfigYaml } from "@spendlens/core/demo";
import pg from "pg";
import { benchContext, CTX_SAMPLE_SQL } from "./original.ts";
import { ROUTE_BENCH } from "./routes.ts";
import { type ChildServer, startChildServer } from "./server.ts";
import { percentile } from "./stats.ts";

/**
 * Small answers through HTTP, two or more servers on one database, interleaved call by call:
 *   DATABASE_URL=… tsx src/smallAb.ts --side A=<checkout> --side B=<checkout> [--calls 300] [--rounds 2]
 *     [--gap-ms 0] [--only <text>] [--master-key k]
 * Each side is `spendlens serve` from that checkout's CLI bundle (started without migrating anything
 * new: both sides must know every migration the database holds). Per route and side: p50 / p90 of the
 * client's wall time (fetch + text), and the server process's CPU per call (/proc/<pid>/stat, 10 ms
 * ticks, read before and after each side's share of a round), the size of its last answer (bytes),
 * and whether every answer's bytes equal the first side's (volatile fields removed). The machine's load average is printed with each round.
 */

interface Args {
  sides: { name: string; checkout: string; env: Record<string, string> }[];
  calls: number;
  rounds: number;
  gapMs: number;
  only: string | null;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { sides: [], calls: 300, rounds: 2, gapMs: 0, only: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i]!;
    if (k === "--side") {
      // NAME=<checkout>[,KEY=VALUE…]: extra environment for that side's server.
      const [first, ...env] = v().split(",");
      const [name, checkout] = first!.split("=");
      a.sides.push({
        name: name!,
        checkout: checkout!,
        env: Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
      });
    } else if (k === "--calls") a.calls = Number(v());
    else if (k === "--rounds") a.rounds = Number(v());
    else if (k === "--gap-ms") a.gapMs = Number(v());
    else if (k === "--only") a.only = v();
  }
  if (!a.sides.length) throw new Error("--side NAME=<checkout> at least once");
  return a;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL");
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const sample = await pool.query<{ model_group: string | null; api_key: string | null }>(CTX_SAMPLE_SQL);
  await pool.end();
  const c = benchContext(new Date(), sample.rows[0]);
  const win = { start_date: c.start, end_date: c.end };
  const daily = (p: string) => ({ name: p, method: "GET" as const, path: p, query: { ...win, page: "1" } });
  const routes: {
    name: string;
    method: "GET" | "POST";
    path: string;
    query: Record<string, string>;
    body?: unknown;
  }[] = [
    { name: "/healthz", method: "GET" as const, path: "/healthz", query: {} },
    // Small answers, and any route named in --only (big ones too: `/spend/logs`).
    ...ROUTE_BENCH.filter((r) => r.size === "small" || a.only?.split(",").includes(r.name)).map((r) => ({
      name: r.name,
      method: r.method,
      path: r.path,
      query: r.query ? r.query(c) : {},
      ...(r.body ? { body: r.body(c) } : {}),
    })),
    ...["user", "team", "organization", "customer", "agent", "tag"].map((e) => daily(`/${e}/daily/activity`)),
  ].filter((r) => !a.only || a.only.split(",").includes(r.name));

  const dir = mkdtempSync(join(tmpdir(), "s10fast-ab-"));
  writeFileSync(join(dir, "config.yaml"), demoConfigYaml());
  const masterKey = "sk-s10fast-ab";
  const env = {
    DATABASE_URL: url,
    SPENDLENS_MASTER_KEY: masterKey,
    SPENDLENS_CONFIG: join(dir, "config.yaml"),
    SPENDLENS_LOG_LEVEL: "warn",
  };
  const servers: ChildServer[] = [];
  try {
    for (const s of a.sides)
      servers.push(await startChildServer({ ...env, ...s.env }, undefined, s.checkout));
    const call = async (srv: ChildServer, r: (typeof routes)[number]) => {
      const q = Object.keys(r.query).length ? `?${new URLSearchParams(r.query)}` : "";
      const t0 = performance.now();
      const res = await fetch(`${srv.url}${r.path}${q}`, {
        method: r.method,
        headers: {
          authorization: `Bearer ${masterKey}`,
          ...(r.body ? { "content-type": "application/json" } : {}),
        },
        ...(r.body ? { body: JSON.stringify(r.body) } : {}),
      });
      const text = await res.text();
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`${r.name}: HTTP ${res.status} ${text.slice(0, 200)}`);
      return { ms, text };
    };
    // Numbers compared to 1e-12 relative: a sum's last digit depends on the order Postgres read the rows in.
    const strip = (t: string) =>
      t
        .replace(/"(?:generated_at|as_of|request_id)":"[^"]*"/g, "")
        .replace(/-?\d+\.\d+(?:e[-+]?\d+)?/gi, (x) => Number(Number(x).toPrecision(12)).toString());
    const lines: string[] = [];
    for (let round = 1; round <= a.rounds; round++) {
      const load0 = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
      for (const r of routes) {
        const ms = servers.map(() => [] as number[]);
        const cpu = servers.map(() => 0);
        const bytes = servers.map(() => 0);
        let same = true;
        // Warm-up: 20 calls each. A side that cannot answer the route (an older checkout without it) sits
        // the route out; a side whose env has SMALLAB_NOCOMPARE=1 (another data set) is timed, not compared.
        const skip = new Set<number>();
        for (let i = 0; i < 20; i++)
          for (const [j, s] of servers.entries()) {
            if (skip.has(j)) continue;
            await call(s, r).catch(() => skip.add(j));
          }
        for (let i = 0; i < a.calls; i++) {
          const order =
            i % 2 === 0 ? servers.map((_, j) => j) : servers.map((_, j) => servers.length - 1 - j);
          let first: string | null = null;
          for (const j of order) {
            if (skip.has(j)) continue;
            const c0 = servers[j]!.cpuMs();
            const { ms: t, text } = await call(servers[j]!, r);
            cpu[j]! += servers[j]!.cpuMs() - c0;
            ms[j]!.push(t);
            bytes[j] = Buffer.byteLength(text);
            const st = strip(text);
            if (a.sides[j]!.env.SMALLAB_NOCOMPARE === "1") {
              // timed only
            } else if (first === null) first = st;
            else if (st !== first) {
              if (same && process.env.SMALLAB_DIFF_DIR) {
                const f = join(process.env.SMALLAB_DIFF_DIR, r.name.replace(/[^a-z0-9]+/gi, "_"));
                writeFileSync(`${f}.first`, first);
                writeFileSync(`${f}.other`, st);
              }
              same = false;
            }
            if (a.gapMs) await new Promise((res) => setTimeout(res, a.gapMs));
          }
        }
        const cells = servers.map((_, j) => {
          const xs = ms[j]!;
          if (skip.has(j)) return `${a.sides[j]!.name} n/a`;
          return `${a.sides[j]!.name} ${percentile(xs, 50).toFixed(2)} / ${percentile(xs, 90).toFixed(2)} ms, cpu ${(cpu[j]! / a.calls).toFixed(2)} ms, ${bytes[j]} B`;
        });
        const line = `round ${round} | ${r.name} | ${cells.join(" | ")} | same ${same ? "yes" : "NO"}`;
        lines.push(line);
        process.stdout.write(`${line}\n`);
      }
      const load1 = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
      process.stdout.write(`round ${round} load ${load0} -> ${load1}\n`);
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
