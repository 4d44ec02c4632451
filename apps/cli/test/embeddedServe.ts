import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BIN } from "./harness.ts";

/** `spendlens serve` on an embedded folder, as the embedded-mode CLI tests start it (real binary). */

/** This process's environment without a database URL or keys: the CLI and server use the folder. */
export const env = (): Record<string, string> => {
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) e[k] = v;
  delete e.DATABASE_URL;
  delete e.SPENDLENS_MASTER_KEY;
  delete e.SPENDLENS_API_KEY;
  return e;
};

export interface Started {
  server: ChildProcess;
  url: string;
  key: string;
  /** The server's (and its preparing child's) JSON log lines so far. */
  lines(): { pid: number; msg: string; logs?: number }[];
  stop(): Promise<void>;
}

const SERVER_DIR = fileURLToPath(new URL("../../server/", import.meta.url));

/**
 * `spendlens serve` on the folder, `demoLogs` demo logs for a folder that wants them; `startScript`: as
 * `pnpm start` runs it (apps/server's start script). Resolves once the server wrote where it listens.
 */
export async function serveFolder(dir: string, demoLogs: number, startScript = false): Promise<Started> {
  let log = "";
  const script = JSON.parse(readFileSync(join(SERVER_DIR, "package.json"), "utf8")).scripts.start as string;
  // `spendlens serve` here runs with PGlite's WebAssembly on V8's baseline tier only (--liftoff-only; the
  // preparing child is forked with the server's flags): these servers live a few seconds and answer a
  // handful of requests, and the tests check what they do (who prepares the folder, what it holds), not
  // how fast. TurboFan's tier-up of PGlite's 9.9 MB module is most of a short-lived PGlite process's CPU
  // (the server and its preparing child: 19.1 -> 12.4 CPU-s in embeddedServer.test.ts). `pnpm start`
  // (startScript) runs as apps/server's script says.
  const args = startScript ? ["-c", script] : ["--liftoff-only", BIN, "serve"];
  const server = spawn(startScript ? "sh" : process.execPath, args, {
    cwd: SERVER_DIR,
    env: {
      ...env(),
      SPENDLENS_DATA_DIR: dir,
      SPENDLENS_PORT: "0",
      SPENDLENS_DEMO_LOGS: String(demoLogs),
      SPENDLENS_LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout!.on("data", (b) => (log += b));
  server.stderr!.on("data", (b) => (log += b));
  const deadline = Date.now() + 300_000;
  // The server logs that it listens (JSON), writes server.json, then prints "spendlens is listening on
  // <url>": wait for that last line (a server.json left by an earlier start of the folder, or one being
  // written, is not yet this server's).
  while (!existsSync(join(dir, "server.json")) || !/spendlens is listening on \S+/.test(log)) {
    if (server.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    server,
    url: JSON.parse(readFileSync(join(dir, "server.json"), "utf8")).url,
    key: readFileSync(join(dir, "master_key"), "utf8").trim(),
    lines: () =>
      log
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l)),
    stop: async () => {
      if (server.exitCode !== null || server.signalCode !== null) return;
      server.kill("SIGTERM");
      await new Promise((r) => server.once("exit", r));
    },
  };
}
