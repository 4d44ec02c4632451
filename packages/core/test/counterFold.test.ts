import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import {
  ALL,
  emptyConfig,
  foldSpendCounters,
  hashToken,
  ingestSpendLogs,
  openDatabase,
  resetSpend,
  spendKeys,
  spendUsers,
} from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { deadlockCount, testEngine } from "../src/testing/index.ts";

/**
 * Spend counters as pending increments (spend/counters.ts): an ingest statement appends them, a fold adds
 * them to the counters. A counter row another transaction holds is skipped (never waited for) and its
 * increment stays pending, read exactly by /spend/keys and /spend/users meanwhile, and added by the next
 * fold; a reset drops the pending key and team increments with the counters.
 */

const NOW = new Date("2026-04-02T10:00:00.000Z");
const KEY_A = "sk-fold-a";
const KEY_B = "sk-fold-b";

const t = useTestDb({
  now: NOW,
  setup: async (t) => {
    await sql`INSERT INTO "LiteLLM_TeamTable" (team_id) VALUES ('fold-team')`.execute(t.db);
    await sql`INSERT INTO "LiteLLM_UserTable" (user_id) VALUES ('fold-user')`.execute(t.db);
    await sql`INSERT INTO "LiteLLM_VerificationToken" (token, user_id, team_id)
      VALUES (${hashToken(KEY_A)}, 'fold-user', 'fold-team'), (${hashToken(KEY_B)}, 'fold-user', 'fold-team')`.execute(
      t.db,
    );
  },
});

const log = (id: string, key: string, spend: number, endUser: string) => ({
  request_id: id,
  api_key: key,
  spend,
  startTime: "2026-04-02T09:00:00Z",
  model: "gpt-4o",
  user: "fold-user",
  team_id: "fold-team",
  end_user: endUser,
});
const counter = async (table: string, id: string, value: string) =>
  (
    await sql<{
      spend: number;
    }>`SELECT spend FROM ${sql.table(table)} WHERE ${sql.ref(id)} = ${value}`.execute(t.db)
  ).rows[0]?.spend ?? null;
