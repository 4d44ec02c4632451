import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, parseConfig, SpendlensError } from "../src/internal.ts";
import { testRunDir } from "../src/testing/index.ts";

function configError(fn: () => unknown): SpendlensError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SpendlensError);
    return e as SpendlensError;
  }
  throw new Error("expected a config error");
}

describe("config", () => {
  it("reads model_list deployments, provider budgets and max_budget", () => {
    const c = parseConfig(`model_list:
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt-4o
    model_info:
      id: 42
router_settings:
  provider_budget_config:
    openai:
      budget_limit: "100"
      time_period: 1d
litellm_settings:
  max_budget: 250
`);
    expect(c.modelList).toHaveLength(1);
    expect(c.modelList[0]!.model_info!.id).toBe("42");
    expect(c.providerBudgets.openai!.budget_limit).toBe(100);
    expect(c.maxBudget).toBe(250);
  });

  it("a YAML syntax error names the file and its line", () => {
    const text = [
      "model_list:",
      "  - model_name: a",
      "    litellm_params:",
      "      model: openai/x: y",
      "",
    ].join("\n");
    const e = configError(() => parseConfig(text, "/etc/spendlens/config.yaml"));
    expect(e.code).toBe("CONFIG");
    expect(e.message).toMatch(/^\/etc\/spendlens\/config\.yaml: line 4\b/);
  });

  it("a wrong shape names the line of the offending key", () => {
    const text = [
      "model_list:", // 1
      "  - model_name: ok", // 2
      "    litellm_params:", // 3
      "      model: openai/gpt-4o", // 4
      "  - model_name: broken", // 5
      "    litellm_params:", // 6
      "      model: [not, a, string]", // 7
      "",
    ].join("\n");
    const e = configError(() => parseConfig(text, "c.yaml"));
    expect(e.code).toBe("CONFIG");
    expect(e.message).toMatch(/^c\.yaml: line 7: model_list\.1\.litellm_params\.model: /);
  });

  it("a bad provider budget period names its line", () => {
    const text = [
      "router_settings:",
      "  provider_budget_config:",
      "    openai:",
      "      budget_limit: 10",
      "      time_period: soon",
      "",
    ].join("\n");
    const e = configError(() => parseConfig(text, "c.yaml"));
    expect(e.message).toMatch(
      /^c\.yaml: line 5: router_settings\.provider_budget_config\.openai\.time_period: /,
    );
  });

  it("a top level that is not a mapping, and a missing file, are clear errors", () => {
    expect(configError(() => parseConfig("- a\n- b\n", "c.yaml")).message).toBe(
      "c.yaml: line 1: expected a mapping at the top level",
    );
    // In the run's temp folder, which the run removes.
    const dir = mkdtempSync(join(testRunDir(), "config-"));
    const missing = join(dir, "nope.yaml");
    expect(configError(() => loadConfig(missing)).message).toBe(`cannot read config file ${missing}: ENOENT`);
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "model_list:\n  - model_name: x\n   bad-indent: y\n");
    expect(configError(() => loadConfig(bad)).message).toMatch(
      new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: line 3\\b`),
    );
  });

  it("no path is the empty config", () => {
    expect(loadConfig(undefined)).toEqual({
      path: null,
      modelList: [],
      providerBudgets: {},
      maxBudget: null,
    });
  });

  it("an unclosed quote names the line where the quote opened", () => {
    const text = 'model_list:\n  - model_name: "gpt-4o\n    litellm_params:\n      model: gpt-4o\n';
    expect(() => parseConfig(text, "q.yaml")).toThrow(/^q\.yaml: line 2: Missing closing "quote/);
  });
});
