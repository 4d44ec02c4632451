import { describe, expect, it } from "vitest";
import {
  ALL,
  allTagNames,
  globalSpendTags,
  globalSpendTagsInput,
  prng,
  spendTags,
  spendTagsInput,
  userScope,
} from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { insertLogs, makeLog, reportWindow } from "../src/testing/index.ts";

const { START, END, includes: inWindow } = reportWindow;

// request_tags as stored: arrays, duplicates, a null element, and old non-array values (string,
// object, JSON null, SQL NULL) that must count as no tags.
const TAG_VALUES: (string | null)[] = [
  "[]",
  '["prod"]',
  '["prod","team-a"]',
  '["prod","team-a","batch"]',
  '["team-b"]',
  '["batch","batch"]',
  '[null,"team-b"]',
  '"legacy-string-tag"',
  '{"tag":"obj"}',
  "null",
  null,
];
const USERS = ["alice", "bob"];

const rnd = prng(23);
const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
const logs = [
  // Boundaries: just outside carry huge spend under their own tags, so a leak shows.
  makeLog({ startTime: "2026-01-29T23:59:59.999Z", spend: 1000, request_tags: '["prod","outside-before"]' }),
  makeLog({ startTime: "2026-02-03T00:00:00.000Z", spend: 2000, request_tags: '["prod","outside-after"]' }),
  makeLog({
    startTime: "2026-01-30T00:00:00.000Z",
    spend: 0.5,
    request_tags: '["edge-first"]',
    user: "alice",
  }),
  makeLog({
    startTime: "2026-02-02T23:59:59.999Z",
    spend: 0.25,
    request_tags: '["edge-last","prod"]',
    user: "bob",
  }),
];
for (let i = 0; i < 300; i++) {
  const startTime = reportWindow.randomTime(rnd, 7); // 2026-01-29 .. 2026-02-04
  logs.push(
    makeLog({
      startTime,
      spend: Math.floor(rnd() * 1000) / 128,
      request_tags: pick(TAG_VALUES) as string,
      user: pick(USERS),
    }),
  );
}

const t = useTestDb({
  setup: async (t) => {
    await insertLogs(t.db, logs);
  },
});

type Log = (typeof logs)[number];
/** A log's tags, by the rule: distinct non-null elements of an array; anything else: none. */
function tagsOf(l: Log): string[] {
  const v: unknown = l.request_tags === null ? null : JSON.parse(l.request_tags);
  if (!Array.isArray(v)) return [];
  return [...new Set(v.filter((x) => x !== null).map(String))];
}

function brute(rows: Log[], attribution: "split" | "full") {
  const m = new Map<string, { spend: number; log_count: number }>();
  for (const l of rows) {
    const tags = tagsOf(l);
    for (const tag of tags) {
      const e = m.get(tag) ?? { spend: 0, log_count: 0 };
      e.spend += attribution === "split" ? l.spend / tags.length : l.spend;
      e.log_count += 1;
      m.set(tag, e);
    }
  }
  return m;
}

/** Exact names and counts; spend to 10 places (split sums differ in addition order); spend descending. */
function expectTags(
  actual: { name: string; spend: number; log_count: number }[],
  expected: Map<string, { spend: number; log_count: number }>,
) {
  expect(actual.map((a) => a.name).sort()).toEqual([...expected.keys()].sort());
  for (const a of actual) {
    expect(a.log_count).toBe(expected.get(a.name)!.log_count);
    expect(a.spend).toBeCloseTo(expected.get(a.name)!.spend, 10);
  }
  for (let i = 1; i < actual.length; i++)
    expect(actual[i - 1]!.spend).toBeGreaterThanOrEqual(actual[i]!.spend);
}

const win = logs.filter((l) => inWindow(l.startTime));

