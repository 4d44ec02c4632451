import { readFileSync } from "node:fs";
import { isMap, LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { SpendlensError } from "../errors.ts";

/**
 * The LiteLLM-shaped config.yaml: `model_list` (deployments), `router_settings.provider_budget_config`,
 * and `litellm_settings.max_budget`. A LiteLLM user's own config works as it is; keys spendlens does not
 * read are ignored.
 */

const num = z.union([
  z.number(),
  z
    .string()
    .regex(/^-?\d+(\.\d+)?(e-?\d+)?$/i)
    .transform(Number),
]);

const deploymentSchema = z
  .object({
    model_name: z.string(),
    litellm_params: z
      .object({
        model: z.string(),
        custom_llm_provider: z.string().optional(),
        api_base: z.string().optional(),
        input_cost_per_token: num.optional(),
        output_cost_per_token: num.optional(),
        cache_read_input_token_cost: num.optional(),
        cache_creation_input_token_cost: num.optional(),
      })
      .passthrough(),
    model_info: z
      .object({ id: z.union([z.string(), z.number()]).transform(String).optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();

const providerBudgetSchema = z
  .object({
    budget_limit: num,
    time_period: z.string().regex(/^\d+(s|m|h|d|w|mo)$/, "must be a duration like 30s, 15m, 1h, 1d, 1w, 1mo"),
    /** spendlens extension: `rolling` (LiteLLM's behaviour, from the first spend) or `calendar`. */
    window: z.enum(["rolling", "calendar"]).optional(),
  })
  .passthrough();

export const configSchema = z
  .object({
    model_list: z.array(deploymentSchema).nullish(),
    router_settings: z
      .object({ provider_budget_config: z.record(z.string(), providerBudgetSchema).nullish() })
      .passthrough()
      .nullish(),
    litellm_settings: z.object({ max_budget: num.nullish() }).passthrough().nullish(),
    general_settings: z
      .object({
        /** LiteLLM's alert channels (`slack`, `webhook`, `email`…); spendlens sends `webhook`. */
        alerting: z.array(z.string()).nullish(),
        /** LiteLLM's alert types; when set, budget alerts are sent only if it lists `budget_alerts`. */
        alert_types: z.array(z.string()).nullish(),
      })
      .passthrough()
      .nullish(),
  })
  .passthrough();

export type Deployment = z.infer<typeof deploymentSchema>;
export type ProviderBudgetConfig = z.infer<typeof providerBudgetSchema>;

export interface SpendlensConfig {
  /** Where it was read from, or null for the empty default. */
  path: string | null;
  modelList: Deployment[];
  providerBudgets: Record<string, ProviderBudgetConfig>;
  maxBudget: number | null;
  /** general_settings.alerting (empty when absent). */
  alerting?: string[];
  /** general_settings.alert_types, or null when absent (LiteLLM: every type). */
  alertTypes?: string[] | null;
}

export const emptyConfig = (): SpendlensConfig => ({
  path: null,
  modelList: [],
  providerBudgets: {},
  maxBudget: null,
});

/** Parses config text; errors name the file and line. */
export function parseConfig(text: string, path = "config.yaml"): SpendlensConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = lineCounter.linePos(e.pos[0]);
    let where = `line ${pos.line}, column ${pos.col}`;
    // An unclosed quote is reported at the end of the file: name the line where it opened instead.
    const quote = /Missing closing (["'])quote/.exec(e.message)?.[1];
    if (quote) {
      const opened = text.split("\n").findIndex((l) => l.split(quote).length % 2 === 0);
      if (opened >= 0) where = `line ${opened + 1}`;
    }
    throw new SpendlensError("CONFIG", `${path}: ${where}: ${e.message.split("\n")[0]}`);
  }
  const raw = doc.toJS() ?? {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new SpendlensError("CONFIG", `${path}: line 1: expected a mapping at the top level`);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const keyPath = issue.path.map(String);
    let line = 1;
    // Walk to the deepest node that exists to name its line.
    for (let i = keyPath.length; i > 0; i--) {
      const node = doc.getIn(keyPath.slice(0, i), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === "object" && "range" in node && node.range) {
        line = lineCounter.linePos(node.range[0]).line;
        break;
      }
      if (i === 1 && isMap(doc.contents)) line = 1;
    }
    throw new SpendlensError(
      "CONFIG",
      `${path}: line ${line}: ${keyPath.join(".") || "(top)"}: ${issue.message}`,
    );
  }
  const c = parsed.data;
  return {
    path,
    modelList: c.model_list ?? [],
    providerBudgets: c.router_settings?.provider_budget_config ?? {},
    maxBudget: c.litellm_settings?.max_budget ?? null,
    alerting: c.general_settings?.alerting ?? [],
    alertTypes: c.general_settings?.alert_types ?? null,
  };
}

/** Reads the config file at `path`; a missing or malformed file is a clear CONFIG error. */
export function loadConfig(path: string | undefined | null): SpendlensConfig {
  if (!path) return emptyConfig();
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new SpendlensError(
      "CONFIG",
      `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
  return parseConfig(text, path);
}
