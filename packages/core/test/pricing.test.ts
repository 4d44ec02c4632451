import { Tiktoken } from "js-tiktoken/lite";
import cl100k from "js-tiktoken/ranks/cl100k_base";
import o200k from "js-tiktoken/ranks/o200k_base";
import { describe, expect, it } from "vitest";
import {
  ALL,
  calculateSpend,
  parseConfig,
  type SpendCalculateInput,
  SpendlensError,
} from "../src/internal.ts";

/**
 * Published per-token list prices (USD), written here by hand:
 * - OpenAI, https://openai.com/api/pricing (and platform.openai.com/docs/pricing):
 *   gpt-4o $2.50 / 1M input, $1.25 / 1M cached input, $10.00 / 1M output;
 *   gpt-3.5-turbo-0125 $0.50 / 1M input, $1.50 / 1M output;
 *   o1 $15.00 / 1M input, $7.50 / 1M cached input, $60.00 / 1M output (reasoning tokens bill as output).
 * - Anthropic, https://www.anthropic.com/pricing (docs.anthropic.com "Pricing"):
 *   Claude 3.5 Sonnet $3 / MTok input, $3.75 / MTok 5-minute cache write, $0.30 / MTok cache hit,
 *   $15 / MTok output.
 */
const GPT4O = { input: 2.5e-6, cached: 1.25e-6, output: 10e-6 };
const GPT35 = { input: 0.5e-6, output: 1.5e-6 };
const O1 = { input: 15e-6, cached: 7.5e-6, output: 60e-6 };
const SONNET35 = { input: 3e-6, cacheWrite: 3.75e-6, cacheRead: 0.3e-6, output: 15e-6 };
// The custom price of the deployment in the config below.
const CUSTOM = { input: 0.000002, output: 0.000004, cacheRead: 0.0000005 };

const config = parseConfig(
  `
model_list:
  - model_name: my-model
    litellm_params:
      model: openai/my-finetune
      input_cost_per_token: 0.000002
      output_cost_per_token: 0.000004
      cache_read_input_token_cost: 0.0000005
    model_info: { id: dep-1 }
  - model_name: prod-gpt
    litellm_params: { model: azure/eu-gpt4o-deployment }
    model_info: { id: dep-2, base_model: azure/gpt-4o }
`,
  "test.yaml",
);

const calc = (input: SpendCalculateInput) => calculateSpend(null, ALL, input, config);
/** The price of a completion response of `model` with this `usage`. */
const calcUsage = (model: string, usage: Record<string, unknown>) =>
  calc({ completion_response: { model, usage } } as SpendCalculateInput);
const DIGITS = 15; // costs are ~1e-3..1e-6 USD: agree to 1e-15

async function badRequest(input: SpendCalculateInput, field: string, text: string) {
  const e = await calc(input).catch((x) => x);
  expect(e).toBeInstanceOf(SpendlensError);
  expect(e.code).toBe("BAD_REQUEST");
  expect(e.field).toBe(field);
  expect(e.message).toContain(text);
}

