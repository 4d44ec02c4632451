import type { ModelPrice, PriceCalculation, Provider } from "@pydantic/genai-prices";
import { z } from "zod";
import { now } from "../clock.ts";
import type { Deployment, SpendlensConfig } from "../config/config.ts";
import type { Db } from "../db/connect.ts";
import { badRequest } from "../errors.ts";
import { providerResolver } from "../providers/resolve.ts";
import type { Scope } from "../scope.ts";
import { sharedTokenCounter } from "./tokenCounter.ts";
import { countMessages, encodingForModel, type TextTokenCounter } from "./tokenize.ts";

/**
 * POST /spend/calculate: the cost of one LLM call, before it (model + messages: prompt tokens counted with
 * the model's tokenizer, completion cost 0) or after it (completion_response: cost from its usage,
 * including cached and reasoning tokens). A deployment of the config whose model_name matches and that
 * sets input_cost_per_token / output_cost_per_token is priced from those (LiteLLM's custom pricing);
 * anything else from the maintained price table of @pydantic/genai-prices. A model with no known price is
 * a 400, never a silent 0.
 */
export const spendCalculateInput = z.object({
  model: z.string().min(1, "must not be empty").max(255).nullish(),
  messages: z
    .array(z.record(z.string(), z.unknown()), { error: "must be an array of chat messages (objects)" })
    .max(10_000, "at most 10000 messages")
    .nullish(),
  completion_response: z.record(z.string(), z.unknown(), { error: "must be a JSON object" }).nullish(),
});
export type SpendCalculateInput = z.input<typeof spendCalculateInput>;

export interface CostBreakdown {
  /** Uncached input tokens (and any input the price table bills that is not cache). */
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
  /** Charges that are neither input nor output (e.g. a per-request fee); usually 0. */
  other: number;
}

export interface TokenCounts {
  /** All input tokens, cached ones included. */
  prompt_tokens: number;
  completion_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  /** Part of completion_tokens (billed as output unless the price table has its own rate). */
  reasoning_tokens: number;
  total_tokens: number;
  /** The tokenizer used to count `messages` (null when the tokens came from a response's usage). */
  tokenizer: string | null;
  /** False when the model's family has no public tokenizer and cl100k_base stood in. */
  tokenizer_exact: boolean | null;
}

export interface PriceEntry {
  provider: string;
  model: string;
  /** The config deployment whose custom price was used (price_source config). */
  deployment_id?: string | null;
}

export interface SpendCalculation {
  /** USD, as the original's `cost`. Money values are rounded to 1e-12 USD. */
  cost: number;
  breakdown: CostBreakdown;
  tokens: TokenCounts;
  price_source: "config" | "genai-prices";
  price_entry: PriceEntry;
}

interface Usage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
}

const money = (x: number) => Math.round(x * 1e12) / 1e12;

/** The price table is large (~0.2 s to load): loaded on the first calculation, not with core. */
type GenaiPrices = typeof import("@pydantic/genai-prices");
let genaiPrices: Promise<GenaiPrices> | null = null;
const loadPrices = () => {
  genaiPrices ??= import("@pydantic/genai-prices");
  return genaiPrices;
};

function count(field: string, v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw badRequest(field, `${field}: must be a whole number ≥ 0`);
  }
  return v;
}

const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/**
 * Usage from a response: OpenAI's chat shape (prompt_tokens is the total input, cached ones included in
 * prompt_tokens_details.cached_tokens) or Anthropic's (input_tokens excludes cache_read_input_tokens and
 * cache_creation_input_tokens, which are added to it), and the Responses API shape (input_tokens with
 * input_tokens_details.cached_tokens).
 */
