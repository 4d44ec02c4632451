import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The real server in a child process, so that its memory is its own: peak RSS is the kernel's VmHWM for
 * that process. It runs as `pnpm start` runs it: `spendlens serve` from the CLI's esbuild bundle (built
 * here first), not TypeScript compiled at run time (tsx's loader alone held ~100 MiB more).
 */
export interface ChildServer {
  url: string;
  pid: number;
  /** Why the server died, if it did: exit code or signal and the end of its stderr. */
  death(): string | null;
  /** Peak resident set size so far, in MiB (VmHWM). */
  peakRssMiB(): number;
  rssMiB(): number;
  /** CPU time the process has used so far (user + system), in ms (10 ms clock ticks on Linux). */
  cpuMs(): number;
  stop(): Promise<void>;
}

const SERVER_DIR = fileURLToPath(new URL("../../server/", import.meta.url));
const CLI_DIR = fileURLToPath(new URL("../../cli/", import.meta.url));

/** utime + stime of a process from /proc/<pid>/stat, in ms (assumes 100 clock ticks a second). */
function cpuMsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

function statusKiB(pid: number, field: "VmHWM" | "VmRSS"): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export async function startChildServer(
  env: Record<string, string>,
  startTimeoutMs = 120_000,
  /** Another checkout of spendlens whose server to run (its root folder): `--baseline`. Default: this one. */
  checkout?: string,
): Promise<ChildServer> {
  // SPENDLENS_BENCH_SERVER_NODE_ARGS: extra Node flags for the server process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
  const extra = (process.env.SPENDLENS_BENCH_SERVER_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);
  const cliDir = checkout ? `${checkout.replace(/\/+$/, "")}/apps/cli/` : CLI_DIR;
  const serverDir = checkout ? `${checkout.replace(/\/+$/, "")}/apps/server/` : SERVER_DIR;
  const built = spawnSync(process.execPath, [`${cliDir}build.mjs`], { stdio: "inherit" });
  if (built.status !== 0) throw new Error(`could not bundle the CLI (node ${cliDir}build.mjs)`);
  const child: ChildProcess = spawn(process.execPath, [...extra, `${cliDir}bin/spendlens.mjs`, "serve"], {
    cwd: serverDir,
    env: { ...process.env, ...env, SPENDLENS_PORT: "0", SPENDLENS_HOST: "127.0.0.1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${buf}`)), startTimeoutMs);
    child.stderr!.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${buf}`));
    });
  });
  // Keep draining stderr (warnings) so the child never blocks on a full pipe; keep its tail.
  let tail = "";
  child.stderr!.on("data", (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  });
  let died: string | null = null;
  child.once("exit", (code, signal) => {
    died = `server exited (${signal ?? code}):\n${tail}`;
  });
  const pid = child.pid!;
  return {
    url,
    pid,
    death: () => died,
    peakRssMiB: () => statusKiB(pid, "VmHWM") / 1024,
    rssMiB: () => statusKiB(pid, "VmRSS") / 1024,
    cpuMs: () => cpuMsOf(pid),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
      }),
  };
}
