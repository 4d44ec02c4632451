import { describe, expect, it } from "vitest";
import { schemaFacts } from "../src/db/schemaFacts.ts";
import { ALL, prng, spendLogsUi, spendLogsUiInput, userScope } from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { insertLogs, makeLog } from "../src/testing/index.ts";

/**
 * /spend/logs/ui with `sort_by=model`: in standalone mode the page reads each model's logs as its own
 * index range (logs/query.ts `queryByModel`). Every page of every walk equals a brute-force sort of the
 * rows written here: models of very different sizes, logs without a model (''), equal times (request_id
 * breaks the tie), a model with no log in the window, logs outside the window on both sides, deep
 * offsets, filters and an internal user's scope.
 */

const rnd = prng(11);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
// Lower-case ASCII names, so the JS comparison below is the database's collation order too.
// "" is a log without a model (LiteLLM's column is NOT NULL, default '').
const MODELS = ["a-small", "b-big", "b-big", "b-big", "c-mid", "c-mid", "z-rare", ""] as const;
const BASE = Date.parse("2026-03-01T00:00:00Z");
const logs = Array.from({ length: 900 }, (_, i) => {
  // Times on whole minutes over 6 days: many equal times, so the request_id tie-break is exercised.
  const at = BASE + Math.floor(rnd() * 6 * 1440) * 60_000;
  return makeLog({
    request_id: `ms-${String(i).padStart(4, "0")}`,
    api_key: pick(["k1", "k2"]),
    startTime: new Date(at).toISOString(),
    model: i === 7 ? "a-only-before" : pick(MODELS),
    user: pick(["alice", "bob"]),
    status: pick(["success", "failure", null]) as string,
  });
});
// One model whose every log is before the window: enumerated, but contributes no row.
logs[7]!.startTime = "2026-02-20T00:00:00.000Z";

const t = useTestDb({ setup: (t) => insertLogs(t.db, logs) });

type L = (typeof logs)[number];
const START = "2026-03-02 00:00:00";
const END = "2026-03-05 12:00:00";
const inWindow = (l: L) =>
  l.startTime >= "2026-03-02T00:00:00.000Z" && l.startTime <= "2026-03-05T12:00:00.000Z";

/** The order of `ORDER BY model dir, "startTime" dir, request_id dir`. */
const byModel =
  (dir: "asc" | "desc") =>
  (a: L, b: L): number => {
    const c =
      (a.model === b.model ? 0 : a.model < b.model ? -1 : 1) ||
      (a.startTime === b.startTime ? 0 : a.startTime < b.startTime ? -1 : 1) ||
      (a.request_id < b.request_id ? -1 : 1);
    return dir === "asc" ? c : -c;
  };

async function walk(
  dir: "asc" | "desc",
  keep: (l: L) => boolean,
  query: Record<string, string> = {},
  scope = ALL,
  pageSize = 37,
) {
  const want = logs.filter((l) => inWindow(l) && keep(l)).sort(byModel(dir));
  expect(want.length).toBeGreaterThan(pageSize); // more than one page
  const pages = Math.ceil(want.length / pageSize) + 1; // one empty page past the end
  for (let page = 1; page <= pages; page++) {
    const res = await spendLogsUi(
      t.db,
      scope,
      spendLogsUiInput.parse({
        start_date: START,
        end_date: END,
        page: String(page),
        page_size: String(pageSize),
        sort_by: "model",
        sort_order: dir,
        ...query,
      }),
    );
    expect(res.data.map((r) => r.request_id)).toEqual(
      want.slice((page - 1) * pageSize, page * pageSize).map((l) => l.request_id),
    );
    if (res.data.length > 0) expect(res.total).toBe(want.length);
  }
}

describe("/spend/logs/ui sort_by=model", () => {
  it("standalone mode has the (model, startTime) index, so pages go model by model", async () => {
    expect((await schemaFacts(t.db)).modelTimeIndex).toBe(true);
  });
  it("every page of the window, both orders, equals the brute-force sort", async () => {
    await walk("asc", () => true);
    await walk("desc", () => true);
  });
  it("with filters and an internal user's scope", async () => {
    await walk("asc", (l) => l.status === "failure", { status_filter: "failure" }, ALL, 11);
    await walk("desc", (l) => l.api_key === "k2", { api_key: "k2" }, ALL, 23);
    await walk("asc", (l) => l.user === "alice", {}, userScope("alice"), 29);
    await walk(
      "desc",
      (l) => l.user === "bob" && l.status !== "failure",
      { status_filter: "success" },
      userScope("bob"),
      13,
    );
  });
  it("a page with the largest page size and a deep page", async () => {
    await walk("desc", () => true, {}, ALL, 100);
    const want = logs.filter(inWindow).sort(byModel("asc"));
    const res = await spendLogsUi(
      t.db,
      ALL,
      spendLogsUiInput.parse({
        start_date: START,
        end_date: END,
        page: "7",
        page_size: "50",
        sort_by: "model",
        sort_order: "asc",
      }),
    );
    expect(res.data.map((r) => r.request_id)).toEqual(want.slice(300, 350).map((l) => l.request_id));
  });
});
