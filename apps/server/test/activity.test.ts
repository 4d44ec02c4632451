import { insertLogs, makeLog } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { useTestServer } from "../src/testing.ts";

const MASTER = "sk-master-activity-http";

// 2026-01-31 .. 2026-02-01: crosses a month, so the original's string sort would put 'Feb 01' first.
const Q = "start_date=2026-01-31&end_date=2026-02-01";
const FROM = "2026-01-31T00:00:00.000Z";
const TO = "2026-02-02T00:00:00.000Z";
const inWindow = (s: string) => s >= FROM && s < TO;

/** Spend logs, one a row: startTime, user, model_group, its tokens. */
const ROWS: [string, string, string, Record<string, number>][] = [
  ["2026-01-30T23:59:59.999Z", "alice", "gpt-4o", { prompt_tokens: 1000 }],
  ["2026-01-31T00:00:00.000Z", "alice", "gpt-4o", { prompt_tokens: 7 }],
  ["2026-01-31T13:00:00.000Z", "bob", "claude", { prompt_tokens: 5 }],
  ["2026-02-01T23:59:59.999Z", "alice", "", { completion_tokens: 3 }],
  ["2026-02-01T08:00:00.000Z", "bob", "gpt-4o", { prompt_tokens: 11 }],
  ["2026-02-02T00:00:00.000Z", "bob", "gpt-4o", { prompt_tokens: 2000 }],
];
const logs = ROWS.map(([startTime, user, model_group, tokens]) =>
  makeLog({ startTime, user, model_group, ...tokens }),
);

/**
 * Over HTTP, the original's fields and labels, equal to a brute force; roles, 400s, internal users' rows
 * and the 429 routes' answers (tRPC and their REST shape) are packages/api/test/activity.test.ts's, the
 * counts core's, every route's answer over HTTP against the OpenAPI document openapi.test.ts's.
 */
const h = useTestServer({ master: MASTER, setup: (t) => insertLogs(t.db, logs) });
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
