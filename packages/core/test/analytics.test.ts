import { describe, expect, it } from "vitest";
import { type AnalyticsQueryInput, analyticsQuery } from "../src/analytics/analytics.ts";
import { bucketsFor } from "../src/analytics/zones.ts";
import { ALL, type Scope, userScope } from "../src/scope.ts";
import {
  type BruteQuery,
  brute,
  KEYS,
  keyedRows,
  labelOf,
  type Measures,
  makeAnalyticsLogs,
  writeAnalyticsLogs,
} from "../src/testing/analytics.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { errorOf, insertLogs, makeLog } from "../src/testing/index.ts";

const logs = makeAnalyticsLogs(700);

const t = useTestDb({
  setup: async (t) => {
    await writeAnalyticsLogs(t.db, logs);
  },
});

const run = (input: AnalyticsQueryInput, scope: Scope = ALL) => analyticsQuery(t.db, scope, input);

function expectSame(actual: Map<string, Measures>, expected: Map<string, Measures>) {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [k, e] of expected) {
    const a = actual.get(k)!;
    expect({ k, requests: a.requests }).toEqual({ k, requests: e.requests });
    expect(a.spend).toBeCloseTo(e.spend, 9);
    expect(a.prompt_tokens).toBe(e.prompt_tokens);
    expect(a.completion_tokens).toBe(e.completion_tokens);
    expect(a.total_tokens).toBe(e.total_tokens);
  }
}

/** Runs a query and compares every group with the brute force over the same window. */
async function check(input: AnalyticsQueryInput, q: Omit<BruteQuery, "dims">, scope: Scope = ALL) {
  const out = await run(input, scope);
  const dims = (typeof input.dims === "string" ? input.dims.split(",") : (input.dims ?? [])).filter(
    (d) => !["hour", "day", "week", "month"].includes(d),
  );
  expect(out.start).toBe(new Date(q.from).toISOString());
  expect(out.end).toBe(new Date(q.to).toISOString());
  const expected = brute(logs, { ...q, dims });
  expect(expected.size).toBeGreaterThan(0);
  expectSame(keyedRows(out.rows, dims, q.bucket), expected);
  // Every row's bucket_start is an instant whose own label (Intl) is the row's label.
  if (q.bucket) {
    for (const r of out.rows)
      expect(labelOf(q.bucket, q.tz ?? "UTC", Date.parse(r.bucket_start as string))).toBe(r[q.bucket]);
  }
  return out;
}

describe("analytics query: UTC, through the daily rollups", () => {
  it("day buckets by model_group over whole days equal the brute force", async () => {
    const out = await check(
      { dims: "model_group,day", start: "2026-02-25", end: "2026-03-20" },
      { bucket: "day", from: "2026-02-25T00:00:00Z", to: "2026-03-21T00:00:00Z" },
    );
    expect(out.source).toBe("rollups");
    expect(out.bucket).toBe("day");
    expect(out.timezone).toBe("UTC");
    // Rows come ordered by bucket, then dimension.
    const order = out.rows.map((r) => `${r.bucket_start}|${r.model_group}`);
    expect(order).toEqual([...order].sort());
    expect(out.rows[0]).toEqual(
      expect.objectContaining({ day: "2026-02-25", bucket_start: "2026-02-25T00:00:00.000Z" }),
    );
  });

  it("partial days at both ends (ISO instants) come from the raw logs, still exact", async () => {
    const out = await check(
      {
        dims: ["team", "provider"],
        bucket: "day",
        start: "2026-03-01T06:30:00Z",
        end: "2026-03-09T18:00:00.5+00:00",
      },
      { bucket: "day", from: "2026-03-01T06:30:00Z", to: "2026-03-09T18:00:00.500Z" },
    );
    expect(out.source).toBe("rollups");
  });

  it("week buckets start on Monday and month buckets on the 1st, summed from days", async () => {
    const w = await check(
      { dims: "week,api_key", start: "2026-02-20", end: "2026-04-09" },
      { bucket: "week", from: "2026-02-20T00:00:00Z", to: "2026-04-10T00:00:00Z" },
    );
    expect(w.source).toBe("rollups");
    expect([...new Set(w.rows.map((r) => r.week))]).toEqual([
      "2026-02-16",
      "2026-02-23",
      "2026-03-02",
      "2026-03-09",
      "2026-03-16",
      "2026-03-23",
      "2026-03-30",
      "2026-04-06",
    ]);
    const m = await check(
      { dims: "month,organization,user", start: "2026-02-20", end: "2026-04-09" },
      { bucket: "month", from: "2026-02-20T00:00:00Z", to: "2026-04-10T00:00:00Z" },
    );
    expect(m.source).toBe("rollups");
    expect([...new Set(m.rows.map((r) => r.month))]).toEqual(["2026-02-01", "2026-03-01", "2026-04-01"]);
    expect(m.rows.find((r) => r.month === "2026-02-01")!.bucket_start).toBe("2026-02-01T00:00:00.000Z");
  });

  it("no dimensions and no bucket: one row of totals", async () => {
    const out = await check(
      { start: "2026-02-01", end: "2026-04-30" },
      { from: "2026-02-01T00:00:00Z", to: "2026-05-01T00:00:00Z" },
    );
    expect(out.rows).toHaveLength(1);
    expect(out.rows[0]!.requests).toBe(logs.length);
  });

  it("a zone at offset 0 all window long (London in winter) also uses the rollups", async () => {
    const out = await check(
      { dims: "day,model", timezone: "Europe/London", start: "2026-02-21", end: "2026-03-10" },
      { bucket: "day", tz: "Europe/London", from: "2026-02-21T00:00:00Z", to: "2026-03-11T00:00:00Z" },
    );
    expect(out.source).toBe("rollups");
    expect(out.timezone).toBe("Europe/London");
  });
});

