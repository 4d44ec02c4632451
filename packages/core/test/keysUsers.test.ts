import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { ALL, spendKeys, spendUsers, spendUsersInput, userScope } from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { buildLogs, cmp, KEYS, USERS, writeWorld } from "../src/testing/spendWorld.ts";

const t = useTestDb({
  setup: async (t) => {
    await writeWorld(t.db, buildLogs(20));
  },
});

const bySpend = <T extends { spend: number }>(rows: T[], id: (r: T) => string) =>
  [...rows].sort((a, b) => b.spend - a.spend || cmp(id(a), id(b)));

describe("spendKeys (GET /spend/keys)", () => {
  it("every key, highest spend first, as LiteLLM stores it (token is the hash, never the raw key)", async () => {
    const expected = bySpend(KEYS, (k) => k.token);
    const got = await spendKeys(t.db, ALL);
    expect(got.map((k) => [k.token, k.spend, k.key_alias, k.key_name, k.user_id])).toEqual(
      expected.map((k) => [k.token, k.spend, k.key_alias, k.key_name, k.user_id]),
    );
    // Whole rows: LiteLLM's other columns come back too.
    expect(got[0]).toHaveProperty("models");
    expect(got[0]).toHaveProperty("metadata");
    const text = JSON.stringify(got);
    for (const k of KEYS) expect(text).not.toContain(k.raw);
  });

  it("internal users: only their own keys (the original listed every key)", async () => {
    const got = await spendKeys(t.db, userScope("alice"));
    expect(got.map((k) => k.token)).toEqual(
      bySpend(
        KEYS.filter((k) => k.user_id === "alice"),
        (k) => k.token,
      ).map((k) => k.token),
    );
    expect(await spendKeys(t.db, userScope("nobody"))).toEqual([]);
  });
});

describe("spendUsers (GET /spend/users)", () => {
  it("every user, highest spend first, never the password column", async () => {
    const got = await spendUsers(t.db, ALL, undefined);
    expect(got.map((u) => [u.user_id, u.spend, u.user_role])).toEqual(
      bySpend(USERS, (u) => u.user_id).map((u) => [u.user_id, u.spend, u.user_role]),
    );
    for (const u of got) expect(u).not.toHaveProperty("password");
    expect(JSON.stringify(got)).not.toContain("hash-a");
    expect(got[0]).toHaveProperty("user_email");
    // Every other column of the table, in the table's order, on every row.
    const cols = (
      await sql<{ c: string }>`SELECT column_name AS c FROM information_schema.columns
        WHERE table_name = 'LiteLLM_UserTable' AND table_schema = current_schema() ORDER BY ordinal_position`.execute(
        t.db,
      )
    ).rows
      .map((r) => r.c)
      .filter((c) => c !== "password");
    for (const u of got) expect(Object.keys(u)).toEqual(cols);
  });

  it("user_id gives that user's row, [] for an unknown user", async () => {
    const got = await spendUsers(t.db, ALL, spendUsersInput.parse({ user_id: "carol" }));
    expect(got.map((u) => [u.user_id, u.spend])).toEqual([["carol", 0.5]]);
    expect(got[0]).not.toHaveProperty("password");
    expect(await spendUsers(t.db, ALL, { user_id: "nobody" })).toEqual([]);
  });

  it("internal users: only themselves; another user_id is 403", async () => {
    const got = await spendUsers(t.db, userScope("bob"), undefined);
    expect(got.map((u) => [u.user_id, u.spend])).toEqual([["bob", 99]]);
    expect((await spendUsers(t.db, userScope("bob"), { user_id: "bob" })).map((u) => u.user_id)).toEqual([
      "bob",
    ]);
    await expect(spendUsers(t.db, userScope("bob"), { user_id: "alice" })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
  });
});
