import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { ALL, logsPage, prng, spendLogsUi, spendLogsUiInput, userScope } from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { insertLogs, makeLog } from "../src/testing/index.ts";

/**
 * /spend/logs/ui with every filter the current LiteLLM UI sends: each page and total equal a
 * brute-force filter-and-sort of the rows the test wrote (totals above and below the direct-count
 * limit, so both ways of counting are covered).
 */

const rnd = prng(7);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
/**
 * Key aliases as LiteLLM's logger writes them (the alias the key had then): k1 was "alias-a" and was
 * renamed "alias-c" on 2026-05-02 12:00; k2 took the name "alias-a" from then on; k3 is "alias-b";
 * logs without a key alias too.
 */
const RENAMED_AT = Date.parse("2026-05-02T12:00:00Z");
const aliasOf = (key: string, t: number): string | null =>
  key === "k1"
    ? t < RENAMED_AT
      ? "alias-a"
      : "alias-c"
    : key === "k2"
      ? t < RENAMED_AT
        ? "alias-d"
        : "alias-a"
      : key === "k3"
        ? "alias-b"
        : null;
const logs = Array.from({ length: 1500 }, (_, i) => {
  const at = Date.parse("2026-05-01T00:00:00Z") + Math.floor(rnd() * 3 * 86_400_000);
  const api_key = pick(["k1", "k2", "k3", "k4"]);
  const alias = aliasOf(api_key, at);
  const status = pick(["success", "failure", "failure", null]) as string;
  const code = status === "failure" ? pick(["429", "500", null]) : pick([null, null, "400"]);
  const meta: Record<string, unknown> = {};
  if (alias) meta.user_api_key_alias = alias;
  if (code) meta.error_information = { error_code: code };
  return makeLog({
    request_id: `ui-${String(i).padStart(5, "0")}`,
    api_key,
    startTime: new Date(at).toISOString(),
    spend: Math.floor(rnd() * 1000) / 100,
    prompt_tokens: Math.floor(rnd() * 100),
    completion_tokens: Math.floor(rnd() * 100),
    model: pick(["gpt-4o", "claude"]),
    model_id: pick(["d1", "d2"]),
    end_user: pick(["eu1", "eu2", null]),
    user: pick(["alice", "bob"]),
    status,
    metadata: JSON.stringify(meta),
    // Tags as LiteLLM may hold them: arrays (a repeated tag, a number), a non-array, none.
    request_tags: JSON.stringify(
      pick([
        ["prod"],
        ["prod", "team-x"],
        ["team-x", "team-x"],
        [7, "prod"],
        { prod: true },
        "prod",
        null,
        [],
      ]),
    ),
  });
});

const t = useTestDb({ setup: (t) => insertLogs(t.db, logs) });

type L = (typeof logs)[number];
/** The page's order: newest first, ties by request_id descending. */
const newestFirst = (a: L, b: L) =>
  a.startTime === b.startTime ? (a.request_id < b.request_id ? 1 : -1) : a.startTime < b.startTime ? 1 : -1;
/** A log's tags as text, brute force in JS: the elements of its array, anything else none. */
const tagsOf = (l: L): string[] => {
  const v = JSON.parse(l.request_tags ?? "null") as unknown;
  return Array.isArray(v)
    ? v.filter((x) => x !== null).map((x) => (typeof x === "string" ? x : JSON.stringify(x)))
    : [];
};
const START = "2026-05-01 06:00:00";
const END = "2026-05-03 18:00:00";
const inWindow = (l: L) =>
  l.startTime >= "2026-05-01T06:00:00.000Z" && l.startTime <= "2026-05-03T18:00:00.000Z";
const meta = (l: L) =>
  JSON.parse(l.metadata) as { user_api_key_alias?: string; error_information?: { error_code?: string } };

async function check(
  query: Record<string, string>,
  keep: (l: L) => boolean,
  sort?: (a: L, b: L) => number,
  scope = ALL,
  page = 2,
) {
  const want = logs.filter((l) => inWindow(l) && keep(l));
  want.sort(sort ?? newestFirst);
  const res = await spendLogsUi(
    t.db,
    scope,
    spendLogsUiInput.parse({
      start_date: START,
      end_date: END,
      page_size: "100",
      page: String(page),
      ...query,
    }),
  );
  expect(res.total).toBe(want.length);
  expect(res.total_pages).toBe(Math.ceil(want.length / 100));
  expect(res.data.map((r) => r.request_id)).toEqual(
    want.slice((page - 1) * 100, page * 100).map((l) => l.request_id),
  );
  return want.length;
}

