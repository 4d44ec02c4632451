import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ActivityEntity,
  ALL,
  agentDailyActivity,
  cacheHits,
  customerDailyActivity,
  dailyActivity,
  liveEndDate,
  organizationDailyActivity,
  pauseRollups,
  prng,
  rebuildRollups,
  resumeRollups,
  type SpendAnalyticsPaginatedResponse,
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
import { createTestDb, type TestDb } from "../src/testing/index.ts";

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

function expectMetrics(got: Record<string, number>, want: M): void {
  const { spend, ...ints } = want;
  expect(got.spend).toBeCloseTo(spend, 8);
  for (const [k, v] of Object.entries(ints)) expect([k, got[k]]).toEqual([k, v]);
}

function expectMatches(res: SpendAnalyticsPaginatedResponse, want: Brute): void {
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
    const r1 = await teamDailyActivity(
      t.db,
      ALL,
      teamDailyActivityInput.parse({
        ...range,
        team_ids: "team-a,team-b",
        exclude_team_ids: "team-b",
        page_size: 1000,
      }),
    );
    expectMatches(
      r1,
      brute(logs.filter(inRange), "team", (_l, e) => e === "team-a"),
    );
    const r2 = await teamDailyActivity(
      t.db,
      ALL,
      teamDailyActivityInput.parse({
        ...range,
        exclude_team_ids: "team-b",
        model: "gpt-4o",
        api_key: "k2",
        page_size: 1000,
      }),
    );
    expectMatches(
      r2,
      brute(
        logs.filter(inRange),
        "team",
        (l, e) => e !== null && e !== "team-b" && l.model === "gpt-4o" && l.api_key === "k2",
      ),
    );
    const r3 = await tagDailyActivity(
      t.db,
      ALL,
      tagDailyActivityInput.parse({ ...range, tags: "batch", page_size: 1000 }),
    );
    expectMatches(
      r3,
      brute(logs.filter(inRange), "tag", (_l, e) => e === "batch"),
    );
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
