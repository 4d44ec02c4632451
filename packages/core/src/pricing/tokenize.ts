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
 *
 * The BPE tables themselves are loaded only by the token counter's child process (tokenCounter.ts): this
 * module only decides which texts are counted and what is added to them.
 */
export type EncodingName = "o200k_base" | "cl100k_base";

export const ENCODINGS: readonly EncodingName[] = ["o200k_base", "cl100k_base"];

const O200K = /^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|gpt-oss|codex-|computer-use)/;
const CL100K = /^(gpt-4|gpt-3\.5|gpt-35|text-embedding-3|text-embedding-ada-002)/;

/** The tokenizer for a model (a `provider/` prefix is ignored) and whether it is the model's own. */
export function encodingForModel(model: string): { encoding: EncodingName; exact: boolean } {
  const bare = model.toLowerCase().replace(/^(openai|azure|azure_ai|text-completion-openai)\//, "");
  if (O200K.test(bare)) return { encoding: "o200k_base", exact: true };
  if (CL100K.test(bare)) return { encoding: "cl100k_base", exact: true };
  return { encoding: "cl100k_base", exact: false };
}

const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING = 3;

/** What a chat messages array costs: the texts to tokenize, plus the fixed tokens around them. */
export interface MessageTexts {
  texts: string[];
  fixed: number;
}

function contentTexts(value: unknown, out: string[]): void {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) {
    for (const part of value) {
      if (typeof part === "string") out.push(part);
      else if (part && typeof part === "object" && typeof (part as { text?: unknown }).text === "string") {
        out.push((part as { text: string }).text);
      }
    }
  }
}

/** The texts of a chat messages array that count as prompt tokens, and the fixed tokens per message. */
export function messageTexts(messages: Record<string, unknown>[]): MessageTexts {
  const texts: string[] = [];
  let fixed = REPLY_PRIMING;
  for (const m of messages) {
    fixed += TOKENS_PER_MESSAGE;
    for (const [key, value] of Object.entries(m)) {
      if (value === null || value === undefined) continue;
      if (key === "content") contentTexts(value, texts);
      else if (key === "tool_calls" && Array.isArray(value)) {
        for (const call of value) {
          const fn = (call as { function?: { name?: unknown; arguments?: unknown } })?.function;
          if (typeof fn?.name === "string") texts.push(fn.name);
          if (typeof fn?.arguments === "string") texts.push(fn.arguments);
        }
      } else if (key === "function_call" && value && typeof value === "object") {
        const fn = value as { name?: unknown; arguments?: unknown };
        if (typeof fn.name === "string") texts.push(fn.name);
        if (typeof fn.arguments === "string") texts.push(fn.arguments);
      } else if (typeof value === "string") {
        texts.push(value);
        if (key === "name") fixed += TOKENS_PER_NAME;
      }
    }
  }
  return { texts, fixed };
}

/** Counts the tokens of texts with one encoding (special-token markers count as plain text). */
export interface TextTokenCounter {
  count(encoding: EncodingName, texts: string[]): Promise<number>;
}

/** Prompt tokens of a chat messages array. */
export async function countMessages(
  counter: TextTokenCounter,
  encoding: EncodingName,
  messages: Record<string, unknown>[],
): Promise<number> {
  const { texts, fixed } = messageTexts(messages);
  return fixed + (texts.length ? await counter.count(encoding, texts) : 0);
}
