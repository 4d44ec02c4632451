import { hashToken, insertLogs, makeLog, parseConfig } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { useTestServer } from "../src/testing.ts";

const MASTER = "sk-master-reports-http";
const KEY_A = hashToken("sk-key-a");
const KEY_B = hashToken("sk-key-b");

// Window 2026-01-31 .. 2026-02-01. Spends are dyadic, so every sum is exact.
const Q = "start_date=2026-01-31&end_date=2026-02-01";
const logs = [
  makeLog({
    startTime: "2026-01-31T00:00:00.000Z",
    user: "alice",
    api_key: KEY_A,
    model: "gpt-4o",
    model_id: "dep-1",
    team_id: "t1",
    end_user: "cust-1",
    spend: 1.5,
    prompt_tokens: 100,
    completion_tokens: 10,
  }),
  makeLog({
    startTime: "2026-02-01T23:59:59.999Z",
    user: "bob",
    api_key: KEY_B,
    model: "mistral/mistral-large",
    team_id: null,
    end_user: null,
    spend: 0.25,
    prompt_tokens: 20,
    completion_tokens: 5,
  }),
  makeLog({
    startTime: "2026-02-01T09:00:00.000Z",
    user: "alice",
    api_key: KEY_A,
    model: "",
    model_id: "",
    team_id: "t1",
    end_user: "cust-1",
    spend: 0.125,
    prompt_tokens: 1,
    completion_tokens: 2,
  }),
  makeLog({ startTime: "2026-02-02T00:00:00.000Z", user: "alice", api_key: KEY_A, team_id: "t1", spend: 64 }),
  makeLog({ startTime: "2026-01-30T23:59:59.999Z", user: "bob", api_key: KEY_B, spend: 128 }),
];

/**
 * /global/spend/provider over HTTP, equal to the logs' sums by hand (the deployment's provider from the
 * config, the model's, Unknown last). /global/spend/report's answers (tRPC, and its REST shape, the
 * original's bare array) and its 400s are packages/api/test/reports.test.ts's, its numbers core's
 * (test/reports.test.ts); the customer grouping over HTTP is streaming.test.ts's, every GET route over
 * HTTP against the OpenAPI document openapi.test.ts's.
 */
const h = useTestServer({
  master: MASTER,
  config: parseConfig(
    [
      "model_list:",
      "  - model_name: gpt-4o",
      "    litellm_params:",
      "      model: gpt-4o",
      "      custom_llm_provider: azure",
      "    model_info:",
      "      id: dep-1",
      "",
    ].join("\n"),
  ),
  setup: (t) => insertLogs(t.db, logs),
});
const get = h.get;

describe("GET /global/spend/provider", () => {
  it("answers [{provider, spend}], Unknown last", async () => {
    const r = await get(`/global/spend/provider?${Q}`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual([
      { provider: "azure", spend: 1.5 },
      { provider: "mistral", spend: 0.25 },
      { provider: "Unknown", spend: 0.125 },
    ]);
  });
});
