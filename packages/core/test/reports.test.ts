import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import {
  ALL,
  type DemoLog,
  hashToken,
  parseConfig,
  prng,
  spendByProvider,
  spendByProviderInput,
  spendReport,
  spendReportInput,
  userScope,
} from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { insertLogs, makeLog, reportWindow } from "../src/testing/index.ts";
import { bruteCustomers, bruteKeys, bruteTeams as teamsOf } from "../src/testing/spendReport.ts";

const { START, END, includes: inWindow } = reportWindow;
const dayOf = (s: string) => s.slice(0, 10);

const KEY_A = hashToken("sk-alpha");
const KEY_B = hashToken("sk-beta");
const KEYS = [KEY_A, KEY_B, "plain-key-3"];
const TEAMS: Record<string, string | null> = { t1: "Team One", t2: "Team Two", t3: null }; // t3: no alias
const TEAM_IDS: (string | null)[] = ["t1", "t2", "t3", "ghost", null]; // ghost: not in the team table
const CUSTOMERS = ["cust-1", "cust-2", null];
const USERS = ["alice", "bob"];

const config = parseConfig(`
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt-4o-prod
    model_info:
      id: dep-azure
  - model_name: claude
    litellm_params:
      model: claude-3-5-sonnet
      custom_llm_provider: bedrock
    model_info:
      id: dep-bedrock
`);

// Provider cases, each labelled by hand with the provider it must count under.
const PROVIDER_CASES = [
  { model_id: "dep-azure", custom_llm_provider: "openai", model: "gpt-4o", prov: "azure" }, // deployment wins
  { model_id: "dep-bedrock", custom_llm_provider: "", model: "claude", prov: "bedrock" },
  { model_id: "missing-dep", custom_llm_provider: "vertex_ai", model: "gemini-x", prov: "vertex_ai" },
  { model_id: "", custom_llm_provider: "", model: "anthropic/claude-x", prov: "anthropic" }, // prefix
  { model_id: "", custom_llm_provider: "", model: "gpt-4o-mini", prov: "openai" }, // known name
  { model_id: "", custom_llm_provider: "", model: "", prov: "Unknown" },
  { model_id: "nope", custom_llm_provider: "", model: "my-weird-model", prov: "Unknown" },
];

const rnd = prng(11);
const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
// Spends are multiples of 1/256, so every sum is exact whatever the order of addition.
const spend = () => Math.floor(rnd() * 512) / 256;

const base = (p: Partial<DemoLog> & { startTime: string }): Partial<DemoLog> & { startTime: string } => ({
  api_key: pick(KEYS),
  team_id: pick(TEAM_IDS),
  end_user: pick(CUSTOMERS),
  user: pick(USERS),
  spend: spend(),
  prompt_tokens: Math.floor(rnd() * 1000),
  completion_tokens: Math.floor(rnd() * 300),
  ...p,
});

const provOf = new Map<string, string>();
const logs = [
  makeLog(
    base({
      startTime: "2026-01-29T23:59:59.999Z",
      spend: 1000,
      team_id: "t1",
      end_user: "cust-1",
      model: "",
    }),
  ),
  makeLog(
    base({
      startTime: "2026-02-03T00:00:00.000Z",
      spend: 2000,
      team_id: "t1",
      end_user: "cust-1",
      model: "",
    }),
  ),
  makeLog(
    base({ startTime: "2026-01-30T00:00:00.000Z", spend: 0.5, team_id: "t1", end_user: "cust-1", model: "" }),
  ),
  makeLog(
    base({
      startTime: "2026-02-02T23:59:59.999Z",
      spend: 0.25,
      team_id: "t1",
      end_user: "cust-1",
      model: "",
    }),
  ),
  // The original's BETWEEN $1::date AND $2::date stops at the end day's midnight: these two count here.
  makeLog(
    base({
      startTime: "2026-02-02T00:00:00.001Z",
      spend: 0.125,
      team_id: "t1",
      end_user: "cust-1",
      model: "",
    }),
  ),
  makeLog(
    base({
      startTime: "2026-02-02T18:00:00.000Z",
      spend: 0.0625,
      team_id: "t1",
      end_user: "cust-1",
      model: "",
    }),
  ),
];
for (let i = 0; i < 400; i++) {
  const startTime = reportWindow.randomTime(rnd, 7); // 2026-01-29 .. 2026-02-04
  const pc = pick(PROVIDER_CASES);
  const l = makeLog(
    base({ startTime, model_id: pc.model_id, custom_llm_provider: pc.custom_llm_provider, model: pc.model }),
  );
  provOf.set(l.request_id, pc.prov);
  logs.push(l);
}
for (const l of logs) if (!provOf.has(l.request_id)) provOf.set(l.request_id, "Unknown"); // boundary rows: no model_id, provider, model

