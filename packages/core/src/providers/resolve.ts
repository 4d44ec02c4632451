import type { Deployment } from "../config/config.ts";

/**
 * Which provider served a request, as LiteLLM's get_llm_provider names it (openai, azure, anthropic,
 * vertex_ai, bedrock, …). Order: the deployment the log's model_id names in the config (its
 * custom_llm_provider, else its model's prefix, else what its model name implies); otherwise the log's
 * own custom_llm_provider, its model's prefix, or what its model name implies; else "Unknown".
 */
export const UNKNOWN_PROVIDER = "Unknown";

/** Provider prefixes LiteLLM accepts in `provider/model` names (the common ones). */
const KNOWN_PREFIXES = new Set([
  "openai",
  "azure",
  "azure_ai",
  "anthropic",
  "vertex_ai",
  "vertex_ai_beta",
  "gemini",
  "bedrock",
  "sagemaker",
  "mistral",
  "groq",
  "cohere",
  "cohere_chat",
  "together_ai",
  "fireworks_ai",
  "deepseek",
  "xai",
  "perplexity",
  "openrouter",
  "ollama",
  "ollama_chat",
  "huggingface",
  "replicate",
  "databricks",
  "watsonx",
  "cerebras",
  "deepinfra",
  "anyscale",
  "ai21",
  "nvidia_nim",
  "cloudflare",
  "voyage",
  "text-completion-openai",
  "hosted_vllm",
  "vllm",
  "lm_studio",
  "dashscope",
  "moonshot",
  "novita",
  "nebius",
  "sambanova",
  "friendliai",
  "predibase",
]);

/** Bare model names whose provider LiteLLM infers from its model table. */
const NAME_RULES: [RegExp, string][] = [
  [
    /^(gpt-|o1|o3|o4|chatgpt-|text-embedding-|dall-e|whisper|tts-|davinci|babbage|omni-moderation|text-moderation)/,
    "openai",
  ],
  [/^claude-/, "anthropic"],
  [/^(gemini-|text-bison|chat-bison|textembedding-gecko)/, "vertex_ai"],
  [/^(command|embed-english|embed-multilingual|rerank-)/, "cohere"],
  [/^(mistral-|open-mistral|codestral|pixtral|ministral|open-mixtral)/, "mistral"],
  [/^(anthropic\.|amazon\.|meta\.llama|cohere\.command|ai21\.|mistral\.mistral)/, "bedrock"],
  [/^deepseek-/, "deepseek"],
  [/^grok-/, "xai"],
];

function fromModelName(model: string | null | undefined): string | null {
  if (!model) return null;
  const slash = model.indexOf("/");
  if (slash > 0) {
    const prefix = model.slice(0, slash);
    if (KNOWN_PREFIXES.has(prefix)) return prefix;
  }
  for (const [re, provider] of NAME_RULES) if (re.test(model)) return provider;
  return null;
}

export type ProviderResolver = (log: {
  model_id?: string | null;
  model?: string | null;
  custom_llm_provider?: string | null;
}) => string;

/** Builds a resolver over the config's deployments (model_info.id → deployment). */
export function providerResolver(modelList: Deployment[]): ProviderResolver {
  const byId = new Map<string, Deployment>();
  for (const d of modelList) if (d.model_info?.id) byId.set(d.model_info.id, d);
  return (log) => {
    const dep = log.model_id ? byId.get(log.model_id) : undefined;
    if (dep) {
      const p = dep.litellm_params.custom_llm_provider || fromModelName(dep.litellm_params.model);
      if (p) return p;
    }
    if (log.custom_llm_provider) return log.custom_llm_provider;
    return fromModelName(log.model) ?? UNKNOWN_PROVIDER;
  };
}
