import { emptyConfig } from "@spendlens/core";
import { createTestDb, parseConfig, setClock, type TestDb, writeFixtures } from "@spendlens/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callRestRoute, createCaller, createContext, restRoutes, type Services } from "../src/index.ts";
import { usersWithKeys } from "../src/testing.ts";

const MASTER = "sk-master-budgets-api";
let t: TestDb;
const config = parseConfig(
  "router_settings:\n  provider_budget_config:\n    openai: { budget_limit: 100, time_period: 1d }\n",
  "t.yaml",
);

beforeAll(async () => {
  setClock(() => new Date("2026-03-15T10:00:00.000Z"));
  t = await createTestDb();
  await writeFixtures(t.db, usersWithKeys({ alice: "internal_user_viewer" }));
});
afterAll(async () => {
  setClock(null);
  await t?.drop();
});

const services = (c = config): Services => ({ db: t.db, config: c, masterKey: MASTER });
async function rest(s: Services, key: string | null) {
  const route = restRoutes().find((r) => r.path === "/provider/budgets")!;
  return callRestRoute(await createContext(s, key), route, { query: {}, body: undefined });
}

describe("GET /provider/budgets", () => {
  it("answers any valid key (an internal viewer too) with the original's shape, spend moved by ingest", async () => {
    await (await createCaller(await createContext(services(), MASTER))).ingest.spendLogs({
      logs: [{ request_id: "b-1", model: "gpt-4o", spend: 1.5, startTime: "2026-03-15T09:00:00Z" }],
    });
    const r = await rest(services(), "sk-alice");
    expect(r).toEqual({
      status: 200,
      body: {
        providers: {
          openai: {
            budget_limit: 100,
            time_period: "1d",
            spend: 1.5,
            budget_reset_at: "2026-03-16T09:00:00.000Z",
            window: "rolling",
            window_start: "2026-03-15T09:00:00.000Z",
          },
        },
      },
    });
  });

  it("401 without a key; 400 that says so when no provider budget is configured", async () => {
    expect((await rest(services(), null)).status).toBe(401);
    const r = await rest(services(emptyConfig()), MASTER);
    expect(r.status).toBe(400);
    expect((r.body as { error: { message: string } }).error.message).toContain(
      "No provider budget config found",
    );
  });
});