export function usageFromResponse(resp: Record<string, unknown>): Usage {
  const F = "completion_response.usage";
  const u = resp.usage;
  if (!u || typeof u !== "object" || Array.isArray(u)) {
    throw badRequest(
      F,
      `${F}: is required to price a completion_response (prompt_tokens, completion_tokens)`,
    );
  }
  const usage = u as Record<string, unknown>;
  let r: Usage;
  if (usage.prompt_tokens !== undefined && usage.prompt_tokens !== null) {
    const ptd = obj(usage.prompt_tokens_details);
    const ctd = obj(usage.completion_tokens_details);
    r = {
      input: count(`${F}.prompt_tokens`, usage.prompt_tokens),
      output: count(`${F}.completion_tokens`, usage.completion_tokens),
      cacheRead:
        ptd.cached_tokens != null
          ? count(`${F}.prompt_tokens_details.cached_tokens`, ptd.cached_tokens)
          : count(`${F}.cache_read_input_tokens`, usage.cache_read_input_tokens),
      cacheWrite:
        usage.cache_creation_input_tokens != null
          ? count(`${F}.cache_creation_input_tokens`, usage.cache_creation_input_tokens)
          : count(`${F}.prompt_tokens_details.cache_creation_tokens`, ptd.cache_creation_tokens),
      reasoning: count(`${F}.completion_tokens_details.reasoning_tokens`, ctd.reasoning_tokens),
    };
  } else if (usage.input_tokens !== undefined && usage.input_tokens !== null) {
    const itd = obj(usage.input_tokens_details);
    const otd = obj(usage.output_tokens_details);
    const input = count(`${F}.input_tokens`, usage.input_tokens);
    const output = count(`${F}.output_tokens`, usage.output_tokens);
    const reasoning = count(`${F}.output_tokens_details.reasoning_tokens`, otd.reasoning_tokens);
    if (itd.cached_tokens != null) {
      // OpenAI Responses API: input_tokens is the total.
      r = {
        input,
        output,
        cacheRead: count(`${F}.input_tokens_details.cached_tokens`, itd.cached_tokens),
        cacheWrite: 0,
        reasoning,
      };
    } else {
      // Anthropic: input_tokens counts only the uncached input.
      const cacheRead = count(`${F}.cache_read_input_tokens`, usage.cache_read_input_tokens);
      const cacheWrite = count(`${F}.cache_creation_input_tokens`, usage.cache_creation_input_tokens);
      r = { input: input + cacheRead + cacheWrite, output, cacheRead, cacheWrite, reasoning };
    }
  } else {
    throw badRequest(
      F,
      `${F}: must hold prompt_tokens/completion_tokens (OpenAI shape) or input_tokens/output_tokens (Anthropic shape)`,
    );
  }
  if (r.cacheRead + r.cacheWrite > r.input) {
    throw badRequest(
      F,
      `${F}: cached tokens (${r.cacheRead} read + ${r.cacheWrite} written) exceed the prompt tokens (${r.input})`,
    );
  }
  if (r.reasoning > r.output) {
    throw badRequest(F, `${F}: reasoning_tokens (${r.reasoning}) exceed completion_tokens (${r.output})`);
  }
  return r;
}

/** The config deployment named `model` (LiteLLM: model_name match; the first one when several). */
const deploymentFor = (config: Pick<SpendlensConfig, "modelList">, model: string): Deployment | undefined =>
  (config.modelList ?? []).find((d) => d.model_name === model);

const hasCustomPrice = (d: Deployment | undefined): d is Deployment =>
  !!d && (d.litellm_params.input_cost_per_token != null || d.litellm_params.output_cost_per_token != null);

/** The names to look up in the price table: the deployment's base model and model, then the name asked. */
function lookupNames(model: string, dep: Deployment | undefined): string[] {
  const names: string[] = [];
  if (dep) {
    const p = dep.litellm_params.custom_llm_provider;
    const withProvider = (m: string) => (p && !m.includes("/") ? `${p}/${m}` : m);
    const base = (dep.model_info as { base_model?: unknown } | undefined)?.base_model;
    if (typeof base === "string" && base) names.push(withProvider(base));
    names.push(withProvider(dep.litellm_params.model));
  }
  names.push(model);
  return [...new Set(names)];
}

/** The config's custom per-token prices (a cache price defaults to the input price; a missing one to 0). */
function priceFromConfig(dep: Deployment, u: Usage): CostBreakdown {
  const lp = dep.litellm_params;
  const inP = lp.input_cost_per_token ?? 0;
  const outP = lp.output_cost_per_token ?? 0;
  const readP = lp.cache_read_input_token_cost ?? inP;
  const writeP = lp.cache_creation_input_token_cost ?? inP;
  return {
    input: (u.input - u.cacheRead - u.cacheWrite) * inP,
    output: u.output * outP,
    cache_read: u.cacheRead * readP,
    cache_write: u.cacheWrite * writeP,
    other: 0,
  };
}

function genaiUsage(u: Usage) {
  return {
    input_tokens: u.input,
    output_tokens: u.output,
    cache_read_tokens: u.cacheRead,
    cache_write_tokens: u.cacheWrite,
    output_reasoning_tokens: u.reasoning,
  };
}

/** The library's price for usage under a reduced price set of the same model (to split the bill). */
function priceWith(
  calcPrice: GenaiPrices["calcPrice"],
  r: PriceCalculation,
  prices: ModelPrice,
  u: Usage,
): number {
  const provider: Provider = {
    id: r.provider.id,
    name: r.provider.name,
    api_pattern: r.provider.api_pattern,
    models: [{ id: r.model.id, match: { equals: "__spendlens_part__" }, prices }],
  };
  return calcPrice(genaiUsage(u), "__spendlens_part__", { provider, timestamp: now() })?.input_price ?? 0;
}

