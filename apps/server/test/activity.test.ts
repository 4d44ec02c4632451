import { insertErrorLogs, insertLogs, makeErrorLog, makeLog } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { useTestServer } from "../src/testing.ts";

const MASTER = "sk-master-activity-http";

// 2026-01-31 .. 2026-02-01: crosses a month, so the original's string sort would put 'Feb 01' first.
const Q = "start_date=2026-01-31&end_date=2026-02-01";
const FROM = "2026-01-31T00:00:00.000Z";
const TO = "2026-02-02T00:00:00.000Z";
const inWindow = (s: string) => s >= FROM && s < TO;

const logs = [
  makeLog({
    startTime: "2026-01-30T23:59:59.999Z",
    user: "alice",
    model_group: "gpt-4o",
    prompt_tokens: 1000,
  }),
  makeLog({ startTime: "2026-01-31T00:00:00.000Z", user: "alice", model_group: "gpt-4o", prompt_tokens: 7 }),
  makeLog({ startTime: "2026-01-31T13:00:00.000Z", user: "bob", model_group: "claude", prompt_tokens: 5 }),
  makeLog({ startTime: "2026-02-01T23:59:59.999Z", user: "alice", model_group: "", completion_tokens: 3 }),
  makeLog({ startTime: "2026-02-01T08:00:00.000Z", user: "bob", model_group: "gpt-4o", prompt_tokens: 11 }),
  makeLog({ startTime: "2026-02-02T00:00:00.000Z", user: "bob", model_group: "gpt-4o", prompt_tokens: 2000 }),
];
const errorLogs = [
  makeErrorLog({ startTime: "2026-01-31T00:00:00.000Z", model_group: "gpt-4o", api_base: "https://east" }),
  makeErrorLog({ startTime: "2026-02-01T23:59:59.999Z", model_group: "gpt-4o", api_base: "https://west" }),
  makeErrorLog({ startTime: "2026-02-01T10:00:00.000Z", model_group: "gpt-4o", api_base: "https://west" }),
  makeErrorLog({ startTime: "2026-02-02T00:00:00.000Z", model_group: "gpt-4o", api_base: "https://east" }),
  makeErrorLog({ startTime: "2026-02-01T10:00:00.000Z", model_group: "gpt-4o", status_code: "503" }),
];

/**
 * One answer per route over HTTP, in the original's fields, equal to a brute force or counted by hand;
 * roles, 400s and internal users' rows are packages/api/test/activity.test.ts's, the counts core's.
 */
const h = useTestServer({
  master: MASTER,
  setup: async (t) => {
    await insertLogs(t.db, logs);
    await insertErrorLogs(t.db, errorLogs);
  },
});
const get = h.get;

const label = (iso: string) => `${["Jan", "Feb"][Number(iso.slice(5, 7)) - 1]} ${iso.slice(8, 10)}`; // enough for this window

function bruteDaily(rows: typeof logs) {
  const days = [...new Set(rows.map((l) => l.startTime.slice(0, 10)))].sort();
  return {
    daily_data: days.map((d) => {
      const on = rows.filter((l) => l.startTime.slice(0, 10) === d);
      return {
        date: label(d),
        date_iso: d,
        api_requests: on.length,
        total_tokens: on.reduce((s, l) => s + l.total_tokens, 0),
      };
    }),
    sum_api_requests: rows.length,
    sum_total_tokens: rows.reduce((s, l) => s + l.total_tokens, 0),
  };
}

describe("GET /global/activity", () => {
  it("answers the original's fields, 'Jan 31' labels in date order with date_iso, brute-force numbers", async () => {
    const r = await get(`/global/activity?${Q}`);
    expect(r.status).toBe(200);
    expect(Object.keys(r.body)).toEqual(["daily_data", "sum_api_requests", "sum_total_tokens"]);
    expect(Object.keys(r.body.daily_data[0])).toEqual(["date", "date_iso", "api_requests", "total_tokens"]);
    expect(r.body).toEqual(bruteDaily(logs.filter((l) => inWindow(l.startTime))));
    expect(r.body.daily_data.map((d: { date: string }) => d.date)).toEqual(["Jan 31", "Feb 01"]);
    expect(r.body.sum_total_tokens).toBe(7 + 5 + 3 + 11);
  });
});

describe("GET /global/activity/model", () => {
  it("answers [{model, daily_data:[{model_group, date, date_iso, …}], sums}] by requests", async () => {
    const r = await get(`/global/activity/model?${Q}`);
    expect(r.status).toBe(200);
    const win = logs.filter((l) => inWindow(l.startTime));
    const groups = [...new Set(win.map((l) => l.model_group))];
    const expected = groups
      .map((g) => {
        const d = bruteDaily(win.filter((l) => l.model_group === g));
        return {
          model: g,
          daily_data: d.daily_data.map((x) => ({ model_group: g, ...x })),
          sum_api_requests: d.sum_api_requests,
          sum_total_tokens: d.sum_total_tokens,
        };
      })
      .sort((a, b) => b.sum_api_requests - a.sum_api_requests || (a.model < b.model ? -1 : 1));
    expect(r.body).toEqual(expected);
    expect(r.body.map((g: { model: string }) => g.model)).toEqual(["gpt-4o", "", "claude"]);
  });
});

describe("GET /global/activity/exceptions[/deployment]", () => {
  it("counts 429s per day in the original's fields", async () => {
    const r = await get(`/global/activity/exceptions?model_group=gpt-4o&${Q}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      daily_data: [
        { date: "Jan 31", date_iso: "2026-01-31", num_rate_limit_exceptions: 1 },
        { date: "Feb 01", date_iso: "2026-02-01", num_rate_limit_exceptions: 2 },
      ],
      sum_num_rate_limit_exceptions: 3,
    });
  });

  it("per api_base: [{api_base, daily_data, sum_num_rate_limit_exceptions}]", async () => {
    const r = await get(`/global/activity/exceptions/deployment?model_group=gpt-4o&${Q}`);
    expect(r.body).toEqual([
      {
        api_base: "https://west",
        daily_data: [
          { api_base: "https://west", date: "Feb 01", date_iso: "2026-02-01", num_rate_limit_exceptions: 2 },
        ],
        sum_num_rate_limit_exceptions: 2,
      },
      {
        api_base: "https://east",
        daily_data: [
          { api_base: "https://east", date: "Jan 31", date_iso: "2026-01-31", num_rate_limit_exceptions: 1 },
        ],
        sum_num_rate_limit_exceptions: 1,
      },
    ]);
  });
});