const t = useTestDb({
  setup: async (t) => {
    for (const [id, alias] of Object.entries(TEAMS)) {
      await sql`INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias) VALUES (${id}, ${alias})`.execute(t.db);
    }
    await insertLogs(t.db, logs);
  },
});

type Log = (typeof logs)[number];
const win = logs.filter((l) => inWindow(l.startTime));

const teamNameOf = (l: Log) => (l.team_id && TEAMS[l.team_id] ? TEAMS[l.team_id]! : "Unassigned Team");
const bruteTeams = (rows: Log[]) => teamsOf(rows, teamNameOf);

const range = { start_date: START, end_date: END };

describe("spendByProvider", () => {
  function bruteProviders(rows: Log[]) {
    const m = new Map<string, number>();
    for (const l of rows) m.set(provOf.get(l.request_id)!, (m.get(provOf.get(l.request_id)!) ?? 0) + l.spend);
    const known = [...m.entries()]
      .filter(([p]) => p !== "Unknown")
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return [...known, ...[...m.entries()].filter(([p]) => p === "Unknown")].map(([provider, spend]) => ({
      provider,
      spend,
    }));
  }

  it("maps model_id → deployment → provider, then the log's provider or model name, Unknown last", async () => {
    const expected = bruteProviders(win);
    expect(expected.map((p) => p.provider).sort()).toEqual(
      ["anthropic", "azure", "bedrock", "openai", "Unknown", "vertex_ai"].sort(),
    );
    const r = await spendByProvider(t.db, ALL, range, config);
    expect(r).toEqual(expected);
    expect(r.at(-1)!.provider).toBe("Unknown");
  });

  it("without a config every deployment-only log falls back to the log's own fields", async () => {
    const r = await spendByProvider(t.db, ALL, range, { modelList: [] });
    // dep-azure rows have custom_llm_provider 'openai'; dep-bedrock rows model 'claude' → nothing → Unknown.
    const expected = new Map<string, number>();
    for (const l of win) {
      const pc = PROVIDER_CASES.find((c) => c.model_id === l.model_id && c.model === l.model);
      let p = provOf.get(l.request_id)!;
      if (pc?.model_id === "dep-azure") p = "openai";
      if (pc?.model_id === "dep-bedrock") p = "Unknown";
      expected.set(p, (expected.get(p) ?? 0) + l.spend);
    }
    expect(Object.fromEntries(r.map((x) => [x.provider, x.spend]))).toEqual(Object.fromEntries(expected));
  });

  it("an internal user sees only their own rows", async () => {
    const r = await spendByProvider(t.db, userScope("bob"), range, config);
    expect(r).toEqual(bruteProviders(win.filter((l) => l.user === "bob")));
  });
});

