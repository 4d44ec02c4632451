import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dailyPageCache, setDailyPageCache } from "../src/activity/pageCache.ts";
import {
  type ActivityEntity,
  ALL,
  type DailyActivityQuery,
  dailyActivity,
  dailyActivityJson,
  pauseRollups,
  pgPoolOf,
  prng,
  rebuildRollups,
  resumeRollups,
  type Scope,
  type SpendAnalyticsPaginatedResponse,
  setRollupDeleteMode,
  userScope,
} from "../src/internal.ts";
import { createTestDb, foldRollups, hashToken, type TestDb, writeFixtures } from "../src/testing/index.ts";

/**
 * The answer cache of the paginated daily-activity routes (activity/pageCache.ts, migration 0019): after
 * every kind of change (inserts today, a late log for a past day, an update moving a log between teams,
 * a subtract-mode delete, changed team and key aliases, a rebuild, a TRUNCATE, a dirty day) every answer
 * through the cache equals the same call without it, its REST bytes, and a brute-force page computed from
 * the logs the test wrote; an admin's and an internal user's pages are never each other's.
 */

const DAYS = ["2026-04-01", "2026-04-02", "2026-04-03", "2026-04-04", "2026-04-05"];
const TODAY = DAYS[4]!;
const USERS = ["u1", "u2", "u3"];
const TEAMS = ["t1", "t2", "t3"];
const KEYS = ["ka", "kb", "kc", "kd"];
const MODELS = ["gpt-4o", "claude-3"];
const PROVIDERS = ["openai", "anthropic"];

interface Log {
  request_id: string;
  startTime: string;
  api_key: string;
  user: string;
  team_id: string;
  model: string;
  custom_llm_provider: string;
  spend: number;
  prompt_tokens: number;
  completion_tokens: number;
}

const rnd = prng(1919);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
let seq = 0;
function mk(day: string, over: Partial<Log> = {}): Log {
  seq += 1;
  const at = Date.parse(`${day}T00:00:00Z`) + Math.floor(rnd() * 86_400_000);
  return {
    request_id: `pc-${seq}`,
    startTime: new Date(at).toISOString(),
    api_key: hashToken(pick(KEYS)),
    user: pick(USERS),
    team_id: pick(TEAMS),
    model: pick(MODELS),
    custom_llm_provider: pick(PROVIDERS),
    spend: Math.round(rnd() * 1e6) / 1e4,
    prompt_tokens: Math.floor(rnd() * 500),
    completion_tokens: Math.floor(rnd() * 300),
    ...over,
  };
}

let t: TestDb;
let logs: Log[] = [];
const teamAlias = new Map(TEAMS.map((x) => [x, `alias-${x}`]));
const keyAlias = new Map(KEYS.map((k) => [hashToken(k), `key-${k}`]));
const userEmail = new Map(USERS.map((u) => [u, `${u}@example.com`]));

async function insert(ls: Log[]): Promise<void> {
  const c = <K extends keyof Log>(k: K) => ls.map((l) => l[k]);
  await sql`INSERT INTO "LiteLLM_SpendLogs" (request_id, "startTime", "endTime", api_key, "user", team_id, model,
      model_group, custom_llm_provider, call_type, status, spend, prompt_tokens, completion_tokens, total_tokens)
    SELECT x.r, x.s, x.s, x.k, x.u, x.t, x.m, x.m, x.p, 'acompletion', 'success', x.sp, x.pt, x.ct, x.pt + x.ct
    FROM unnest(${c("request_id")}::text[], ${c("startTime")}::timestamp[], ${c("api_key")}::text[],
      ${c("user")}::text[], ${c("team_id")}::text[], ${c("model")}::text[], ${c("custom_llm_provider")}::text[],
      ${c("spend")}::float8[], ${c("prompt_tokens")}::int[], ${c("completion_tokens")}::int[])
      AS x(r, s, k, u, t, m, p, sp, pt, ct)`.execute(t.db);
  logs.push(...ls);
}

// ---------- brute force ----------

type Entity = "user" | "team";
const entityOf = (e: Entity, l: Log) => (e === "user" ? l.user : l.team_id);

interface Row {
  day: string;
  sort: string[];
  entity: string;
  api_key: string;
  spend: number;
  requests: number;
  prompt: number;
}

