/** Log rows for tests: plain defaults that a test overrides, and batched inserts (the demo's INSERTs). */
import type { Db } from "../db/connect.ts";
import type { DemoErrorLog, DemoLog } from "../demo/generate.ts";
import { insertErrorLogBatch, insertLogBatch } from "../demo/insert.ts";

let seq = 0;
/** A spend log with plain defaults; tests override what they assert on. */
export function makeLog(p: Partial<DemoLog> & { startTime: string }): DemoLog {
  seq += 1;
  return {
    request_id: p.request_id ?? `t-${process.pid}-${seq}`,
    call_type: "acompletion",
    api_key: "",
    spend: 0,
    total_tokens: (p.prompt_tokens ?? 0) + (p.completion_tokens ?? 0),
    prompt_tokens: 0,
    completion_tokens: 0,
    endTime: p.startTime,
    model: "",
    model_id: "",
    model_group: "",
    custom_llm_provider: "",
    api_base: "",
    user: "",
    metadata: "{}",
    cache_hit: "False",
    request_tags: "[]",
    team_id: null,
    end_user: null,
    status: "success",
    ...p,
  };
}

export async function insertLogs(db: Db, logs: DemoLog[]): Promise<void> {
  for (let i = 0; i < logs.length; i += 5000) await insertLogBatch(db, logs.slice(i, i + 5000));
}

export function makeErrorLog(p: Partial<DemoErrorLog> & { startTime: string }): DemoErrorLog {
  seq += 1;
  return {
    request_id: `e-${process.pid}-${seq}`,
    endTime: p.startTime,
    api_base: "",
    model_group: "",
    litellm_model_name: "",
    model_id: "",
    exception_type: "RateLimitError",
    status_code: "429",
    ...p,
  };
}

export async function insertErrorLogs(db: Db, logs: DemoErrorLog[]): Promise<void> {
  for (let i = 0; i < logs.length; i += 5000) await insertErrorLogBatch(db, logs.slice(i, i + 5000));
}

/** UTC day `n` days before now, as YYYY-MM-DD. */
export const daysAgo = (n: number, from = new Date()) =>
  new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()) - n * 86_400_000)
    .toISOString()
    .slice(0, 10);

/**
 * The report tests' window: the dates a route is asked for, START .. END (2026-01-30 .. 2026-02-02: it
 * crosses a month, so 'Feb 01' < 'Jan 30' as strings); whether a log's startTime falls in it (the end
 * day whole); and a random time on one of `days` days from 2026-01-29 (the window, a day before and after).
 */
export const reportWindow = {
  START: "2026-01-30",
  END: "2026-02-02",
  includes: (startTime: string): boolean =>
    Date.parse(startTime) >= Date.parse("2026-01-30T00:00:00.000Z") &&
    Date.parse(startTime) < Date.parse("2026-02-03T00:00:00.000Z"),
  randomTime(rnd: () => number, days: number): string {
    const day = Math.floor(rnd() * days);
    return new Date(
      Date.parse("2026-01-29T00:00:00.000Z") + day * 86_400_000 + Math.floor(rnd() * 86_400_000),
    ).toISOString();
  },
} as const;