async function priceFromTable(
  names: string[],
  u: Usage,
  field: string,
): Promise<{ r: PriceCalculation; b: CostBreakdown } | null> {
  const { calcPrice } = await loadPrices();
  for (const name of names) {
    let r: PriceCalculation | null;
    try {
      r = calcPrice(genaiUsage(u), name, { providerId: "litellm", timestamp: now() });
    } catch (e) {
      throw badRequest(
        field,
        `${field}: cannot price this usage: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (!r) continue;
    const p = r.model_price;
    const cacheRead =
      u.cacheRead > 0 && p.cache_read_mtok !== undefined
        ? priceWith(calcPrice, r, { input_mtok: 0, cache_read_mtok: p.cache_read_mtok }, u)
        : 0;
    const cacheWrite =
      u.cacheWrite > 0 && p.cache_write_mtok !== undefined
        ? priceWith(calcPrice, r, { input_mtok: 0, cache_write_mtok: p.cache_write_mtok }, u)
        : 0;
    return {
      r,
      b: {
        input: r.input_price - cacheRead - cacheWrite,
        output: r.output_price,
        cache_read: cacheRead,
        cache_write: cacheWrite,
        other: r.total_price - r.input_price - r.output_price,
      },
    };
  }
  return null;
}

export async function calculateSpend(
  _db: Db | null,
  _scope: Scope,
  input: SpendCalculateInput,
  config: Pick<SpendlensConfig, "modelList">,
  /** Counts prompt tokens; default the process-wide child-process counter (tokenCounter.ts). */
  tokens: TextTokenCounter = sharedTokenCounter(),
): Promise<SpendCalculation> {
  let model: string;
  let modelField: string;
  let usage: Usage;
  let tokenizer: string | null = null;
  let tokenizerExact: boolean | null = null;
  if (input.model != null) {
    if (input.messages == null) {
      throw badRequest("messages", "Bad Request - messages must be provided if 'model' is provided");
    }
    model = input.model;
    modelField = "model";
    // The tokenizer of what the deployment really runs (its base_model, else its model), else the name asked.
    const enc = encodingForModel(lookupNames(model, deploymentFor(config, model))[0]!);
    const prompt = await countMessages(tokens, enc.encoding, input.messages);
    tokenizer = enc.encoding;
    tokenizerExact = enc.exact;
    usage = { input: prompt, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 };
  } else if (input.completion_response != null) {
    const m = input.completion_response.model;
    if (typeof m !== "string" || !m) {
      throw badRequest(
        "completion_response.model",
        "completion_response.model: is required to price a response",
      );
    }
    model = m;
    modelField = "completion_response.model";
    usage = usageFromResponse(input.completion_response);
  } else {
    throw badRequest("model", "Bad Request - Either 'model' or 'completion_response' must be provided");
  }

  const dep = deploymentFor(config, model);
  let breakdown: CostBreakdown;
  let source: SpendCalculation["price_source"];
  let entry: PriceEntry;
  if (hasCustomPrice(dep)) {
    breakdown = priceFromConfig(dep, usage);
    source = "config";
    entry = {
      provider: providerResolver(config.modelList ?? [])({
        model_id: dep.model_info?.id ?? null,
        model: dep.litellm_params.model,
        custom_llm_provider: dep.litellm_params.custom_llm_provider ?? null,
      }),
      model: dep.litellm_params.model,
      deployment_id: dep.model_info?.id ?? null,
    };
  } else {
    const names = lookupNames(model, dep);
    const found = await priceFromTable(names, usage, modelField);
    if (!found) {
      throw badRequest(
        modelField,
        `${modelField}: no price is known for model ${JSON.stringify(model)}${names.length > 1 ? ` (looked up ${names.map((n) => JSON.stringify(n)).join(", ")})` : ""}; set input_cost_per_token / output_cost_per_token on its deployment in the config`,
      );
    }
    breakdown = found.b;
    source = "genai-prices";
    entry = { provider: found.r.provider.id, model: found.r.model.id };
  }
  const rounded: CostBreakdown = {
    input: money(breakdown.input),
    output: money(breakdown.output),
    cache_read: money(breakdown.cache_read),
    cache_write: money(breakdown.cache_write),
    other: money(breakdown.other),
  };
  return {
    cost: money(
      breakdown.input + breakdown.output + breakdown.cache_read + breakdown.cache_write + breakdown.other,
    ),
    breakdown: rounded,
    tokens: {
      prompt_tokens: usage.input,
      completion_tokens: usage.output,
      cache_read_tokens: usage.cacheRead,
      cache_write_tokens: usage.cacheWrite,
      reasoning_tokens: usage.reasoning,
      total_tokens: usage.input + usage.output,
      tokenizer,
      tokenizer_exact: tokenizerExact,
    },
    price_source: source,
    price_entry: entry,
  };
}
