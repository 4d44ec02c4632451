import { execFile } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ROUTE_BENCH } from "./routes.ts";
import { startChildServer } from "./server.ts";

/**
 * The embedded default's memory and seeding rate (no DATABASE_URL: PGlite in a folder), as a user gets
 * it: `spendlens serve` on a fresh folder (demo data written on first start), a round of report
 * requests (every benched REST route once), then `spendlens seed --logs N` with the server stopped, and
 * the server again on the bigger folder: a round, then the same after the tokenizer's child process
 * went idle. RSS is the server process's (VmRSS now, VmHWM peak); the tokenizer child's is printed
 * apart (it is another process, and exits when idle). `fresh`: also seed N logs into a fresh folder
 * (the seeding rate without the 50k first; phases from the original's `timings`).
 *
 *   npx tsx apps/bench/src/embedded.ts [dir] [logs=1000000] [fresh|only-fresh|serve-only]
 *
 * serve-only: start the server on the folder as it is (no seed, nothing removed) and measure.
 *
 * SPENDLENS_TOKENIZER_IDLE_MS is set to 5000 for the server here (default 30000), so the idle exit is
 * seen within the run.
 */
const CLI = fileURLToPath(new URL("../../cli/bin/spendlens.mjs", import.meta.url));
const run = promisify(execFile);
const dir = process.argv[2] ?? "/tmp/spendlens-embedded-bench";
const big = Number(process.argv[3] ?? 1_000_000);
const mode = process.argv[4] ?? "";
const IDLE_MS = 5000;
const mib = (x: number) => `${x.toFixed(0)} MiB`;

/**
 * SPENDLENS_BENCH_PER_ROUTE=1: the server's RSS and time of each route too, and where the memory is
 * (memProbe.mjs, preloaded into the server: V8 heap, ArrayBuffers, PGlite's WebAssembly memory, resident
 * memory by kind); `times`: the RSS and time of each route without the probe.
 */
const perRoute = ["1", "times"].includes(process.env.SPENDLENS_BENCH_PER_ROUTE ?? "");
const MEM_FILE = `${dir}.mem.json`;
if (process.env.SPENDLENS_BENCH_PER_ROUTE === "1") {
  process.env.SPENDLENS_BENCH_MEM_FILE = MEM_FILE;
  process.env.SPENDLENS_BENCH_SERVER_NODE_ARGS = [
    process.env.SPENDLENS_BENCH_SERVER_NODE_ARGS ?? "",
    `--import=${fileURLToPath(new URL("./memProbe.mjs", import.meta.url))}`,
  ].join(" ");
}

/** The server's memory by kind (memProbe.mjs answers SIGUSR2), in MiB; "" when it did not answer. */
async function memParts(pid: number): Promise<string> {
  if (process.env.SPENDLENS_BENCH_PER_ROUTE !== "1") return "";
  try {
    rmSync(MEM_FILE, { force: true });
    process.kill(pid, "SIGUSR2");
    for (let i = 0; i < 400; i++) {
      await new Promise((r) => setTimeout(r, 25));
      let m: {
        heapUsed: number;
        heapTotal: number;
        arrayBuffers: number;
        external: number;
        wasm: number[];
        resident?: { wasm: number; file: number; anon: number };
      };
      try {
        m = JSON.parse(readFileSync(MEM_FILE, "utf8"));
      } catch {
        continue;
      }
      const M = (b: number) => (b / 1048576).toFixed(0);
      const r = m.resident;
      const res = r ? `; resident: wasm ${M(r.wasm)}, files ${M(r.file)}, other anonymous ${M(r.anon)}` : "";
      return ` (V8 heap ${M(m.heapUsed)}/${M(m.heapTotal)}, external ${M(m.external)} of which ArrayBuffers ${M(m.arrayBuffers)}, wasm ${m.wasm.map(M).join("+")} MiB${res})`;
    }
  } catch {
    /* no probe */
  }
  return "";
}

