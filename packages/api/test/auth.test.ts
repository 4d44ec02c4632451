import { emptyConfig } from "@spendlens/core";
import { createTestDb, type TestDb, writeFixtures } from "@spendlens/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCaller, createContext, type Services } from "../src/index.ts";

const MASTER = "sk-master-whoami";
let t: TestDb;
let services: Services;

beforeAll(async () => {
  t = await createTestDb();
  await writeFixtures(t.db, {
    users: [
      { user_id: "alice", user_role: "internal_user" },
      { user_id: "vera", user_role: "proxy_admin_viewer" },
    ],
    keys: [
      { raw: "sk-alice", user_id: "alice" },
      { raw: "sk-vera", user_id: "vera" },
    ],
  });
  services = { db: t.db, config: emptyConfig(), masterKey: MASTER };
});
afterAll(async () => {
  await t.drop();
});

const whoami = async (key: string | null) => createCaller(await createContext(services, key)).auth.whoami();

describe("auth.whoami", () => {
  it("answers the master key as proxy_admin without a user", async () => {
    expect(await whoami(MASTER)).toEqual({ role: "proxy_admin", user_id: null });
  });
  it("answers a virtual key with its user's role and id", async () => {
    expect(await whoami("sk-alice")).toEqual({ role: "internal_user", user_id: "alice" });
    expect(await whoami("sk-vera")).toEqual({ role: "proxy_admin_viewer", user_id: "vera" });
  });
  it("rejects a wrong or missing key as UNAUTHORIZED", async () => {
    await expect(whoami("sk-nope")).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    await expect(whoami(null)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });
});
