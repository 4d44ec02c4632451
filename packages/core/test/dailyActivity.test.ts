import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ActivityEntity,
  ALL,
  agentDailyActivity,
  cacheHits,
  customerDailyActivity,
  type Db,
  dailyActivity,
  dailyActivityAggregated,
  foldRollups,
  liveEndDate,
  organizationDailyActivity,
  pauseRollups,
  prng,
  rebuildRollups,
  resumeRollups,
  type SpendAnalyticsPaginatedResponse,
  setRollupDeleteMode,
  tagDailyActivity,
  tagDailyActivityInput,
  teamDailyActivity,
  teamDailyActivityInput,
  userDailyActivity,
  userDailyActivityAggregated,
  userDailyActivityAggregatedInput,
  userDailyActivityInput,
  userScope,
} from "../src/internal.ts";
import { ROUTE_KIND } from "../src/rollups/activityRouteRollup.ts";
import { createTestDb, type TestDb } from "../src/testing/index.ts";
import { dimValues, routeRowKey } from "../src/testing/routeRollups.ts";
import { closeTo, sameKeys } from "./sums.ts";

/**
 * The daily-activity routes against a brute-force fold of the raw logs the test wrote: every metric of
 * every date and every breakdown bucket, on the rollups, on dirty days (read raw), after updates.
 */

interface Log {
  request_id: string;
  startTime: string;
  endTime: string;
  api_key: string;
  user: string | null;
  team_id: string | null;
  organization_id: string | null;
  end_user: string | null;
  agent_id: string | null;
  model: string;
  model_group: string | null;
  custom_llm_provider: string | null;
  call_type: string;
  mcp_namespaced_tool_name: string | null;
  status: string | null;
  spend: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  request_duration_ms: number | null;
  metadata: string;
  request_tags: string | null;
  cache_hit: string | null;
}

const rnd = prng(1414);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
const DAYS = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"];
let seq = 0;
function makeActivityLog(day: string): Log {
  seq += 1;
  const start = Date.parse(`${day}T00:00:00Z`) + Math.floor(rnd() * 86_400_000);
  const prompt = Math.floor(rnd() * 500);
  const completion = Math.floor(rnd() * 300);
  const usage = pick([
    "{}",
    '{"usage_object":{"cache_read_input_tokens":40,"cache_creation_input_tokens":7}}',
    '{"usage_object":{"cache_read_input_tokens":3}}',
    '{"usage_object":{"cache_read_input_tokens":"12"}}', // not a number: counts 0
    '{"usage_object":null}',
  ]);
  return {
    request_id: `da-${seq}`,
    startTime: new Date(start).toISOString(),
    endTime: new Date(start + Math.floor(rnd() * 4000)).toISOString(),
    api_key: pick(["k1", "k2", "k3", ""]),
    user: pick(["alice", "bob", null, ""]),
    team_id: pick(["team-a", "team-b", null]),
    organization_id: pick(["org-1", "org-2", null]),
    end_user: pick(["cust-1", "cust-2", null]),
    agent_id: pick(["agent-x", null]),
    model: pick(["gpt-4o", "claude-3", ""]),
    model_group: pick(["gpt", "claude", "", null]),
    custom_llm_provider: pick(["openai", "anthropic", "", null]),
    call_type: pick(["acompletion", "aembedding", ""]),
    mcp_namespaced_tool_name: pick(["github/search", null]),
    status: pick(["success", "failure", null]),
    spend: Math.round(rnd() * 1e6) / 1e4,
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion + pick([0, 1]),
    request_duration_ms: pick([null, 250, 1200]),
    metadata: usage,
    request_tags: pick(['["prod"]', '["prod","batch"]', '["batch","batch"]', "[]", null, '"legacy"']),
    cache_hit: pick(["True", "False", null, ""]),
  };
}

async function insert(t: TestDb, logs: Log[]): Promise<void> {
  const c = <K extends keyof Log>(k: K) => logs.map((l) => l[k]);
  await sql`INSERT INTO "LiteLLM_SpendLogs" (request_id, "startTime", "endTime", api_key, "user", team_id,
      organization_id, end_user, agent_id, model, model_group, custom_llm_provider, call_type,
      mcp_namespaced_tool_name, status, spend, prompt_tokens, completion_tokens, total_tokens,
      request_duration_ms, metadata, request_tags, cache_hit)
    SELECT * FROM unnest(${c("request_id")}::text[], ${c("startTime")}::timestamp[], ${c("endTime")}::timestamp[],
      ${c("api_key")}::text[], ${c("user")}::text[], ${c("team_id")}::text[], ${c("organization_id")}::text[],
      ${c("end_user")}::text[], ${c("agent_id")}::text[], ${c("model")}::text[], ${c("model_group")}::text[],
      ${c("custom_llm_provider")}::text[], ${c("call_type")}::text[], ${c("mcp_namespaced_tool_name")}::text[],
      ${c("status")}::text[], ${c("spend")}::float8[], ${c("prompt_tokens")}::int[], ${c("completion_tokens")}::int[],
      ${c("total_tokens")}::int[], ${c("request_duration_ms")}::int[], ${c("metadata")}::jsonb[],
      ${c("request_tags")}::jsonb[], ${c("cache_hit")}::text[])`.execute(t.db);
}

// ---------- brute force ----------