/** The resident memory of a process's children (the tokenizer), from /proc; 0 when it has none. */
function childrenRssMiB(pid: number): { pids: number[]; mib: number } {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    /* gone */
  }
  let kib = 0;
  for (const k of kids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${k}/status`, "utf8"));
      kib += Number(m?.[1] ?? 0);
    } catch {
      /* exited meanwhile */
    }
  }
  return { pids: kids, mib: kib / 1024 };
}

async function round(url: string, key: string, rss: () => number, pid = 0): Promise<number> {
  const today = new Date().toISOString().slice(0, 10);
  const start = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
  const head = { authorization: `Bearer ${key}` };
  const sample = (await (await fetch(`${url}/spendlens/logs?limit=1`, { headers: head })).json()) as any;
  const row = sample?.data?.[0] ?? sample?.[0] ?? {};
  const c = {
    start,
    end: today,
    endNext: new Date(Date.parse(today) + 86_400_000).toISOString().slice(0, 10),
    nowIso: new Date().toISOString(),
    monthAgoIso: new Date(Date.now() - 30 * 86_400_000).toISOString(),
    modelGroup: row.model_group ?? "gpt-4o",
    apiKey: row.api_key ?? "",
  };
  let failed = 0;
  for (const r of ROUTE_BENCH) {
    const t0 = performance.now();
    const q = r.query ? `?${new URLSearchParams(r.query(c))}` : "";
    const res = await fetch(`${url}${r.path}${q}`, {
      method: r.method,
      headers: { ...head, ...(r.body ? { "content-type": "application/json" } : {}) },
      ...(r.body ? { body: JSON.stringify(r.body(c)) } : {}),
    });
    await res.arrayBuffer();
    if (res.status !== 200) failed++;
    const ms = performance.now() - t0;
    if (perRoute)
      console.log(
        `  ${r.name}: ${res.status} in ${ms.toFixed(0)} ms, RSS ${mib(rss())}${await memParts(pid)}`,
      );
  }
  return failed;
}

async function serveAndMeasure(label: string) {
  const t0 = performance.now();
  const s = await startChildServer(
    { SPENDLENS_DATA_DIR: dir, SPENDLENS_TOKENIZER_IDLE_MS: String(IDLE_MS) },
    1_800_000,
    // Another checkout's server on the same folder (A/B against a baseline).
    process.env.SPENDLENS_BENCH_CHECKOUT || undefined,
  );
  const startS = (performance.now() - t0) / 1000;
  const atStart = s.rssMiB();
  const key = readFileSync(`${dir}/master_key`, "utf8").trim();
  if (perRoute)
    console.log(`  at start (load ${loadavg()[0]!.toFixed(1)}): RSS ${mib(atStart)}${await memParts(s.pid)}`);
  const r0 = performance.now();
  const failed = await round(s.url, key, () => s.rssMiB(), s.pid);
  const roundS = (performance.now() - r0) / 1000;
  const afterRound = s.rssMiB();
  const pid = s.pid;
  const kids = childrenRssMiB(pid);
  console.log(
    `${label}: listening after ${startS.toFixed(1)} s; RSS at start ${mib(atStart)}, after a round of ${ROUTE_BENCH.length} routes ${mib(afterRound)} in ${roundS.toFixed(1)} s (load ${loadavg()[0]!.toFixed(1)}; peak ${mib(s.peakRssMiB())}, ${failed} non-200); tokenizer child: ${kids.pids.length ? `${kids.pids.join(",")} ${mib(kids.mib)}` : "none"}`,
  );
  // The tokenizer's child exits after IDLE_MS without work: the server's RSS stays, the child's goes.
  await new Promise((r) => setTimeout(r, IDLE_MS + 3000));
  const later = childrenRssMiB(pid);
  console.log(
    `${label}: ${((IDLE_MS + 3000) / 1000).toFixed(0)} s later: server RSS ${mib(s.rssMiB())} (peak ${mib(s.peakRssMiB())}); tokenizer child: ${later.pids.length ? `${later.pids.join(",")} ${mib(later.mib)}` : "exited"}`,
  );
  await s.stop();
}

async function seed(label: string, logs: number): Promise<number> {
  const t0 = performance.now();
  const r = await run(process.execPath, [CLI, "seed", "--logs", String(logs), "--json"], {
    env: { ...process.env, SPENDLENS_DATA_DIR: dir, DATABASE_URL: "" },
    maxBuffer: 1 << 24,
  });
  const s = (performance.now() - t0) / 1000;
  const out = JSON.parse(r.stdout) as Record<string, unknown> & { timings?: Record<string, number> };
  console.log(r.stderr.split("\n")[0]);
  const inserted = Number(out.logs_inserted ?? logs);
  const t = out.timings ?? {};
  const phases = Object.values(t).length
    ? `; phases (s): ${Object.entries(t)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`)
        .join(", ")}`
    : "";
  console.log(
    `${label}: ${logs} logs in ${s.toFixed(1)} s wall = ${(inserted / s).toFixed(0)} logs/s (the original's own ${Number(out.seconds).toFixed(1)} s)${phases}`,
  );
  const { timings: _t, ...rest } = out;
  console.log(`  ${JSON.stringify(rest)}`);
  return Number(out.logs_now ?? logs);
}

if (mode === "serve-only") {
  await serveAndMeasure(`start on the folder ${dir} as it is`);
  process.exit(0);
}
if (mode !== "only-fresh") {
  rmSync(dir, { recursive: true, force: true });
  await serveAndMeasure("fresh folder, first start (demo 50k)");
  await serveAndMeasure("restart on 50k");
  const now = await seed("seed into the folder holding 50k", big);
  await serveAndMeasure(`start on ${now}`);
}
if (mode === "fresh" || mode === "only-fresh") {
  rmSync(dir, { recursive: true, force: true });
  await seed("seed into a fresh folder", big);
}
rmSync(dir, { recursive: true, force: true });
