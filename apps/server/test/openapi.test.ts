import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { matchRoute, openApiDocument, restRoutes } from "@spendlens/api";
import {
  detectBudgetAlerts,
  hashToken,
  insertErrorLogs,
  insertLogs,
  makeErrorLog,
  makeLog,
  parseConfig,
} from "@spendlens/core/testing";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { useTestServer } from "../src/testing.ts";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

const MASTER = "sk-master-openapi";
const KEY_A = hashToken("sk-openapi-key-a");
const doc = openApiDocument() as any;

const CONFIG = parseConfig(
  [
    "model_list:",
    "  - model_name: gpt-4o",
    "    litellm_params:",
    "      model: gpt-4o",
    "    model_info:",
    "      id: dep-1",
    "router_settings:",
    "  provider_budget_config:",
    "    openai:",
    "      budget_limit: 10",
    "      time_period: 1d",
  ].join("\n"),
);

const h = useTestServer({
  master: MASTER,
  now: new Date("2026-02-02T12:00:00Z"),
  users: [{ user_id: "alice", spend: 1 }],
  // Budgets of both kinds: the team's resets (a window, crossed: alerts), the key's never does.
  teams: [
    {
      team_id: "t1",
      team_alias: "Team one",
      spend: 1,
      max_budget: 1,
      budget_duration: "30d",
      budget_reset_at: "2026-02-10T00:00:00.000Z",
    },
  ],
  keys: [
    {
      raw: "sk-openapi-key-a",
      user_id: "alice",
      team_id: "t1",
      key_alias: "a",
      spend: 2,
      max_budget: 10,
    },
  ],
  config: CONFIG,
  setup: async (t) => {
    await insertLogs(t.db, [
      makeLog({
        startTime: "2026-02-01T09:00:00.000Z",
        user: "alice",
        api_key: KEY_A,
        model: "gpt-4o",
        model_id: "dep-1",
        model_group: "gpt-4o",
        custom_llm_provider: "openai",
        team_id: "t1",
        end_user: "cust-1",
        spend: 1.5,
        prompt_tokens: 10,
        completion_tokens: 5,
        request_tags: JSON.stringify(["tag-x"]),
        api_base: "https://a.example",
        request_id: "req-openapi-1",
      }),
    ]);
    await t.db
      .updateTable("LiteLLM_SpendLogs")
      .set({ session_id: "sess-1" })
      .where("request_id", "=", "req-openapi-1")
      .execute();
    await insertErrorLogs(t.db, [
      makeErrorLog({
        startTime: "2026-02-01T10:00:00.000Z",
        model_group: "gpt-4o",
        api_base: "https://a.example",
      }),
    ]);
    // The team's budget is crossed: the outbox gets its events (what /budget/alerts lists).
    expect(await detectBudgetAlerts(t.db, CONFIG)).toBeGreaterThan(0);
  },
});