describe("spendTags (GET /spend/tags)", () => {
  it("all time by default, split attribution: tag totals add up to the spend of tagged requests", async () => {
    const r = await spendTags(t.db, ALL, {});
    const asTags = r.map((x) => ({
      name: x.individual_request_tag,
      spend: x.total_spend,
      log_count: x.log_count,
    }));
    expectTags(asTags, brute(logs, "split"));
    const tagged = logs.filter((l) => tagsOf(l).length > 0).reduce((s, l) => s + l.spend, 0);
    expect(r.reduce((s, x) => s + x.total_spend, 0)).toBeCloseTo(tagged, 8);
    // Non-array values are no tags, a null element is no tag, a duplicate counts once.
    const names = r.map((x) => x.individual_request_tag);
    expect(names).not.toContain("legacy-string-tag");
    expect(names).not.toContain("obj");
    const batchOnly = logs.filter((l) => l.request_tags === '["batch","batch"]').length;
    expect(batchOnly).toBeGreaterThan(0);
  });

  it("attribution=full gives each tag the whole spend of its requests (the original's figures)", async () => {
    const r = await spendTags(t.db, ALL, { attribution: "full" });
    expectTags(
      r.map((x) => ({ name: x.individual_request_tag, spend: x.total_spend, log_count: x.log_count })),
      brute(logs, "full"),
    );
    expect(Object.keys(r[0]!)).toEqual(["individual_request_tag", "log_count", "total_spend"]);
  });

  it("a date range includes the whole end day and nothing outside", async () => {
    const r = await spendTags(t.db, ALL, { start_date: START, end_date: END });
    const asTags = r.map((x) => ({
      name: x.individual_request_tag,
      spend: x.total_spend,
      log_count: x.log_count,
    }));
    expectTags(asTags, brute(win, "split"));
    expect(asTags.map((x) => x.name)).toContain("edge-first");
    expect(asTags.map((x) => x.name)).toContain("edge-last");
    expect(asTags.map((x) => x.name)).not.toContain("outside-before");
    expect(asTags.map((x) => x.name)).not.toContain("outside-after");
  });

  it("an internal user's scope sees only their own rows", async () => {
    const r = await spendTags(t.db, userScope("bob"), { start_date: START, end_date: END });
    expectTags(
      r.map((x) => ({ name: x.individual_request_tag, spend: x.total_spend, log_count: x.log_count })),
      brute(
        win.filter((l) => l.user === "bob"),
        "split",
      ),
    );
  });

  it("dates: both or neither; a lone date names the missing one", () => {
    const paths = (x: unknown) =>
      (spendTagsInput.safeParse(x).error?.issues ?? []).map((i) => i.path.join("."));
    expect(paths({ start_date: START })).toEqual(["end_date"]);
    expect(paths({ end_date: END })).toEqual(["start_date"]);
    expect(paths({ start_date: END, end_date: START })).toEqual(["end_date"]);
    expect(paths({ attribution: "half" })).toEqual(["attribution"]);
    expect(paths({})).toEqual([]);
  });
});

describe("allTagNames (GET /global/spend/all_tag_names)", () => {
  it("every distinct tag, sorted", async () => {
    const expected = [...new Set(logs.flatMap(tagsOf))].sort();
    expect(expected).toContain("outside-after");
    expect(await allTagNames(t.db, ALL)).toEqual({ tag_names: expected });
  });
});

describe("globalSpendTags (GET /global/spend/tags)", () => {
  const range = { start_date: START, end_date: END };

  it("every tag in the range by default (and with all-tags), split attribution", async () => {
    const expected = brute(win, "split");
    expectTags((await globalSpendTags(t.db, ALL, range)).spend_per_tag, expected);
    expectTags((await globalSpendTags(t.db, ALL, { ...range, tags: "all-tags" })).spend_per_tag, expected);
    expectTags(
      (await globalSpendTags(t.db, ALL, { ...range, tags: "prod,all-tags" })).spend_per_tag,
      expected,
    );
    expectTags((await globalSpendTags(t.db, ALL, { ...range, tags: "" })).spend_per_tag, expected);
  });

  it("a tag filter keeps the request's share over all its tags (filter does not re-split)", async () => {
    const all = brute(win, "split");
    const r = await globalSpendTags(t.db, ALL, { ...range, tags: "prod, batch,nope" });
    expectTags(r.spend_per_tag, new Map([...all].filter(([k]) => k === "prod" || k === "batch")));
    const arr = await globalSpendTags(t.db, ALL, { ...range, tags: ["team-a"] });
    expectTags(arr.spend_per_tag, new Map([...all].filter(([k]) => k === "team-a")));
  });

  it("attribution=full: the original's figures", async () => {
    const r = await globalSpendTags(t.db, ALL, { ...range, attribution: "full", tags: "prod,team-a" });
    expectTags(
      r.spend_per_tag,
      new Map([...brute(win, "full")].filter(([k]) => k === "prod" || k === "team-a")),
    );
    expect(Object.keys(r.spend_per_tag[0]!)).toEqual(["name", "spend", "log_count"]);
  });

  it("dates are required and checked", () => {
    const paths = (x: unknown) =>
      (globalSpendTagsInput.safeParse(x).error?.issues ?? []).map((i) => i.path.join("."));
    expect(paths({ end_date: END })).toEqual(["start_date"]);
    expect(paths({ start_date: "2024-01-01", end_date: "2025-06-01" })).toEqual(["end_date"]);
  });
});