interface M {
  spend: number;
  api_requests: number;
  successful_requests: number;
  failed_requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  total_response_time_ms: number;
  timed_requests: number;
}
const zero = (): M => ({
  spend: 0,
  api_requests: 0,
  successful_requests: 0,
  failed_requests: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  total_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation_input_tokens: 0,
  total_response_time_ms: 0,
  timed_requests: 0,
});
function usageOf(l: Log, k: string): number {
  const u = (JSON.parse(l.metadata) as { usage_object?: Record<string, unknown> | null }).usage_object;
  const v = u?.[k];
  return typeof v === "number" ? Math.trunc(v) : 0;
}
function add(m: M, l: Log): void {
  m.spend += l.spend;
  m.api_requests += 1;
  m.failed_requests += l.status === "failure" ? 1 : 0;
  m.successful_requests += l.status === "failure" ? 0 : 1;
  m.prompt_tokens += l.prompt_tokens;
  m.completion_tokens += l.completion_tokens;
  m.total_tokens += l.prompt_tokens + l.completion_tokens;
  m.cache_read_input_tokens += usageOf(l, "cache_read_input_tokens");
  m.cache_creation_input_tokens += usageOf(l, "cache_creation_input_tokens");
  m.total_response_time_ms += l.request_duration_ms ?? Date.parse(l.endTime) - Date.parse(l.startTime);
  m.timed_requests += 1;
}
function tagsOf(l: Log): string[] {
  const v = l.request_tags === null ? null : (JSON.parse(l.request_tags) as unknown);
  return Array.isArray(v) ? [...new Set(v.filter((x): x is string => typeof x === "string"))] : [];
}
const ENTITY: Record<ActivityEntity, (l: Log) => (string | null)[]> = {
  user: (l) => [l.user],
  team: (l) => [l.team_id],
  organization: (l) => [l.organization_id],
  customer: (l) => [l.end_user],
  agent: (l) => [l.agent_id],
  tag: tagsOf,
};
type Brute = Map<string, { metrics: M; b: Record<string, Map<string, M>> }>;
function brute(logs: Log[], entity: ActivityEntity, keep: (l: Log, ent: string | null) => boolean): Brute {
  const out: Brute = new Map();
  const inc = (mp: Map<string, M>, k: string, l: Log) => {
    if (!mp.has(k)) mp.set(k, zero());
    add(mp.get(k)!, l);
  };
  for (const l of logs) {
    for (const ent of ENTITY[entity](l)) {
      if (!keep(l, ent)) continue;
      const day = l.startTime.slice(0, 10);
      if (!out.has(day))
        out.set(day, {
          metrics: zero(),
          b: Object.fromEntries(
            ["models", "model_groups", "providers", "endpoints", "mcp_servers", "api_keys", "entities"].map(
              (k) => [k, new Map<string, M>()],
            ),
          ),
        });
      const d = out.get(day)!;
      add(d.metrics, l);
      if (l.model) inc(d.b.models!, l.model, l);
      if (l.model_group || l.model) inc(d.b.model_groups!, (l.model_group || l.model)!, l);
      inc(d.b.providers!, l.custom_llm_provider || "unknown", l);
      if (l.call_type) inc(d.b.endpoints!, l.call_type, l);
      if (l.mcp_namespaced_tool_name) inc(d.b.mcp_servers!, l.mcp_namespaced_tool_name, l);
      inc(d.b.api_keys!, l.api_key, l);
      inc(d.b.entities!, ent || "Unassigned", l);
    }
  }
  return out;
}

/** expectMetrics's checks as plain comparisons (sums.ts, closeTo: the same rule, no assertion objects). */
function metricsMatch(got: Record<string, number> | undefined, want: M): boolean {
  if (!got) return false;
  const { spend, ...ints } = want;
  return closeTo(got.spend, spend, 8) && Object.entries(ints).every(([k, v]) => Object.is(got[k], v));
}

function expectMetrics(got: Record<string, number>, want: M): void {
  if (metricsMatch(got, want)) return;
  const { spend, ...ints } = want;
  expect(got.spend).toBeCloseTo(spend, 8);
  for (const [k, v] of Object.entries(ints)) expect([k, got[k]]).toEqual([k, v]);
}

/** expectMatches's checks as plain comparisons first; only when one fails, as the assertions below. */
function matches(res: SpendAnalyticsPaginatedResponse, want: Brute): boolean {
  const dates = res.results.map((r) => r.date);
  const wantDates = [...want.keys()].sort().reverse();
  if (dates.length !== wantDates.length || dates.some((d, i) => d !== wantDates[i])) return false;
  for (const r of res.results) {
    const w = want.get(r.date)!;
    if (!metricsMatch(r.metrics as unknown as Record<string, number>, w.metrics)) return false;
    const breakdown = r.breakdown as unknown as Record<
      string,
      Record<string, { metrics: Record<string, number> }> | undefined
    >;
    for (const [name, mp] of Object.entries(w.b)) {
      const got = breakdown[name];
      if (!got || !sameKeys(Object.keys(got), mp.keys())) return false;
      for (const [k, m] of mp) if (!metricsMatch(got[k]?.metrics, m)) return false;
    }
  }
  return true;
}

function expectMatches(res: SpendAnalyticsPaginatedResponse, want: Brute): void {
  if (matches(res, want)) return;
  expect(res.results.map((r) => r.date)).toEqual([...want.keys()].sort().reverse());
  for (const r of res.results) {
    const w = want.get(r.date)!;
    expectMetrics(r.metrics as unknown as Record<string, number>, w.metrics);
    for (const [name, mp] of Object.entries(w.b)) {
      const got = (
        r.breakdown as unknown as Record<string, Record<string, { metrics: Record<string, number> }>>
      )[name]!;
      expect([name, Object.keys(got).sort()]).toEqual([name, [...mp.keys()].sort()]);
      for (const [k, m] of mp) expectMetrics(got[k]!.metrics, m);
    }
  }
}

