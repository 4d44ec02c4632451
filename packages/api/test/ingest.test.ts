import { describe, expect, it } from "vitest";
import { apiHarness } from "./harness.ts";

const MASTER = "sk-master-ingest-api";
const h = apiHarness({
  master: MASTER,
  users: [
    { user_id: "alice", user_role: "internal_user" },
    { user_id: "vic", user_role: "proxy_admin_viewer" },
    { user_id: "gw", user_role: "internal_user" },
  ],
  keys: [
    { raw: "sk-alice", user_id: "alice", metadata: "{}" },
    { raw: "sk-vic", user_id: "vic", metadata: "{}" },
    { raw: "sk-gateway", user_id: "gw", metadata: JSON.stringify({ spendlens_ingest: true }) },
    { raw: "sk-gateway-nested", user_id: "gw", metadata: JSON.stringify({ spendlens: { ingest: true } }) },
    { raw: "sk-not-quite", user_id: "gw", metadata: JSON.stringify({ spendlens_ingest: "yes" }) },
  ],
});
const as = h.as;
const row = (id: string, spend = 0.5) => ({
  request_id: id,
  spend,
  startTime: "2026-03-01T00:00:00Z",
  user: "alice",
});
const rest = (key: string, path: string, body: unknown) => h.rest(key, path, {}, { method: "POST", body });

describe("ingest procedures: who may write", () => {
  it("lets the master key and keys whose metadata grants spendlens_ingest write", async () => {
    expect((await (await as(MASTER)).ingest.spendLogs({ logs: [row("api-m-1")] })).inserted).toBe(1);
    expect((await (await as("sk-gateway")).ingest.spendLogs({ logs: [row("api-g-1")] })).inserted).toBe(1);
    expect(
      (await (await as("sk-gateway-nested")).ingest.errorLogs({ logs: [row("api-g-2")] })).inserted,
    ).toBe(1);
  });

  it("refuses other keys with 403 (an admin viewer too, and a grant that is not exactly true) and no key with 401", async () => {
    for (const key of ["sk-alice", "sk-vic", "sk-not-quite"]) {
      const e = await (await as(key)).ingest.spendLogs({ logs: [row(`api-x-${key}`)] }).catch((x) => x);
      expect(e.code).toBe("FORBIDDEN");
      expect(e.message).toContain("spendlens_ingest");
    }
    const e = await (await as(null)).ingest.spendLogs({ logs: [row("api-x-none")] }).catch((x) => x);
    expect(e.code).toBe("UNAUTHORIZED");
    const stored = await h.t.db
      .selectFrom("LiteLLM_SpendLogs")
      .select("request_id")
      .where("request_id", "like", "api-x-%")
      .execute();
    expect(stored).toEqual([]);
  });
});

describe("ingest REST routes", () => {
  it("POST /spend/logs/ingest takes {logs: [...]} or a bare array and answers per request_id", async () => {
    const a = await rest(MASTER, "/spend/logs/ingest", { logs: [row("api-r-1"), row("api-r-2")] });
    expect(a).toEqual({
      status: 200,
      body: {
        received: 2,
        inserted: 2,
        duplicates: [],
        conflicts: [],
        invalid: [],
        spend_added: 1,
        provider_spend_added: {},
      },
    });
    const b = await rest(MASTER, "/spend/logs/ingest", [row("api-r-1"), row("api-r-2", 7), { spend: 1 }]);
    expect(b.status).toBe(200);
    expect(b.body).toMatchObject({
      inserted: 0,
      duplicates: ["api-r-1"],
      conflicts: [{ request_id: "api-r-2", fields: ["spend"] }],
      invalid: [{ index: 2, request_id: null, field: "request_id", reason: "request_id: is required" }],
    });
  });

  it("answers 400 naming logs for a missing, empty or oversized batch", async () => {
    for (const body of [
      undefined,
      {},
      { logs: [] },
      { logs: Array.from({ length: 1001 }, (_, i) => row(`big-${i}`)) },
    ]) {
      const r = await rest(MASTER, "/spend/logs/ingest", body);
      expect(r.status).toBe(400);
      expect((r.body as { error: { param: string } }).error.param).toBe("logs");
    }
  });

  it("POST /error/logs/ingest is 403 for a plain key in LiteLLM's error shape", async () => {
    const r = await rest("sk-alice", "/error/logs/ingest", { logs: [row("api-e-1")] });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ error: { type: "permission_error", code: "403" } });
  });
});
