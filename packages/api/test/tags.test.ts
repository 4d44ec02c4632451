import { makeLog } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { apiHarness } from "./harness.ts";

const MASTER = "sk-master-tags";

// Window 2026-01-31 .. 2026-02-01. By hand, split: prod 3/3+1+4/2 = 4 (3 logs), team-a 3/3+4/2 = 3 (2),
// batch 3/3 = 1 (1); full: prod 8, team-a 7, batch 3. All time adds late (100/2) and early (50).
const logs = [
  makeLog({
    startTime: "2026-01-31T00:00:00.000Z",
    spend: 3,
    request_tags: '["prod","team-a","batch"]',
    user: "alice",
  }),
  makeLog({ startTime: "2026-02-01T23:59:59.999Z", spend: 1, request_tags: '["prod"]', user: "bob" }),
  makeLog({ startTime: "2026-02-01T05:00:00.000Z", spend: 2, request_tags: '"legacy"', user: "bob" }),
  makeLog({
    startTime: "2026-02-01T06:00:00.000Z",
    spend: 4,
    request_tags: '["team-a","prod"]',
    user: "alice",
  }),
  makeLog({ startTime: "2026-02-02T00:00:00.000Z", spend: 100, request_tags: '["prod","late"]' }),
  makeLog({ startTime: "2026-01-30T23:59:59.999Z", spend: 50, request_tags: '["early"]' }),
];
const range = { start_date: "2026-01-31", end_date: "2026-02-01" };

const { as, rest } = apiHarness({ master: MASTER, logs });

describe("tags", () => {
  it("spendTags: all time by default, a date range when given", async () => {
    const admin = await as(MASTER);
    expect(await admin.tags.spendTags()).toEqual([
      { individual_request_tag: "prod", log_count: 4, total_spend: 54 },
      { individual_request_tag: "early", log_count: 1, total_spend: 50 },
      { individual_request_tag: "late", log_count: 1, total_spend: 50 },
      { individual_request_tag: "team-a", log_count: 2, total_spend: 3 },
      { individual_request_tag: "batch", log_count: 1, total_spend: 1 },
    ]);
    expect(await admin.tags.spendTags({ ...range, attribution: "full" })).toEqual([
      { individual_request_tag: "prod", log_count: 3, total_spend: 8 },
      { individual_request_tag: "team-a", log_count: 2, total_spend: 7 },
      { individual_request_tag: "batch", log_count: 1, total_spend: 3 },
    ]);
  });

  it("allTagNames: every distinct tag; non-array tags are none", async () => {
    expect(await (await as(MASTER)).tags.allTagNames()).toEqual({
      tag_names: ["batch", "early", "late", "prod", "team-a"],
    });
  });

  it("globalSpendTags: split by default (totals add up to 8), full on request, a tag filter", async () => {
    const admin = await as(MASTER);
    expect(await admin.tags.globalSpendTags(range)).toEqual({
      spend_per_tag: [
        { name: "prod", spend: 4, log_count: 3 },
        { name: "team-a", spend: 3, log_count: 2 },
        { name: "batch", spend: 1, log_count: 1 },
      ],
    });
    expect(await admin.tags.globalSpendTags({ ...range, tags: "prod,batch", attribution: "full" })).toEqual({
      spend_per_tag: [
        { name: "prod", spend: 8, log_count: 3 },
        { name: "batch", spend: 3, log_count: 1 },
      ],
    });
  });

  it("REST: the original's fields; 400 names the field", async () => {
    expect(await rest(MASTER, "/global/spend/tags", { ...range, tags: "batch" })).toEqual({
      status: 200,
      body: { spend_per_tag: [{ name: "batch", spend: 1, log_count: 1 }] },
    });
    expect(await rest(MASTER, "/global/spend/all_tag_names", {})).toEqual({
      status: 200,
      body: { tag_names: ["batch", "early", "late", "prod", "team-a"] },
    });
    const lone = await rest(MASTER, "/spend/tags", { start_date: "2026-01-31" });
    expect(lone.status).toBe(400);
    expect((lone.body as { error: { param: string } }).error.param).toBe("end_date");
    const attr = await rest(MASTER, "/global/spend/tags", { ...range, attribution: "half" });
    expect((attr.body as { error: { param: string } }).error.param).toBe("attribution");
    const noDates = await rest(MASTER, "/global/spend/tags", {});
    expect((noDates.body as { error: { param: string } }).error.param).toBe("start_date");
  });
});
