import { readFileSync } from "node:fs";
import type { SpendCalculation } from "@spendlens/core";
import type { ReportCommand } from "./types.ts";

/** A JSON value given inline, or `@file` to read it from a file (`@-` for stdin). */
export function jsonArg(what: string) {
  return (v: string): unknown => {
    let text = v;
    if (v.startsWith("@")) {
      const path = v.slice(1);
      try {
        text = readFileSync(path === "-" ? 0 : path, "utf8");
      } catch (e) {
        throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error(`${what} is not valid JSON`);
    }
  };
}

/** For the table: one row per part of the bill; cost and where the price came from as the summary. */
function view(o: SpendCalculation) {
  const t = o.tokens;
  return {
    cost: o.cost,
    price_source: o.price_source,
    price_entry: `${o.price_entry.provider}/${o.price_entry.model}`,
    ...(t.tokenizer ? { tokenizer: `${t.tokenizer}${t.tokenizer_exact ? "" : " (approximate)"}` } : {}),
    parts: [
      {
        part: "input",
        tokens: t.prompt_tokens - t.cache_read_tokens - t.cache_write_tokens,
        usd: o.breakdown.input,
      },
      { part: "cache_read", tokens: t.cache_read_tokens, usd: o.breakdown.cache_read },
      { part: "cache_write", tokens: t.cache_write_tokens, usd: o.breakdown.cache_write },
      { part: "output", tokens: t.completion_tokens, usd: o.breakdown.output },
      ...(o.breakdown.other ? [{ part: "other", tokens: null, usd: o.breakdown.other }] : []),
    ],
  };
}

export const pricingCommands: ReportCommand[] = [
  {
    name: "spend-calculate",
    procedure: "pricing.spendCalculate",
    summary:
      "Cost of a call: --model with --messages (before it) or --completion-response (after it) (POST /spend/calculate)",
    options: [
      { flags: "--model <name>", description: "a model, or a model_name of the config" },
      {
        flags: "--messages <json>",
        description: "chat messages as JSON, or @file",
        parse: jsonArg("--messages"),
      },
      {
        flags: "--completion-response <json>",
        description: "an OpenAI-shaped response with model and usage, as JSON or @file",
        parse: jsonArg("--completion-response"),
      },
    ],
    view,
  },
];
