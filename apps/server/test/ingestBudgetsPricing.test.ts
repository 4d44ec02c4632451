import { configureTokenCounter } from "@spendlens/core/runtime";
import { hashToken, parseConfig } from "@spendlens/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { useTestServer } from "../src/testing.ts";

const MASTER = "sk-master-ibp-server";
const NOW = new Date("2026-05-20T12:00:00.000Z");

const config = parseConfig(
  `
model_list:
  - model_name: team-model
    litellm_params: { model: openai/ft-team, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
router_settings:
  provider_budget_config:
    openai: { budget_limit: 100, time_period: 1d }
    anthropic: { budget_limit: 50, time_period: 1mo, window: calendar }
`,
  "server-test.yaml",
);

const h = useTestServer({
  master: MASTER,
  now: NOW,
  config,
  users: [
    { user_id: "alice", user_role: "internal_user" },
    { user_id: "gw", user_role: "internal_user" },
  ],
  keys: [
    { raw: "sk-alice", user_id: "alice", spend: 0 },
    { raw: "sk-gateway", user_id: "gw", metadata: JSON.stringify({ spendlens_ingest: true }) },
  ],
});

const req = (method: "GET" | "POST", path: string, key: string | null, body?: unknown) =>
  h.fetch(path, key, {
    method,
    headers: { "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

// Dyadic spends: the sum is exact in any order.
const batch = Array.from({ length: 50 }, (_, i) => ({
  request_id: `srv-${i}`,
  api_key: "sk-alice",
  user: "alice",
  model: i % 2 ? "gpt-4o" : "claude-3-5-sonnet-20241022",
  spend: (i + 1) / 128,
  startTime: "2026-05-20T11:00:00Z",
  request_tags: ["srv"],
}));
const json = (r: Response): Promise<any> => r.json();
const sum = (rows: typeof batch) => rows.reduce((s, r) => s + r.spend, 0);

describe("POST /spend/logs/ingest over HTTP", () => {
  it("401 without a key, 403 for a key without the ingest grant", async () => {
    expect((await req("POST", "/spend/logs/ingest", null, { logs: batch })).status).toBe(401);
    const r = await req("POST", "/spend/logs/ingest", "sk-alice", { logs: batch });
    expect(r.status).toBe(403);
    expect((await json(r)).error.type).toBe("permission_error");
  });

  it("the same batch sent 20 times at once by the gateway key counts once", async () => {
    const rs = await Promise.all(
      Array.from({ length: 20 }, () => req("POST", "/spend/logs/ingest", "sk-gateway", { logs: batch })),
    );
    const bodies = await Promise.all(rs.map(json));
    expect(rs.every((r) => r.status === 200)).toBe(true);
    expect(bodies.reduce((s, b) => s + b.inserted, 0)).toBe(50);
    expect(bodies.reduce((s, b) => s + b.duplicates.length, 0)).toBe(19 * 50);
    const key = await h.t.db
      .selectFrom("LiteLLM_VerificationToken")
      .select("spend")
      .where("token", "=", hashToken("sk-alice"))
      .executeTakeFirstOrThrow();
    expect(key.spend).toBe(sum(batch));
  });

  it("reports a conflict and a bad row, storing nothing for them", async () => {
    const r = await req("POST", "/spend/logs/ingest", MASTER, {
      logs: [
        { ...batch[0], spend: 99 },
        { request_id: "srv-bad", startTime: "2026-05-20T11:00:00Z", spend: "1" },
      ],
    });
    expect(r.status).toBe(200);
    expect(await json(r)).toMatchObject({
      inserted: 0,
      conflicts: [{ request_id: "srv-0", fields: ["spend"] }],
      invalid: [{ index: 1, request_id: "srv-bad", field: "spend" }],
    });
  });

  it("POST /error/logs/ingest stores error logs", async () => {
    const r = await req("POST", "/error/logs/ingest", MASTER, [
      { request_id: "srv-e1", startTime: "2026-05-20T11:00:00Z", status_code: 429, model_group: "gpt-4o" },
    ]);
    expect(await json(r)).toEqual({ received: 1, inserted: 1, duplicates: [], conflicts: [], invalid: [] });
  });
});

describe("GET /provider/budgets over HTTP", () => {
  it("answers any valid key with the original's shape and the ingested spend per provider", async () => {
    const r = await req("GET", "/provider/budgets", "sk-alice");
    expect(r.status).toBe(200);
    const openai = sum(batch.filter((l) => l.model === "gpt-4o"));
    const anthropic = sum(batch.filter((l) => l.model !== "gpt-4o"));
    expect(await json(r)).toEqual({
      providers: {
        openai: {
          budget_limit: 100,
          time_period: "1d",
          spend: openai,
          budget_reset_at: "2026-05-21T11:00:00.000Z",
          window: "rolling",
          window_start: "2026-05-20T11:00:00.000Z",
        },
        anthropic: {
          budget_limit: 50,
          time_period: "1mo",
          spend: anthropic,
          budget_reset_at: "2026-06-01T00:00:00.000Z",
          window: "calendar",
          window_start: "2026-05-01T00:00:00.000Z",
        },
      },
    });
  });
});

describe("POST /spend/calculate over HTTP (the original's curl examples)", () => {
  it("before the call: anthropic.claude-v2 + messages, prompt tokens by the cl100k_base fallback", async () => {
    const r = await req("POST", "/spend/calculate", "sk-alice", {
      model: "anthropic.claude-v2",
      messages: [{ role: "user", content: "Hey, how's it going?" }],
    });
    expect(r.status).toBe(200);
    const body = await json(r);
    // By hand: 3 per message + "user" (1) + "Hey|,| how|'s| it| going|?" (7) + 3 = 14 tokens;
    // Claude 2 list price $8 / MTok input (Anthropic's legacy model pricing).
    expect(body.tokens).toMatchObject({
      prompt_tokens: 14,
      tokenizer: "cl100k_base",
      tokenizer_exact: false,
    });
    expect(body.cost).toBeCloseTo(14 * 8e-6, 15);
    expect(body.price_entry).toEqual({ provider: "anthropic", model: "claude-2" });
  });

  it("after the call: the original's gpt-3.5-turbo-0125 response ($0.50 / $1.50 per 1M tokens)", async () => {
    const r = await req("POST", "/spend/calculate", MASTER, {
      completion_response: {
        id: "chatcmpl-123",
        object: "chat.completion",
        created: 1677652288,
        model: "gpt-3.5-turbo-0125",
        system_fingerprint: "fp_44709d6fcb",
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: "Hello there, how may I assist you today?" },
            logprobs: null,
            finish_reason: "stop",
          },
        ],
        usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 },
      },
    });
    expect((await json(r)).cost).toBeCloseTo(9 * 0.5e-6 + 12 * 1.5e-6, 15);
  });

  it("a config deployment's custom price; 400s in LiteLLM's error shape", async () => {
    const ok = await req("POST", "/spend/calculate", MASTER, {
      completion_response: { model: "team-model", usage: { prompt_tokens: 100, completion_tokens: 50 } },
    });
    const priced = await json(ok);
    expect(priced.price_source).toBe("config");
    expect(priced.cost).toBeCloseTo(100 * 0.000001 + 50 * 0.000002, 15);
    const noMessages = await req("POST", "/spend/calculate", MASTER, { model: "gpt-4o" });
    expect(noMessages.status).toBe(400);
    expect((await json(noMessages)).error).toEqual({
      message: "Bad Request - messages must be provided if 'model' is provided",
      type: "bad_request_error",
      param: "messages",
      code: "400",
    });
    const unknown = await req("POST", "/spend/calculate", MASTER, {
      model: "made-up-model",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(unknown.status).toBe(400);
    expect((await json(unknown)).error.message).toContain('no price is known for model "made-up-model"');
  });
});

describe("POST /spend/calculate when the token counter's child process fails", () => {
  afterEach(() => configureTokenCounter({}));
  const call = () =>
    req("POST", "/spend/calculate", MASTER, {
      model: "gpt-4o",
      messages: [{ role: "user", content: "Hello world" }],
    });

  it("a child that ends at once (exit code 1) answers 503 saying so; the next call with a working child answers", async () => {
    configureTokenCounter({ execPath: "/bin/false" });
    const r = await call();
    expect(r.status).toBe(503);
    // Whichever the server sees first: the child's exit, or the pipe it could not write the request to.
    expect((await json(r)).error.message).toMatch(
      /counting the prompt's tokens failed: the tokenizer process (ended \(exit code 1\)|did not take the request \(write EPIPE\))/,
    );
    configureTokenCounter({});
    const ok = await call();
    expect(ok.status).toBe(200);
    expect((await json(ok)).tokens.prompt_tokens).toBe(3 + 1 + 2 + 3); // "user", "Hello world"
  });

  it("a child that cannot start answers 503; one past the timeout answers 504", async () => {
    configureTokenCounter({ execPath: "/nonexistent/node" });
    const r = await call();
    expect(r.status).toBe(503);
    expect((await json(r)).error.message).toContain("the tokenizer process failed");
    configureTokenCounter({ timeoutMs: 1 });
    const slow = await call();
    expect(slow.status).toBe(504);
    expect((await json(slow)).error.message).toContain("counting the prompt's tokens ran past 1 ms");
  });
});