// ---------- tests ----------

let t: TestDb;
const logs: Log[] = [];
const range = { start_date: DAYS[0]!, end_date: DAYS[3]! };

beforeAll(async () => {
  t = await createTestDb();
  for (const d of DAYS) for (let i = 0; i < 120; i++) logs.push(makeActivityLog(d));
  // Outside the window on both sides: must not count.
  logs.push({ ...makeActivityLog("2026-02-28"), startTime: "2026-02-28T23:59:59.999Z", spend: 1e6 });
  logs.push({ ...makeActivityLog("2026-03-05"), startTime: "2026-03-05T00:00:00.000Z", spend: 1e6 });
  for (const l of logs) if (l.endTime < l.startTime) l.endTime = l.startTime;
  await insert(t, logs);
  await sql`INSERT INTO "LiteLLM_VerificationToken" (token, key_alias, user_id, team_id) VALUES ('k1', 'alias-1', 'alice', 'team-a')`.execute(
    t.db,
  );
  await sql`INSERT INTO "LiteLLM_UserTable" (user_id, user_email) VALUES ('alice', 'alice@example.com')`.execute(
    t.db,
  );
  await sql`INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias) VALUES ('team-a', 'Team A')`.execute(t.db);
}, 120_000);
afterAll(async () => {
  await t?.drop();
});

const inRange = (l: Log) => l.startTime >= "2026-03-01" && l.startTime < "2026-03-05";
const all = () => true;

