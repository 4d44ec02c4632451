import { describe, expect, it } from "vitest";
import {
  authenticate,
  hashToken,
  normalizeKeyFilter,
  SpendlensError,
  scopeOf,
  secretsEqual,
} from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";

const MASTER = "sk-master-test";

const t = useTestDb({
  setup: async (t) => {
    await t.db
      .insertInto("LiteLLM_UserTable")
      .values([
        { user_id: "viewer", user_role: "proxy_admin_viewer" },
        { user_id: "alice", user_role: "internal_user" },
        { user_id: "norole", user_role: null },
      ])
      .execute();
    const key = (raw: string, user_id: string | null, extra: object = {}) => ({
      token: hashToken(raw),
      user_id,
      ...extra,
    });
    await t.db
      .insertInto("LiteLLM_VerificationToken")
      .values([
        key("sk-viewer", "viewer"),
        key("sk-alice", "alice", { metadata: JSON.stringify({ spendlens_ingest: true }) }),
        key("sk-norole", "norole"),
        key("sk-nouser", null),
        key("sk-blocked", "alice", { blocked: true }),
        key("sk-expired", "alice", { expires: "2020-01-01T00:00:00.000Z" }),
        key("sk-future", "alice", { expires: "2999-01-01T00:00:00.000Z" }),
      ])
      .execute();
  },
});

const unauthorized = async (bearer: string | null, message: string) => {
  const e = await authenticate(t.db, bearer, MASTER).catch((x) => x);
  expect(e).toBeInstanceOf(SpendlensError);
  expect(e.code).toBe("UNAUTHORIZED");
  expect(e.message).toContain(message);
};

describe("authenticate", () => {
  it("takes the master key as proxy_admin", async () => {
    expect(await authenticate(t.db, MASTER, MASTER)).toEqual({
      role: "proxy_admin",
      userId: null,
      keyHash: null,
      metadata: {},
    });
  });

  it("looks virtual keys up by sha256, with the role of their user", async () => {
    expect(await authenticate(t.db, "sk-viewer", MASTER)).toMatchObject({
      role: "proxy_admin_viewer",
      userId: "viewer",
    });
    const alice = await authenticate(t.db, "sk-alice", MASTER);
    expect(alice).toEqual({
      role: "internal_user",
      userId: "alice",
      keyHash: hashToken("sk-alice"),
      metadata: { spendlens_ingest: true },
    });
    expect(scopeOf(alice)).toEqual({ kind: "user", userId: "alice" });
    expect(await authenticate(t.db, "sk-future", MASTER)).toMatchObject({
      role: "internal_user",
      userId: "alice",
    });
  });

  it("gives internal_user to a key whose user has no role or that has no user", async () => {
    expect((await authenticate(t.db, "sk-norole", MASTER)).role).toBe("internal_user");
    const nouser = await authenticate(t.db, "sk-nouser", MASTER);
    expect(nouser.role).toBe("internal_user");
    expect(() => scopeOf(nouser)).toThrow(/no user/);
  });

  it("refuses missing, wrong, blocked and expired keys", async () => {
    await unauthorized(null, "missing API key");
    await unauthorized("", "missing API key");
    await unauthorized("sk-wrong", "invalid API key");
    await unauthorized(hashToken("sk-alice"), "invalid API key"); // the stored hash is not a key
    await unauthorized("sk-blocked", "blocked");
    await unauthorized("sk-expired", "expired");
  });

  it("does not accept anything as master when no master key is configured", async () => {
    const e = await authenticate(t.db, "", undefined).catch((x) => x);
    expect(e.code).toBe("UNAUTHORIZED");
    await expect(authenticate(t.db, "anything", undefined)).rejects.toThrow("invalid API key");
  });
});

describe("key hashing", () => {
  it("is LiteLLM's hash_token (sha256 hex) and hashes only raw sk- filters", () => {
    // sha256("sk-1234") as Python's hashlib (and so LiteLLM) computes it.
    expect(hashToken("sk-1234")).toBe("88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b");
    expect(normalizeKeyFilter("sk-1234")).toBe(hashToken("sk-1234"));
    const hashed = hashToken("sk-1234");
    expect(normalizeKeyFilter(hashed)).toBe(hashed);
    expect(secretsEqual("a", "a")).toBe(true);
    expect(secretsEqual("a", "ab")).toBe(false);
  });
});
