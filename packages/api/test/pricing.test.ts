import { parseConfig } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { apiHarness } from "./harness.ts";

const MASTER = "sk-master-pricing-api";
// Custom price of the deployment below (USD per token).
const IN = 0.000001;
const OUT = 0.000003;

const h = apiHarness({
  master: MASTER,
  config: parseConfig(
    `model_list:\n  - model_name: cheap\n    litellm_params: { model: openai/cheap-ft, input_cost_per_token: ${IN}, output_cost_per_token: ${OUT} }\n`,
    "t.yaml",
  ),
  users: [{ user_id: "alice", user_role: "internal_user" }],
  keys: [{ raw: "sk-alice", user_id: "alice" }],
});
const rest = (key: string | null, body: unknown) => h.rest(key, "/spend/calculate", {}, { body });

describe("POST /spend/calculate", () => {
  it("answers any valid key with the original's cost and the breakdown", async () => {
    const r = await rest("sk-alice", {
      completion_response: { model: "cheap", usage: { prompt_tokens: 1000, completion_tokens: 500 } },
    });
    expect(r.status).toBe(200);
    const body = r.body as { cost: number; price_source: string; breakdown: Record<string, number> };
    expect(body.cost).toBeCloseTo(1000 * IN + 500 * OUT, 15);
    expect(body.breakdown).toEqual({ input: 0.001, output: 0.0015, cache_read: 0, cache_write: 0, other: 0 });
    expect(body.price_source).toBe("config");
  });

  it("400s name the field: model without messages, nothing to price, unknown model, bad messages", async () => {
    const cases: [unknown, string, string][] = [
      [{ model: "gpt-4o" }, "messages", "messages must be provided"],
      [undefined, "model", "Either 'model' or 'completion_response'"],
      [{ model: "nope-9000", messages: [{ role: "user", content: "x" }] }, "model", "no price is known"],
      [{ model: "gpt-4o", messages: "hello" }, "messages", "must be an array"],
    ];
    for (const [body, param, text] of cases) {
      const r = await rest(MASTER, body);
      expect(r.status).toBe(400);
      const e = (r.body as { error: { param: string; message: string } }).error;
      expect(e.param).toBe(param);
      expect(e.message).toContain(text);
    }
  });

  it("401 without a key", async () => {
    expect((await rest(null, { model: "gpt-4o", messages: [] })).status).toBe(401);
  });
});