describe("daily activity routes equal a brute-force fold of the logs", () => {
  const routes: [ActivityEntity, (page_size: number) => Promise<SpendAnalyticsPaginatedResponse>][] = [
    ["user", (ps) => userDailyActivity(t.db, ALL, userDailyActivityInput.parse({ ...range, page_size: ps }))],
    ["team", (ps) => teamDailyActivity(t.db, ALL, teamDailyActivityInput.parse({ ...range, page_size: ps }))],
    ["organization", (ps) => organizationDailyActivity(t.db, ALL, { ...range, page: 1, page_size: ps })],
    ["customer", (ps) => customerDailyActivity(t.db, ALL, { ...range, page: 1, page_size: ps })],
    ["agent", (ps) => agentDailyActivity(t.db, ALL, { ...range, page: 1, page_size: ps })],
    ["tag", (ps) => tagDailyActivity(t.db, ALL, tagDailyActivityInput.parse({ ...range, page_size: ps }))],
  ];
  for (const [entity, call] of routes) {
    it(`${entity}: every metric and breakdown`, async () => {
      const res = await call(1000);
      expectMatches(res, brute(logs.filter(inRange), entity, all));
      expect(res.metadata.has_more).toBe(false);
      expect(res.metadata.total_pages).toBe(1);
    });
  }

  it("aggregated equals the paginated answer folded; key and entity metadata are filled", async () => {
    const res = await userDailyActivityAggregated(t.db, ALL, { ...range, page: 1 });
    expectMatches(res, brute(logs.filter(inRange), "user", all));
    const day = res.results.find((r) => r.breakdown.api_keys.k1)!;
    expect(day.breakdown.api_keys.k1!.metadata).toEqual({
      key_alias: "alias-1",
      team_id: "team-a",
      user_id: "alice",
      user_email: "alice@example.com",
      key_exists: true,
    });
    expect(day.breakdown.api_keys.k2!.metadata.key_exists).toBe(false);
    const team = await teamDailyActivity(
      t.db,
      ALL,
      teamDailyActivityInput.parse({ ...range, page_size: 1000 }),
    );
    const withA = team.results.find((r) => r.breakdown.entities["team-a"])!;
    expect(withA.breakdown.entities["team-a"]!.metadata).toEqual({ team_alias: "Team A" });
    // The paginated routes fetch the same metadata with their rows (route rollups, one statement).
    const user = await userDailyActivity(
      t.db,
      ALL,
      userDailyActivityInput.parse({ ...range, page_size: 1000 }),
    );
    const withK1 = user.results.find((r) => r.breakdown.api_keys.k1)!;
    expect(withK1.breakdown.api_keys.k1!.metadata).toEqual(day.breakdown.api_keys.k1!.metadata);
    expect(withK1.breakdown.models["gpt-4o"]?.api_key_breakdown.k1?.metadata.key_alias ?? "alias-1").toBe(
      "alias-1",
    );
    expect(user.results.find((r) => r.breakdown.entities.alice)!.breakdown.entities.alice!.metadata).toEqual({
      user_email: "alice@example.com",
    });
    expect(withK1.breakdown.api_keys.k2?.metadata.key_exists ?? false).toBe(false);
  });

  it("pages are LiteLLM's daily-table rows: their totals add up to the whole", async () => {
    const whole = brute(logs.filter(inRange), "team", all);
    let spend = 0;
    let requests = 0;
    let page = 1;
    let pages = 0;
    for (;;) {
      const res = await teamDailyActivity(
        t.db,
        ALL,
        teamDailyActivityInput.parse({ ...range, page: String(page), page_size: "7" }),
      );
      pages = res.metadata.total_pages;
      spend += res.metadata.total_spend;
      requests += res.metadata.total_api_requests;
      if (!res.metadata.has_more) break;
      page += 1;
    }
    expect(page).toBe(pages);
    expect(pages).toBeGreaterThan(3);
    const want = [...whole.values()].reduce((a, d) => a + d.metrics.api_requests, 0);
    expect(requests).toBe(want);
    expect(spend).toBeCloseTo(
      [...whole.values()].reduce((a, d) => a + d.metrics.spend, 0),
      6,
    );
    const beyond = await teamDailyActivity(
      t.db,
      ALL,
      teamDailyActivityInput.parse({ ...range, page: "999" }),
    );
    expect(beyond.results).toEqual([]);
    expect(beyond.metadata.has_more).toBe(false);
    expect(beyond.metadata.total_api_requests).toBe(0);
  });

  it("filters: team_ids, exclude_team_ids, model, api_key (raw sk- keys hashed), tags", async () => {
    // [the team route's or the tag route's filters (raw, as the query string has them), the logs and
    // entities they keep]
    const cases: [ActivityEntity, Record<string, string>, (l: Log, e: string | null) => boolean][] = [
      ["team", { team_ids: "team-a,team-b", exclude_team_ids: "team-b" }, (_l, e) => e === "team-a"],
      [
        "team",
        { exclude_team_ids: "team-b", model: "gpt-4o", api_key: "k2" },
        (l, e) => e !== null && e !== "team-b" && l.model === "gpt-4o" && l.api_key === "k2",
      ],
      ["tag", { tags: "batch" }, (_l, e) => e === "batch"],
    ];
    for (const [entity, filters, keep] of cases) {
      const q = { ...range, ...filters, page_size: 1000 };
      const res =
        entity === "tag"
          ? await tagDailyActivity(t.db, ALL, tagDailyActivityInput.parse(q))
          : await teamDailyActivity(t.db, ALL, teamDailyActivityInput.parse(q));
      expectMatches(res, brute(logs.filter(inRange), entity, keep));
    }
    const none = await teamDailyActivity(
      t.db,
      ALL,
      teamDailyActivityInput.parse({ ...range, team_ids: ",", page_size: 10 }),
    );
    expect(none.results).toEqual([]);
  });

  it("an internal user sees only their own rows on every route; another user's id is 403", async () => {
    const alice = userScope("alice");
    const mine = (l: Log) => l.user === "alice";
    const u = await userDailyActivity(
      t.db,
      alice,
      userDailyActivityInput.parse({ ...range, page_size: 1000 }),
    );
    expectMatches(u, brute(logs.filter(inRange).filter(mine), "user", all));
    const tg = await tagDailyActivity(
      t.db,
      alice,
      tagDailyActivityInput.parse({ ...range, page_size: 1000 }),
    );
    expectMatches(tg, brute(logs.filter(inRange).filter(mine), "tag", all));
    const tm = await teamDailyActivity(
      t.db,
      alice,
      teamDailyActivityInput.parse({ ...range, page_size: 1000 }),
    );
    expectMatches(tm, brute(logs.filter(inRange).filter(mine), "team", all));
    await expect(
      userDailyActivity(t.db, alice, userDailyActivityInput.parse({ ...range, user_id: "bob" })),
    ).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("/global/activity/cache_hits: per key alias, call type and model (scoped for internal users)", async () => {
    const want = (keep: (l: Log) => boolean) => {
      const m = new Map<string, number[]>();
      for (const l of logs.filter(inRange).filter(keep)) {
        const alias = l.api_key === "k1" ? "alias-1" : "Unnamed Key";
        const k = JSON.stringify([alias, l.call_type, l.model]);
        const v = m.get(k) ?? [0, 0, 0, 0, 0];
        v[0]! += 1;
        v[1]! += l.cache_hit === "True" ? 1 : 0;
        v[2]! += l.status === "failure" ? 1 : 0;
        v[3]! += l.cache_hit === "True" ? l.completion_tokens : 0;
        v[4]! += l.cache_hit !== null && l.cache_hit !== "True" ? l.completion_tokens : 0;
        m.set(k, v);
      }
      return [...m.entries()]
        .map(([k, v]) => {
          const [api_key, call_type, model] = JSON.parse(k) as string[];
          return {
            api_key,
            call_type,
            model,
            total_rows: v[0],
            cache_hit_true_rows: v[1],
            failed_rows: v[2],
            cached_completion_tokens: v[3],
            generated_completion_tokens: v[4],
          };
        })
        .sort((a, b) =>
          JSON.stringify([a.api_key, a.call_type, a.model]).localeCompare(
            JSON.stringify([b.api_key, b.call_type, b.model]),
          ),
        );
    };
    const sortRows = <T extends { api_key: string; call_type: string | null; model: string | null }>(
      rows: T[],
    ) =>
      [...rows].sort((a, b) =>
        JSON.stringify([a.api_key, a.call_type, a.model]).localeCompare(
          JSON.stringify([b.api_key, b.call_type, b.model]),
        ),
      );
    expect(sortRows(await cacheHits(t.db, ALL, range))).toEqual(want(all));
    expect(sortRows(await cacheHits(t.db, userScope("bob"), range))).toEqual(want((l) => l.user === "bob"));
  });

  it("stays exact on dirty days (paused rollups read raw), after a rebuild, and after updates", async () => {
    await pauseRollups(t.db);
    const more = DAYS.slice(1, 3).flatMap((d) => Array.from({ length: 30 }, () => makeActivityLog(d)));
    for (const l of more) if (l.endTime < l.startTime) l.endTime = l.startTime;
    await insert(t, more);
    logs.push(...more);
    await resumeRollups(t.db);
    const check = async () => {
      const hits = await cacheHits(t.db, ALL, range);
      expect(hits.reduce((a, r) => a + r.cache_hit_true_rows, 0)).toBe(
        logs.filter(inRange).filter((l) => l.cache_hit === "True").length,
      );
      for (const entity of ["organization", "tag"] as const) {
        const res = await dailyActivity(t.db, ALL, entity, { ...range, page: 1, page_size: 1000 });
        expectMatches(res, brute(logs.filter(inRange), entity, all));
      }
    };
    await check();
    await rebuildRollups(t.db);
    await check();
    // Updates move requests between buckets (status, tags, model).
    await sql`UPDATE "LiteLLM_SpendLogs" SET status = 'failure', request_tags = '["moved"]'::jsonb, model = 'gpt-4o'
      WHERE request_id = ANY(${logs.slice(0, 40).map((l) => l.request_id)}::text[])`.execute(t.db);
    for (const l of logs.slice(0, 40)) {
      l.status = "failure";
      l.request_tags = '["moved"]';
      l.model = "gpt-4o";
    }
    await check();
  }, 60_000);
});

// ---------- migration 0012's route rollups ----------

const KIND = ROUTE_KIND;
/** LiteLLM's daily-table row of a log for one entity: (day, entity, key, model, group, provider, MCP, endpoint). */
const rowKey = (l: Log, ent: string | null) =>
  routeRowKey({ ...l, day: l.startTime.slice(0, 10), entity: ent });
/** The daily-table rows of every log (brute force), per route, with requests / spend / failures / tokens. */
function bruteRows(entity: ActivityEntity, keep: (l: Log, ent: string | null) => boolean = all) {
  const out = new Map<string, number[]>();
  for (const l of logs)
    for (const ent of ENTITY[entity](l)) {
      if (!keep(l, ent)) continue;
      const k = rowKey(l, ent);
      const v = out.get(k) ?? [0, 0, 0, 0];
      v[0]! += 1;
      v[1]! += l.spend;
      v[2]! += l.status === "failure" ? 1 : 0;
      v[3]! += l.prompt_tokens + l.completion_tokens;
      out.set(k, v);
    }
  return out;
}

/** The route rollup tables equal their brute-force computation from the logs the test wrote. */
async function expectRouteTables(): Promise<void> {
  await foldRollups(t.db);
  for (const entity of Object.keys(KIND) as ActivityEntity[]) {
    const got = await sql<
      Record<string, string | null> & Record<"requests" | "spend" | "failed" | "tokens", number>
    >`SELECT day::text AS day, entity, api_key, model, model_group, custom_llm_provider, mcp_namespaced_tool_name,
        call_type, requests::int AS requests, spend, failed_requests::int AS failed,
        (prompt_tokens + completion_tokens)::int AS tokens
      FROM spendlens.activity_route_daily WHERE kind = ${KIND[entity]}::"char"`.execute(t.db);
    const want = bruteRows(entity);
    const gotMap = new Map(got.rows.map((r) => [routeRowKey(r), r]));
    expect([entity, [...gotMap.keys()].sort()]).toEqual([entity, [...want.keys()].sort()]);
    for (const [k, v] of want) {
      const g = gotMap.get(k)!;
      expect([entity, k, g.requests, g.failed, g.tokens]).toEqual([entity, k, v[0], v[2], v[3]]);
      expect(g.spend).toBeCloseTo(v[1]!, 6);
    }
    // The per-(day, entity) row counters.
    const counts = new Map<string, number>();
    for (const k of want.keys()) {
      const [day, ent] = JSON.parse(k) as [string, string | null];
      const ck = JSON.stringify([day, ent]);
      counts.set(ck, (counts.get(ck) ?? 0) + 1);
    }
    const c = await sql<{
      day: string;
      entity: string | null;
      n: number;
    }>`SELECT day::text AS day, entity, n::int AS n
      FROM spendlens.activity_route_rows WHERE kind = ${KIND[entity]}::"char"`.execute(t.db);
    expect([entity, new Map(c.rows.map((r) => [JSON.stringify([r.day, r.entity]), r.n]))]).toEqual([
      entity,
      counts,
    ]);
  }
  // The user route's per-(day, dimension) sums.
  const dims = new Map<string, number[]>();
  for (const l of logs) {
    const day = l.startTime.slice(0, 10);
    for (const [dim, value] of dimValues(l)) {
      const k = JSON.stringify([dim, day, value]);
      const v = dims.get(k) ?? [0, 0];
      v[0]! += 1;
      v[1]! += l.spend;
      dims.set(k, v);
    }
  }
  const d = await sql<{ dim: string; day: string; value: string | null; requests: number; spend: number }>`
    SELECT dim::text AS dim, day::text AS day, value, requests::int AS requests, spend FROM spendlens.activity_dim_daily`.execute(
    t.db,
  );
  const dMap = new Map(d.rows.map((r) => [JSON.stringify([r.dim, r.day, r.value]), r]));
  expect([...dMap.keys()].sort()).toEqual([...dims.keys()].sort());
  for (const [k, v] of dims) {
    expect([k, dMap.get(k)!.requests]).toEqual([k, v[0]]);
    expect(dMap.get(k)!.spend).toBeCloseTo(v[1]!, 6);
  }
}

/** The aggregated answer against brute force, with api_keys and api_key_breakdown limited to the top keys. */
function expectAggregated(
  res: SpendAnalyticsPaginatedResponse,
  keep: (l: Log) => boolean,
  limit: number,
): void {
  const mine = logs.filter(inRange).filter(keep);
  expectMatchesExceptKeys(res, brute(mine, "user", all));
  const spendOf = new Map<string, number>();
  for (const l of mine) spendOf.set(l.api_key, (spendOf.get(l.api_key) ?? 0) + l.spend);
  const top = new Set(
    [...spendOf]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, limit)
      .map(([k]) => k),
  );
  expect(res.metadata.total_api_keys).toBe(spendOf.size);
  expect(res.metadata.api_key_limit).toBe(limit);
  // Per day, bucket and top key (brute force).
  const want = new Map<string, M>();
  const inc = (k: string, l: Log) => {
    if (!want.has(k)) want.set(k, zero());
    add(want.get(k)!, l);
  };
  for (const l of mine) {
    if (!top.has(l.api_key)) continue;
    const day = l.startTime.slice(0, 10);
    const k = (kind: string, name: string) => JSON.stringify([day, kind, name, l.api_key]);
    inc(JSON.stringify([day, "api_keys", "", l.api_key]), l);
    if (l.model) inc(k("models", l.model), l);
    if (l.model_group || l.model) inc(k("model_groups", (l.model_group || l.model)!), l);
    inc(k("providers", l.custom_llm_provider || "unknown"), l);
    if (l.call_type) inc(k("endpoints", l.call_type), l);
    if (l.mcp_namespaced_tool_name) inc(k("mcp_servers", l.mcp_namespaced_tool_name), l);
    inc(k("entities", l.user || "Unassigned"), l);
  }
  const got = new Map<string, Record<string, number>>();
  for (const r of res.results) {
    for (const [key, m] of Object.entries(r.breakdown.api_keys))
      got.set(JSON.stringify([r.date, "api_keys", "", key]), m.metrics as unknown as Record<string, number>);
    for (const kind of [
      "models",
      "model_groups",
      "providers",
      "endpoints",
      "mcp_servers",
      "entities",
    ] as const)
      for (const [name, b] of Object.entries(r.breakdown[kind]))
        for (const [key, m] of Object.entries(b.api_key_breakdown))
          got.set(JSON.stringify([r.date, kind, name, key]), m.metrics as unknown as Record<string, number>);
  }
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [k, m] of want) expectMetrics(got.get(k)!, m);
}