const D = "start_date=2026-01-31&end_date=2026-02-01";
/** A request per answer shape of every REST route (the test fails when a route has none). */
const SAMPLES: [method: "GET" | "POST", pathAndQuery: string, body?: unknown][] = [
  ["GET", "/global/spend"],
  ["GET", "/global/spend/logs"],
  ["GET", "/global/spend/keys"],
  ["GET", "/global/spend/models"],
  ["GET", "/global/spend/teams"],
  ["GET", "/global/all_end_users"],
  ["POST", "/global/spend/end_users", {}],
  ["GET", "/spend/keys"],
  ["GET", "/spend/users"],
  ["GET", "/spendlens/teams"],
  ["GET", "/spend/users?user_id=alice"],
  ["GET", "/spend/logs?api_key=sk-openapi-key-a"],
  ["GET", `/spend/logs?${D}`],
  ["GET", "/spend/logs/ui?start_date=2026-01-31%2000:00:00&end_date=2026-02-02%2000:00:00"],
  ["GET", "/spend/logs/ui/req-openapi-1"],
  ["GET", "/spend/logs/session/ui?session_id=sess-1"],
  ["GET", `/spend/logs/v2?${D}`],
  ["GET", `/global/activity?${D}`],
  ["GET", `/global/activity/model?${D}`],
  ["GET", `/global/activity/exceptions?model_group=gpt-4o&${D}`],
  ["GET", `/global/activity/exceptions/deployment?model_group=gpt-4o&${D}`],
  ["GET", `/global/activity/cache_hits?${D}`],
  ["GET", `/spendlens/activity/failures?${D}`],
  ["GET", `/user/daily/activity?${D}`],
  ["GET", `/user/daily/activity/aggregated?${D}`],
  ["GET", `/team/daily/activity?${D}`],
  ["GET", `/organization/daily/activity?${D}`],
  ["GET", `/customer/daily/activity?${D}`],
  ["GET", `/end_user/daily/activity?${D}`],
  ["GET", `/agent/daily/activity?${D}`],
  ["GET", `/tag/daily/activity?${D}`],
  ["GET", `/global/spend/provider?${D}`],
  ["GET", `/global/spend/report?${D}`],
  ["GET", `/global/spend/report?group_by=customer&${D}`],
  ["GET", `/global/spend/report?group_by=api_key&${D}`],
  ["GET", `/spendlens/spend/report/explain?group_by=customer&${D}`],
  ["GET", "/spend/tags"],
  ["GET", "/global/spend/all_tag_names"],
  ["GET", `/global/spend/tags?${D}`],
  ["GET", "/tag/distinct"],
  ["GET", `/tag/dau?${D}`],
  ["GET", "/tag/wau"],
  ["GET", "/tag/mau"],
  ["GET", `/tag/summary?${D}`],
  ["GET", "/tag/user-agent/per-user-analytics"],
  ["GET", "/spendlens/analytics?dims=model,team&bucket=day&start=2026-01-31&end=2026-02-02"],
  ["POST", "/spendlens/analytics", { dims: ["model"], start: "2026-01-31", end: "2026-02-02" }],
  ["GET", "/spendlens/logs?limit=1&include_total=true"],
  ["GET", "/provider/budgets"],
  ["GET", "/budget/status"],
  ["GET", "/budget/alerts"],
  ["POST", "/spend/calculate", { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }],
  [
    "POST",
    "/spend/logs/ingest",
    { logs: [{ request_id: "oa-1", startTime: "2026-02-01T11:00:00Z", spend: 1 }] },
  ],
  ["POST", "/error/logs/ingest", [{ request_id: "oa-e1", startTime: "2026-02-01T11:00:00Z" }]],
  ["POST", "/global/spend/refresh", {}],
  ["POST", "/global/spend/reset", {}],
];

/** The route a sample calls: its path as the document names it (`/spend/logs/ui/{request_id}`). */
function routePath(method: string, pathAndQuery: string): string {
  const r = matchRoute(restRoutes(), method, pathAndQuery.split("?")[0]!);
  return r && r !== "method" ? r.path : pathAndQuery.split("?")[0]!;
}

