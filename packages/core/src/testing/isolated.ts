import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

/**
 * Runs a TypeScript file in its own Node process (through tsx). For tests whose failure mode is a
 * synchronous infinite loop: inside the test process such a loop would block vitest's own timers and
 * hang the run; in a child it is killed after `timeoutMs` and the test fails.
 */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

export interface IsolatedRun {
  code: number | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

export function spawnTs(file: string, opts: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return spawn(process.execPath, ["--import", TSX, file, ...(opts.args ?? [])], {
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Runs `file` to its end, or kills it (SIGKILL) after `timeoutMs`. */
export function runTs(
  file: string,
  opts: { args?: string[]; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<IsolatedRun> {
  return awaitChild(spawnTs(file, opts), opts.timeoutMs);
}

/** A started child (stdout and stderr piped) to its end, or killed (SIGKILL) after `timeoutMs`. */
export function awaitChild(child: ChildProcess, timeoutMs: number): Promise<IsolatedRun> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut, stdout, stderr });
    });
  });
}