describe("analytics query: hours and other zones, from the raw logs", () => {
  it("hour buckets in UTC", async () => {
    const out = await check(
      { dims: "hour,model_group", start: "2026-03-27", end: "2026-03-30" },
      { bucket: "hour", from: "2026-03-27T00:00:00Z", to: "2026-03-31T00:00:00Z" },
    );
    expect(out.source).toBe("raw_logs");
    expect(out.rows[0]!.hour).toMatch(/^2026-03-27T\d\d:00:00\+00:00$/);
  });

  it("Europe/Paris day buckets across the DST change (2026-03-29 is a 23-hour day)", async () => {
    const out = await check(
      { dims: "day", timezone: "Europe/Paris", start: "2026-03-28", end: "2026-03-30" },
      // By hand: 2026-03-28 00:00 CET = 03-27 23:00Z; 2026-03-31 00:00 CEST = 03-30 22:00Z.
      { bucket: "day", tz: "Europe/Paris", from: "2026-03-27T23:00:00Z", to: "2026-03-30T22:00:00Z" },
    );
    expect(out.source).toBe("raw_logs");
    expect(out.rows.map((r) => [r.day, r.bucket_start])).toEqual([
      ["2026-03-28", "2026-03-27T23:00:00.000Z"],
      ["2026-03-29", "2026-03-28T23:00:00.000Z"],
      ["2026-03-30", "2026-03-29T22:00:00.000Z"],
    ]);
  });

  it("Europe/Paris hour buckets: 01:00 CET is followed by 03:00 CEST", async () => {
    const out = await check(
      {
        dims: ["hour", "tag"],
        timezone: "Europe/Paris",
        start: "2026-03-28T22:00:00Z",
        end: "2026-03-29T03:00:00Z",
      },
      { bucket: "hour", tz: "Europe/Paris", from: "2026-03-28T22:00:00Z", to: "2026-03-29T03:00:00Z" },
    );
    const hours = [...new Set(out.rows.map((r) => `${r.hour} ${r.bucket_start}`))];
    for (const h of hours) expect(h).not.toMatch(/T02:00/);
    // The edge logs at 00:59:59.999Z and 01:00Z fall on either side of the jump.
    const total = await run({
      dims: "hour",
      timezone: "Europe/Paris",
      start: "2026-03-29T00:00:00Z",
      end: "2026-03-29T02:00:00Z",
    });
    expect(total.rows.map((r) => [r.hour, r.bucket_start])).toEqual([
      ["2026-03-29T01:00:00+01:00", "2026-03-29T00:00:00.000Z"],
      ["2026-03-29T03:00:00+02:00", "2026-03-29T01:00:00.000Z"],
    ]);
  });

  it("Asia/Kolkata (+05:30) day and hour buckets", async () => {
    const d = await check(
      { dims: "day,end_user", timezone: "Asia/Kolkata", start: "2026-03-27", end: "2026-03-29" },
      { bucket: "day", tz: "Asia/Kolkata", from: "2026-03-26T18:30:00Z", to: "2026-03-29T18:30:00Z" },
    );
    expect(d.source).toBe("raw_logs");
    expect(d.rows.find((r) => r.day === "2026-03-29")!.bucket_start).toBe("2026-03-28T18:30:00.000Z");
    const h = await check(
      { dims: "hour", timezone: "asia/kolkata", start: "2026-03-28T12:00:00Z", end: "2026-03-29T00:00:00Z" },
      { bucket: "hour", tz: "Asia/Kolkata", from: "2026-03-28T12:00:00Z", to: "2026-03-29T00:00:00Z" },
    );
    expect(h.timezone).toBe("asia/kolkata");
    for (const r of h.rows) expect(r.bucket_start).toMatch(/:30:00\.000Z$/);
  });

  it("week and month buckets in a zone with DST (America/New_York)", async () => {
    const w = await check(
      { dims: "week,team", timezone: "America/New_York", start: "2026-02-20", end: "2026-04-05" },
      { bucket: "week", tz: "America/New_York", from: "2026-02-20T05:00:00Z", to: "2026-04-06T04:00:00Z" },
    );
    expect(w.source).toBe("raw_logs");
    const m = await check(
      { dims: "month", timezone: "America/New_York", start: "2026-02-20", end: "2026-04-05" },
      { bucket: "month", tz: "America/New_York", from: "2026-02-20T05:00:00Z", to: "2026-04-06T04:00:00Z" },
    );
    expect(m.rows.map((r) => [r.month, r.bucket_start])).toEqual([
      ["2026-02-01", "2026-02-01T05:00:00.000Z"],
      ["2026-03-01", "2026-03-01T05:00:00.000Z"],
      ["2026-04-01", "2026-04-01T04:00:00.000Z"],
    ]);
  });
});

