import { hashToken, makeLog, parseConfig } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { usersWithKeys } from "../src/testing.ts";
import { apiHarness } from "./harness.ts";

const MASTER = "sk-master-reports";
const KEY_A = hashToken("sk-a");
const KEY_B = hashToken("sk-b");

// Window 2026-01-31 .. 2026-02-01; expected numbers below are worked out by hand.
const logs = [
  makeLog({
    startTime: "2026-01-31T00:00:00.000Z",
    user: "alice",
    api_key: KEY_A,
    model: "gpt-4o",
    model_id: "dep-azure",
    custom_llm_provider: "openai",
    team_id: "t1",
    end_user: "c1",
    spend: 1.5,
    prompt_tokens: 100,
    completion_tokens: 10,
  }),
  makeLog({
    startTime: "2026-02-01T23:59:59.999Z",
    user: "bob",
    api_key: KEY_B,
    model: "claude-3-5-sonnet",
    end_user: "c1",
    spend: 0.25,
    prompt_tokens: 20,
    completion_tokens: 5,
  }),
  makeLog({
    startTime: "2026-02-01T10:00:00.000Z",
    user: "alice",
    api_key: KEY_A,
    model: "gpt-4o",
    team_id: "t1",
    spend: 0.5,
    prompt_tokens: 30,
    completion_tokens: 3,
  }),
  makeLog({
    startTime: "2026-02-02T00:00:00.000Z",
    user: "alice",
    api_key: KEY_A,
    team_id: "t1",
    spend: 100,
  }),
  makeLog({ startTime: "2026-01-30T23:59:59.999Z", user: "bob", api_key: KEY_B, spend: 200 }),
];
const range = { start_date: "2026-01-31", end_date: "2026-02-01" };

const { as, rest } = apiHarness({
  master: MASTER,
  teams: [{ team_id: "t1", team_alias: "Team One" }],
  ...usersWithKeys({ bob: "internal_user", vic: "proxy_admin_viewer" }),
  logs,
  config: parseConfig(
    "model_list:\n  - model_name: gpt-4o\n    litellm_params:\n      model: azure/gpt-4o\n    model_info:\n      id: dep-azure\n",
  ),
});

describe("reports.spendProvider", () => {
  it("admins: deployment's provider, else the log's provider or model name", async () => {
    expect(await (await as(MASTER)).reports.spendProvider(range)).toEqual([
      { provider: "azure", spend: 1.5 },
      { provider: "openai", spend: 0.5 },
      { provider: "anthropic", spend: 0.25 },
    ]);
  });

  it("REST: the original's [{provider, spend}]", async () => {
    expect(await rest("sk-bob", "/global/spend/provider", range)).toEqual({
      status: 200,
      body: [{ provider: "anthropic", spend: 0.25 }],
    });
  });
});

describe("reports.spendReport", () => {
  const teams = [
    {
      group_by_day: "2026-01-31",
      teams: [
        {
          team_name: "Team One",
          total_spend: 1.5,
          metadata: [{ model: "gpt-4o", api_key: KEY_A, spend: 1.5, total_tokens: 110 }],
        },
      ],
    },
    {
      group_by_day: "2026-02-01",
      teams: [
        {
          team_name: "Team One",
          total_spend: 0.5,
          metadata: [{ model: "gpt-4o", api_key: KEY_A, spend: 0.5, total_tokens: 33 }],
        },
        {
          team_name: "Unassigned Team",
          total_spend: 0.25,
          metadata: [{ model: "claude-3-5-sonnet", api_key: KEY_B, spend: 0.25, total_tokens: 25 }],
        },
      ],
    },
  ];
  const keys = [
    {
      api_key: KEY_A,
      total_cost: 2,
      total_input_tokens: 130,
      total_output_tokens: 13,
      model_details: [{ model: "gpt-4o", total_cost: 2, total_input_tokens: 130, total_output_tokens: 13 }],
    },
    {
      api_key: KEY_B,
      total_cost: 0.25,
      total_input_tokens: 20,
      total_output_tokens: 5,
      model_details: [
        { model: "claude-3-5-sonnet", total_cost: 0.25, total_input_tokens: 20, total_output_tokens: 5 },
      ],
    },
  ];

  it("tRPC answers {group_by, data}: team by default, api_key, a raw key filter", async () => {
    const admin = await as("sk-vic");
    expect(await admin.reports.spendReport(range)).toEqual({ group_by: "team", data: teams });
    expect(await admin.reports.spendReport({ ...range, group_by: "api_key" })).toEqual({
      group_by: "api_key",
      data: keys,
    });
    expect(await admin.reports.spendReport({ ...range, api_key: "sk-b" })).toEqual({
      group_by: "api_key",
      data: [keys[1]],
    });
  });

  it("team_id + customer_id: per day, the customer shape", async () => {
    expect(
      await (await as(MASTER)).reports.spendReport({ ...range, team_id: "t1", customer_id: "c1" }),
    ).toEqual({
      group_by: "customer",
      data: [
        {
          group_by_day: "2026-01-31",
          customers: [
            {
              customer: "c1",
              total_spend: 1.5,
              metadata: [{ model: "gpt-4o", api_key: KEY_A, spend: 1.5, total_tokens: 110 }],
            },
          ],
        },
      ],
    });
  });

  it("REST answers the original's bare array; no premium gate", async () => {
    expect(await rest(MASTER, "/global/spend/report", range)).toEqual({ status: 200, body: teams });
    expect(await rest(MASTER, "/global/spend/report", { ...range, internal_user_id: "bob" })).toEqual({
      status: 200,
      body: [keys[1]],
    });
  });

  it("400 names group_by / the dates", async () => {
    const bad = await rest(MASTER, "/global/spend/report", { ...range, group_by: "org" });
    expect(bad.status).toBe(400);
    expect((bad.body as { error: { param: string } }).error.param).toBe("group_by");
    const noEnd = await rest(MASTER, "/global/spend/provider", { start_date: "2026-01-31" });
    expect((noEnd.body as { error: { param: string } }).error.param).toBe("end_date");
  });
});
