import { insertLogs, makeLog } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { runCli as cli, useCliDb } from "./harness.ts";

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

const h = useCliDb({ setup: (t) => insertLogs(t.db, logs) });

describe("spendlens daily-activity commands", () => {
  it("daily-activity-team --json: one row per date, newest first; --exclude-team-ids", async () => {
    const r = await cli([
      ...h.t.cliArgs,
      "--json",
      "daily-activity-team",
      "--start-date",
      "2026-04-01",
      "--end-date",
      "2026-04-02",
      "--exclude-team-ids",
      "t2",
    ]);
    expect(r.stderr).toBe("");
    const rows = JSON.parse(r.stdout) as {
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

  it("a bad date names the field", async () => {
    const r = await cli([
      ...h.t.cliArgs,
      "daily-activity-tag",
      "--start-date",
      "2026-04-01",
      "--end-date",
      "nope",
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/end_date/);
  }, 600_000);
});

describe("spendlens logs commands for the current Logs page", () => {
  it("spend-logs-ui --status-filter failure --sort-by spend --sort-order asc; spend-log <id>", async () => {
    const r = await cli([
      ...h.t.cliArgs,
      "--json",
      "spend-logs-ui",
      "--start-date",
      "2026-04-01 00:00:00",
      "--end-date",
      "2026-04-03 00:00:00",
      "--sort-by",
      "spend",
      "--sort-order",
      "asc",
    ]);
    expect(r.stderr).toBe("");
    const page = JSON.parse(r.stdout) as { data: { spend: number }[]; total: number };
    expect([page.total, page.data.map((x) => x.spend)]).toEqual([4, [1, 2, 4, 64]]);
    const failed = await cli([
      ...h.t.cliArgs,
      "--json",
      "spend-logs-ui",
      "--start-date",
      "2026-04-01 00:00:00",
      "--end-date",
      "2026-04-03 00:00:00",
      "--status-filter",
      "failure",
    ]);
    const f = JSON.parse(failed.stdout) as { data: { request_id: string; spend: number }[] };
    expect(f.data.map((x) => x.spend)).toEqual([2]);
    const one = await cli([...h.t.cliArgs, "--json", "spend-log", f.data[0]!.request_id]);
    expect(JSON.parse(one.stdout)).toMatchObject({
      request_id: f.data[0]!.request_id,
      spend: 2,
      status: "failure",
    });
  }, 600_000);
});

describe("spendlens tag analytics and cache-hit commands", () => {
  it("tag-summary --json and activity-cache-hits --json", async () => {
    const range = ["--start-date", "2026-04-01", "--end-date", "2026-04-02"];
    const tags = await cli([...h.t.cliArgs, "--json", "tag-summary", ...range]);
    expect(tags.stderr).toBe("");
    expect(JSON.parse(tags.stdout)).toEqual([]); // makeLog's logs carry no tags
    const hits = await cli([...h.t.cliArgs, "--json", "activity-cache-hits", ...range]);
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
