import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashToken, insertLogs, makeLog } from "@spendlens/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli as cli, useCliDb } from "./harness.ts";

const RANGE = ["--start-date", "2026-01-31", "--end-date", "2026-02-01"];
const KEY = hashToken("sk-cli-key");
const logs = [
  makeLog({
    startTime: "2026-01-31T00:00:00.000Z",
    api_key: KEY,
    model: "gpt-4o",
    model_id: "dep-1",
    team_id: "t1",
    spend: 0.75,
    prompt_tokens: 10,
    completion_tokens: 2,
  }),
  makeLog({
    startTime: "2026-02-01T23:59:59.999Z",
    api_key: "other",
    model: "claude-3-haiku",
    spend: 0.5,
    prompt_tokens: 3,
    completion_tokens: 1,
  }),
  makeLog({
    startTime: "2026-02-02T00:00:00.000Z",
    api_key: KEY,
    model: "gpt-4o",
    model_id: "dep-1",
    spend: 99,
  }),
];

const h = useCliDb({
  teams: [{ team_id: "t1", team_alias: "Research" }],
  setup: (t) => insertLogs(t.db, logs),
});
let dir: string;
let configPath: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "spendlens-cli-reports-"));
  configPath = join(dir, "config.yaml");
  writeFileSync(
    configPath,
    "model_list:\n  - model_name: gpt-4o\n    litellm_params:\n      model: azure/gpt-4o\n    model_info:\n      id: dep-1\n",
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("spendlens report commands", () => {
  it("spend-provider --json maps model_id through the --config deployments", async () => {
    const r = await cli([...h.t.cliArgs, "--config", configPath, "--json", "spend-provider", ...RANGE]);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual([
      { provider: "azure", spend: 0.75 },
      { provider: "anthropic", spend: 0.5 },
    ]);
  }, 600_000);

  it("spend-report --group-by api_key --api-key sk-… --json hashes the raw key", async () => {
    const r = await cli([...h.t.cliArgs, "--json", "spend-report", ...RANGE, "--api-key", "sk-cli-key"]);
    expect(JSON.parse(r.stdout)).toEqual([
      {
        api_key: KEY,
        total_cost: 0.75,
        total_input_tokens: 10,
        total_output_tokens: 2,
        model: "gpt-4o",
        "model_details.total_cost": 0.75,
        "model_details.total_input_tokens": 10,
        "model_details.total_output_tokens": 2,
      },
    ]);
  }, 600_000);
});
