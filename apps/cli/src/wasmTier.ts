import { setFlagsFromString } from "node:v8";

/**
 * A one-shot command on the embedded folder (a report, `call`, `migrate`, a small `seed`) runs PGlite's
 * WebAssembly (9.9 MB) on V8's baseline compiler only (Liftoff), without tiering hot functions up to
 * TurboFan: in a process that lives a few seconds, the optimizing compiles cost more than they save.
 * Measured on this 2-core machine, a report on an existing folder: 2.96 -> 1.53 CPU-s (wall 9.5 -> 3.8 s);
 * `migrate` on a fresh folder (initdb and the migrations): 11.2 -> 8.3 CPU-s; `seed` of 10,000 logs: the
 * same either way (11.2 vs 10.6 CPU-s), so a bigger seed keeps the optimizing tier. Not for `serve`: a
 * long-running server's queries need TurboFan's code (a 13 CPU-s workload took 20 s with Liftoff only).
 * Set before PGlite compiles its module (the flag is read when a module is compiled); the CLI on Postgres
 * runs no WebAssembly, so it is set only for the embedded folder.
 */
export function baselineWasmOnly(): void {
  setFlagsFromString("--liftoff-only");
}

/** `seed --logs n` in process: up to this many, Liftoff only (measured a wash at 10,000, a gain below). */
export const BASELINE_SEED_MAX_LOGS = 10_000;