describe("calculateSpend from a completion_response", () => {
  it("prices the original's example (gpt-3.5-turbo-0125, 9 prompt + 12 completion tokens)", async () => {
    const r = await calc({
      completion_response: {
        id: "chatcmpl-123",
        object: "chat.completion",
        model: "gpt-3.5-turbo-0125",
        choices: [],
        usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 },
      },
    });
    expect(r.cost).toBeCloseTo(9 * GPT35.input + 12 * GPT35.output, DIGITS);
    expect(r.cost).toBeCloseTo(0.0000225, DIGITS);
    expect(r.breakdown).toEqual({
      input: 0.0000045,
      output: 0.000018,
      cache_read: 0,
      cache_write: 0,
      other: 0,
    });
    expect(r.price_source).toBe("genai-prices");
    expect(r.price_entry).toEqual({ provider: "openai", model: "gpt-3.5-turbo" });
    expect(r.tokens).toMatchObject({
      prompt_tokens: 9,
      completion_tokens: 12,
      total_tokens: 21,
      tokenizer: null,
    });
  });

  it("bills gpt-4o's cached prompt tokens at the cached rate", async () => {
    const r = await calc({
      completion_response: {
        model: "gpt-4o-2024-08-06",
        usage: { prompt_tokens: 1000, completion_tokens: 100, prompt_tokens_details: { cached_tokens: 200 } },
      },
    });
    const input = 800 * GPT4O.input;
    const cacheRead = 200 * GPT4O.cached;
    const output = 100 * GPT4O.output;
    expect(r.breakdown.input).toBeCloseTo(input, DIGITS);
    expect(r.breakdown.cache_read).toBeCloseTo(cacheRead, DIGITS);
    expect(r.breakdown.output).toBeCloseTo(output, DIGITS);
    expect(r.breakdown.cache_write).toBe(0);
    expect(r.cost).toBeCloseTo(input + cacheRead + output, DIGITS);
    expect(r.cost).toBeCloseTo(0.00325, DIGITS);
    expect(r.price_entry).toEqual({ provider: "openai", model: "gpt-4o" });
    expect(r.tokens).toMatchObject({ prompt_tokens: 1000, cache_read_tokens: 200, completion_tokens: 100 });
  });

  it("adds Anthropic's cache reads and writes to its uncached input_tokens (claude-3-5-sonnet)", async () => {
    const r = await calcUsage("claude-3-5-sonnet-20241022", {
      input_tokens: 100,
      cache_read_input_tokens: 1000,
      cache_creation_input_tokens: 500,
      output_tokens: 200,
    });
    const b = {
      input: 100 * SONNET35.input,
      cache_read: 1000 * SONNET35.cacheRead,
      cache_write: 500 * SONNET35.cacheWrite,
      output: 200 * SONNET35.output,
    };
    expect(r.breakdown.input).toBeCloseTo(b.input, DIGITS);
    expect(r.breakdown.cache_read).toBeCloseTo(b.cache_read, DIGITS);
    expect(r.breakdown.cache_write).toBeCloseTo(b.cache_write, DIGITS);
    expect(r.breakdown.output).toBeCloseTo(b.output, DIGITS);
    expect(r.cost).toBeCloseTo(0.005475, DIGITS);
    expect(r.tokens).toMatchObject({ prompt_tokens: 1600, cache_read_tokens: 1000, cache_write_tokens: 500 });
    expect(r.price_entry).toEqual({ provider: "anthropic", model: "claude-3-5-sonnet" });
  });

  it("takes LiteLLM's OpenAI-shaped usage for Claude too (prompt_tokens total, cache fields beside)", async () => {
    const r = await calcUsage("anthropic/claude-3-5-sonnet-20241022", {
      prompt_tokens: 1600,
      completion_tokens: 200,
      prompt_tokens_details: { cached_tokens: 1000 },
      cache_creation_input_tokens: 500,
    });
    expect(r.cost).toBeCloseTo(0.005475, DIGITS);
  });

  it("reports o1's reasoning tokens and bills them as output", async () => {
    const r = await calcUsage("o1", {
      prompt_tokens: 50,
      completion_tokens: 1000,
      completion_tokens_details: { reasoning_tokens: 800 },
    });
    expect(r.cost).toBeCloseTo(50 * O1.input + 1000 * O1.output, DIGITS);
    expect(r.tokens.reasoning_tokens).toBe(800);
  });

  it("uses a deployment's custom price when the response names its model_name", async () => {
    const r = await calc({
      completion_response: {
        model: "my-model",
        usage: { prompt_tokens: 1000, completion_tokens: 10, prompt_tokens_details: { cached_tokens: 400 } },
      },
    });
    expect(r.price_source).toBe("config");
    expect(r.breakdown.input).toBeCloseTo(600 * CUSTOM.input, DIGITS);
    expect(r.breakdown.cache_read).toBeCloseTo(400 * CUSTOM.cacheRead, DIGITS);
    expect(r.breakdown.output).toBeCloseTo(10 * CUSTOM.output, DIGITS);
    expect(r.cost).toBeCloseTo(0.00144, DIGITS);
  });
});