const pending = async () =>
  (await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.counter_deltas`.execute(t.db)).rows[0]!
    .n;

describe("spend counters: pending increments and the fold", () => {
  it("an ingest call answers after its increments reached every counter; nothing stays pending", async () => {
    const r = await ingestSpendLogs(
      t.db,
      ALL,
      {
        logs: [
          log("f-1", KEY_A, 0.5, "fold-eu-1"),
          log("f-2", KEY_B, 0.25, "fold-eu-1"),
          log("f-3", KEY_A, 0, "fold-eu-2"),
        ],
      },
      emptyConfig(),
    );
    expect(r.inserted).toBe(3);
    expect(await pending()).toBe(0);
    expect(await counter("LiteLLM_VerificationToken", "token", hashToken(KEY_A))).toBe(0.5);
    expect(await counter("LiteLLM_VerificationToken", "token", hashToken(KEY_B))).toBe(0.25);
    expect(await counter("LiteLLM_UserTable", "user_id", "fold-user")).toBe(0.75);
    expect(await counter("LiteLLM_TeamTable", "team_id", "fold-team")).toBe(0.75);
    expect(await counter("LiteLLM_EndUserTable", "user_id", "fold-eu-1")).toBe(0.75);
    expect(await counter("LiteLLM_EndUserTable", "user_id", "fold-eu-2")).toBe(null); // zero spend creates nothing
  });

  it("increments inside a caller's transaction are pending until a fold; readers add them", async () => {
    await t.db.transaction().execute(async (trx) => {
      await ingestSpendLogs(trx, ALL, { logs: [log("f-4", KEY_A, 1, "fold-eu-3")] }, emptyConfig());
    });
    expect(await pending()).toBe(4); // key, user, team, end user
    expect(await counter("LiteLLM_VerificationToken", "token", hashToken(KEY_A))).toBe(0.5);
    const keys = await spendKeys(t.db, ALL);
    expect(keys.map((k) => [k.token, k.spend])).toEqual([
      [hashToken(KEY_A), 1.5],
      [hashToken(KEY_B), 0.25],
    ]);
    expect((await spendUsers(t.db, ALL, undefined)).map((u) => [u.user_id, u.spend])).toEqual([
      ["fold-user", 1.75],
    ]);
    expect(await foldSpendCounters(t.db)).toEqual({ applied: 4, deferred: 0 });
    expect(await pending()).toBe(0);
    expect(await counter("LiteLLM_VerificationToken", "token", hashToken(KEY_A))).toBe(1.5);
    expect(await counter("LiteLLM_EndUserTable", "user_id", "fold-eu-3")).toBe(1);
    expect((await spendKeys(t.db, ALL)).map((k) => k.spend)).toEqual([1.5, 0.25]);
  });

  it.skipIf(testEngine() !== "postgres")(
    "a counter row held by another transaction is skipped, not waited for, and folded later (Postgres: two sessions)",
    async () => {
      const other = await openDatabase({ databaseUrl: t.url! });
      try {
        const holder = await other.db.startTransaction().execute();
        // LiteLLM's spend writer, say, holding key A's row.
        await sql`UPDATE "LiteLLM_VerificationToken" SET spend = spend + 2 WHERE token = ${hashToken(KEY_A)}`.execute(
          holder,
        );
        const r = await ingestSpendLogs(
          t.db,
          ALL,
          { logs: [log("f-5", KEY_A, 0.125, "fold-eu-1")] },
          emptyConfig(),
        );
        expect(r.inserted).toBe(1); // answered although key A's row is locked
        expect(await pending()).toBe(1); // only the key's increment waits
        expect(await counter("LiteLLM_UserTable", "user_id", "fold-user")).toBe(1.875);
        await holder.commit().execute();
        // Exact meanwhile: the counter (with the other writer's +2) plus the pending increment.
        expect((await spendKeys(t.db, ALL)).find((k) => k.token === hashToken(KEY_A))!.spend).toBe(3.625);
        // (The deferred fold also retries by itself a second later; either fold adds it once.)
        await foldSpendCounters(t.db);
        expect(await counter("LiteLLM_VerificationToken", "token", hashToken(KEY_A))).toBe(3.625);
        expect(await pending()).toBe(0);
      } finally {
        await other.close();
      }
    },
  );

  it.skipIf(testEngine() !== "postgres").each([
    ["B then A", KEY_B, KEY_A, "f-7"],
    ["A then B", KEY_A, KEY_B, "f-9"],
  ])(
    "LiteLLM's spend writer (one transaction, keys in its own order: %s) and an ingest call cannot deadlock (Postgres: two sessions)",
    async (_order, first, second, id) => {
      // Both writers on handles of their own, closed before the deadlock counter is read: a backend
      // reports its statistics at exit (a pooled, busy one only now and then).
      const other = await openDatabase({ databaseUrl: t.url! });
      const writer = await openDatabase({ databaseUrl: t.url! });
      const before = await deadlockCount(t.db);
      const spendOfKey = async (k: string) =>
        (await spendKeys(t.db, ALL)).find((x) => x.token === hashToken(k))!.spend as number;
      const a0 = await spendOfKey(KEY_A);
      const b0 = await spendOfKey(KEY_B);
      try {
        // LiteLLM's writer: UPDATE one key, then (later, same transaction) the other.
        const litellm = await other.db.startTransaction().execute();
        await sql`UPDATE "LiteLLM_VerificationToken" SET spend = spend + 1 WHERE token = ${hashToken(first)}`.execute(
          litellm,
        );
        // An ingest batch for both keys meanwhile. Counters updated inside the ingest statement (in any
        // fixed order) would lock one key and wait for the other in one of the two orders.
        const ingest = ingestSpendLogs(
          writer.db,
          ALL,
          { logs: [log(id, KEY_A, 0.5, "fold-eu-1"), log(`${id}b`, KEY_B, 0.25, "fold-eu-1")] },
          emptyConfig(),
        );
        await new Promise((r) => setTimeout(r, 300));
        await sql`UPDATE "LiteLLM_VerificationToken" SET spend = spend + 1 WHERE token = ${hashToken(second)}`.execute(
          litellm,
        );
        await litellm.commit().execute(); // no deadlock_detected for LiteLLM
        expect((await ingest).inserted).toBe(2);
        await foldSpendCounters(t.db);
        expect(await pending()).toBe(0);
        expect(await counter("LiteLLM_VerificationToken", "token", hashToken(KEY_A))).toBe(a0 + 1.5);
        expect(await counter("LiteLLM_VerificationToken", "token", hashToken(KEY_B))).toBe(b0 + 1.25);
      } finally {
        await other.close();
        await writer.close();
      }
      expect(await deadlockCount(t.db)).toBe(before);
    },
  );

  it("a reset drops pending key and team increments with the counters, and keeps user and end-user ones", async () => {
    await t.db.transaction().execute(async (trx) => {
      await ingestSpendLogs(trx, ALL, { logs: [log("f-6", KEY_B, 4, "fold-eu-1")] }, emptyConfig());
    });
    const user = (await spendUsers(t.db, ALL, undefined))[0]!.spend as number;
    await resetSpend(t.db, ALL);
    expect((await spendKeys(t.db, ALL)).map((k) => k.spend)).toEqual([0, 0]);
    expect(await counter("LiteLLM_TeamTable", "team_id", "fold-team")).toBe(0);
    expect((await spendUsers(t.db, ALL, undefined))[0]!.spend).toBe(user);
    await foldSpendCounters(t.db);
    expect((await spendKeys(t.db, ALL)).map((k) => k.spend)).toEqual([0, 0]);
    expect(await counter("LiteLLM_UserTable", "user_id", "fold-user")).toBe(user);
  });
});
