import { makeErrorLog, makeLog } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { useCliLogs } from "./harness.ts";

const RANGE = ["--start-date", "2026-01-31", "--end-date", "2026-02-01"];
const logs = [
  makeLog({ startTime: "2026-01-30T23:59:59.999Z", model_group: "gpt-4o", prompt_tokens: 1000 }),
  makeLog({ startTime: "2026-01-31T00:00:00.000Z", model_group: "gpt-4o", prompt_tokens: 7 }),
  makeLog({ startTime: "2026-02-01T23:59:59.999Z", model_group: "claude", completion_tokens: 9 }),
  makeLog({ startTime: "2026-02-01T06:00:00.000Z", model_group: "gpt-4o", prompt_tokens: 4 }),
  makeLog({ startTime: "2026-02-02T00:00:00.000Z", model_group: "claude", prompt_tokens: 2000 }),
];
const errorLogs = [
  makeErrorLog({ startTime: "2026-01-31T00:00:00.000Z", model_group: "gpt-4o", api_base: "https://x" }),
  makeErrorLog({ startTime: "2026-02-01T23:59:59.999Z", model_group: "gpt-4o", api_base: "https://x" }),
  makeErrorLog({ startTime: "2026-02-02T00:00:00.000Z", model_group: "gpt-4o", api_base: "https://x" }),
];

/** Each command's view of its answer (src/views.ts), through a server; the numbers are core's tests'. */
const { cli, json } = useCliLogs("sk-master-cli-activity", logs, errorLogs);

describe("spendlens activity commands", () => {
  it("activity --json prints the tRPC answer with ISO dates", async () => {
    expect(await json(["activity", ...RANGE])).toEqual({
      daily_data: [
        { date: "2026-01-31", api_requests: 1, total_tokens: 7 },
        { date: "2026-02-01", api_requests: 2, total_tokens: 13 },
      ],
      sum_api_requests: 3,
      sum_total_tokens: 20,
    });
  }, 600_000);

  it("activity prints a table with the sums under it; activity-model --csv one row per group and day", async () => {
    const table = await cli(["activity", ...RANGE]);
    expect(table.stdout).toMatch(/^date\s+api_requests\s+total_tokens$/m);
    expect(table.stdout).toMatch(/^2026-02-01\s+2\s+13$/m);
    expect(table.stdout).toContain("sum_api_requests: 3\nsum_total_tokens: 20\n");
    // Requests per day drawn below the table (asciichart): 1 then 2 requests; the axis tops at 2.
    expect(table.stdout).toContain("api requests per day");
    expect(table.stdout).toMatch(/ {9}2 [┤┼] +╭/);
    expect(table.stdout).toMatch(/ {9}1 [┤┼]──╯/);
    expect(table.stdout).toMatch(/[╭╯─]/);
    const csv = await cli(["--csv", "activity-model", ...RANGE]);
    expect(csv.stdout).toBe(
      "model,date,api_requests,total_tokens\ngpt-4o,2026-01-31,1,7\ngpt-4o,2026-02-01,1,4\nclaude,2026-02-01,1,9\n",
    );
  }, 600_000);

  it("activity-exceptions-deployment --json: one row per api_base and day", async () => {
    const r = await cli(["--json", "activity-exceptions-deployment", "--model-group", "gpt-4o", ...RANGE]);
    expect(JSON.parse(r.stdout)).toEqual([
      {
        api_base: "https://x",
        date: "2026-01-31",
        num_rate_limit_exceptions: 1,
      },
      {
        api_base: "https://x",
        date: "2026-02-01",
        num_rate_limit_exceptions: 1,
      },
    ]);
  }, 600_000);
});