describe("analytics query: tags, filters, order and limit", () => {
  it("tags split (default) add up to the spend of tagged logs; full gives each tag the whole spend", async () => {
    const window = { from: "2026-02-20T00:00:00Z", to: "2026-04-10T00:00:00Z" };
    const split = await check({ dims: "tag", start: "2026-02-20", end: "2026-04-09" }, window);
    await check(
      { dims: "tag,day", start: "2026-02-20", end: "2026-04-09", attribution: "full" },
      { ...window, bucket: "day", attribution: "full" },
    );
    await check(
      {
        dims: "tag,hour",
        timezone: "Asia/Kolkata",
        start: "2026-03-20",
        end: "2026-03-31",
        attribution: "split",
      },
      { from: "2026-03-19T18:30:00Z", to: "2026-03-31T18:30:00Z", bucket: "hour", tz: "Asia/Kolkata" },
    );
    // Non-array tags ('{"not":"an array"}', '"x"', 5) are no tags: "x" only counts real arrays.
    const arrayTagged = logs.filter(
      (l) => Array.isArray(JSON.parse(l.request_tags)) && l.request_tags !== "[]",
    );
    const sumSplit = split.rows.reduce((s, r) => s + (r.spend as number), 0);
    expect(sumSplit).toBeCloseTo(
      arrayTagged.reduce((s, l) => s + l.spend, 0),
      9,
    );
  });

  it("filters: any-of lists, raw sk- keys hashed, organization, tag filter, a JSON null", async () => {
    const window = { from: "2026-02-20T00:00:00Z", to: "2026-04-10T00:00:00Z" };
    await check(
      {
        dims: "model,day",
        start: "2026-02-20",
        end: "2026-04-09",
        model_group: "g1,g3",
        api_key: "sk-analytics-a",
      },
      { ...window, bucket: "day", filters: { model_group: ["g1", "g3"], api_key: [KEYS.a] } },
    );
    await check(
      { dims: "organization,team", start: "2026-02-20", end: "2026-04-09", organization: ["o1", null] },
      { ...window, filters: { organization: ["o1", null] } },
    );
    await check(
      {
        dims: "provider",
        timezone: "Europe/Paris",
        bucket: "week",
        start: "2026-02-20",
        end: "2026-04-09",
        tag: "y",
      },
      {
        from: "2026-02-19T23:00:00Z",
        to: "2026-04-09T22:00:00Z",
        bucket: "week",
        tz: "Europe/Paris",
        filters: { tag: ["y"] },
      },
    );
    await check(
      { dims: "user", start: "2026-02-20", end: "2026-04-09", end_user: "e2", api_base: ["https://b"] },
      { ...window, filters: { end_user: ["e2"], api_base: ["https://b"] } },
    );
  });

  it("order_by a measure with a limit: the top groups, and truncated says more exist", async () => {
    const e = brute(logs, {
      dims: ["model", "team"],
      from: "2026-02-20T00:00:00Z",
      to: "2026-04-10T00:00:00Z",
    });
    const top = [...e.entries()].sort((a, b) => b[1].spend - a[1].spend).slice(0, 3);
    const out = await run({
      dims: "model,team",
      start: "2026-02-20",
      end: "2026-04-09",
      order_by: "spend",
      limit: 3,
    });
    expect(out.truncated).toBe(true);
    expect(out.rows.map((r) => `${r.model}|${r.team ?? "∅"}`)).toEqual(top.map(([k]) => k));
    const asc = await run({
      dims: "model_group",
      start: "2026-02-20",
      end: "2026-04-09",
      order_by: "requests",
      order: "asc",
      limit: 10,
    });
    expect(asc.truncated).toBe(false);
    const req = asc.rows.map((r) => r.requests as number);
    expect(req).toEqual([...req].sort((a, b) => a - b));
    expect(req.reduce((a, b) => a + b, 0)).toBe(logs.length);
  });

  it("logs written a moment ago are counted (rollups and raw logs alike)", async () => {
    const before = await run({ dims: "day", start: "2026-04-20", end: "2026-04-21" });
    expect(before.rows).toEqual([]);
    await insertLogs(t.db, [
      makeLog({ startTime: "2026-04-20T10:00:00.000Z", spend: 1.5, model_group: "late" }),
      makeLog({ startTime: "2026-04-21T23:59:59.999Z", spend: 2.25, model_group: "late" }),
    ]);
    const after = await run({ dims: "day,model_group", start: "2026-04-20", end: "2026-04-21" });
    expect(after.source).toBe("rollups");
    expect(after.rows.map((r) => [r.day, r.model_group, r.spend, r.requests])).toEqual([
      ["2026-04-20", "late", 1.5, 1],
      ["2026-04-21", "late", 2.25, 1],
    ]);
    const paris = await run({
      dims: "day",
      timezone: "Europe/Paris",
      start: "2026-04-20",
      end: "2026-04-21",
    });
    // 2026-04-21T23:59:59.999Z is 2026-04-22 01:59 in Paris: outside the window.
    expect(paris.rows.map((r) => [r.day, r.spend])).toEqual([["2026-04-20", 1.5]]);
  });
});

