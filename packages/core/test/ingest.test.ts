import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import {
  ALL,
  emptyConfig,
  hashToken,
  ingestErrorLogs,
  ingestSpendLogs,
  type SpendlensConfig,
  SpendlensError,
  userScope,
} from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { testEngine } from "../src/testing/index.ts";

const NOW = new Date("2026-03-15T10:00:00.000Z");
const config: SpendlensConfig = emptyConfig();

const RAW_KEY = "sk-ingest-alpha";
const KEY = hashToken(RAW_KEY);

const t = useTestDb({
  now: NOW,
  setup: async (t) => {
    await sql`INSERT INTO "LiteLLM_TeamTable" (team_id) VALUES ('team-a'), ('team-b')`.execute(t.db);
    await sql`INSERT INTO "LiteLLM_UserTable" (user_id) VALUES ('alice'), ('bob')`.execute(t.db);
    await sql`INSERT INTO "LiteLLM_VerificationToken" (token, user_id, team_id)
      VALUES (${KEY}, 'alice', 'team-a'), ('hashed-b', 'bob', 'team-b'), ('hot-key', 'bob', 'team-b')`.execute(
      t.db,
    );
  },
});

async function spendOf(table: string, idCol: string, id: string): Promise<number | null> {
  const r = await sql<{ spend: number }>`SELECT spend::float8 AS spend FROM ${sql.table(table)}
    WHERE ${sql.ref(idCol)} = ${id}`.execute(t.db);
  return r.rows[0]?.spend ?? null;
}
const keySpend = (k: string) => spendOf("LiteLLM_VerificationToken", "token", k);
const userSpend = (u: string) => spendOf("LiteLLM_UserTable", "user_id", u);
const teamSpend = (x: string) => spendOf("LiteLLM_TeamTable", "team_id", x);
const endUserSpend = (x: string) => spendOf("LiteLLM_EndUserTable", "user_id", x);
async function countLogs(prefix: string): Promise<number> {
  const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM "LiteLLM_SpendLogs"
    WHERE request_id LIKE ${`${prefix}%`}`.execute(t.db);
  return r.rows[0]!.n;
}

const log = (id: string, p: Record<string, unknown> = {}) => ({
  request_id: id,
  api_key: RAW_KEY,
  spend: 0.5,
  startTime: "2026-03-15T09:00:00Z",
  model: "gpt-4o",
  user: "alice",
  team_id: "team-a",
  end_user: "cust-1",
  request_tags: ["prod"],
  prompt_tokens: 10,
  completion_tokens: 5,
  ...p,
});

describe("ingestSpendLogs", () => {
  it("stores rows as LiteLLM does (raw key hashed, defaults filled) and moves every counter by their spend", async () => {
    const batch = [
      log("basic-1", { spend: 0.25 }),
      log("basic-2", { spend: 1.5, end_user: "cust-2", request_tags: [], metadata: { a: 1 } }),
      log("basic-3", { spend: 2, api_key: "hashed-b", user: "bob", team_id: "team-b", end_user: null }),
    ];
    const r = await ingestSpendLogs(t.db, ALL, { logs: batch }, config);
    expect(r).toEqual({
      received: 3,
      inserted: 3,
      duplicates: [],
      conflicts: [],
      invalid: [],
      spend_added: 3.75,
      provider_spend_added: {},
    });
    const stored = await sql<
      Record<string, unknown>
    >`SELECT request_id, api_key, spend, total_tokens, "startTime",
        "endTime", request_tags, metadata, end_user, model_id FROM "LiteLLM_SpendLogs"
      WHERE request_id LIKE 'basic-%' ORDER BY request_id`.execute(t.db);
    expect(stored.rows[0]).toEqual({
      request_id: "basic-1",
      api_key: KEY,
      spend: 0.25,
      total_tokens: 15,
      startTime: "2026-03-15T09:00:00.000Z",
      endTime: "2026-03-15T09:00:00.000Z",
      request_tags: ["prod"],
      metadata: {},
      end_user: "cust-1",
      model_id: "",
    });
    expect(stored.rows[1]!.metadata).toEqual({ a: 1 });
    expect(stored.rows[2]!.api_key).toBe("hashed-b");
    // Counters: brute force over the batch.
    expect(await keySpend(KEY)).toBe(0.25 + 1.5);
    expect(await keySpend("hashed-b")).toBe(2);
    expect(await userSpend("alice")).toBe(1.75);
    expect(await userSpend("bob")).toBe(2);
    expect(await teamSpend("team-a")).toBe(1.75);
    expect(await teamSpend("team-b")).toBe(2);
    expect(await endUserSpend("cust-1")).toBe(0.25); // created when missing
    expect(await endUserSpend("cust-2")).toBe(1.5);
  });

  it("counts the same batch once: a resend is all duplicates and changes nothing", async () => {
    const batch = [log("dup-1", { spend: 0.125 }), log("dup-2", { spend: 0.375 })];
    const before = await keySpend(KEY);
    const first = await ingestSpendLogs(t.db, ALL, { logs: batch }, config);
    expect(first.inserted).toBe(2);
    const again = await ingestSpendLogs(t.db, ALL, { logs: batch }, config);
    expect(again).toMatchObject({
      inserted: 0,
      duplicates: ["dup-1", "dup-2"],
      conflicts: [],
      spend_added: 0,
    });
    expect(await keySpend(KEY)).toBe(before! + 0.5);
    expect(await countLogs("dup-")).toBe(2);
  });

  it("reports the same id with other content as a conflict naming the fields, and changes nothing", async () => {
    await ingestSpendLogs(t.db, ALL, { logs: [log("conf-1", { spend: 1 })] }, config);
    const key = await keySpend(KEY);
    const user = await userSpend("alice");
    const r = await ingestSpendLogs(
      t.db,
      ALL,
      { logs: [log("conf-1", { spend: 9, model: "gpt-4" }), log("conf-2", { spend: 0.25 })] },
      config,
    );
    expect(r.inserted).toBe(1);
    expect(r.duplicates).toEqual([]);
    expect(r.conflicts).toEqual([{ request_id: "conf-1", fields: ["spend", "model"] }]);
    const stored = await sql<{ spend: number; model: string }>`SELECT spend, model FROM "LiteLLM_SpendLogs"
      WHERE request_id = 'conf-1'`.execute(t.db);
    expect(stored.rows).toEqual([{ spend: 1, model: "gpt-4o" }]);
    expect(await keySpend(KEY)).toBe(key! + 0.25); // only conf-2
    expect(await userSpend("alice")).toBe(user! + 0.25);
  });

  it("tells a jsonb duplicate by value, not by key order, and a timestamp by instant, not by spelling", async () => {
    const a = log("json-1", { metadata: { x: 1, y: [1, 2] }, startTime: "2026-03-15T11:30:00+02:00" });
    expect((await ingestSpendLogs(t.db, ALL, { logs: [a] }, config)).inserted).toBe(1);
    const b = { ...a, metadata: { y: [1, 2], x: 1 }, startTime: "2026-03-15 09:30:00.000" };
    const r = await ingestSpendLogs(t.db, ALL, { logs: [b] }, config);
    expect(r).toMatchObject({ inserted: 0, duplicates: ["json-1"], conflicts: [] });
    const c = { ...a, metadata: { x: 2, y: [1, 2] }, request_tags: ["dev"] };
    expect((await ingestSpendLogs(t.db, ALL, { logs: [c] }, config)).conflicts).toEqual([
      { request_id: "json-1", fields: ["metadata", "request_tags"] },
    ]);
  });

  it("reports each bad row by index with its reason and stores the others", async () => {
    const before = await keySpend(KEY);
    const r = await ingestSpendLogs(
      t.db,
      ALL,
      {
        logs: [
          log("bad-ok-1", { spend: 0.5 }),
          { ...log("x"), request_id: undefined },
          log("bad-neg", { spend: -1 }),
          log("bad-tags", { request_tags: "prod" }),
          log("bad-time", { startTime: "2026-02-30T00:00:00Z" }),
          "not a row",
          log("bad-ok-2", { spend: 0.25 }),
          log("bad-nan", { spend: Number.POSITIVE_INFINITY }),
        ],
      },
      config,
    );
    expect(r.inserted).toBe(2);
    expect(r.invalid.map((x) => [x.index, x.request_id, x.field])).toEqual([
      [1, null, "request_id"],
      [2, "bad-neg", "spend"],
      [3, "bad-tags", "request_tags"],
      [4, "bad-time", "startTime"],
      [5, null, null],
      [7, "bad-nan", "spend"],
    ]);
    expect(r.invalid[0]!.reason).toBe("request_id: is required");
    expect(r.invalid[1]!.reason).toBe("spend: must be ≥ 0");
    expect(r.invalid[2]!.reason).toContain("request_tags: must be an array of strings");
    expect(r.invalid[3]!.reason).toContain("startTime: must be an ISO 8601 time");
    expect(await keySpend(KEY)).toBe(before! + 0.75);
    expect(await countLogs("bad-")).toBe(2);
  });

  it("inside one batch, a repeated id is a duplicate or a conflict of its first row", async () => {
    const r = await ingestSpendLogs(
      t.db,
      ALL,
      {
        logs: [log("rep-1", { spend: 0.5 }), log("rep-1", { spend: 0.5 }), log("rep-1", { spend: 0.75 })],
      },
      config,
    );
    expect(r).toMatchObject({
      inserted: 1,
      duplicates: ["rep-1"],
      conflicts: [{ request_id: "rep-1", fields: ["spend"] }],
      spend_added: 0.5,
    });
  });

  it("refuses an empty batch and one over 1000 rows with a 400 naming logs", async () => {
    for (const logs of [[], Array.from({ length: 1001 }, (_, i) => log(`big-${i}`))]) {
      const e = await ingestSpendLogs(t.db, ALL, { logs }, config).catch((x) => x);
      expect(e).toBeInstanceOf(SpendlensError);
      expect(e.code).toBe("BAD_REQUEST");
      expect(e.field).toBe("logs");
    }
    expect(await countLogs("big-")).toBe(0);
  });

  it("applies an internal user's scope: rows of other users are invalid", async () => {
    const r = await ingestSpendLogs(
      t.db,
      userScope("bob"),
      {
        logs: [
          log("scope-1", { user: "bob", api_key: "hashed-b", team_id: "team-b", spend: 0 }),
          log("scope-2", { user: "alice" }),
        ],
      },
      config,
    );
    expect(r.inserted).toBe(1);
    expect(r.invalid).toEqual([
      {
        index: 1,
        request_id: "scope-2",
        field: "user",
        reason: "user: this key may only write logs of user bob",
      },
    ]);
  });
});

describe("ingestSpendLogs under concurrency", () => {
  it("the same batch sent 50 times at once counts once", async () => {
    // Dyadic spends: any order of float additions gives the exact same sum.
    const batch = Array.from({ length: 40 }, (_, i) =>
      log(`c50-${String(i).padStart(3, "0")}`, {
        api_key: "hot-key",
        user: "bob",
        team_id: "team-b",
        spend: (i + 1) / 64,
      }),
    );
    const expected = batch.reduce((s, l) => s + (l.spend as number), 0);
    expect(expected).toBe(12.8125);
    const before = {
      key: await keySpend("hot-key"),
      user: await userSpend("bob"),
      team: await teamSpend("team-b"),
    };
    const rs = await Promise.all(
      Array.from({ length: 50 }, () => ingestSpendLogs(t.db, ALL, { logs: batch }, config)),
    );
    expect(rs.reduce((s, r) => s + r.inserted, 0)).toBe(40);
    expect(rs.reduce((s, r) => s + r.duplicates.length, 0)).toBe(49 * 40);
    expect(rs.every((r) => r.conflicts.length === 0)).toBe(true);
    expect(await countLogs("c50-")).toBe(40);
    expect(await keySpend("hot-key")).toBe(before.key! + expected);
    expect(await userSpend("bob")).toBe(before.user! + expected);
    expect(await teamSpend("team-b")).toBe(before.team! + expected);
  });

  // 20 writers at once on one key (on Postgres, 20 connections meeting on the key's row): 100 logs each
  // race as 500 did (all start together and wait on the same row), at a fifth of the writing.
  it("20 concurrent writers × 100 logs on one key: the key's spend is the exact sum", async () => {
    await sql`UPDATE "LiteLLM_VerificationToken" SET spend = 0 WHERE token = 'hot-key'`.execute(t.db);
    const writers = Array.from({ length: 20 }, (_, w) =>
      Array.from({ length: 100 }, (_, i) =>
        log(`w${w}-${i}`, {
          api_key: "hot-key",
          user: "bob",
          team_id: "team-b",
          end_user: `eu-${i % 7}`,
          spend: ((w * 100 + i) % 97) / 256,
        }),
      ),
    );
    const all = writers.flat();
    const expected = all.reduce((s, l) => s + (l.spend as number), 0);
    const perEndUser = new Map<string, number>();
    for (const l of all)
      perEndUser.set(l.end_user as string, (perEndUser.get(l.end_user as string) ?? 0) + (l.spend as number));
    const rs = await Promise.all(writers.map((logs) => ingestSpendLogs(t.db, ALL, { logs }, config)));
    expect(rs.reduce((s, r) => s + r.inserted, 0)).toBe(2_000);
    expect(await keySpend("hot-key")).toBe(expected);
    for (const [eu, v] of perEndUser) expect(await endUserSpend(eu)).toBe(v);
    const r = await sql<{ s: number; n: number }>`SELECT sum(spend)::float8 AS s, count(*)::int AS n
      FROM "LiteLLM_SpendLogs" WHERE api_key = 'hot-key' AND request_id LIKE 'w%'`.execute(t.db);
    expect(r.rows[0]).toEqual({ s: expected, n: 2_000 });
  });

  it(`overlapping batches in opposite orders neither deadlock nor double count (${testEngine()})`, async () => {
    // Overlapping batches in opposite orders: sorted locking means no deadlock, and each row counts once.
    const ids = Array.from({ length: 200 }, (_, i) => `ov-${String(i).padStart(3, "0")}`);
    const mk = (id: string) => log(id, { api_key: "hot-key", user: "bob", team_id: "team-b", spend: 0.5 });
    const before = await keySpend("hot-key");
    const batches = Array.from({ length: 10 }, (_, b) => {
      const part = ids.filter((_, i) => (i + b) % 3 !== 0).map(mk);
      return b % 2 ? part.reverse() : part;
    });
    const rs = await Promise.all(batches.map((logs) => ingestSpendLogs(t.db, ALL, { logs }, config)));
    const distinct = new Set(batches.flat().map((l) => l.request_id)).size;
    expect(rs.reduce((s, r) => s + r.inserted, 0)).toBe(distinct);
    expect(await keySpend("hot-key")).toBe(before! + distinct * 0.5);
  });
});

describe("ingestErrorLogs", () => {
  const err = (id: string, p: Record<string, unknown> = {}) => ({
    request_id: id,
    startTime: "2026-03-15T08:00:00Z",
    model_group: "gpt-4o",
    api_base: "https://api.openai.com",
    exception_type: "RateLimitError",
    status_code: 429,
    ...p,
  });

  it("stores error logs idempotently: inserted, duplicates, conflicts and invalid rows", async () => {
    const first = await ingestErrorLogs(t.db, ALL, {
      logs: [err("e-1"), err("e-2", { status_code: "500" })],
    });
    expect(first).toEqual({ received: 2, inserted: 2, duplicates: [], conflicts: [], invalid: [] });
    const again = await ingestErrorLogs(t.db, ALL, {
      logs: [
        err("e-1"),
        err("e-2", { status_code: "503" }),
        err("e-3", { startTime: "yesterday" }),
        err("e-4"),
      ],
    });
    expect(again).toEqual({
      received: 4,
      inserted: 1,
      duplicates: ["e-1"],
      conflicts: [{ request_id: "e-2", fields: ["status_code"] }],
      invalid: [
        {
          index: 2,
          request_id: "e-3",
          field: "startTime",
          reason: "startTime: must be an ISO 8601 time, e.g. 2026-03-15T10:00:00.000Z",
        },
      ],
    });
    const rows = await sql<{ request_id: string; status_code: string; endTime: string }>`SELECT request_id,
        status_code, "endTime" FROM "LiteLLM_ErrorLogs" WHERE request_id LIKE 'e-%' ORDER BY request_id`.execute(
      t.db,
    );
    expect(rows.rows).toEqual([
      { request_id: "e-1", status_code: "429", endTime: "2026-03-15T08:00:00.000Z" },
      { request_id: "e-2", status_code: "500", endTime: "2026-03-15T08:00:00.000Z" },
      { request_id: "e-4", status_code: "429", endTime: "2026-03-15T08:00:00.000Z" },
    ]);
  });

  it("is refused to an internal user's scope", async () => {
    const e = await ingestErrorLogs(t.db, userScope("bob"), { logs: [err("e-9")] }).catch((x) => x);
    expect(e).toBeInstanceOf(SpendlensError);
    expect(e.code).toBe("FORBIDDEN");
  });
});
