import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { AppRouter } from "@spendlens/api";
import { createTRPCClient, httpBatchStreamLink, httpLink } from "@trpc/client";
import { type ChildServer, startChildServer } from "./server.ts";
import { percentile, table } from "./stats.ts";

/**
 * `pnpm bench -- --heavy [--heavy-concurrency 8] [--heavy-days 366]`: concurrent big spend reports
 * against the real server (a child process, `spendlens serve` with its default limits) on DATABASE_URL,
 * through tRPC's streamed link, REST's streamed body, both at once, and tRPC's plain link (answered whole
 * but admitted through the heavy queue). Meanwhile /healthz is called every 50 ms. Prints, per phase:
 * answers by status, wall time, the server's peak RSS (sampled every 20 ms) and /healthz latency.
 * The ceiling asked: server ≤ 400 MiB RSS, /healthz under 100 ms.
 */

export interface HeavyBenchOptions {
  concurrency: number;
  days: number;
}

const log = (s: string) => process.stderr.write(`${s}\n`);
const day = (d: Date) => d.toISOString().slice(0, 10);

interface Probe {
  /** Latencies (ms) and statuses of the /healthz calls since the last reset. */
  take(): { ms: number[]; failed: number };
  stop(): Promise<void>;
}

/** The prober's loop, in its own process: the bench's clients parsing answers must not delay it. */
const PROBE_SCRIPT = `
const url = process.argv[1];
(async () => {
  for (;;) {
    const t0 = performance.now();
    let ok = 0;
    try {
      const r = await fetch(url + "/healthz");
      await r.arrayBuffer();
      ok = r.status === 200 ? 1 : 0;
    } catch {}
    process.stdout.write((performance.now() - t0).toFixed(2) + " " + ok + "\\n");
    await new Promise((r) => setTimeout(r, 50));
  }
})();
`;

function probeHealth(url: string): Probe {
  let ms: number[] = [];
  let failed = 0;
  const child = spawn(process.execPath, ["-e", PROBE_SCRIPT, url], { stdio: ["ignore", "pipe", "inherit"] });
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    for (const l of lines) {
      const [t, ok] = l.split(" ");
      ms.push(Number(t));
      if (ok !== "1") failed += 1;
    }
  });
  return {
    take() {
      const out = { ms, failed };
      ms = [];
      failed = 0;
      return out;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** CPU seconds the server process has used (user + system), from /proc. */
function serverCpuS(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

function sampleRss(server: ChildServer): { stop(): number } {
  let peak = server.rssMiB();
  const timer = setInterval(() => {
    const r = server.rssMiB();
    if (r > peak) peak = r;
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, server.rssMiB());
    },
  };
}

type Call = () => Promise<{ status: number; elements: number }>;

export async function runHeavyBench(databaseUrl: string, o: HeavyBenchOptions): Promise<void> {
  const masterKey = `sk-bench-${randomBytes(12).toString("hex")}`;
  const server = await startChildServer({
    DATABASE_URL: databaseUrl,
    SPENDLENS_MASTER_KEY: masterKey,
    SPENDLENS_LOG_LEVEL: "warn",
  });
  log(`server ${server.url} (pid ${server.pid}), RSS at start ${server.rssMiB().toFixed(0)} MiB`);
  const end = new Date();
  const input = { start_date: day(new Date(end.getTime() - (o.days - 1) * 86_400_000)), end_date: day(end) };
  const trpcUrl = `${server.url}/trpc`;
  const headers = () => ({ authorization: `Bearer ${masterKey}` });
  const streamed = createTRPCClient<AppRouter>({
    links: [httpBatchStreamLink({ url: trpcUrl, headers, maxItems: 1 })],
  });
  const whole = createTRPCClient<AppRouter>({ links: [httpLink({ url: trpcUrl, headers })] });
  const statusOf = (e: unknown) => (e as { data?: { httpStatus?: number } }).data?.httpStatus ?? 599;

  const viaTrpcStream: Call = async () => {
    try {
      const r = (await streamed.reports.spendReport.query(input)) as unknown as {
        data: AsyncIterable<unknown>;
      };
      let n = 0;
      for await (const _ of r.data) n += 1;
      return { status: 200, elements: n };
    } catch (e) {
      return { status: statusOf(e), elements: 0 };
    }
  };
  const viaRest: Call = async () => {
    const q = new URLSearchParams(input);
    const r = await fetch(`${server.url}/global/spend/report?${q}`, { headers: headers() });
    let bytes = 0;
    for await (const c of r.body as unknown as AsyncIterable<Uint8Array>) bytes += c.length;
    return { status: r.status, elements: bytes };
  };
  const viaTrpcWhole: Call = async () => {
    try {
      const r = await whole.reports.spendReport.query(input);
      return { status: 200, elements: r.data.length };
    } catch (e) {
      return { status: statusOf(e), elements: 0 };
    }
  };
  const n = o.concurrency;
  const phases: [string, Call[]][] = [
    [`tRPC httpBatchStreamLink ×${n}`, Array.from({ length: n }, () => viaTrpcStream)],
    [`REST streamed ×${n}`, Array.from({ length: n }, () => viaRest)],
    [
      `tRPC ×${n / 2} + REST ×${n / 2}`,
      Array.from({ length: n }, (_, i) => (i % 2 ? viaRest : viaTrpcStream)),
    ],
    [`tRPC httpLink (whole) ×${n}`, Array.from({ length: n }, () => viaTrpcWhole)],
  ];
  const probe = probeHealth(server.url);
  const rows: string[][] = [];
  try {
    // One untimed report first (warms the day cache the way a running server is warm).
    await viaRest();
    for (const [name, calls] of phases) {
      probe.take();
      const rss = sampleRss(server);
      const cpu0 = serverCpuS(server.pid);
      const own0 = process.cpuUsage();
      const t0 = performance.now();
      const answers = await Promise.all(calls.map((c) => c()));
      const wall = (performance.now() - t0) / 1000;
      const peak = rss.stop();
      const cpu = serverCpuS(server.pid) - cpu0;
      const own = process.cpuUsage(own0);
      const health = probe.take();
      const byStatus = new Map<number, number>();
      for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
      rows.push([
        name,
        [...byStatus].map(([s, c]) => `${c}×${s}`).join(" "),
        wall.toFixed(1),
        cpu.toFixed(1),
        ((own.user + own.system) / 1e6).toFixed(1),
        peak.toFixed(0),
        String(health.ms.length),
        percentile(health.ms, 50).toFixed(1),
        percentile(health.ms, 99).toFixed(1),
        Math.max(0, ...health.ms).toFixed(1),
        String(health.failed),
      ]);
      log(`${name}: done in ${wall.toFixed(1)} s`);
      const died = server.death();
      if (died) throw new Error(died);
    }
  } finally {
    await probe.stop();
    const peakAll = server.peakRssMiB();
    await server.stop();
    process.stdout.write(
      `\n${o.days}-day spend reports, ${n} at once (input ${input.start_date}..${input.end_date})\n\n${table(
        [
          "phase",
          "answers",
          "wall s",
          "server CPU s",
          "clients CPU s",
          "server RSS peak MiB",
          "/healthz calls",
          "p50 ms",
          "p99 ms",
          "max ms",
          "/healthz failed",
        ],
        rows,
      )}\nserver peak RSS over the whole run (VmHWM): ${peakAll.toFixed(0)} MiB\n`,
    );
  }
}
