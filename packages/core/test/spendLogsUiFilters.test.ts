import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL, logsPage, prng, spendLogsUi, spendLogsUiInput, userScope } from "../src/internal.ts";
import { createTestDb, insertLogs, makeLog, type TestDb } from "../src/testing/index.ts";

/**
 * /spend/logs/ui with every filter the current LiteLLM UI sends: each page and total equal a
 * brute-force filter-and-sort of the rows the test wrote (totals above and below the direct-count
 * limit, so both ways of counting are covered).
 */

const rnd = prng(7);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
const logs = Array.from({ length: 1500 }, (_, i) => {
  const alias = pick(["alias-a", "alias-b", null]);
  const code = pick(["429", "500", null]);
  const meta: Record<string, unknown> = {};
  if (alias) meta.user_api_key_alias = alias;
  if (code) meta.error_information = { error_code: code };
  return makeLog({
    request_id: `ui-${String(i).padStart(5, "0")}`,
    startTime: new Date(
      Date.parse("2026-05-01T00:00:00Z") + Math.floor(rnd() * 3 * 86_400_000),
    ).toISOString(),
    spend: Math.floor(rnd() * 1000) / 100,
    prompt_tokens: Math.floor(rnd() * 100),
    completion_tokens: Math.floor(rnd() * 100),
    model: pick(["gpt-4o", "claude"]),
    model_id: pick(["d1", "d2"]),
    end_user: pick(["eu1", "eu2", null]),
    user: pick(["alice", "bob"]),
    status: pick(["success", "failure", null]) as string,
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

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
  await insertLogs(t.db, logs);
}, 120_000);
afterAll(async () => {
  await t?.drop();
});

type L = (typeof logs)[number];
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
) {
  const want = logs.filter((l) => inWindow(l) && keep(l));
  const cmp =
    sort ??
    ((a: L, b: L) =>
      a.startTime === b.startTime
        ? a.request_id < b.request_id
          ? 1
          : -1
        : a.startTime < b.startTime
          ? 1
          : -1);
  want.sort(cmp);
  const res = await spendLogsUi(
    t.db,
    scope,
    spendLogsUiInput.parse({ start_date: START, end_date: END, page_size: "100", page: "2", ...query }),
  );
  expect(res.total).toBe(want.length);
  expect(res.total_pages).toBe(Math.ceil(want.length / 100));
  expect(res.data.map((r) => r.request_id)).toEqual(want.slice(100, 200).map((l) => l.request_id));
}

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
        .sort((a, b) =>
          a.startTime === b.startTime
            ? a.request_id < b.request_id
              ? 1
              : -1
            : a.startTime < b.startTime
              ? 1
              : -1,
        )
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
    await check(
      { sort_by: "spend", sort_order: "asc" },
      () => true,
      (a, b) =>
        a.spend !== b.spend
          ? a.spend - b.spend
          : a.startTime !== b.startTime
            ? a.startTime < b.startTime
              ? -1
              : 1
            : a.request_id < b.request_id
              ? -1
              : 1,
    );
  });
  it("an internal user: own rows only, with filters", async () => {
    await check(
      { model: "claude" },
      (l) => l.user === "alice" && l.model === "claude",
      undefined,
      userScope("alice"),
    );
  });
  it("a bad sort_by is a 400 naming it", () => {
    const r = spendLogsUiInput.safeParse({ start_date: START, end_date: END, sort_by: "messages" });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["sort_by"]);
  });
});
