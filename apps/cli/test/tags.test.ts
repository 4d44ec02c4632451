import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createTestDb, insertLogs, makeLog, type TestDb } from "@spendlens/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../bin/spendlens.mjs", import.meta.url));
const run = promisify(execFile);

async function cli(args: string[]) {
  try {
    const r = await run(process.execPath, [BIN, ...args], { timeout: 240_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout: string; stderr: string };
    return { code: x.code ?? 1, stdout: x.stdout, stderr: x.stderr };
  }
}

const RANGE = ["--start-date", "2026-01-31", "--end-date", "2026-02-01"];
// In range, split: a 3/2 + 1 = 2.5 (2 logs), b 3/2 = 1.5 (1); full: a 4, b 3.
const logs = [
  makeLog({ startTime: "2026-01-31T00:00:00.000Z", spend: 3, request_tags: '["a","b"]' }),
  makeLog({ startTime: "2026-02-01T23:59:59.999Z", spend: 1, request_tags: '["a"]' }),
  makeLog({ startTime: "2026-02-01T10:00:00.000Z", spend: 5, request_tags: '"old-string"' }),
  makeLog({ startTime: "2026-02-02T00:00:00.000Z", spend: 64, request_tags: '["a","z"]' }),
];

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb({ onDisk: true });
  await insertLogs(t.db, logs);
  if (t.engine === "pglite") await t.close();
});
afterAll(() => t?.drop());

describe("spendlens tag commands", () => {
  it("global-spend-tags --json: split by default, --attribution full, --tags filter", async () => {
    const split = await cli([...t.cliArgs, "--json", "global-spend-tags", ...RANGE]);
    expect(split.stderr).toBe("");
    expect(JSON.parse(split.stdout)).toEqual({
      spend_per_tag: [
        { name: "a", spend: 2.5, log_count: 2 },
        { name: "b", spend: 1.5, log_count: 1 },
      ],
    });
    const full = await cli([
      ...t.cliArgs,
      "--json",
      "global-spend-tags",
      ...RANGE,
      "--tags",
      "b",
      "--attribution",
      "full",
    ]);
    expect(JSON.parse(full.stdout)).toEqual({ spend_per_tag: [{ name: "b", spend: 3, log_count: 1 }] });
  }, 600_000);

  it("tag-names prints a table; spend-tags --csv over all time", async () => {
    const names = await cli([...t.cliArgs, "tag-names"]);
    expect(names.stdout).toMatch(/│ tag │\n[^\n]*\n│ a\s+│\n[^\n]*\n│ b\s+│\n[^\n]*\n│ z\s+│/);
    const csv = await cli([...t.cliArgs, "--csv", "spend-tags"]);
    expect(csv.stdout).toBe("individual_request_tag,log_count,total_spend\na,3,34.5\nz,1,32\nb,1,1.5\n");
  }, 600_000);
});