/** The page LiteLLM's daily table would give: its rows (day newest first, then code-point order). */
function brutePage(e: Entity, q: DailyActivityQuery, uid: string | null) {
  const rows = new Map<string, Row>();
  for (const l of logs) {
    const day = l.startTime.slice(0, 10);
    if (day < q.start_date || day > q.end_date) continue;
    const ent = entityOf(e, l);
    if (uid !== null && l.user !== uid) continue;
    if (q.entity_ids && !q.entity_ids.includes(ent)) continue;
    if (q.exclude_entity_ids?.includes(ent)) continue;
    const sort = [ent, l.api_key, l.model, l.model, l.custom_llm_provider, "acompletion"];
    const k = JSON.stringify([day, ...sort]);
    const r = rows.get(k) ?? { day, sort, entity: ent, api_key: l.api_key, spend: 0, requests: 0, prompt: 0 };
    r.spend += l.spend;
    r.requests += 1;
    r.prompt += l.prompt_tokens;
    rows.set(k, r);
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const all = [...rows.values()].sort((a, b) => {
    if (a.day !== b.day) return a.day < b.day ? 1 : -1;
    for (let i = 0; i < a.sort.length; i++) {
      const c = cmp(a.sort[i]!, b.sort[i]!);
      if (c) return c;
    }
    return 0;
  });
  const page = q.page ?? 1;
  return { rows: all.slice((page - 1) * q.page_size, page * q.page_size), total: all.length };
}

function expectBrute(
  res: SpendAnalyticsPaginatedResponse,
  e: Entity,
  q: DailyActivityQuery,
  uid: string | null,
) {
  const { rows, total } = brutePage(e, q, uid);
  expect(res.metadata.total_pages).toBe(Math.ceil(total / q.page_size));
  expect(res.metadata.has_more).toBe((q.page ?? 1) * q.page_size < total);
  const days = [...new Set(rows.map((r) => r.day))];
  expect(res.results.map((r) => r.date)).toEqual(days);
  for (const d of res.results) {
    const mine = rows.filter((r) => r.day === d.date);
    expect(d.metrics.spend).toBeCloseTo(
      mine.reduce((a, r) => a + r.spend, 0),
      9,
    );
    expect(d.metrics.api_requests).toBe(mine.reduce((a, r) => a + r.requests, 0));
    expect(d.metrics.prompt_tokens).toBe(mine.reduce((a, r) => a + r.prompt, 0));
    const keys = [...new Set(mine.map((r) => r.api_key))].sort();
    expect(Object.keys(d.breakdown.api_keys).sort()).toEqual(keys);
    for (const k of keys) {
      const m = d.breakdown.api_keys[k]!;
      expect(m.metrics.api_requests).toBe(
        mine.filter((r) => r.api_key === k).reduce((a, r) => a + r.requests, 0),
      );
      expect(m.metadata.key_alias).toBe(keyAlias.get(k) ?? null);
    }
    const ents = [...new Set(mine.map((r) => r.entity))].sort();
    expect(Object.keys(d.breakdown.entities).sort()).toEqual(ents);
    for (const x of ents)
      expect(d.breakdown.entities[x]!.metadata).toEqual(
        e === "team" ? { team_alias: teamAlias.get(x) ?? null } : { user_email: userEmail.get(x) ?? null },
      );
  }
  expect(res.metadata.total_api_requests).toBe(rows.reduce((a, r) => a + r.requests, 0));
}

// ---------- calls ----------

const base = { start_date: DAYS[0]!, end_date: TODAY, page_size: 7 };
/** The calls each step makes: routes, scopes, pages, filters. */
const CALLS: { e: Entity; scope: Scope; q: DailyActivityQuery }[] = [
  { e: "team", scope: ALL, q: { ...base, page: 1 } },
  { e: "team", scope: ALL, q: { ...base, page: 3 } },
  { e: "team", scope: ALL, q: { ...base, page: 1, entity_ids: ["t1", "t3"] } },
  { e: "team", scope: ALL, q: { ...base, page: 1, exclude_entity_ids: ["t1"] } },
  { e: "user", scope: ALL, q: { ...base, page: 1 } },
  { e: "user", scope: ALL, q: { ...base, page: 2, page_size: 5 } },
  { e: "user", scope: ALL, q: { ...base, page: 1, page_size: 1000 } },
  { e: "user", scope: userScope("u1"), q: { ...base, page: 1 } },
  { e: "user", scope: userScope("u2"), q: { ...base, page: 1 } },
];

const uidOf = (s: Scope) => (s.kind === "user" ? s.userId : null);

/** Every call through the cache: equal to the call without it, to its REST bytes and to brute force. */
async function checkAll(): Promise<{ hits: number; misses: number; uncached: number }> {
  const c = dailyPageCache(t.db)!;
  const before = { ...c.stats };
  for (const { e, scope, q } of CALLS) {
    const cached = await dailyActivity(t.db, scope, e as ActivityEntity, q);
    const bytes = await dailyActivityJson(t.db, scope, e as ActivityEntity, q);
    setDailyPageCache(t.db, null);
    let plain: SpendAnalyticsPaginatedResponse;
    try {
      plain = await dailyActivity(t.db, scope, e as ActivityEntity, q);
    } finally {
      setDailyPageCache(t.db, c);
    }
    expect(cached).toEqual(plain);
    expect(JSON.parse(Buffer.from(bytes).toString("utf8"))).toEqual(plain);
    expectBrute(cached, e, q, uidOf(scope));
  }
  return {
    hits: c.stats.hits - before.hits,
    misses: c.stats.misses - before.misses,
    uncached: c.stats.uncached - before.uncached,
  };
}

/** Each call made twice per checkAll (value, then bytes): the second always a hit when nothing changed. */
const N = CALLS.length;

describe("paginated daily routes: page cache", () => {
  beforeAll(async () => {
    t = await createTestDb();
    await writeFixtures(t.db, {
      users: USERS.map((u) => ({ user_id: u, user_email: userEmail.get(u)! })),
      teams: TEAMS.map((x) => ({ team_id: x, team_alias: teamAlias.get(x)! })),
      keys: KEYS.map((k) => ({ raw: k, key_alias: keyAlias.get(hashToken(k))!, user_id: "u1" })),
    });
    await insert(DAYS.flatMap((d) => Array.from({ length: 25 }, () => mk(d))));
    await foldRollups(t.db);
    setDailyPageCache(t.db, 64 * 2 ** 20);
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("a first round fills the cache, a second answers every page from it; all exact", async () => {
    expect(await checkAll()).toEqual({ hits: N, misses: N, uncached: 0 });
    expect(await checkAll()).toEqual({ hits: 2 * N, misses: 0, uncached: 0 });
  });

  it("an admin's page and an internal user's page with the same parameters are different entries", async () => {
    const q = { ...base, page: 1, page_size: 1000 };
    const admin = await dailyActivity(t.db, ALL, "user", q);
    const u1 = await dailyActivity(t.db, userScope("u1"), "user", q);
    const u2 = await dailyActivity(t.db, userScope("u2"), "user", q);
    const entitiesOf = (r: SpendAnalyticsPaginatedResponse) =>
      [...new Set(r.results.flatMap((d) => Object.keys(d.breakdown.entities)))].sort();
    expect(entitiesOf(u1)).toEqual(["u1"]);
    expect(entitiesOf(u2)).toEqual(["u2"]);
    expect(entitiesOf(admin).length).toBeGreaterThan(1);
    // An admin asking for one user (user_id) is that user's scope: the same answer as the user's own.
    expect(await dailyActivity(t.db, userScope("u1"), "user", q)).toEqual(u1);
  });

  it("new logs for today, and a late log for a past day: pages built again, exact", async () => {
    await insert([mk(TODAY), mk(TODAY, { team_id: "t2" })]);
    // The first call finds the logs pending: it folds and answers the uncached way; then pages miss.
    const s = await checkAll();
    expect(s.uncached).toBe(1);
    expect(s.misses).toBeGreaterThan(0);
    await insert([mk(DAYS[1]!, { team_id: "t1", user: "u1" })]);
    expect((await checkAll()).misses).toBeGreaterThan(0);
    expect(await checkAll()).toEqual({ hits: 2 * N, misses: 0, uncached: 0 });
  });

  it("an update moving logs between teams", async () => {
    const moved = logs.filter((l) => l.team_id === "t1" && l.startTime.startsWith(DAYS[2]!)).slice(0, 3);
    expect(moved.length).toBe(3);
    await sql`UPDATE "LiteLLM_SpendLogs" SET team_id = 't3' WHERE request_id = ANY(${moved.map((l) => l.request_id)}::text[])`.execute(
      t.db,
    );
    for (const l of moved) l.team_id = "t3";
    expect((await checkAll()).misses).toBeGreaterThan(0);
  });

  it("logs deleted in subtract mode", async () => {
    await setRollupDeleteMode(t.db, "subtract");
    try {
      const gone = logs.filter((l) => l.startTime.startsWith(DAYS[3]!)).slice(0, 4);
      await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id = ANY(${gone.map((l) => l.request_id)}::text[])`.execute(
        t.db,
      );
      logs = logs.filter((l) => !gone.includes(l));
      expect((await checkAll()).misses).toBeGreaterThan(0);
    } finally {
      await setRollupDeleteMode(t.db, "keep");
    }
  });

  it("a changed team alias and a changed key alias show at once", async () => {
    expect((await checkAll()).misses).toBe(0);
    await sql`UPDATE "LiteLLM_TeamTable" SET team_alias = 'renamed-team' WHERE team_id = 't2'`.execute(t.db);
    teamAlias.set("t2", "renamed-team");
    expect((await checkAll()).misses).toBeGreaterThan(0);
    await sql`UPDATE "LiteLLM_VerificationToken" SET key_alias = 'renamed-key' WHERE token = ${hashToken("kb")}`.execute(
      t.db,
    );
    keyAlias.set(hashToken("kb"), "renamed-key");
    const s = await checkAll();
    expect(s.misses).toBeGreaterThan(0);
    expect(s.misses).toBeLessThanOrEqual(N);
    expect((await checkAll()).misses).toBe(0);
    // A user's email: embedded by the user route's entities (and the keys' user, u1 here: unchanged).
    await sql`UPDATE "LiteLLM_UserTable" SET user_email = 'u3-new@example.com' WHERE user_id = 'u3'`.execute(
      t.db,
    );
    userEmail.set("u3", "u3-new@example.com");
    expect((await checkAll()).misses).toBeGreaterThan(0);
  });

  it("a dirty day answers uncached and exact; a rebuild then refills the cache, exact", async () => {
    await pauseRollups(t.db);
    try {
      await insert([mk(DAYS[2]!, { team_id: "t1" }), mk(DAYS[2]!, { team_id: "t2", user: "u2" })]);
    } finally {
      await resumeRollups(t.db);
    }
    const dirty = await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.rollup_days
      WHERE dirty_at IS NOT NULL`.execute(t.db);
    expect(dirty.rows[0]!.n).toBeGreaterThan(0);
    expect((await checkAll()).uncached).toBe(2 * N);
    await rebuildRollups(t.db);
    expect((await checkAll()).uncached).toBe(0);
    expect(await checkAll()).toEqual({ hits: 2 * N, misses: 0, uncached: 0 });
  });

  it("a TRUNCATE of the logs (subtract mode) empties the pages; new logs show", async () => {
    await setRollupDeleteMode(t.db, "subtract");
    try {
      await sql`TRUNCATE "LiteLLM_SpendLogs"`.execute(t.db);
      logs = [];
      const s = await checkAll();
      expect(s.misses).toBe(N);
      const empty = await dailyActivity(t.db, ALL, "team", { ...base, page: 1 });
      expect(empty.results).toEqual([]);
      await insert(DAYS.slice(2).flatMap((d) => Array.from({ length: 6 }, () => mk(d))));
      expect((await checkAll()).misses).toBe(N);
      expect(await checkAll()).toEqual({ hits: 2 * N, misses: 0, uncached: 0 });
    } finally {
      await setRollupDeleteMode(t.db, "keep");
    }
  });

  it("a bound of a few pages keeps the most recent ones and answers exactly", async () => {
    const one = await dailyActivityJson(t.db, ALL, "team", { ...base, page: 1 });
    setDailyPageCache(t.db, one.byteLength * 3);
    const c = dailyPageCache(t.db)!;
    await checkAll();
    expect(c.size).toBeLessThanOrEqual(one.byteLength * 3);
    expect(c.count).toBeLessThan(N);
    setDailyPageCache(t.db, 64 * 2 ** 20);
  });

  it("the check (migration 0021) answers as 0019's filters did: duplicates, unknown ids, empty arrays", async () => {
    // On Postgres the check is a named statement on the handle's pool; on PGlite it goes through kysely.
    expect(pgPoolOf(t.db) !== undefined).toBe(t.engine === "postgres");
    // A key without a user and a key whose user is unknown, beside the fixture's keys.
    await writeFixtures(t.db, {
      keys: [
        { raw: "k-nouser", key_alias: "no-user" },
        { raw: "k-ghost", key_alias: "ghost-user", user_id: "u-ghost" },
      ],
    });
    const tokens = [...KEYS, "k-nouser", "k-ghost"].map(hashToken);
    const cases: [string, string[], string[], string | null][] = [
      ["u", [...tokens, tokens[0]!, "no-such-key"], [...USERS, "u1", "no-such-user"], "user"],
      ["u", tokens.slice(0, 2), [], "user"],
      ["t", tokens, [...TEAMS, "t2", "no-such-team"], "team"],
      ["t", [], [], "team"],
      ["o", tokens, ["x"], ""],
      ["c", [], [], null],
    ];
    for (const [kind, keys, ents, entKind] of cases) {
      for (const rows of [false, true]) {
        const got = await sql<
          Record<string, unknown>
        >`SELECT c.* FROM spendlens.activity_page_check(${kind}::"char",
            ${DAYS[0]}::date, ${TODAY}::date, ${keys}::text[], ${ents}::text[], ${entKind}::text, ${rows}) c`.execute(
          t.db,
        );
        // 0019's statements, as they were: a filter on `= ANY (array)`, every array read.
        const want = await sql<Record<string, unknown>>`SELECT
            (SELECT md5(coalesce(string_agg(x.r::text, E'\n' ORDER BY x.token COLLATE "C"), '')) FROM (SELECT vt.token,
              json_build_array(vt.token, vt.key_alias, vt.team_id, vt.user_id, u.user_email) AS r
              FROM "LiteLLM_VerificationToken" vt LEFT JOIN "LiteLLM_UserTable" u ON u.user_id = vt.user_id
              WHERE vt.token = ANY (${keys}::text[])) x) AS key_digest,
            (SELECT json_agg(x.r) FROM (SELECT json_build_array(vt.token, vt.key_alias, vt.team_id, vt.user_id,
              u.user_email) AS r FROM "LiteLLM_VerificationToken" vt LEFT JOIN "LiteLLM_UserTable" u
              ON u.user_id = vt.user_id WHERE vt.token = ANY (${keys}::text[])) x) AS key_rows,
            CASE ${entKind}::text
              WHEN 'team' THEN (SELECT md5(coalesce(string_agg(json_build_array(t.team_id, t.team_alias)::text, E'\n'
                ORDER BY t.team_id COLLATE "C"), '')) FROM "LiteLLM_TeamTable" t WHERE t.team_id = ANY (${ents}::text[]))
              WHEN 'user' THEN (SELECT md5(coalesce(string_agg(json_build_array(u.user_id, u.user_email)::text, E'\n'
                ORDER BY u.user_id COLLATE "C"), '')) FROM "LiteLLM_UserTable" u WHERE u.user_id = ANY (${ents}::text[]))
              ELSE '' END AS ent_digest,
            CASE ${entKind}::text
              WHEN 'team' THEN (SELECT json_agg(json_build_array(t.team_id, t.team_alias)) FROM "LiteLLM_TeamTable" t
                WHERE t.team_id = ANY (${ents}::text[]))
              WHEN 'user' THEN (SELECT json_agg(json_build_array(u.user_id, u.user_email)) FROM "LiteLLM_UserTable" u
                WHERE u.user_id = ANY (${ents}::text[])) END AS ent_rows`.execute(t.db);
        const g = got.rows[0]!;
        const w = want.rows[0]!;
        const label = JSON.stringify([kind, keys.length, ents.length, entKind, rows]);
        expect(g.key_digest, label).toBe(w.key_digest);
        expect(g.ent_digest, label).toBe(w.ent_digest);
        const sorted = (v: unknown) =>
          v === null ? null : (v as unknown[]).map((x) => JSON.stringify(x)).sort();
        expect(sorted(g.key_rows), label).toEqual(rows ? sorted(w.key_rows) : null);
        expect(sorted(g.ent_rows), label).toEqual(rows ? sorted(w.ent_rows) : null);
        if (rows && keys.length) expect((g.key_rows as unknown[]).length, label).toBeGreaterThan(0);
      }
    }
  });
}, 180_000);