/**
 * One Ajv for the file: a new instance per sample (with its formats) cost ~3.5 s of CPU over the samples,
 * and Ajv compiles a schema object once (its cache is keyed by the object): a route sampled twice is
 * compiled once.
 */
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator)", async () => {
    const validator = new Validator();
    const res = await validator.validate(structuredClone(doc));
    expect(res.errors ?? []).toEqual([]);
    expect(res.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("has every REST route and nothing else", () => {
    const documented = Object.entries(doc.paths as Record<string, object>)
      .flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const served = restRoutes()
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    expect(documented).toEqual(served);
    expect(served.length).toBeGreaterThan(25);
  });

  it("states parameters with their constraints, the error shape and the bearer scheme", () => {
    const keys = doc.paths["/global/spend/keys"].get;
    const limit = keys.parameters.find((p: any) => p.name === "limit");
    expect(limit).toMatchObject({
      in: "query",
      required: false,
      schema: { type: "integer", minimum: 1, maximum: 1000 },
    });
    const activity = doc.paths["/global/activity"].get.parameters;
    expect(activity.find((p: any) => p.name === "start_date")).toMatchObject({
      required: true,
      schema: { type: "string", format: "date" },
    });
    // A `{name}` segment of a route's path is a required path parameter, not a query one.
    expect(doc.paths["/spend/logs/ui/{request_id}"].get.parameters).toContainEqual(
      expect.objectContaining({ name: "request_id", in: "path", required: true }),
    );
    const dims = doc.paths["/spendlens/analytics"].get.parameters.find((p: any) => p.name === "dims");
    expect(dims).toMatchObject({ style: "form", explode: false, schema: { type: "array", maxItems: 16 } });
    expect(dims.schema.items.enum).toContain("model");
    expect(
      doc.paths["/spend/logs/ingest"].post.requestBody.content["application/json"].schema.anyOf,
    ).toHaveLength(2);
    expect(doc.components.securitySchemes.bearer).toEqual(
      expect.objectContaining({ type: "http", scheme: "bearer" }),
    );
    expect(doc.security).toContainEqual({ bearer: [] });
    expect(doc.components.schemas.Error.properties.error.required).toEqual([
      "message",
      "type",
      "param",
      "code",
    ]);
    // Role: admin-only routes document 403; any-key routes do not.
    expect(doc.paths["/global/spend/report"].get.responses["403"]).toBeDefined();
    expect(doc.paths["/spend/calculate"].post.responses["403"]).toBeUndefined();
    for (const item of Object.values<any>(doc.paths))
      for (const op of Object.values<any>(item)) {
        expect(op.responses["401"]).toEqual({ $ref: "#/components/responses/Unauthorized" });
        expect(op.responses["200"].content["application/json"].schema).toBeTypeOf("object");
      }
  });

  it("is served at /openapi.json and the reference at /docs, from local files", async () => {
    const r = await h.get("/openapi.json", null);
    expect(r.status).toBe(200);
    expect(r.type).toBe("application/json");
    expect(r.body).toEqual(doc);
    const page = await h.get("/docs", null);
    expect(page.status).toBe(200);
    expect(page.type).toContain("text/html");
    // Every script and stylesheet the page loads is served by spendlens itself.
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toEqual([
      "/docs/vendor/swagger-ui.css",
      "/docs/vendor/swagger-ui-bundle.js",
      "/docs/init.js",
    ]);
    for (const a of assets) {
      const res = await h.fetch(a, null);
      expect(res.status, a).toBe(200);
      expect((await res.arrayBuffer()).byteLength, a).toBeGreaterThan(100);
    }
  });

  it("has a sample for every route in this test", () => {
    const sampled = new Set(SAMPLES.map(([m, p]) => `${m} ${routePath(m, p)}`));
    expect(restRoutes().filter((r) => !sampled.has(`${r.method} ${r.path}`))).toEqual([]);
  });

  // The response schemas are documentation: they must fit what the server really answers.
  it.each(SAMPLES)("%s %s answers what the document says", async (method, pathAndQuery, body) => {
    const path = routePath(method, pathAndQuery);
    const r = await h.request(method, pathAndQuery, MASTER, body);
    expect(r.status, r.text).toBe(200);
    expect(r.text.length).toBeGreaterThan(2); // not an empty list
    const schema = doc.paths[path][method.toLowerCase()].responses["200"].content["application/json"].schema;
    const validate = ajv.compile(schema);
    expect(validate(r.body) ? [] : validate.errors).toEqual([]);
  });

  it("errors fit the documented Error schema (400 with param, 401, 403)", async () => {
    const validate = ajv.compile(doc.components.schemas.Error);
    const bad = await h.get("/global/activity?start_date=2026-13-01&end_date=2026-02-01");
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe("start_date");
    const noKey = await h.get("/global/spend", null);
    expect(noKey.status).toBe(401);
    for (const b of [bad.body, noKey.body]) expect(validate(b) ? [] : validate.errors).toEqual([]);
  });

  it("is enough for a client generator: openapi-typescript's types compile and name every route", async () => {
    const ast = await openapiTS(structuredClone(doc));
    const src = astToString(ast);
    for (const r of restRoutes()) expect(src).toContain(`"${r.path}"`);
    const dir = mkdtempSync(join(tmpdir(), "spendlens-openapi-ts-"));
    try {
      // A .ts file (not .d.ts), so that skipLibCheck below skips only TypeScript's own lib files: the
      // generated types are checked in full (checking lib.dom.d.ts and the rest took ~20 s of CPU).
      writeFileSync(join(dir, "api.ts"), src);
      // The generated types used the way a client would: a typed answer and a typed query.
      writeFileSync(
        join(dir, "use.ts"),
        [
          'import type { paths } from "./api";',
          'type Keys = paths["/global/spend/keys"]["get"]["responses"]["200"]["content"]["application/json"];',
          'const k: Keys = [{ api_key: "h", key_alias: null, key_name: null, total_spend: 1 }];',
          'type Q = paths["/global/activity"]["get"]["parameters"]["query"];',
          'const q: Q = { start_date: "2026-01-01", end_date: "2026-01-02" };',
          "// @ts-expect-error start_date is required",
          'const bad: Q = { end_date: "2026-01-02" };',
          "export { k, q, bad };",
        ].join("\n"),
      );
      const program = ts.createProgram([join(dir, "use.ts")], {
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        // ES5's lib (the types below need no later one): lib.es2022.d.ts and the eleven files it pulls in
        // cost ~0.5 s of CPU more to parse.
        lib: ["lib.es5.d.ts"],
        types: [],
      });
      const diags = ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      expect(diags).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
