/**
 * A vitest setup file (vitest.shared.ts adds it when SPENDLENS_TEST_CPU_LOG names a file): the CPU time
 * each test file costs its worker process and the child processes it waited for (servers, the CLI
 * binary), from /proc/self/stat (utime, stime, cutime, cstime), one JSON line per file. The Postgres
 * server's own work is not in it. Linux only; elsewhere it writes nothing.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, expect } from "vitest";

const out = process.env.SPENDLENS_TEST_CPU_LOG;
const TICK = 100; // clock ticks per second (USER_HZ on Linux)

function cpu(): { self: number; children: number } | null {
  if (!existsSync("/proc/self/stat")) return null;
  const s = readFileSync("/proc/self/stat", "utf8");
  // Fields after the command name (which may hold spaces): state is field 3, utime field 14.
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  const n = (i: number) => Number(f[i - 3]);
  return { self: (n(14) + n(15)) / TICK, children: (n(16) + n(17)) / TICK };
}

let start: ReturnType<typeof cpu> = null;
let t0 = 0;
let file = "";

beforeAll(() => {
  start = cpu();
  t0 = Date.now();
  file = expect.getState().testPath ?? "";
});

afterAll(() => {
  const end = cpu();
  if (!out || !start || !end) return;
  const line = {
    file,
    engine: process.env.SPENDLENS_TEST_ENGINE ?? "pglite",
    pid: process.pid,
    end: Date.now(),
    wall: (Date.now() - t0) / 1000,
    self: +(end.self - start.self).toFixed(2),
    children: +(end.children - start.children).toFixed(2),
  };
  appendFileSync(out, `${JSON.stringify(line)}\n`);
});
