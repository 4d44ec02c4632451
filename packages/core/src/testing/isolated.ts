import type { ChildProcess } from "node:child_process";

/**
 * A test whose failure mode is a synchronous infinite loop runs its code in a child process: inside the
 * test process such a loop would block vitest's own timers and hang the run; in a child it is killed
 * after `timeoutMs` and the test fails. The child is a bundle of a TypeScript entry (`runBundled`,
 * bundleTs.ts), run by plain node.
 */
export interface IsolatedRun {
  code: number | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
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