describe("analytics query: internal users and validation", () => {
  it("an internal user gets only their own rows, on both paths", async () => {
    const alice = userScope("alice");
    const window = { from: "2026-02-20T00:00:00Z", to: "2026-04-10T00:00:00Z" };
    const a = await check(
      { dims: "model,day", start: "2026-02-20", end: "2026-04-09" },
      { ...window, bucket: "day", user: "alice" },
      alice,
    );
    expect(a.source).toBe("rollups");
    await check(
      { dims: "user,hour", timezone: "Asia/Kolkata", start: "2026-03-27", end: "2026-03-29", user: "alice" },
      {
        from: "2026-03-26T18:30:00Z",
        to: "2026-03-29T18:30:00Z",
        bucket: "hour",
        tz: "Asia/Kolkata",
        user: "alice",
      },
      alice,
    );
    await check({ dims: "tag", start: "2026-02-20", end: "2026-04-09" }, { ...window, user: "alice" }, alice);
  });

  it("an internal user naming another user is a 403", async () => {
    const e = await errorOf(
      run({ start: "2026-03-01", end: "2026-03-02", user: "alice,bob" }, userScope("alice")),
    );
    expect(e.code).toBe("FORBIDDEN");
    const e2 = await errorOf(
      run({ start: "2026-03-01", end: "2026-03-02", user: [null] }, userScope("alice")),
    );
    expect(e2.code).toBe("FORBIDDEN");
  });

  it("bad input is a 400 naming the field", async () => {
    const cases: [AnalyticsQueryInput, string][] = [
      [{ start: "2026-03-01", end: "2026-03-02", timezone: "Mars/Olympus_Mons" }, "timezone"],
      [{ start: "2026-03-01", end: "2026-03-02", timezone: "+05:30" }, "timezone"],
      [{ start: "2026-03-01", end: "2026-02-28" }, "end"],
      [{ start: "2026-03-01T00:00:00Z", end: "2026-03-01T00:00:00Z" }, "end"],
      [{ start: "2026-03-01", end: "2027-03-02", bucket: "day" }, "end"],
      [{ start: "2026-03-01", end: "2027-03-02T01:00:00.001Z", bucket: "day" }, "end"],
      [{ start: "2026-03-01", end: "2026-04-01", bucket: "hour" }, "end"],
      [{ start: "2026-02-30", end: "2026-03-02" }, "start"],
      [{ start: "2026-03-01T10:00:00", end: "2026-03-02" }, "start"],
      [{ end: "2026-03-02" } as AnalyticsQueryInput, "start"],
      [{ start: "2026-03-01", end: "2026-03-02", dims: "model,colour" }, "dims.1"],
      [{ start: "2026-03-01", end: "2026-03-02", dims: "day,hour" }, "dims"],
      [{ start: "2026-03-01", end: "2026-03-02", dims: "day", bucket: "week" }, "bucket"],
      [{ start: "2026-03-01", end: "2026-03-02", bucket: "minute" as "hour" }, "bucket"],
      [{ start: "2026-03-01", end: "2026-03-02", limit: 0 }, "limit"],
      [{ start: "2026-03-01", end: "2026-03-02", limit: "10001" as unknown as number }, "limit"],
      [{ start: "2026-03-01", end: "2026-03-02", order_by: "user" as "spend" }, "order_by"],
      [{ start: "2026-03-01", end: "2026-03-02", attribution: "half" as "full" }, "attribution"],
      [{ start: "2026-03-01", end: "2026-03-02", model: "" }, "model"],
    ];
    for (const [input, field] of cases) {
      const e = await errorOf(run(input)).catch((x) => {
        throw new Error(`${JSON.stringify(input)}: ${x}`);
      });
      expect({ input, code: e.code, field: e.field }).toEqual({ input, code: "BAD_REQUEST", field });
    }
    // The longest windows are allowed.
    await run({ start: "2026-03-01", end: "2026-03-31", bucket: "hour" });
    await run({ start: "2025-04-10", end: "2026-04-10", bucket: "day" });
  });
});