/** expectMatches without the api_keys bucket (the aggregated route lists its top keys only). */
function expectMatchesExceptKeys(res: SpendAnalyticsPaginatedResponse, want: Brute): void {
  for (const d of want.values()) d.b.api_keys = new Map();
  const copy = structuredClone(res);
  for (const r of copy.results) r.breakdown.api_keys = {};
  expectMatches(copy, want);
}

describe("migration 0012's route rollups", () => {
  const pagesOf = (n: number, size: number) => Math.ceil(n / size);

  it("hold LiteLLM's daily-table rows, row counters and per-dimension sums, equal to the logs", async () => {
    await expectRouteTables();
  });

  it("total_pages counts the route's rows with every filter and for an internal user", async () => {
    const q = (extra: Record<string, string>) => ({ ...range, page_size: "5", ...extra });
    const inR = (l: Log) => inRange(l);
    const cases: [string, () => Promise<SpendAnalyticsPaginatedResponse>, number][] = [
      [
        "team",
        () => teamDailyActivity(t.db, ALL, teamDailyActivityInput.parse(q({}))),
        bruteRows("team", inR).size,
      ],
      [
        "team ids",
        () => teamDailyActivity(t.db, ALL, teamDailyActivityInput.parse(q({ team_ids: "team-a,nope" }))),
        bruteRows("team", (l, e) => inR(l) && e === "team-a").size,
      ],
      [
        "team excluded",
        () => teamDailyActivity(t.db, ALL, teamDailyActivityInput.parse(q({ exclude_team_ids: "team-a" }))),
        bruteRows("team", (l, e) => inR(l) && e !== null && e !== "team-a").size,
      ],
      [
        "team model + key",
        () =>
          teamDailyActivity(t.db, ALL, teamDailyActivityInput.parse(q({ model: "claude-3", api_key: "k3" }))),
        bruteRows("team", (l) => inR(l) && l.model === "claude-3" && l.api_key === "k3").size,
      ],
      [
        "tag excluded",
        () => tagDailyActivity(t.db, ALL, tagDailyActivityInput.parse(q({ exclude_tags: "prod" }))),
        bruteRows("tag", (l, e) => inR(l) && e !== "prod").size,
      ],
      [
        "customer",
        () => customerDailyActivity(t.db, ALL, { ...range, page: 2, page_size: 5 }),
        bruteRows("customer", inR).size,
      ],
      [
        "user, internal",
        () => userDailyActivity(t.db, userScope("bob"), userDailyActivityInput.parse(q({}))),
        bruteRows("user", (l, e) => inR(l) && e === "bob").size,
      ],
      [
        "team, internal",
        () => teamDailyActivity(t.db, userScope("bob"), teamDailyActivityInput.parse(q({}))),
        bruteRows("team", (l) => inR(l) && l.user === "bob").size,
      ],
    ];
    for (const [name, call, rows] of cases) {
      expect(rows).toBeGreaterThan(0);
      const res = await call();
      expect([name, res.metadata.total_pages]).toEqual([name, pagesOf(rows, 5)]);
    }
  });

  it("the routes read them: a changed route row shows in the answer (then restored)", async () => {
    const bump = async (d: number) => {
      await sql`UPDATE spendlens.activity_route_daily SET spend = spend + ${d}
        WHERE kind IN ('t', 'g') AND day = '2026-03-04'`.execute(t.db);
      await sql`UPDATE spendlens.activity_dim_daily SET spend = spend + ${d}
        WHERE dim = 'd' AND day = '2026-03-04'`.execute(t.db);
    };
    const spendOf = async () =>
      (
        await Promise.all([
          teamDailyActivity(t.db, ALL, teamDailyActivityInput.parse({ ...range, page_size: 1000 })),
          tagDailyActivity(t.db, ALL, tagDailyActivityInput.parse({ ...range, page_size: 1000 })),
          userDailyActivityAggregated(t.db, ALL, userDailyActivityAggregatedInput.parse(range)),
        ])
      ).map((r) => r.metadata.total_spend);
    const before = await spendOf();
    await bump(1000);
    try {
      const after = await spendOf();
      // +1000 on every team and tag row of the day; +1000 on the day's one total row.
      expect(after[0]! - before[0]!).toBeGreaterThan(999);
      expect(after[1]! - before[1]!).toBeGreaterThan(999);
      expect(after[2]! - before[2]!).toBeCloseTo(1000, 6);
    } finally {
      await bump(-1000);
    }
  });

  it("a page right after an insert holds it: pending logs are seen in the page's own snapshot, then folded", async () => {
    const pending = async () =>
      (await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.spend_log_pending`.execute(t.db))
        .rows[0]!.n;
    const pages: [ActivityEntity, (db: Db) => Promise<SpendAnalyticsPaginatedResponse>][] = [
      [
        "user",
        (db) => userDailyActivity(db, ALL, userDailyActivityInput.parse({ ...range, page_size: 1000 })),
      ],
      [
        "team",
        (db) => teamDailyActivity(db, ALL, teamDailyActivityInput.parse({ ...range, page_size: 1000 })),
      ],
      ["organization", (db) => organizationDailyActivity(db, ALL, { ...range, page: 1, page_size: 1000 })],
      ["customer", (db) => customerDailyActivity(db, ALL, { ...range, page: 1, page_size: 1000 })],
      ["agent", (db) => agentDailyActivity(db, ALL, { ...range, page: 1, page_size: 1000 })],
      ["tag", (db) => tagDailyActivity(db, ALL, tagDailyActivityInput.parse({ ...range, page_size: 1000 }))],
    ];
    // One after another: the first read of a round finds the logs pending in its statement and folds.
    const expectAll = async (db: Db) => {
      for (const [entity, read] of pages) {
        const res = await read(db);
        expectMatches(res, brute(logs.filter(inRange), entity, all));
        expect([entity, res.metadata.total_pages]).toEqual([entity, 1]);
      }
    };
    // A read remembers for a second, per database handle, that it found logs pending (it then folds
    // before reading). A handle that has read nothing yet (the same connections, another Kysely object)
    // remembers no sighting: its first read finds the pending logs in its own statement, as a read on
    // this handle would once that second is over.
    const unseen = () => t.db.withoutPlugins() as Db;
    await foldRollups(t.db);
    for (const day of [DAYS[1]!, DAYS[3]!]) {
      const reader = unseen();
      const fresh = [makeActivityLog(day), makeActivityLog(day)];
      for (const l of fresh) if (l.endTime < l.startTime) l.endTime = l.startTime;
      logs.push(...fresh);
      await insert(t, fresh);
      expect(await pending()).toBe(2);
      await expectAll(reader); // the first read finds them pending and folds; the others fold first
      expect(await pending()).toBe(0);
      // Inserted right after: the sighting is recent (under a second, unless the machine is slow), so the
      // first read folds before its statement; either way the answers are exact.
      const more = makeActivityLog(day);
      if (more.endTime < more.startTime) more.endTime = more.startTime;
      logs.push(more);
      await insert(t, [more]);
      expect(await pending()).toBe(1);
      await expectAll(reader);
    }
    // Nothing pending and no recent sighting: each page is its one statement.
    expect(await pending()).toBe(0);
    await expectAll(unseen());
  });

  it("aggregated: top keys by spend in api_keys and every api_key_breakdown (rollups and filtered paths)", async () => {
    for (const limit of [1, 2, 100]) {
      expectAggregated(
        await dailyActivityAggregated(t.db, ALL, { ...range, page: null, page_size: 1 }, limit),
        all,
        limit,
      );
    }
    // A model filter and an internal user read the route rows (the per-dimension sums hold neither).
    expectAggregated(
      await dailyActivityAggregated(t.db, ALL, { ...range, model: "gpt-4o", page: null, page_size: 1 }, 2),
      (l) => l.model === "gpt-4o",
      2,
    );
    expectAggregated(
      await dailyActivityAggregated(t.db, userScope("alice"), { ...range, page: null, page_size: 1 }, 2),
      (l) => l.user === "alice",
      2,
    );
  });

  it("stay exact after subtracting deletes, updates that empty rows, and a rebuild", async () => {
    await setRollupDeleteMode(t.db, "subtract");
    try {
      const gone = logs.filter((_l, i) => i % 5 === 0).map((l) => l.request_id);
      await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id = ANY(${gone}::text[])`.execute(t.db);
      logs.splice(0, logs.length, ...logs.filter((l) => !gone.includes(l.request_id)));
      await expectRouteTables();
      // Every log of one user moves to another: that user's route rows, counters and sums empty.
      await sql`UPDATE "LiteLLM_SpendLogs" SET "user" = 'carol', request_tags = '["solo"]'::jsonb
        WHERE "user" = 'alice'`.execute(t.db);
      for (const l of logs)
        if (l.user === "alice") {
          l.user = "carol";
          l.request_tags = '["solo"]';
        }
      await expectRouteTables();
      await rebuildRollups(t.db);
      await expectRouteTables();
      for (const entity of ["user", "tag", "customer"] as const) {
        const res = await dailyActivity(t.db, ALL, entity, { ...range, page: 1, page_size: 1000 });
        expectMatches(res, brute(logs.filter(inRange), entity, all));
      }
      expectAggregated(
        await dailyActivityAggregated(t.db, ALL, { ...range, page: null, page_size: 1 }, 2),
        all,
        2,
      );
    } finally {
      await setRollupDeleteMode(t.db, "keep");
    }
  }, 60_000);
});

