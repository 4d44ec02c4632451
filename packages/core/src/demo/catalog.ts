/**
 * The demo world's deployments: 12 models over 8 providers, each with a model_id, model_group and
 * api_base as a LiteLLM router would log them. Prices are per token, close to the providers' list prices.
 */
export interface DemoDeployment {
  model: string; // as logged in SpendLogs.model
  modelGroup: string; // the router's model_name
  modelId: string; // model_info.id
  provider: string; // custom_llm_provider
  apiBase: string;
  input: number; // $ per prompt token
  output: number; // $ per completion token
  /** Relative popularity. */
  weight: number;
}

export const DEMO_DEPLOYMENTS: DemoDeployment[] = [
  {
    model: "gpt-4o",
    modelGroup: "gpt-4o",
    modelId: "dep-openai-gpt-4o",
    provider: "openai",
    apiBase: "https://api.openai.com/v1",
    input: 2.5e-6,
    output: 1e-5,
    weight: 20,
  },
  {
    model: "azure/gpt-4o",
    modelGroup: "gpt-4o",
    modelId: "dep-azure-gpt-4o-eastus",
    provider: "azure",
    apiBase: "https://acme-eastus.openai.azure.com/",
    input: 2.5e-6,
    output: 1e-5,
    weight: 10,
  },
  {
    model: "gpt-4o-mini",
    modelGroup: "gpt-4o-mini",
    modelId: "dep-openai-gpt-4o-mini",
    provider: "openai",
    apiBase: "https://api.openai.com/v1",
    input: 1.5e-7,
    output: 6e-7,
    weight: 30,
  },
  {
    model: "o3-mini",
    modelGroup: "o3-mini",
    modelId: "dep-openai-o3-mini",
    provider: "openai",
    apiBase: "https://api.openai.com/v1",
    input: 1.1e-6,
    output: 4.4e-6,
    weight: 6,
  },
  {
    model: "claude-3-5-sonnet-20241022",
    modelGroup: "claude-3-5-sonnet",
    modelId: "dep-anthropic-sonnet",
    provider: "anthropic",
    apiBase: "https://api.anthropic.com",
    input: 3e-6,
    output: 1.5e-5,
    weight: 14,
  },
  {
    model: "claude-3-5-haiku-20241022",
    modelGroup: "claude-3-5-haiku",
    modelId: "dep-anthropic-haiku",
    provider: "anthropic",
    apiBase: "https://api.anthropic.com",
    input: 8e-7,
    output: 4e-6,
    weight: 8,
  },
  {
    model: "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0",
    modelGroup: "claude-3-5-sonnet",
    modelId: "dep-bedrock-sonnet",
    provider: "bedrock",
    apiBase: "https://bedrock-runtime.us-east-1.amazonaws.com",
    input: 3e-6,
    output: 1.5e-5,
    weight: 5,
  },
  {
    model: "vertex_ai/gemini-1.5-pro",
    modelGroup: "gemini-1.5-pro",
    modelId: "dep-vertex-gemini-pro",
    provider: "vertex_ai",
    apiBase: "https://us-central1-aiplatform.googleapis.com",
    input: 1.25e-6,
    output: 5e-6,
    weight: 6,
  },
  {
    model: "vertex_ai/gemini-2.0-flash",
    modelGroup: "gemini-2.0-flash",
    modelId: "dep-vertex-gemini-flash",
    provider: "vertex_ai",
    apiBase: "https://us-central1-aiplatform.googleapis.com",
    input: 1e-7,
    output: 4e-7,
    weight: 9,
  },
  {
    model: "mistral/mistral-large-latest",
    modelGroup: "mistral-large",
    modelId: "dep-mistral-large",
    provider: "mistral",
    apiBase: "https://api.mistral.ai/v1",
    input: 2e-6,
    output: 6e-6,
    weight: 4,
  },
  {
    model: "groq/llama-3.1-70b-versatile",
    modelGroup: "llama-3.1-70b",
    modelId: "dep-groq-llama-70b",
    provider: "groq",
    apiBase: "https://api.groq.com/openai/v1",
    input: 5.9e-7,
    output: 7.9e-7,
    weight: 5,
  },
  {
    model: "cohere/command-r-plus",
    modelGroup: "command-r-plus",
    modelId: "dep-cohere-command-r-plus",
    provider: "cohere",
    apiBase: "https://api.cohere.ai/v1",
    input: 2.5e-6,
    output: 1e-5,
    weight: 3,
  },
];

export const DEMO_TAGS = [
  "prod",
  "staging",
  "dev",
  "chatbot",
  "summarize",
  "rag",
  "agent",
  "batch",
  "eval",
  "support",
  "search",
  "code-review",
  "translation",
  "marketing",
  "finance",
];

/** A LiteLLM config.yaml for the demo world: the deployments, and provider budgets. */
export function demoConfigYaml(): string {
  const lines = ["# spendlens demo config (LiteLLM config.yaml shape)", "model_list:"];
  for (const d of DEMO_DEPLOYMENTS) {
    lines.push(
      `  - model_name: ${d.modelGroup}`,
      "    litellm_params:",
      `      model: ${d.model}`,
      `      api_base: ${d.apiBase}`,
      ...(d.model.includes("/") ? [] : [`      custom_llm_provider: ${d.provider}`]),
      "    model_info:",
      `      id: ${d.modelId}`,
    );
  }
  lines.push(
    "router_settings:",
    "  provider_budget_config:",
    "    openai: { budget_limit: 500, time_period: 1d }",
    "    azure: { budget_limit: 200, time_period: 1d }",
    "    anthropic: { budget_limit: 1000, time_period: 1w }",
    "    vertex_ai: { budget_limit: 100, time_period: 1mo }",
    "litellm_settings:",
    "  max_budget: 25000",
    "",
  );
  return lines.join("\n");
}
