import { makeErrorLog, makeLog } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { apiHarness } from "./harness.ts";

const MASTER = "sk-master-activity";

// Window 2026-01-31 .. 2026-02-01; numbers below are worked out by hand from these rows.
/** A spend log: [startTime, user, model_group, its tokens]; an error log of gpt-4o: [startTime, fields]. */
const log = (startTime: string, user: string, model_group: string, tokens: Record<string, number>) =>
  makeLog({ startTime, user, model_group, ...tokens });
const error = (startTime: string, fields: Record<string, string>) =>
  makeErrorLog({ startTime, model_group: "gpt-4o", ...fields });
const logs = [
  log("2026-01-30T23:59:59.999Z", "alice", "gpt-4o", { prompt_tokens: 160 }),
  log("2026-01-31T00:00:00.000Z", "alice", "gpt-4o", { prompt_tokens: 10 }),
  log("2026-02-01T23:59:59.999Z", "alice", "", { prompt_tokens: 20 }),
  log("2026-02-01T12:00:00.000Z", "bob", "gpt-4o", { completion_tokens: 40 }),
  log("2026-02-02T00:00:00.000Z", "bob", "gpt-4o", { prompt_tokens: 80 }),
];
const errorLogs = [
  error("2026-01-31T00:00:00.000Z", { api_base: "https://a" }),
  error("2026-02-01T23:59:59.999Z", { api_base: "https://b" }),
  error("2026-02-01T01:00:00.000Z", { api_base: "https://b" }),
  error("2026-02-02T00:00:00.000Z", { api_base: "https://a" }),
  error("2026-02-01T01:00:00.000Z", { status_code: "500" }),
];
const range = { start_date: "2026-01-31", end_date: "2026-02-01" };

const { as, rest } = apiHarness({
  master: MASTER,
  users: [{ user_id: "vic", user_role: "proxy_admin_viewer" }],
  keys: [{ raw: "sk-vic", user_id: "vic" }],
  logs,
  errorLogs,
});

describe("activity.globalActivity", () => {
  const all = {
    daily_data: [
      { date: "2026-01-31", api_requests: 1, total_tokens: 10 },
      { date: "2026-02-01", api_requests: 2, total_tokens: 60 },
    ],
    sum_api_requests: 3,
    sum_total_tokens: 70,
  };

  it("admins (master key and proxy_admin_viewer) see every row", async () => {
    expect(await (await as(MASTER)).activity.globalActivity(range)).toEqual(all);
    expect(await (await as("sk-vic")).activity.globalActivity(range)).toEqual(all);
  });

  it("REST keeps the original's label in date and adds date_iso", async () => {
    const r = await rest(MASTER, "/global/activity", range);
    expect(r).toEqual({
      status: 200,
      body: {
        daily_data: [
          { date: "Jan 31", date_iso: "2026-01-31", api_requests: 1, total_tokens: 10 },
          { date: "Feb 01", date_iso: "2026-02-01", api_requests: 2, total_tokens: 60 },
        ],
        sum_api_requests: 3,
        sum_total_tokens: 70,
      },
    });
  });

  it("400 names the field: missing, malformed, reversed, too long", async () => {
    const cases: [Record<string, string>, string][] = [
      [{ end_date: "2026-02-01" }, "start_date"],
      [{ start_date: "2026-01-31" }, "end_date"],
      [{ start_date: "2026/01/31", end_date: "2026-02-01" }, "start_date"],
      [{ start_date: "2026-02-01", end_date: "2026-01-31" }, "end_date"],
      [{ start_date: "2025-01-01", end_date: "2026-01-02" }, "end_date"],
    ];
    for (const [q, field] of cases) {
      const r = await rest(MASTER, "/global/activity", q);
      expect(r.status).toBe(400);
      expect((r.body as { error: { param: string; type: string } }).error).toMatchObject({
        param: field,
        type: "bad_request_error",
      });
    }
  });
});

describe("activity.globalActivityModel", () => {
  it("per model group ('' for none), highest requests first", async () => {
    expect(await (await as(MASTER)).activity.globalActivityModel(range)).toEqual([
      {
        model: "gpt-4o",
        daily_data: [
          { date: "2026-01-31", api_requests: 1, total_tokens: 10 },
          { date: "2026-02-01", api_requests: 1, total_tokens: 40 },
        ],
        sum_api_requests: 2,
        sum_total_tokens: 50,
      },
      {
        model: "",
        daily_data: [{ date: "2026-02-01", api_requests: 1, total_tokens: 20 }],
        sum_api_requests: 1,
        sum_total_tokens: 20,
      },
    ]);
  });
});

describe("activity exceptions", () => {
  const input = { model_group: "gpt-4o", ...range };

  it("counts 429s per day, and per api_base", async () => {
    const admin = await as("sk-vic");
    expect(await admin.activity.globalActivityExceptions(input)).toEqual({
      daily_data: [
        { date: "2026-01-31", num_rate_limit_exceptions: 1 },
        { date: "2026-02-01", num_rate_limit_exceptions: 2 },
      ],
      sum_num_rate_limit_exceptions: 3,
    });
    expect(await admin.activity.globalActivityExceptionsDeployment(input)).toEqual([
      {
        api_base: "https://b",
        daily_data: [{ date: "2026-02-01", num_rate_limit_exceptions: 2 }],
        sum_num_rate_limit_exceptions: 2,
      },
      {
        api_base: "https://a",
        daily_data: [{ date: "2026-01-31", num_rate_limit_exceptions: 1 }],
        sum_num_rate_limit_exceptions: 1,
      },
    ]);
  });

  it("REST: the original's fields, api_base inside each daily row; 400 without model_group", async () => {
    const r = await rest(MASTER, "/global/activity/exceptions/deployment", input);
    expect((r.body as unknown[])[0]).toEqual({
      api_base: "https://b",
      daily_data: [
        { api_base: "https://b", date: "Feb 01", date_iso: "2026-02-01", num_rate_limit_exceptions: 2 },
      ],
      sum_num_rate_limit_exceptions: 2,
    });
    const bad = await rest(MASTER, "/global/activity/exceptions", range);
    expect(bad.status).toBe(400);
    expect((bad.body as { error: { param: string } }).error.param).toBe("model_group");
  });
});
