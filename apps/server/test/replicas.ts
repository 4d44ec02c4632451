/**
 * Server processes for the multi-replica and fault tests: the real CLI binary (`spendlens serve`) in its
 * own process, on a database given by URL, on a free port. Not a test file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { hashToken } from "@spendlens/core/testing";
import { expect } from "vitest";

export const CLI_BIN = fileURLToPath(new URL("../../cli/bin/spendlens.mjs", import.meta.url));

export interface Replica {
  url: string;
  proc: ChildProcess;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string>;
  /** Whether the process is still running. */
  alive(): boolean;
  /** Everything the process wrote to stderr (its log lines and the listening banner). */
  stderr(): string;
  /** SIGTERM and wait for the exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/** Starts `spendlens serve --port 0` on `databaseUrl`; resolves once it listens. */
export function startReplica(databaseUrl: string, masterKey: string, env: Record<string, string> = {}) {
  const proc = spawn(process.execPath, [CLI_BIN, "serve", "--port", "0"], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      SPENDLENS_MASTER_KEY: masterKey,
      SPENDLENS_LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  let running = true;
  const exited = new Promise<number | string>((resolve) =>
    proc.on("exit", (code, signal) => {
      running = false;
      resolve(code ?? signal ?? "?");
    }),
  );
  return new Promise<Replica>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`replica did not start in 45 s:\n${err}`));
    }, 45_000);
    proc.stderr!.setEncoding("utf8");
    proc.stderr!.on("data", (d: string) => {
      err += d;
      const m = /spendlens is listening on (http:\/\/\S+)/.exec(err);
      if (m && running) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          proc,
          exited,
          alive: () => running,
          stderr: () => err,
          stop: async () => {
            if (!running) return;
            proc.kill("SIGTERM");
            const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
            await exited;
            clearTimeout(t);
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`replica exited (${code}) before listening:\n${err}`));
    });
  });
}

/** A spend log for the ingest route; spend is a multiple of 1/64 so sums are exact in any order. */
export interface WireLog {
  request_id: string;
  api_key: string;
  spend: number;
  startTime: string;
  model: string;
  user: string;
  team_id: string;
  end_user: string;
  prompt_tokens: number;
  completion_tokens: number;
}

/** One request; network errors are an answer with status 0 (the server or database may be gone). */
async function requestJson(
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<{ status: number; body: any }> {
  try {
    const r = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const text = await r.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: r.status, body: parsed };
  } catch {
    return { status: 0, body: null };
  }
}

/** POST a JSON body. */
export const postJson = (url: string, key: string, body: unknown, timeoutMs = 20_000) =>
  requestJson(
    url,
    {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    },
    timeoutMs,
  );

export const getJson = (url: string, key: string, timeoutMs = 20_000) =>
  requestJson(url, { headers: { authorization: `Bearer ${key}` } }, timeoutMs);

/** Sums `value` per `key` (null keys and empty strings skipped, as the counters do). */
export function sumBy<T>(
  rows: T[],
  key: (r: T) => string | null,
  value: (r: T) => number,
): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) {
    const k = key(r);
    if (!k) continue;
    m.set(k, (m.get(k) ?? 0) + value(r));
  }
  return m;
}

/**
 * The counters LiteLLM reads, after every increment was folded: nothing pending, and each key's, user's,
 * team's and end user's spend equal to its brute-force sum over `rows` (what was acknowledged or stored).
 */
export async function expectCountersEqualBruteForce(
  q: <R>(text: string) => Promise<R[]>,
  rows: {
    api_key: string;
    user: string | null;
    team_id: string | null;
    end_user: string | null;
    spend: number;
  }[],
): Promise<void> {
  expect((await q<{ n: number }>("SELECT count(*)::int AS n FROM spendlens.counter_deltas"))[0]!.n).toBe(0);
  // Table and column names are literals of this function, never input.
  const counter = async (table: string, id: string) =>
    new Map(
      (
        await q<{ id: string; spend: number }>(`SELECT "${id}" AS id, spend FROM "${table}" WHERE spend <> 0`)
      ).map((r) => [r.id, r.spend]),
    );
  const spend = (l: { spend: number }) => l.spend;
  expect(await counter("LiteLLM_VerificationToken", "token")).toEqual(
    sumBy(rows, (l) => hashToken(l.api_key), spend),
  );
  expect(await counter("LiteLLM_UserTable", "user_id")).toEqual(sumBy(rows, (l) => l.user, spend));
  expect(await counter("LiteLLM_TeamTable", "team_id")).toEqual(sumBy(rows, (l) => l.team_id, spend));
  expect(await counter("LiteLLM_EndUserTable", "user_id")).toEqual(sumBy(rows, (l) => l.end_user, spend));
}
