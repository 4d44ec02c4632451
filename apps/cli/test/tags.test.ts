import { makeLog } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { useCliLogs } from "./harness.ts";

const RANGE = ["--start-date", "2026-01-31", "--end-date", "2026-02-01"];
// In range, split: a 3/2 + 1 = 2.5 (2 logs), b 3/2 = 1.5 (1).
const logs = [
  makeLog({ startTime: "2026-01-31T00:00:00.000Z", spend: 3, request_tags: '["a","b"]' }),
  makeLog({ startTime: "2026-02-01T23:59:59.999Z", spend: 1, request_tags: '["a"]' }),
  makeLog({ startTime: "2026-02-01T10:00:00.000Z", spend: 5, request_tags: '"old-string"' }),
  makeLog({ startTime: "2026-02-02T00:00:00.000Z", spend: 64, request_tags: '["a","z"]' }),
];

/** Through a server; split and full attribution's numbers are core's (test/tags.test.ts). */
const { cli, json } = useCliLogs("sk-master-cli-tags", logs);

describe("spendlens tag commands", () => {
  it("global-spend-tags --json: split by default", async () => {
    expect(await json(["global-spend-tags", ...RANGE])).toEqual({
      spend_per_tag: [
        { name: "a", spend: 2.5, log_count: 2 },
        { name: "b", spend: 1.5, log_count: 1 },
      ],
    });
  }, 600_000);

  it("tag-names prints a table; spend-tags --csv over all time", async () => {
    const names = await cli(["tag-names"]);
    expect(names.stdout).toBe("tag\na\nb\nz\n");
    const csv = await cli(["--csv", "spend-tags"]);
    expect(csv.stdout).toBe("individual_request_tag,log_count,total_spend\na,3,34.5\nz,1,32\nb,1,1.5\n");
  }, 600_000);
});