/** `check` on page 1 (where a short answer's total needs no count) in the default order. */
const page1 = (query: Record<string, string>, keep: (l: L) => boolean, scope = ALL) =>
  check(query, keep, undefined, scope, 1);

/** Brute-force order of `sort_by=col&sort_order=dir`: the column, then startTime, then request_id. */
const byColumn =
  (col: "spend" | "total_tokens" | "model", dir: "asc" | "desc") =>
  (a: L, b: L): number => {
    const [x, y] = [a[col], b[col]];
    const c =
      x !== y
        ? x < y
          ? -1
          : 1
        : a.startTime !== b.startTime
          ? a.startTime < b.startTime
            ? -1
            : 1
          : a.request_id < b.request_id
            ? -1
            : 1;
    return dir === "asc" ? c : -c;
  };

describe("/spend/logs/ui filters and sort", () => {
  it("no filter (total above the direct-count limit)", async () => {
    await check({}, () => true);
  });
  it("status_filter=success keeps NULL status; failure", async () => {
    await check({ status_filter: "success" }, (l) => l.status !== "failure");
    await check({ status_filter: "failure" }, (l) => l.status === "failure");
  });
  it("model, model_id, end_user (counted from the rollups when large)", async () => {
    await check({ model: "gpt-4o" }, (l) => l.model === "gpt-4o");
    await check({ model: "gpt-4o", model_id: "d2" }, (l) => l.model === "gpt-4o" && l.model_id === "d2");
    await check({ end_user: "eu1" }, (l) => l.end_user === "eu1");
  });
  it("key_alias and error_code from metadata", async () => {
    await check({ key_alias: "alias-a" }, (l) => meta(l).user_api_key_alias === "alias-a");
    await check(
      { error_code: "429", status_filter: "failure" },
      (l) => meta(l).error_information?.error_code === "429" && l.status === "failure",
    );
  });
  it("tag: logs whose request_tags array holds it (non-arrays have none), with other filters", async () => {
    await check({ tag: "prod" }, (l) => tagsOf(l).includes("prod"));
    await check(
      { tag: "team-x", model: "claude" },
      (l) => tagsOf(l).includes("team-x") && l.model === "claude",
    );
    await check({ tag: "7" }, (l) => tagsOf(l).includes("7"), undefined, ALL);
    await check({ tag: "nope" }, () => false);
    await check(
      { tag: "prod" },
      (l) => l.user === "bob" && tagsOf(l).includes("prod"),
      undefined,
      userScope("bob"),
    );
  });
  it("logs.page's tag filter: every page by cursor and the total equal brute force", async () => {
    for (const [scope, who] of [
      [ALL, null],
      [userScope("alice"), "alice"],
    ] as const) {
      const want = logs
        .filter((l) => inWindow(l) && tagsOf(l).includes("prod") && (who === null || l.user === who))
        .sort(newestFirst)
        .map((l) => l.request_id);
      const got: string[] = [];
      let cursor: string | undefined;
      let total: number | null = null;
      do {
        const p = await logsPage(t.db, scope, {
          start_date: START,
          end_date: END,
          tag: "prod",
          limit: 100,
          include_total: true,
          ...(cursor ? { cursor } : {}),
        });
        total ??= p.total;
        got.push(...p.data.map((r) => r.request_id));
        cursor = p.next_cursor ?? undefined;
      } while (cursor);
      expect(got).toEqual(want);
      expect(total).toBe(want.length);
    }
  });
  it("sort_by spend asc, ties by startTime then request_id", async () => {
    await check({ sort_by: "spend", sort_order: "asc" }, () => true, byColumn("spend", "asc"));
  });
  it("an internal user: own rows only, with filters", async () => {
    await check(
      { model: "claude" },
      (l) => l.user === "alice" && l.model === "claude",
      undefined,
      userScope("alice"),
    );
  });
  it("status_filter: success is all minus failures (with other filters, scope, both page ends)", async () => {
    const failures = await page1({ status_filter: "failure" }, (l) => l.status === "failure");
    const successes = await page1({ status_filter: "success" }, (l) => l.status !== "failure");
    expect(failures).toBeGreaterThan(100);
    // The window's whole total is above the direct-count limit: the success count uses the rollups.
    expect(failures + successes).toBeGreaterThan(1000);
    await check(
      { status_filter: "success", model: "claude" },
      (l) => l.status !== "failure" && l.model === "claude",
    );
    await page1(
      { status_filter: "failure", end_user: "eu2" },
      (l) => l.status === "failure" && l.end_user === "eu2",
    );
    await check(
      { status_filter: "success" },
      (l) => l.user === "bob" && l.status !== "failure",
      undefined,
      userScope("bob"),
    );
    await check(
      { status_filter: "failure" },
      (l) => l.user === "alice" && l.status === "failure",
      undefined,
      userScope("alice"),
    );
    // A status other than success/failure is compared as it is.
    await page1({ status_filter: "pending" }, () => false);
  });
  it("error_code: failed logs' metadata code, with and without status, an unknown code is empty", async () => {
    const code = (l: L) => meta(l).error_information?.error_code;
    await page1({ error_code: "429" }, (l) => code(l) === "429");
    await page1({ error_code: "400" }, (l) => code(l) === "400");
    await page1(
      { error_code: "500", status_filter: "success" },
      (l) => code(l) === "500" && l.status !== "failure",
    );
    await page1({ error_code: "500" }, (l) => l.user === "bob" && code(l) === "500", userScope("bob"));
    expect(await page1({ error_code: "418" }, () => false)).toBe(0);
    expect(await page1({ error_code: "" }, () => false)).toBe(0);
  });
  it("key_alias is the alias the log was written with (a renamed key, a reused alias)", async () => {
    const alias = (l: L) => meta(l).user_api_key_alias;
    const n = await check({ key_alias: "alias-a" }, (l) => alias(l) === "alias-a");
    // Both keys: k1 before the rename, k2 after it.
    const keys = new Set(logs.filter((l) => inWindow(l) && alias(l) === "alias-a").map((l) => l.api_key));
    expect([...keys].sort()).toEqual(["k1", "k2"]);
    expect(n).toBeGreaterThan(100);
    await page1({ key_alias: "alias-c" }, (l) => alias(l) === "alias-c");
    await page1(
      { key_alias: "alias-a", status_filter: "success" },
      (l) => alias(l) === "alias-a" && l.status !== "failure",
    );
    await page1(
      { key_alias: "alias-b", status_filter: "failure" },
      (l) => l.user === "alice" && alias(l) === "alias-b" && l.status === "failure",
      userScope("alice"),
    );
    expect(await page1({ key_alias: "nobody" }, () => false)).toBe(0);
  });
  it("sort_by spend / total_tokens / model, both orders, alone and with filters", async () => {
    for (const col of ["spend", "total_tokens", "model"] as const)
      for (const dir of ["asc", "desc"] as const) {
        await check({ sort_by: col, sort_order: dir }, () => true, byColumn(col, dir), ALL, 1);
        await check({ sort_by: col, sort_order: dir }, () => true, byColumn(col, dir));
      }
    await check(
      { sort_by: "spend", sort_order: "desc", status_filter: "failure" },
      (l) => l.status === "failure",
      byColumn("spend", "desc"),
      ALL,
      1,
    );
    await check(
      { sort_by: "model", sort_order: "desc", key_alias: "alias-a" },
      (l) => meta(l).user_api_key_alias === "alias-a",
      byColumn("model", "desc"),
      ALL,
      1,
    );
    await check(
      { sort_by: "total_tokens", sort_order: "desc" },
      (l) => l.user === "alice",
      byColumn("total_tokens", "desc"),
      userScope("alice"),
    );
  });
  it("standalone mode: the filter and sort indexes exist on the log table (migration 0013)", async () => {
    const r = await sql<{ indexname: string }>`SELECT indexname FROM pg_indexes
        WHERE schemaname = 'public' AND tablename = 'LiteLLM_SpendLogs' AND indexname LIKE 'spendlens_logs_%'
        ORDER BY indexname`.execute(t.db);
    expect(r.rows.map((x) => x.indexname)).toEqual(
      expect.arrayContaining([
        "spendlens_logs_error_code_time_idx",
        "spendlens_logs_failure_time_idx",
        "spendlens_logs_key_alias_time_idx",
        "spendlens_logs_model_time_idx",
        "spendlens_logs_spend_time_idx",
        "spendlens_logs_tokens_time_idx",
      ]),
    );
  });
  it("a bad sort_by is a 400 naming it", () => {
    const r = spendLogsUiInput.safeParse({ start_date: START, end_date: END, sort_by: "messages" });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["sort_by"]);
  });
});