describe("bucket starts (zones.ts), checked by hand", () => {
  const show = (unit: "hour" | "day", tz: string, from: string, to: string) =>
    bucketsFor(unit, tz, Date.parse(from), Date.parse(to)).map((b) => [
      new Date(b.start).toISOString(),
      b.label,
    ]);

  it("a fall-back repeats an hour: two buckets with the same local hour and different offsets", () => {
    expect(show("hour", "Europe/Paris", "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z")).toEqual([
      ["2026-10-25T00:00:00.000Z", "2026-10-25T02:00:00+02:00"],
      ["2026-10-25T01:00:00.000Z", "2026-10-25T02:00:00+01:00"],
    ]);
  });

  it("a skipped midnight (Asia/Beirut, 2026-03-29 00:00 → 01:00) starts the day at 01:00", () => {
    expect(show("day", "Asia/Beirut", "2026-03-28T12:00:00Z", "2026-03-29T23:00:00Z")).toEqual([
      ["2026-03-27T22:00:00.000Z", "2026-03-28"],
      ["2026-03-28T22:00:00.000Z", "2026-03-29"],
      ["2026-03-29T21:00:00.000Z", "2026-03-30"],
    ]);
  });

  it("quarter-hour zones: Asia/Kathmandu (+05:45) hours start at :15 UTC", () => {
    expect(show("hour", "Asia/Kathmandu", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")).toEqual([
      ["2025-12-31T23:15:00.000Z", "2026-01-01T05:00:00+05:45"],
      ["2026-01-01T00:15:00.000Z", "2026-01-01T06:00:00+05:45"],
    ]);
  });
});
