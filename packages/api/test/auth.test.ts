import { describe, expect, it } from "vitest";
import { usersWithKeys } from "../src/testing.ts";
import { apiHarness } from "./harness.ts";

const MASTER = "sk-master-whoami";
const h = apiHarness({
  master: MASTER,
  ...usersWithKeys({ alice: "internal_user", vera: "proxy_admin_viewer" }),
});
const whoami = async (key: string | null) => (await h.as(key)).auth.whoami();

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
