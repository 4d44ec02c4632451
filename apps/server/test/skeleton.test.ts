import { usersWithKeys } from "@spendlens/api/testing";
import { emptyConfig, openDatabase } from "@spendlens/core";
import { insertLogs, makeLog } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { startServer } from "../src/server.ts";
import { useTestServer } from "../src/testing.ts";

const MASTER = "sk-master-server-test";
const NOW = new Date("2026-05-20T12:00:00.000Z"); // window from 2026-04-20T00:00:00Z

/** LiteLLM's error body. */
const errorBody = (message: string, type: string, code: string) => ({
  error: { message, type, param: null, code },
});

const logs = [
  makeLog({ startTime: "2026-04-20T00:00:00.000Z", spend: 10.5, user: "alice" }),
  makeLog({ startTime: "2026-04-19T23:59:59.999Z", spend: 1000, user: "alice" }),
  makeLog({ startTime: "2026-05-20T11:00:00.000Z", spend: 0.25, user: "bob" }),
];
const expected = logs
  .filter((l) => l.startTime >= "2026-04-20T00:00:00.000Z")
  .reduce((s, l) => s + l.spend, 0);

const h = useTestServer({
  master: MASTER,
  now: NOW,
  config: { ...emptyConfig(), maxBudget: 99 },
  ...usersWithKeys({ alice: "internal_user", vic: "proxy_admin_viewer" }),
  setup: (t) => insertLogs(t.db, logs),
});
/** A raw Response; no Authorization header unless a key is given. */
const get = (path: string, key?: string, init: RequestInit = {}) => h.fetch(path, key ?? null, init);

describe("GET /global/spend through HTTP", () => {
  it("answers the master key with the brute-force sum and the configured max budget", async () => {
    expect(expected).toBe(10.75);
    const r = await get("/global/spend", MASTER);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ spend: 10.75, max_budget: 99 });
  });

  it("answers proxy_admin_viewer too, and the tRPC route gives the same numbers", async () => {
    expect(await (await get("/global/spend", "sk-vic")).json()).toEqual({ spend: 10.75, max_budget: 99 });
    const r = await get("/trpc/spend.globalSpend", MASTER);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ result: { data: { spend: 10.75, max_budget: 99 } } });
  });

  it("is 401 without a key and with a wrong key, in LiteLLM's error shape", async () => {
    const none = await get("/global/spend");
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual(
      errorBody("missing API key: send Authorization: Bearer <key>", "auth_error", "401"),
    );
    const wrong = await get("/global/spend", "sk-not-a-key");
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toBe("invalid API key");
    expect((await get("/trpc/spend.globalSpend", "sk-not-a-key")).status).toBe(401);
  });

  it("answers CSV with ?format=csv or Accept: text/csv", async () => {
    const a = await get("/global/spend?format=csv", MASTER);
    expect(a.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(await a.text()).toBe("spend,max_budget\n10.75,99\n");
    const b = await get("/global/spend", MASTER, { headers: { accept: "text/csv" } });
    expect(await b.text()).toBe("spend,max_budget\n10.75,99\n");
  });

  it("is 403 for an internal user on an admin report", async () => {
    const r = await get("/global/spend", "sk-alice");
    expect(r.status).toBe(403);
    expect(((await r.json()) as { error: { type: string } }).error.type).toBe("permission_error");
  });

  it("is 400 naming the field for bad tRPC input, and 400 for a body that is not JSON", async () => {
    const r = await get(`/trpc/spend.globalSpend?input=${encodeURIComponent('"not-an-object"')}`, MASTER);
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: { message: string; data: { code: string } } };
    expect(body.error.data.code).toBe("BAD_REQUEST");
    expect(body.error.message).toMatch(/input: /);
  });

  it("serves the dashboard (apps/web's build) without a key, and its index.html for the app's routes", async () => {
    const page = await get("/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await page.text();
    const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"><\/script>/.exec(html);
    expect(script).not.toBeNull();
    const js = await get(script![1]!);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toContain("immutable");
    // A client route that a browser navigates to: the app's page; the same path asked by an API client: 404.
    const route = await get("/teams/t1", undefined, { headers: { accept: "text/html,*/*" } });
    expect(route.status).toBe(200);
    expect(await route.text()).toBe(html);
    expect((await get("/teams/t1")).status).toBe(404);
    expect((await get("/assets/missing.js", undefined, { headers: { accept: "text/html" } })).status).toBe(
      404,
    );
    expect((await get("/../package.json")).status).toBe(404);
    expect((await get("/assets/../../package.json")).status).toBe(404);
  });

  it("has /healthz, 404 for unknown paths and 405 for a wrong method", async () => {
    expect(await (await get("/healthz")).json()).toEqual({ status: "ok", database: h.t.engine });
    expect((await get("/no/such/route", MASTER)).status).toBe(404);
    expect((await get("/global/spend", MASTER, { method: "POST" })).status).toBe(405);
  });
});

describe("a database that is down", () => {
  it("answers 503 with a clear message, never a stack trace", async () => {
    // Nothing listens on port 1: every query fails to connect.
    const dead = await openDatabase({ databaseUrl: "postgres://postgres@127.0.0.1:1/nowhere" });
    const down = await startServer({
      services: { db: dead.db, handle: dead, config: emptyConfig(), masterKey: MASTER },
      port: 0,
      logger: (await import("pino")).default({ level: "silent" }),
    });
    try {
      const as = (path: string, key: string) =>
        fetch(`${down.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
      const viaMaster = await as("/global/spend", MASTER);
      expect(viaMaster.status).toBe(503);
      expect(await viaMaster.json()).toEqual(
        errorBody("the database is unavailable", "service_unavailable", "503"),
      );
      // A virtual key needs the database to be checked: also 503, not 401.
      expect((await as("/global/spend", "sk-alice")).status).toBe(503);
      const trpc = await as("/trpc/spend.globalSpend", MASTER);
      expect(trpc.status).toBe(503);
      const text = await trpc.text();
      expect(text).not.toMatch(/ECONNREFUSED|at .*\.ts/);
      expect((await fetch(`${down.url}/healthz`)).status).toBe(503);
    } finally {
      await down.close();
      await dead.close();
    }
  });
});
