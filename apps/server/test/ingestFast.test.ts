import { hashToken, parseConfig } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { useTestServer } from "../src/testing.ts";

/**
 * The one-statement ingest through real HTTP: concurrent overlapping batches of 1000 rows (the bench's
 * shape) leave /global/spend, /global/spend/keys, /provider/budgets and the key counters equal to a
 * brute-force sum over the rows sent; text Postgres cannot store is one invalid row, not a failed batch.
 */

const MASTER = "sk-master-ingest-fast";
const NOW = new Date("2026-06-10T12:00:00.000Z");

const config = parseConfig(
  `
router_settings:
  provider_budget_config:
    openai: { budget_limit: 1000, time_period: 1d, window: calendar }
`,
  "ingest-fast-server.yaml",
);

const KEYS = ["sk-if-0", "sk-if-1", "sk-if-2"];

const h = useTestServer({ master: MASTER, now: NOW, config, keys: KEYS.map((raw) => ({ raw, spend: 0 })) });

/** A raw Response: the tests read its status and body. */
const post = (path: string, body: unknown) =>
  h.fetch(path, MASTER, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
const get = async (path: string) => {
  const r = await h.get(path);
  expect(r.status).toBe(200);
  return r.body;
};

describe("POST /spend/logs/ingest, batches of 1000 over HTTP", () => {
  // 3000 distinct logs today; 6 batches of 1000 over a window sliding by 400 (overlaps of 600 rows).
  const pool = Array.from({ length: 3000 }, (_, i) => ({
    request_id: `hf-${String(i).padStart(5, "0")}`,
    api_key: KEYS[i % KEYS.length]!,
    spend: (i % 41) / 32, // dyadic: exact sums in any order
    startTime: new Date(NOW.getTime() - (i % 600) * 60_000).toISOString(),
    model: i % 3 ? "gpt-4o" : "claude-3-5-sonnet-20241022",
    user: `user-${i % 7}`,
    request_tags: i % 2 ? ["prod"] : [],
    prompt_tokens: i % 100,
    completion_tokens: 3,
  }));
  const batches = Array.from({ length: 6 }, (_, b) =>
    Array.from({ length: 1000 }, (_, j) => pool[(b * 400 + j) % pool.length]!),
  );
  const sent = new Map(batches.flat().map((l) => [l.request_id, l]));
  const stored = [...sent.values()];

  it("stores each log once and every report equals the brute-force sum", async () => {
    const rs = await Promise.all(batches.map((logs) => post("/spend/logs/ingest", { logs })));
    expect(rs.map((r) => r.status)).toEqual(batches.map(() => 200));
    const bodies = (await Promise.all(rs.map((r) => r.json()))) as {
      inserted: number;
      duplicates: string[];
      conflicts: unknown[];
      invalid: unknown[];
      spend_added: number;
    }[];
    expect(bodies.reduce((s, b) => s + b.inserted, 0)).toBe(stored.length);
    expect(bodies.reduce((s, b) => s + b.duplicates.length, 0)).toBe(6000 - stored.length);
    expect(bodies.every((b) => b.conflicts.length === 0 && b.invalid.length === 0)).toBe(true);
    const total = stored.reduce((s, l) => s + l.spend, 0);
    expect(bodies.reduce((s, b) => s + b.spend_added, 0)).toBe(total);

    expect((await get("/global/spend")).spend).toBe(total);
    const keys = (await get("/global/spend/keys?limit=10")) as { api_key: string; total_spend: number }[];
    const perKey = new Map<string, number>();
    for (const l of stored)
      perKey.set(hashToken(l.api_key), (perKey.get(hashToken(l.api_key)) ?? 0) + l.spend);
    expect(new Map(keys.map((k) => [k.api_key, k.total_spend]))).toEqual(perKey);
    const counters = await h.t.db
      .selectFrom("LiteLLM_VerificationToken")
      .select(["token", "spend"])
      .execute();
    expect(new Map(counters.map((c) => [c.token, c.spend]))).toEqual(perKey);
    const openai = stored.filter((l) => l.model === "gpt-4o").reduce((s, l) => s + l.spend, 0);
    expect((await get("/provider/budgets")).providers.openai).toMatchObject({
      spend: openai,
      window_start: "2026-06-10T00:00:00.000Z",
      budget_reset_at: "2026-06-11T00:00:00.000Z",
    });
  });

  it("answers a row Postgres cannot store as invalid, naming the field, and stores the rest", async () => {
    const r = await post("/spend/logs/ingest", [
      { request_id: "hf-nul-1", startTime: "2026-06-10T10:00:00Z", end_user: "bad\u0000user", spend: 1 },
      { request_id: "hf-nul-2", startTime: "2026-06-10T10:00:00Z", spend: 0.5, api_key: KEYS[0] },
    ]);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({
      inserted: 1,
      invalid: [
        {
          index: 0,
          request_id: "hf-nul-1",
          field: "end_user",
          reason: "end_user: must not contain a NUL character or an unpaired UTF-16 surrogate",
        },
      ],
      spend_added: 0.5,
    });
  });
});
