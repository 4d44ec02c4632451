import { insertLogs, makeLog } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { useTestServer } from "../src/testing.ts";

const MASTER = "sk-master-tags-http";

const Q = "start_date=2026-01-31&end_date=2026-02-01";
const logs = [
  makeLog({ startTime: "2026-01-31T00:00:00.000Z", spend: 2, request_tags: '["a","b"]' }),
  makeLog({ startTime: "2026-02-01T23:59:59.999Z", spend: 1, request_tags: '["a"]' }),
  makeLog({ startTime: "2026-02-01T12:00:00.000Z", spend: 8, request_tags: '{"not":"an array"}' }),
  makeLog({ startTime: "2026-02-01T12:00:00.000Z", spend: 4, request_tags: '["b","c","d","e"]' }),
  makeLog({ startTime: "2026-02-02T00:00:00.000Z", spend: 16, request_tags: '["a","late"]' }),
  makeLog({ startTime: "2026-01-30T23:59:59.999Z", spend: 32, request_tags: '["early"]' }),
];

/** Brute force over the rows above: split or full spend and request count per tag in [from, to). */
function brute(from: string | null, to: string | null, attribution: "split" | "full") {
  const m = new Map<string, { spend: number; log_count: number }>();
  for (const l of logs) {
    if ((from && l.startTime < from) || (to && l.startTime >= to)) continue;
    const v: unknown = JSON.parse(l.request_tags);
    const tags = Array.isArray(v) ? [...new Set(v as string[])] : [];
    for (const tag of tags) {
      const e = m.get(tag) ?? { spend: 0, log_count: 0 };
      e.spend += attribution === "split" ? l.spend / tags.length : l.spend;
      e.log_count += 1;
      m.set(tag, e);
    }
  }
  return [...m.entries()].sort((x, y) => y[1].spend - x[1].spend || (x[0] < y[0] ? -1 : 1));
}
const FROM = "2026-01-31T00:00:00.000Z";
const TO = "2026-02-02T00:00:00.000Z";

/**
 * One answer per route over HTTP, equal to a brute force; ranges, attribution, tag filters, roles and
 * 400s are packages/api/test/tags.test.ts's and core's (test/tags.test.ts).
 */
const h = useTestServer({
  master: MASTER,
  setup: (t) => insertLogs(t.db, logs),
});
const get = h.get;

describe("GET /spend/tags", () => {
  it("all time: [{individual_request_tag, log_count, total_spend}], split by default", async () => {
    const r = await get("/spend/tags");
    expect(r.status).toBe(200);
    expect(r.body).toEqual(
      brute(null, null, "split").map(([tag, v]) => ({
        individual_request_tag: tag,
        log_count: v.log_count,
        total_spend: v.spend,
      })),
    );
  });
});

describe("GET /global/spend/all_tag_names", () => {
  it("answers {tag_names}", async () => {
    expect((await get("/global/spend/all_tag_names")).body).toEqual({
      tag_names: ["a", "b", "c", "d", "e", "early", "late"],
    });
  });
});

describe("GET /global/spend/tags", () => {
  it("answers {spend_per_tag:[{name, spend, log_count}]}; split totals add up to the tagged spend", async () => {
    const r = await get(`/global/spend/tags?${Q}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      spend_per_tag: brute(FROM, TO, "split").map(([name, v]) => ({
        name,
        spend: v.spend,
        log_count: v.log_count,
      })),
    });
    const total = r.body.spend_per_tag.reduce((s: number, x: { spend: number }) => s + x.spend, 0);
    expect(total).toBe(2 + 1 + 4);
  });
});
