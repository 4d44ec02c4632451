/**
 * The CLI's test harness: runs the real `spendlens` binary in its own process, and prepares a test
 * database on disk (PGlite or a real Postgres) that the binary opens with `t.cliArgs`.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type DbHandle, emptyConfig, openDatabase } from "@spendlens/core";
import type { DemoErrorLog, DemoLog } from "@spendlens/core/demo";
import {
  createTestDb,
  type Fixtures,
  insertErrorLogs,
  insertLogs,
  type TestDb,
  writeFixtures,
} from "@spendlens/core/testing";
import { startServer } from "@spendlens/server";
import pino from "pino";
import { afterAll, beforeAll, expect } from "vitest";

export const BIN = fileURLToPath(new URL("../bin/spendlens.mjs", import.meta.url));
const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `spendlens <args>`; a non-zero exit is a result, not a throw. */
export async function runCli(
  args: string[],
  opts: { env?: Record<string, string>; timeout?: number } = {},
): Promise<CliResult> {
  try {
    const r = await run(process.execPath, [BIN, ...args], {
      ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
      timeout: opts.timeout ?? 240_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout: string; stderr: string };
    return { code: x.code ?? 1, stdout: x.stdout, stderr: x.stderr };
  }
}

export interface CliDbOptions extends Fixtures {
  /** Logs and anything else, after the fixtures are written. */
  setup?: (t: TestDb) => Promise<void>;
  /** beforeAll's timeout (ms). */
  timeout?: number;
}

/**
 * A test database on disk for this file (beforeAll/afterAll), handed over to the CLI: PGlite allows one
 * process per folder, so the test's own handle is closed once the data is written. `h.t` exists once
 * beforeAll has run.
 */
export function useCliDb(o: CliDbOptions = {}): { readonly t: TestDb } {
  let t: TestDb | undefined;
  beforeAll(async () => {
    t = await createTestDb({ onDisk: true });
    await writeFixtures(t.db, o);
    await o.setup?.(t);
    if (t.engine === "pglite") await t.close();
  }, o.timeout);
  afterAll(() => t?.drop());
  return {
    get t() {
      if (!t) throw new Error("the test database is created in beforeAll");
      return t;
    },
  };
}

/**
 * Serves the test database over HTTP for `--url` runs: on PGlite the folder the CLI was handed is
 * opened again (the CLI's in-process runs must then wait until close()).
 */
export async function serveCliDb(
  t: TestDb,
  masterKey: string,
): Promise<{ url: string; close(): Promise<void> }> {
  const handle: DbHandle = t.engine === "pglite" ? await openDatabase({ dataDir: t.dataDir! }) : t;
  const srv = await startServer({
    services: { db: handle.db, handle, config: emptyConfig(), masterKey },
    port: 0,
    logger: pino({ level: "silent" }),
  });
  return {
    url: srv.url,
    async close() {
      await srv.close();
      if (t.engine === "pglite") await handle.close();
    },
  };
}

/**
 * The file's database (useCliDb) served over HTTP for the whole file: `cli` runs the binary with
 * `--url` and the master key, so a run costs the binary's start and one request, not an embedded
 * database's start in the child (the in-process path is run by skeleton, habits, streaming and
 * ingestBudgetsPricing). Declared after useCliDb, so it starts after the data is written and closes first.
 */
export function useCliServer(
  h: { readonly t: TestDb },
  masterKey: string,
): {
  cli(args: string[], opts?: { env?: Record<string, string> }): Promise<CliResult>;
  readonly url: string;
} {
  let srv: Awaited<ReturnType<typeof serveCliDb>> | undefined;
  beforeAll(async () => {
    srv = await serveCliDb(h.t, masterKey);
  });
  afterAll(() => srv?.close());
  const url = () => {
    if (!srv) throw new Error("the server starts in beforeAll");
    return srv.url;
  };
  return {
    cli: (args, opts) => runCli(["--url", url(), "--key", masterKey, ...args], opts),
    get url() {
      return url();
    },
  };
}

/**
 * The usual file: these logs (and error logs) in the file's database (useCliDb), served for the file
 * (useCliServer) with `masterKey`. `json(args)` runs `spendlens --json <args>`, expects nothing on stderr,
 * and parses what it printed.
 */
export function useCliLogs(masterKey: string, logs: DemoLog[], errorLogs: DemoErrorLog[] = []) {
  const h = useCliDb({
    setup: async (t) => {
      await insertLogs(t.db, logs);
      if (errorLogs.length) await insertErrorLogs(t.db, errorLogs);
    },
  });
  const { cli } = useCliServer(h, masterKey);
  const json = async (args: string[]): Promise<any> => {
    const r = await cli(["--json", ...args]);
    expect(r.stderr).toBe("");
    return JSON.parse(r.stdout);
  };
  return { h, cli, json };
}
