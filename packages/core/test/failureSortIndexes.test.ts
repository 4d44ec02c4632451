import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL, prng, spendLogsUi, spendLogsUiInput } from "../src/internal.ts";
import { createTestDb, insertLogs, makeLog, type TestDb } from "../src/testing/index.ts";

/**
 * /spend/logs/ui?status_filter=failure with a sort (migration 0018: partial (value, "startTime") indexes
 * of the failed logs, standalone mode): every page equals a brute-force filter-and-sort of the rows the
 * test wrote, both directions, with ties on the value and on (value, "startTime"), and the window's
 * edges cutting through the failures.
 */

const rnd = prng(18);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
const T0 = Date.parse("2026-06-01T00:00:00Z");
const logs = Array.from({ length: 900 }, (_, i) => {
  // Few distinct values and times on whole minutes, so equal values and equal (value, time) pairs occur.
  const at = T0 + Math.floor(rnd() * 3 * 24 * 60) * 60_000;
  const prompt = Math.floor(rnd() * 6);
  return makeLog({
    request_id: `fs-${String(i).padStart(4, "0")}`,
    startTime: new Date(at).toISOString(),
    spend: Math.floor(rnd() * 8) / 4,
    prompt_tokens: prompt,
    completion_tokens: Math.floor(rnd() * 4),
    model: pick(["alpha", "beta", "gamma"]),
    status: pick(["failure", "success", "success", null]) as string,
  });
});

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
  await insertLogs(t.db, logs);
}, 120_000);
afterAll(async () => {
  await t?.drop();
});

type L = (typeof logs)[number];
const START = "2026-06-01 07:13:00";
const END = "2026-06-03 16:40:00";
const inWindow = (l: L) =>
  l.startTime >= `${START.replace(" ", "T")}.000Z` && l.startTime <= `${END.replace(" ", "T")}.000Z`;

/** ORDER BY col dir, "startTime" dir, request_id dir (no NULL values in these columns). */
function brute(col: "spend" | "total_tokens" | "model", dir: "asc" | "desc"): string[] {
  const s = dir === "asc" ? 1 : -1;
  const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
  return logs
    .filter((l) => l.status === "failure" && inWindow(l))
    .sort(
      (a, b) =>
        s *
        (cmp(a[col] as string | number, b[col] as string | number) ||
          cmp(a.startTime, b.startTime) ||
          cmp(a.request_id, b.request_id)),
    )
    .map((l) => l.request_id);
}

describe("/spend/logs/ui failures sorted (migration 0018)", () => {
  it("every sort and direction, every page, equals the brute force", async () => {
    for (const col of ["spend", "total_tokens", "model"] as const)
      for (const dir of ["asc", "desc"] as const) {
        const want = brute(col, dir);
        expect(want.length).toBeGreaterThan(150);
        const got: string[] = [];
        for (let page = 1; ; page++) {
          const r = await spendLogsUi(
            t.db,
            ALL,
            spendLogsUiInput.parse({
              start_date: START,
              end_date: END,
              status_filter: "failure",
              sort_by: col,
              sort_order: dir,
              page: String(page),
              page_size: "40",
            }),
          );
          expect(r.total, `${col} ${dir}`).toBe(want.length);
          got.push(...r.data.map((x) => x.request_id));
          if (r.data.length < 40) break;
        }
        expect(got, `${col} ${dir}`).toEqual(want);
      }
  });

  it("standalone mode: the partial indexes hold only failed logs (0018, and 0020's key alias)", async () => {
    const r = await sql<{ indexname: string; indexdef: string }>`SELECT indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename = 'LiteLLM_SpendLogs'
          AND indexname IN ('spendlens_logs_failure_spend_time_idx', 'spendlens_logs_failure_tokens_time_idx',
            'spendlens_logs_failure_model_time_idx', 'spendlens_logs_failure_alias_time_idx')
        ORDER BY indexname`.execute(t.db);
    expect(r.rows.map((x) => x.indexname)).toEqual([
      "spendlens_logs_failure_alias_time_idx",
      "spendlens_logs_failure_model_time_idx",
      "spendlens_logs_failure_spend_time_idx",
      "spendlens_logs_failure_tokens_time_idx",
    ]);
    for (const x of r.rows) expect(x.indexdef).toMatch(/WHERE \(+status = 'failure'::text\)+$/);
  });
});
