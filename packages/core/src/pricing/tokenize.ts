import { Tiktoken } from "js-tiktoken/lite";

/**
 * Prompt token counting for POST /spend/calculate (before the call). OpenAI models use their real
 * tokenizer: o200k_base for gpt-4o, gpt-4.1, gpt-4.5, gpt-5, o-series and gpt-oss; cl100k_base for gpt-4,
 * gpt-3.5 and the text-embedding-3 / ada-002 models. Every other family (Claude, Gemini, Llama, Mistral…)
 * has no public tokenizer for its current models: cl100k_base is the documented fallback (LiteLLM's own
 * default), and the answer says so with `tokenizer_exact: false`.
 *
 * Messages are counted as OpenAI's cookbook and LiteLLM's token_counter do: 3 tokens per message, the
 * tokens of every string field (role, content, name, tool_call_id…), 1 more for a `name`, the text parts
 * of array content, the name and arguments of tool calls, and 3 to prime the reply. Image and audio parts
 * are not counted.
 */
export type EncodingName = "o200k_base" | "cl100k_base";

const O200K = /^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|gpt-oss|codex-|computer-use)/;
const CL100K = /^(gpt-4|gpt-3\.5|gpt-35|text-embedding-3|text-embedding-ada-002)/;

/** The tokenizer for a model (a `provider/` prefix is ignored) and whether it is the model's own. */
export function encodingForModel(model: string): { encoding: EncodingName; exact: boolean } {
  const bare = model.toLowerCase().replace(/^(openai|azure|azure_ai|text-completion-openai)\//, "");
  if (O200K.test(bare)) return { encoding: "o200k_base", exact: true };
  if (CL100K.test(bare)) return { encoding: "cl100k_base", exact: true };
  return { encoding: "cl100k_base", exact: false };
}

const encoders = new Map<EncodingName, Promise<Tiktoken>>();

/** Loads a BPE table once (they are large, so only when first needed). */
export function getEncoder(name: EncodingName): Promise<Tiktoken> {
  let p = encoders.get(name);
  if (!p) {
    p = (
      name === "o200k_base" ? import("js-tiktoken/ranks/o200k_base") : import("js-tiktoken/ranks/cl100k_base")
    ).then((m) => new Tiktoken(m.default));
    encoders.set(name, p);
  }
  return p;
}

/** Tokens of a text; special-token markers in it count as plain text, never as control tokens. */
export const countText = (enc: Tiktoken, text: string) => enc.encode(text, [], []).length;

const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING = 3;

function contentTokens(enc: Tiktoken, value: unknown): number {
  if (typeof value === "string") return countText(enc, value);
  if (Array.isArray(value)) {
    let n = 0;
    for (const part of value) {
      if (typeof part === "string") n += countText(enc, part);
      else if (part && typeof part === "object" && typeof (part as { text?: unknown }).text === "string") {
        n += countText(enc, (part as { text: string }).text);
      }
    }
    return n;
  }
  return 0;
}

/** Prompt tokens of a chat messages array. */
export function countMessages(enc: Tiktoken, messages: Record<string, unknown>[]): number {
  let n = 0;
  for (const m of messages) {
    n += TOKENS_PER_MESSAGE;
    for (const [key, value] of Object.entries(m)) {
      if (value === null || value === undefined) continue;
      if (key === "content") n += contentTokens(enc, value);
      else if (key === "tool_calls" && Array.isArray(value)) {
        for (const call of value) {
          const fn = (call as { function?: { name?: unknown; arguments?: unknown } })?.function;
          if (typeof fn?.name === "string") n += countText(enc, fn.name);
          if (typeof fn?.arguments === "string") n += countText(enc, fn.arguments);
        }
      } else if (key === "function_call" && value && typeof value === "object") {
        const fn = value as { name?: unknown; arguments?: unknown };
        if (typeof fn.name === "string") n += countText(enc, fn.name);
        if (typeof fn.arguments === "string") n += countText(enc, fn.arguments);
      } else if (typeof value === "string") {
        n += countText(enc, value);
        if (key === "name") n += TOKENS_PER_NAME;
      }
    }
  }
  return n + REPLY_PRIMING;
}