describe("spendReport", () => {
  it("group_by team (the default): per day, per team name, metadata per model and key", async () => {
    const r = await spendReport(t.db, ALL, range);
    expect(r.group_by).toBe("team");
    expect(r.data).toEqual(bruteTeams(win));
    const names = new Set(
      (r.data as ReturnType<typeof bruteTeams>).flatMap((d) => d.teams.map((x) => x.team_name)),
    );
    expect([...names].sort()).toEqual(["Team One", "Team Two", "Unassigned Team"]);
    // The end day counts whole: 0.25 + 0.125 + 0.0625 of the hand-placed rows are in Feb 02.
    const feb2 = (r.data as ReturnType<typeof bruteTeams>).find((d) => d.group_by_day === END)!;
    expect(feb2.teams.find((x) => x.team_name === "Team One")!.total_spend).toBe(
      win.filter((l) => dayOf(l.startTime) === END && l.team_id === "t1").reduce((s, l) => s + l.spend, 0),
    );
  });

  it("group_by customer: null end_user is its own group", async () => {
    const r = await spendReport(t.db, ALL, { ...range, group_by: "customer" });
    expect(r).toEqual({ group_by: "customer", data: bruteCustomers(win) });
    expect(JSON.stringify(r.data)).toContain('"customer":null');
  });

  it("group_by api_key: per key with per-model cost and prompt/completion tokens", async () => {
    const r = await spendReport(t.db, ALL, { ...range, group_by: "api_key" });
    expect(r).toEqual({ group_by: "api_key", data: bruteKeys(win) });
  });

  it("api_key filter: a raw sk- key is hashed, a hash is used as is", async () => {
    const expected = bruteKeys(win.filter((l) => l.api_key === KEY_A));
    expect(expected).toHaveLength(1);
    expect(await spendReport(t.db, ALL, { ...range, api_key: "sk-alpha" })).toEqual({
      group_by: "api_key",
      data: expected,
    });
    expect(await spendReport(t.db, ALL, { ...range, api_key: KEY_A, group_by: "team" })).toEqual({
      group_by: "api_key",
      data: expected,
    });
  });

  it("internal_user_id: per key over that user's logs; another user's id from an internal user is 403", async () => {
    expect(await spendReport(t.db, ALL, { ...range, internal_user_id: "alice" })).toEqual({
      group_by: "api_key",
      data: bruteKeys(win.filter((l) => l.user === "alice")),
    });
    await expect(
      spendReport(t.db, userScope("bob"), { ...range, internal_user_id: "alice" }),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("team_id + customer_id: per day, the customer shape over logs of both", async () => {
    const rows = win.filter((l) => l.team_id === "t1" && l.end_user === "cust-1");
    const r = await spendReport(t.db, ALL, { ...range, team_id: "t1", customer_id: "cust-1" });
    expect(r).toEqual({ group_by: "customer", data: bruteCustomers(rows) });
    for (const d of r.data as ReturnType<typeof bruteCustomers>)
      expect(d.customers.map((c) => c.customer)).toEqual(["cust-1"]);
  });

  it("a lone team_id or customer_id narrows the group_by answer", async () => {
    expect(await spendReport(t.db, ALL, { ...range, team_id: "t2" })).toEqual({
      group_by: "team",
      data: bruteTeams(win.filter((l) => l.team_id === "t2")),
    });
    expect(await spendReport(t.db, ALL, { ...range, group_by: "api_key", customer_id: "cust-2" })).toEqual({
      group_by: "api_key",
      data: bruteKeys(win.filter((l) => l.end_user === "cust-2")),
    });
  });

  it("an internal user's scope narrows every shape to their rows", async () => {
    expect(await spendReport(t.db, userScope("alice"), range)).toEqual({
      group_by: "team",
      data: bruteTeams(win.filter((l) => l.user === "alice")),
    });
  });

  it("inputs: group_by is one of team/customer/api_key; dates required; '' means absent", () => {
    const paths = (x: unknown) =>
      (spendReportInput.safeParse(x).error?.issues ?? []).map((i) => i.path.join("."));
    expect(paths({ ...range, group_by: "org" })).toEqual(["group_by"]);
    expect(paths({ end_date: END })).toEqual(["start_date"]);
    expect(spendReportInput.parse({ ...range, group_by: "", api_key: "" })).toEqual({
      ...range,
      group_by: "team",
    });
    expect(
      (spendByProviderInput.safeParse({ start_date: END, end_date: START }).error?.issues ?? [])[0]?.path,
    ).toEqual(["end_date"]);
  });
});
