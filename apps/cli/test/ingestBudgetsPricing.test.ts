import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DbHandle, openDatabase } from "@spendlens/core";
import { hashToken } from "@spendlens/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, useCliDb } from "./harness.ts";

const c = useCliDb({ keys: [{ raw: "sk-cli" }] });
let dir: string;
let args: string[];

// The CLI runs with the real clock: logs are dated a few minutes ago, so they sit in the current window.
const base = Date.now() - 10 * 60_000;
const at = (min: number) => new Date(base + min * 60_000).toISOString();
const logs = [
  { request_id: "cli-1", api_key: "sk-cli", model: "gpt-4o", spend: 1.25, startTime: at(1) },
  { request_id: "cli-2", api_key: "sk-cli", model: "gpt-4o", spend: 0.5, startTime: at(0) },
  { request_id: "cli-3", api_key: "sk-cli", model: "claude-3-5-sonnet-20241022", spend: 2, startTime: at(2) },
  { request_id: "cli-4", api_key: "sk-cli", spend: -3, startTime: at(2) },
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "spendlens-cli-ibp-"));
  writeFileSync(
    join(dir, "config.yaml"),
    "router_settings:\n  provider_budget_config:\n    openai: { budget_limit: 100, time_period: 1d }\n",
  );
  writeFileSync(join(dir, "logs.json"), JSON.stringify({ logs }));
  // NDJSON: one row per line.
  writeFileSync(
    join(dir, "errors.ndjson"),
    '{"request_id":"cli-e1","startTime":"2026-01-01T00:00:00Z"}\n\n{"request_id":"cli-e2","startTime":"2026-01-01T00:00:00Z","status_code":429}\n',
  );
  args = [...c.t.cliArgs, "--config", join(dir, "config.yaml")];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (extra: string[]) => runCli([...args, ...extra], { timeout: 90_000 });

describe("spendlens ingest-logs / ingest-error-logs", () => {
  it("writes the valid rows once, reports the bad one by index, and a resend as duplicates", async () => {
    const first = await cli(["--json", "ingest-logs", "--file", join(dir, "logs.json")]);
    expect(first.stderr).toBe("");
    expect(JSON.parse(first.stdout)).toEqual({
      received: 4,
      inserted: 3,
      duplicates: 0,
      conflicts: 0,
      invalid: 1,
      spend_added: 3.75,
      provider_spend_added: { openai: 1.75 },
      not_inserted: [{ index: 3, request_id: "cli-4", status: "invalid", detail: "spend: must be ≥ 0" }],
    });
    const again = await cli(["ingest-logs", "--file", join(dir, "logs.json")]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("inserted: 0\nduplicates: 3\n");
    expect(again.stdout).toMatch(/^\s+cli-1\s+duplicate\b/m);
  });

  it("reads NDJSON, and says in one line when the file cannot be read", async () => {
    const r = await cli(["--json", "ingest-error-logs", "--file", join(dir, "errors.ndjson")]);
    expect(JSON.parse(r.stdout)).toMatchObject({ received: 2, inserted: 2, invalid: 0 });
    const missing = await cli(["ingest-logs", "--file", join(dir, "nope.json")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`spendlens: cannot read ${join(dir, "nope.json")}: ENOENT\n`);
  });
});

describe("spendlens provider-budgets", () => {
  it("shows one row per provider with the spend ingested in the current rolling window", async () => {
    const r = await cli(["--json", "provider-budgets"]);
    expect(r.stderr).toBe("");
    // openai: cli-1 and cli-2; the window starts at the earliest of them (cli-2) and lasts 1d.
    expect(JSON.parse(r.stdout)).toEqual([
      {
        provider: "openai",
        budget_limit: 100,
        time_period: "1d",
        window: "rolling",
        spend: 1.25 + 0.5,
        budget_reset_at: new Date(base + 86_400_000).toISOString(),
        window_start: at(0),
      },
    ]);
  });
});

describe("spendlens spend-calculate", () => {
  it("prices a completion response (gpt-4o: $2.50/1M input, $10/1M output, OpenAI's list price)", async () => {
    const resp = { model: "gpt-4o", usage: { prompt_tokens: 1000, completion_tokens: 100 } };
    const r = await cli(["--json", "spend-calculate", "--completion-response", JSON.stringify(resp)]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(out.cost).toBeCloseTo(1000 * 2.5e-6 + 100 * 10e-6, 15);
    expect(out.price_entry).toBe("openai/gpt-4o");
  });

  it("answers a model without messages with one line and exit 1", async () => {
    const r = await cli(["spend-calculate", "--model", "gpt-4o"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "spendlens: Bad Request - messages must be provided if 'model' is provided (400 BAD_REQUEST)\n",
    );
  });
});

describe("what the CLI wrote", () => {
  it("moved the key's spend by the inserted rows only, once", async () => {
    const h: DbHandle = c.t.engine === "pglite" ? await openDatabase({ dataDir: c.t.dataDir! }) : c.t;
    try {
      const row = await h.db
        .selectFrom("LiteLLM_VerificationToken")
        .select("spend")
        .where("token", "=", hashToken("sk-cli"))
        .executeTakeFirstOrThrow();
      expect(row.spend).toBe(1.25 + 0.5 + 2);
    } finally {
      if (c.t.engine === "pglite") await h.close();
    }
  });
});
