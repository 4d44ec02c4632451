import { createTestDb, hashToken, type TestDb, testEngine, writeFixtures } from "@spendlens/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Replica, startReplica } from "./replicas.ts";

/**
 * Verified virtual keys are trusted for SPENDLENS_KEY_CACHE_MS (packages/api keyCache.ts), on real
 * `spendlens serve` replicas sharing one Postgres: a key blocked, deleted or whose user's role changed
 * in the database is refused by every replica within that bound (and, within it, a cached key still
 * answers: the cache is in use); an expired key is refused at once whatever the bound; a key added to
 * the database works at once (refusals are not cached). Postgres only (several processes).
 */

const MASTER = "sk-master-keycache";
const TTL = 1500;
const onPostgres = testEngine() === "postgres";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!onPostgres)("verified-key cache on two replicas (Postgres only)", () => {
  let t: TestDb;
  let reps: Replica[] = [];
  const q = (text: string, values: unknown[] = []) => t.pool!.query(text, values);
  const call = async (r: Replica, key: string, path = "/global/spend") => {
    const res = await fetch(`${r.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await res.json()) as { error?: { message: string } };
    return { status: res.status, message: body.error?.message ?? null };
  };
  /** Polls a replica until `ok(answer)`; returns ms from `since` until then (fails after `max` ms). */
  const until = async (
    r: Replica,
    key: string,
    ok: (a: { status: number; message: string | null }) => boolean,
    since: number,
    max: number,
  ) => {
    for (;;) {
      const a = await call(r, key);
      if (ok(a)) return performance.now() - since;
      if (performance.now() - since > max) throw new Error(`still ${JSON.stringify(a)} after ${max} ms`);
      await sleep(50);
    }
  };

  beforeAll(async () => {
    t = await createTestDb();
    await writeFixtures(t.db, {
      users: [
        { user_id: "admin-a", user_role: "proxy_admin" },
        { user_id: "admin-b", user_role: "proxy_admin" },
        { user_id: "admin-c", user_role: "proxy_admin" },
      ],
      keys: [
        { raw: "sk-kc-block", user_id: "admin-a", spend: 0 },
        { raw: "sk-kc-role", user_id: "admin-b", spend: 0 },
        { raw: "sk-kc-delete", user_id: "admin-c", spend: 0 },
        { raw: "sk-kc-expire", user_id: "admin-a", spend: 0 },
      ],
    });
    reps = await Promise.all(
      [0, 1].map(() => startReplica(t.url!, MASTER, { SPENDLENS_KEY_CACHE_MS: String(TTL) })),
    );
  }, 90_000);
  afterAll(async () => {
    await Promise.all(reps.map((r) => r.stop()));
    await t?.drop();
  }, 30_000);

  /** Warms every replica with `key`, changes the database, checks the bound on each replica. */
  async function revoke(
    key: string,
    change: () => Promise<unknown>,
    refused: { status: number; message: RegExp },
  ): Promise<void> {
    for (const r of reps) expect(await call(r, key)).toMatchObject({ status: 200 });
    const warmed = performance.now();
    await change();
    const changed = performance.now();
    // Within the bound a replica still answers from its cache (asserted only when this call surely
    // started inside the bound, which a loaded machine may not give).
    const a = await call(reps[0]!, key);
    if (performance.now() - warmed < TTL - 500) expect(a.status).toBe(200);
    for (const r of reps) {
      const took = await until(r, key, (x) => x.status === refused.status, changed, TTL + 3000);
      expect(took, "refused within the cache's bound").toBeLessThanOrEqual(TTL + 1000);
      const x = await call(r, key);
      expect(x.status).toBe(refused.status);
      expect(x.message).toMatch(refused.message);
    }
  }

  it("a blocked key is refused by every replica within the bound", async () => {
    await revoke(
      "sk-kc-block",
      () =>
        q(`UPDATE "LiteLLM_VerificationToken" SET blocked = true WHERE token = $1`, [
          hashToken("sk-kc-block"),
        ]),
      { status: 401, message: /blocked/ },
    );
  });

  it("a user demoted to internal_user loses the admin report within the bound", async () => {
    await revoke(
      "sk-kc-role",
      () => q(`UPDATE "LiteLLM_UserTable" SET user_role = 'internal_user' WHERE user_id = 'admin-b'`),
      { status: 403, message: /internal_user/ },
    );
  });

  it("a deleted key is refused within the bound", async () => {
    await revoke(
      "sk-kc-delete",
      () => q(`DELETE FROM "LiteLLM_VerificationToken" WHERE token = $1`, [hashToken("sk-kc-delete")]),
      { status: 401, message: /invalid API key/ },
    );
  });

  it("an expired key is refused at once, cached or not", async () => {
    // Expiring well inside the cache's bound: a refusal before the bound ends is not the cache's expiry.
    const expires = new Date(Date.now() + 900);
    await q(`UPDATE "LiteLLM_VerificationToken" SET expires = $1 WHERE token = $2`, [
      expires,
      hashToken("sk-kc-expire"),
    ]);
    const warming = performance.now();
    for (const r of reps) expect((await call(r, "sk-kc-expire")).status).toBe(200);
    await sleep(Math.max(0, expires.getTime() - Date.now()) + 20);
    for (const r of reps)
      expect(await call(r, "sk-kc-expire")).toEqual({ status: 401, message: "this API key has expired" });
    expect(
      performance.now() - warming,
      "refused while the cached entries were still in their bound",
    ).toBeLessThan(TTL);
  });

  it("a key added to the database works at once (a refusal is not cached)", async () => {
    for (const r of reps)
      expect(await call(r, "sk-kc-new")).toEqual({ status: 401, message: "invalid API key" });
    await writeFixtures(t.db, { keys: [{ raw: "sk-kc-new", user_id: "admin-c", spend: 0 }] });
    for (const r of reps) expect((await call(r, "sk-kc-new")).status).toBe(200);
  });
});
