import { makeLog } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { useCliLogs } from "./harness.ts";

const logs = [
  makeLog({
    startTime: "2026-04-01T00:00:00.000Z",
    spend: 1,
    team_id: "t1",
    prompt_tokens: 3,
    completion_tokens: 4,
  }),
  makeLog({ startTime: "2026-04-01T10:00:00.000Z", spend: 2, team_id: "t2", status: "failure" }),
  makeLog({ startTime: "2026-04-02T23:59:59.999Z", spend: 4, team_id: "t1" }),
  makeLog({ startTime: "2026-04-03T00:00:00.000Z", spend: 64, team_id: "t1" }),
];

/** Derived commands through a server: list flags, positional arguments, the logs page's view. */
const { cli, json } = useCliLogs("sk-master-cli-daily", logs);
const DAYS = ["--start-date", "2026-04-01", "--end-date", "2026-04-02"];
const TIMES = ["--start-date", "2026-04-01 00:00:00", "--end-date", "2026-04-03 00:00:00"];

describe("spendlens daily-activity commands", () => {
  it("daily-activity-team --json: one row per date, newest first; --exclude-team-ids", async () => {
    const rows = (await json(["daily-activity-team", ...DAYS, "--exclude-team-ids", "t2"])) as {
      date: string;
      spend: number;
      api_requests: number;
      total_tokens: number;
    }[];
    expect(rows.map((x) => [x.date, x.spend, x.api_requests, x.total_tokens])).toEqual([
      ["2026-04-02", 4, 1, 0],
      ["2026-04-01", 1, 1, 7],
    ]);
  }, 600_000);
});

describe("spendlens logs commands for the current Logs page", () => {
  it("spend-logs-ui --sort-by spend --sort-order asc; spend-log <id>", async () => {
    const page = (await json(["spend-logs-ui", ...TIMES, "--sort-by", "spend", "--sort-order", "asc"])) as {
      data: { request_id: string; spend: number }[];
      total: number;
    };
    expect([page.total, page.data.map((x) => x.spend)]).toEqual([4, [1, 2, 4, 64]]);
    const two = page.data.find((x) => x.spend === 2)!;
    const one = await cli(["--json", "spend-log", two.request_id]);
    expect(JSON.parse(one.stdout)).toMatchObject({
      request_id: two.request_id,
      spend: 2,
      status: "failure",
    });
  }, 600_000);
});

describe("spendlens cache-hit command", () => {
  it("activity-cache-hits --json", async () => {
    const hits = await cli(["--json", "activity-cache-hits", ...DAYS]);
    expect(JSON.parse(hits.stdout)).toEqual([
      {
        api_key: "Unnamed Key",
        call_type: "acompletion",
        model: "",
        total_rows: 3,
        cache_hit_true_rows: 0,
        failed_rows: 1,
        cached_completion_tokens: 0,
        generated_completion_tokens: 4,
      },
    ]);
  }, 600_000);
});