describe("timezone and include_current_utc_day (LiteLLM's _adjust_dates_for_timezone)", () => {
  // 03:00 UTC on the last day of the logs: west of UTC it is still 03-03, east of it already 03-04.
  const now = new Date("2026-03-04T03:00:00.000Z");
  const upTo = (end: string) => (l: Log) => l.startTime >= "2026-03-01" && l.startTime.slice(0, 10) <= end;
  // [timezone (JS getTimezoneOffset: UTC minus local), the caller's local day at `now`, the UTC day the
  // range must end on]: only a caller whose local day is still 03-03 gets today's UTC bucket (03-04).
  const cases: [number, string, string][] = [
    [-330, "2026-03-04", "2026-03-03"], // India, 08:30 on 03-04
    [480, "2026-03-03", "2026-03-04"], // US Pacific, 19:00 on 03-03
    [0, "2026-03-04", "2026-03-03"],
    [840, "2026-03-03", "2026-03-04"], // UTC-14, 13:00 on 03-03
    [-840, "2026-03-04", "2026-03-03"], // Kiribati, 17:00 on 03-04
    [-720, "2026-03-04", "2026-03-03"],
    [720, "2026-03-03", "2026-03-04"],
    [180, "2026-03-04", "2026-03-03"], // exactly local midnight of 03-04
    [181, "2026-03-03", "2026-03-04"], // one minute before it
    [1440, "2026-03-03", "2026-03-04"],
    [-1440, "2026-03-05", "2026-03-03"],
  ];
  const base = { start_date: "2026-03-01", end_date: "2026-03-03" };
  for (const [tz, local, end] of cases) {
    it(`timezone=${tz} (local day ${local}): the range ends on ${end}; without the flag, on 03-03`, async () => {
      const on = userDailyActivityInput.parse({
        ...base,
        timezone: String(tz),
        include_current_utc_day: "true",
        page_size: "1000",
      });
      expectMatches(await userDailyActivity(t.db, ALL, on, now), brute(logs.filter(upTo(end)), "user", all));
      const agg = userDailyActivityAggregatedInput.parse({
        ...base,
        timezone: tz,
        include_current_utc_day: true,
      });
      expectMatches(
        await userDailyActivityAggregated(t.db, ALL, agg, now),
        brute(logs.filter(upTo(end)), "user", all),
      );
      const off = userDailyActivityInput.parse({ ...base, timezone: String(tz), page_size: "1000" });
      expectMatches(
        await userDailyActivity(t.db, ALL, off, now),
        brute(logs.filter(upTo("2026-03-03")), "user", all),
      );
    });
  }

  it("historical ranges, a missing timezone and the other routes are never moved", async () => {
    const want = brute(logs.filter(upTo("2026-03-02")), "user", all);
    // West of UTC, but the range ends before the caller's local today (03-03).
    const past = {
      start_date: "2026-03-01",
      end_date: "2026-03-02",
      timezone: 480,
      include_current_utc_day: true,
    };
    expectMatches(
      await userDailyActivityAggregated(t.db, ALL, userDailyActivityAggregatedInput.parse(past), now),
      want,
    );
    const noTz = { ...base, include_current_utc_day: "true", page_size: "1000" };
    expectMatches(
      await userDailyActivity(t.db, ALL, userDailyActivityInput.parse(noTz), now),
      brute(logs.filter(upTo("2026-03-03")), "user", all),
    );
    // A range already past UTC today keeps its end (max of the two).
    expect(liveEndDate("2026-03-10", 480, true, now)).toBe("2026-03-10");
    // LiteLLM's team/tag/organization/customer/agent routes pass include_current_utc_day=False.
    const team = teamDailyActivityInput.parse({ ...base, timezone: "480", include_current_utc_day: "true" });
    expect("include_current_utc_day" in team).toBe(false);
    const res = await teamDailyActivity(t.db, ALL, { ...team, page_size: 1000 });
    expectMatches(res, brute(logs.filter(upTo("2026-03-03")), "team", all));
  });

  it("a timezone that is not a whole number of minutes in -1440..1440, or a flag that is not a boolean, is refused naming it", () => {
    for (const tz of ["1.5", "abc", "1441", "-1441", "330.0001", "Infinity"]) {
      const r = userDailyActivityInput.safeParse({ ...base, timezone: tz });
      expect([tz, r.success, r.error?.issues[0]?.path]).toEqual([tz, false, ["timezone"]]);
    }
    for (const tz of ["-1440", "1440", "0", "-330"])
      expect(userDailyActivityInput.safeParse({ ...base, timezone: tz }).success).toBe(true);
    for (const v of ["maybe", "2", "tru"]) {
      const r = userDailyActivityAggregatedInput.safeParse({ ...base, include_current_utc_day: v });
      expect([v, r.success, r.error?.issues[0]?.path]).toEqual([v, false, ["include_current_utc_day"]]);
    }
    for (const v of ["True", "1", "yes", "on", "false", "0", "no", "off"])
      expect(
        userDailyActivityAggregatedInput.safeParse({ ...base, include_current_utc_day: v }).success,
      ).toBe(true);
  });
});