describe("calculateSpend from model + messages", () => {
  const o200 = new Tiktoken(o200k);
  const cl100 = new Tiktoken(cl100k);
  const n = (enc: Tiktoken, s: string) => enc.encode(s).length;

  it("counts gpt-4o prompt tokens with o200k_base as the OpenAI cookbook does; completion costs 0", async () => {
    // By hand: "Hello world" is 2 tokens and "user" 1 in both o200k_base and cl100k_base.
    expect(n(o200, "Hello world")).toBe(2);
    expect(n(o200, "user")).toBe(1);
    const messages = [
      { role: "system", content: "You are terse." },
      { role: "user", content: "Hello world", name: "bob" },
    ];
    // 3 per message + each string field + 1 for a name + 3 to prime the reply.
    const expected = 3 + n(o200, "system") + n(o200, "You are terse.") + 3 + 1 + 2 + n(o200, "bob") + 1 + 3;
    const r = await calc({ model: "gpt-4o", messages });
    expect(r.tokens).toMatchObject({
      prompt_tokens: expected,
      completion_tokens: 0,
      tokenizer: "o200k_base",
      tokenizer_exact: true,
    });
    expect(r.cost).toBeCloseTo(expected * GPT4O.input, DIGITS);
    expect(r.breakdown.output).toBe(0);
  });

  it("counts text parts of array content", async () => {
    const r = await calc({
      model: "gpt-4o",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Hello world" },
            { type: "image_url", image_url: {} },
          ],
        },
      ],
    });
    expect(r.tokens.prompt_tokens).toBe(3 + 1 + 2 + 3);
  });

  it("prices a custom deployment from the config: 'Hello world' is 9 prompt tokens", async () => {
    const r = await calc({ model: "my-model", messages: [{ role: "user", content: "Hello world" }] });
    expect(r.tokens.prompt_tokens).toBe(9);
    expect(r.tokens.tokenizer_exact).toBe(false); // a fine-tune name: cl100k_base stands in
    expect(r.cost).toBeCloseTo(9 * CUSTOM.input, DIGITS);
    expect(r.price_source).toBe("config");
    expect(r.price_entry).toEqual({
      provider: "openai",
      model: "openai/my-finetune",
      deployment_id: "dep-1",
    });
  });

  it("falls back to cl100k_base for Claude, says so, and prices from the table", async () => {
    const content = "Summarise the quarterly report in three bullet points.";
    const r = await calc({ model: "claude-3-5-sonnet-20241022", messages: [{ role: "user", content }] });
    const expected = 3 + n(cl100, "user") + n(cl100, content) + 3;
    expect(r.tokens).toMatchObject({
      prompt_tokens: expected,
      tokenizer: "cl100k_base",
      tokenizer_exact: false,
    });
    expect(r.cost).toBeCloseTo(expected * SONNET35.input, DIGITS);
  });

  it("prices a deployment without a custom price by its base_model", async () => {
    const r = await calc({ model: "prod-gpt", messages: [{ role: "user", content: "Hello world" }] });
    expect(r.tokens).toMatchObject({ prompt_tokens: 9, tokenizer: "o200k_base" });
    expect(r.price_source).toBe("genai-prices");
    expect(r.price_entry).toEqual({ provider: "azure", model: "gpt-4o" });
    expect(r.cost).toBeCloseTo(9 * GPT4O.input, DIGITS);
  });
});

describe("calculateSpend refuses what it cannot price (400)", () => {
  it("an unknown model, never a silent 0", async () => {
    await badRequest(
      { model: "no-such-model-xyz", messages: [{ role: "user", content: "hi" }] },
      "model",
      'no price is known for model "no-such-model-xyz"',
    );
    await badRequest(
      {
        completion_response: {
          model: "no-such-model-xyz",
          usage: { prompt_tokens: 1, completion_tokens: 1 },
        },
      },
      "completion_response.model",
      "no price is known",
    );
  });

  it("model without messages, and neither model nor completion_response", async () => {
    await badRequest({ model: "gpt-4o" }, "messages", "messages must be provided if 'model' is provided");
    await badRequest({}, "model", "Either 'model' or 'completion_response' must be provided");
  });

  it("a response without usable usage", async () => {
    await badRequest(
      { completion_response: { model: "gpt-4o" } },
      "completion_response.usage",
      "is required",
    );
    await badRequest(
      { completion_response: { usage: { prompt_tokens: 1, completion_tokens: 1 } } },
      "completion_response.model",
      "is required",
    );
    await badRequest(
      { completion_response: { model: "gpt-4o", usage: { prompt_tokens: -1, completion_tokens: 1 } } },
      "completion_response.usage.prompt_tokens",
      "must be a whole number",
    );
    await badRequest(
      {
        completion_response: {
          model: "gpt-4o",
          usage: { prompt_tokens: 10, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 11 } },
        },
      },
      "completion_response.usage",
      "exceed the prompt tokens",
    );
  });
});
