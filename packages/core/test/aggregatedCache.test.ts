import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DemoLog } from "../src/demo/generate.ts";
import {
  ALL,
  aggregatedDayCache,
  dailyActivityAggregated,
  dailyActivityAggregatedJson,
  hashToken,
  type SpendAnalyticsPaginatedResponse,
  setAggregatedDayCache,
  setRollupDeleteMode,
  userScope,
} from "../src/internal.ts";
import { createTestDb, insertLogs, makeLog, type TestDb, writeFixtures } from "../src/testing/index.ts";

/**
 * The caches of /user/daily/activity/aggregated (activity/aggregatedCache.ts, migration 0017): the whole
 * answer (its bytes, checked by one statement) and the per-day elements behind it. After new logs for a
 * past day, for today, a new top key, changed key and user metadata, a user row gone, and a direct write to
 * a rollup table, the cached answer is byte-equal to the answer of the per-day path (the whole cache
 * skipped), equals the uncached answer and a brute-force fold of the logs the test wrote; the unchanged
 * days come from the cache, an unchanged range from the whole answer.
 */

const DAYS = ["2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04"];
const TODAY = DAYS[3]!;
const range = { start_date: DAYS[0]!, end_date: TODAY, page: null, page_size: 1 } as const;
const LIMIT = 3;
const KEYS = ["ka", "kb", "kc", "kd", "ke"];
const USERS = ["u1", "u2", "u3"];
const MODELS = ["gpt-4o", "claude-3", "mistral"];

let t: TestDb;
const logs: DemoLog[] = [];
let n = 0;
function log(day: string, key: string, spend: number): DemoLog {
  n += 1;
  return makeLog({
    startTime: `${day}T${String(n % 24).padStart(2, "0")}:${String(n % 60).padStart(2, "0")}:00.000Z`,
    api_key: key,
    user: USERS[n % USERS.length]!,
    model: MODELS[n % MODELS.length]!,
    model_group: MODELS[n % MODELS.length]!,
    custom_llm_provider: n % 2 ? "openai" : "anthropic",
    spend,
    prompt_tokens: 10 + (n % 7),
    completion_tokens: 3 + (n % 5),
  });
}
async function add(ls: DemoLog[]): Promise<void> {
  await insertLogs(t.db, ls);
  logs.push(...ls);
}

/** Brute force over the logs written: per day spend and requests, the totals, the top keys. */
function brute() {
  const inRange = logs.filter(
    (l) => l.startTime.slice(0, 10) >= DAYS[0]! && l.startTime.slice(0, 10) <= TODAY,
  );
  const perDay = new Map<string, { spend: number; requests: number; prompt: number }>();
  const perKey = new Map<string, number>();
  for (const l of inRange) {
    const d = l.startTime.slice(0, 10);
    const m = perDay.get(d) ?? { spend: 0, requests: 0, prompt: 0 };
    m.spend += l.spend;
    m.requests += 1;
    m.prompt += l.prompt_tokens;
    perDay.set(d, m);
    perKey.set(l.api_key, (perKey.get(l.api_key) ?? 0) + l.spend);
  }
  const top = [...perKey]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, LIMIT)
    .map(([k]) => k);
  return { perDay, top, keys: perKey.size, requests: inRange.length };
}

function expectBrute(res: SpendAnalyticsPaginatedResponse): void {
  const b = brute();
  expect(res.results.map((r) => r.date)).toEqual([...b.perDay.keys()].sort().reverse());
  for (const r of res.results) {
    const w = b.perDay.get(r.date)!;
    expect(r.metrics.spend).toBeCloseTo(w.spend, 10);
    expect(r.metrics.api_requests).toBe(w.requests);
    expect(r.metrics.prompt_tokens).toBe(w.prompt);
  }
  expect(res.metadata.total_api_requests).toBe(b.requests);
  expect(res.metadata.total_api_keys).toBe(b.keys);
  const listed = new Set(res.results.flatMap((r) => Object.keys(r.breakdown.api_keys)));
  expect([...listed].sort()).toEqual([...b.top].sort());
}

/**
 * Equal values, floats within 1e-12 relative (a sum of the same terms in another order: the cached days
 * are summed in day order, the uncached statement in its scan order); every other value and every key
 * exactly.
 */
function expectSame(a: unknown, b: unknown, path = "$"): void {
  // The same checks as plain comparisons first (thousands of values; an `expect` costs ~18 µs of CPU):
  // only when one fails, as the assertions below, for their message.
  if (path === "$" && sameValue(a, b)) return;
  if (typeof a === "number" && typeof b === "number") {
    if (a !== b)
      expect([path, Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b))]).toEqual([path, true]);
    return;
  }
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") {
    expect([path, a]).toEqual([path, b]);
    return;
  }
  expect([path, Array.isArray(a)]).toEqual([path, Array.isArray(b)]);
  const ka = Object.keys(a).sort();
  expect([path, ka]).toEqual([path, Object.keys(b).sort()]);
  for (const k of ka)
    expectSame((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
}

/** expectSame's rule as one boolean: true only where every assertion of expectSame passes. */
function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number")
    return a === b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * The cached answer (bytes), the same call through the per-day path only (byte-equal), without any cache
 * (equal values), and what the cache did.
 */
async function both() {
  const c = aggregatedDayCache(t.db)!;
  const before = { ...c.stats };
  const bytes = Buffer.concat(await dailyActivityAggregatedJson(t.db, ALL, range, LIMIT));
  const stats = {
    hits: c.stats.hits - before.hits,
    built: c.stats.built - before.built,
    cold: c.stats.cold - before.cold,
    whole: c.stats.whole - before.whole,
  };
  const days = Buffer.concat(await dailyActivityAggregatedJson(t.db, ALL, range, LIMIT, { whole: false }));
  expect(Buffer.compare(bytes, days)).toBe(0);
  const cached = JSON.parse(bytes.toString("utf8")) as SpendAnalyticsPaginatedResponse;
  const plain = await dailyActivityAggregated(t.db, ALL, range, LIMIT, { cache: false });
  expectSame(cached, plain);
  expectBrute(cached);
  return { cached, stats };
}

const WHOLE = { hits: 0, built: 0, cold: 0, whole: 1 };

describe("aggregated daily route: per-day cache", () => {
  beforeAll(async () => {
    t = await createTestDb();
    await writeFixtures(t.db, {
      users: USERS.map((u) => ({ user_id: u, user_email: `${u}@example.com` })),
      keys: KEYS.map((k) => ({ raw: k, key_alias: `alias-${k}`, user_id: "u1" })),
    });
    const first: DemoLog[] = [];
    for (const [i, d] of DAYS.entries())
      for (const [j, k] of KEYS.entries())
        for (let r = 0; r <= i + j; r++) first.push(log(d, hashToken(k), 0.5 + j * 0.25 + r * 0.01));
    await add(first);
    setAggregatedDayCache(t.db, 64 * 2 ** 20);
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("a first call fills the cache, a second sends the whole answer kept; both exact", async () => {
    expect((await both()).stats).toEqual({ hits: 0, built: DAYS.length, cold: 1, whole: 0 });
    expect((await both()).stats).toEqual(WHOLE);
    // The per-day path alone reads every day from the cache.
    const c = aggregatedDayCache(t.db)!;
    const hits = c.stats.hits;
    await dailyActivityAggregatedJson(t.db, ALL, range, LIMIT, { whole: false });
    expect(c.stats.hits - hits).toBe(DAYS.length);
  });

  it("new logs for today: only today is read again", async () => {
    await add([log(TODAY, hashToken("ka"), 0.125), log(TODAY, hashToken("kb"), 0.25)]);
    // Not folded yet: the day marks are as before, only the pending logs tell (the whole answer's check
    // reads them; a read folds them first).
    const pending = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM spendlens.spend_log_pending`.execute(t.db);
    expect(pending.rows[0]!.n).toBe(2);
    const r = await both();
    expect(r.stats).toEqual({ hits: DAYS.length - 1, built: 1, cold: 0, whole: 0 });
    expect((await both()).stats).toEqual(WHOLE);
  });

  it("new logs for a past day (late logs): only that day is read again", async () => {
    await add([log(DAYS[1]!, hashToken("kc"), 0.375)]);
    expect((await both()).stats).toEqual({ hits: DAYS.length - 1, built: 1, cold: 0, whole: 0 });
    expect((await both()).stats).toEqual(WHOLE);
  });

  it("a key entering the top keys: every day is built again (cold), exact", async () => {
    const before = brute().top;
    await add([log(DAYS[0]!, hashToken("new-key"), 1000)]);
    expect(brute().top).not.toEqual(before);
    const r = await both();
    expect(r.stats.cold).toBe(1);
    expect(r.stats.whole).toBe(0);
    expect((await both()).stats).toEqual(WHOLE);
  });

  it("another range and another limit are other whole answers", async () => {
    const short = { ...range, start_date: DAYS[1]! };
    const c = aggregatedDayCache(t.db)!;
    for (const [q, limit] of [
      [short, LIMIT],
      [range, LIMIT + 1],
    ] as const) {
      const w = c.stats.whole;
      const first = Buffer.concat(await dailyActivityAggregatedJson(t.db, ALL, q, limit));
      expect(c.stats.whole).toBe(w);
      const again = await dailyActivityAggregatedJson(t.db, ALL, q, limit);
      // Reused: one buffer (REST writes it at once, with its length).
      expect(again.length).toBe(1);
      expect(c.stats.whole).toBe(w + 1);
      expect(Buffer.compare(first, again[0]!)).toBe(0);
      expectSame(
        JSON.parse(first.toString("utf8")),
        await dailyActivityAggregated(t.db, ALL, q, limit, { cache: false }),
      );
    }
    expect((await both()).stats).toEqual(WHOLE);
  });

  it("an internal user gets their own rows, never the kept whole answer", async () => {
    expect((await both()).stats).toEqual(WHOLE);
    const c = aggregatedDayCache(t.db)!;
    const w = c.stats.whole;
    const mine = await dailyActivityAggregated(t.db, userScope("u2"), range, LIMIT);
    expect(c.stats.whole).toBe(w);
    const own = logs.filter((l) => l.user === "u2" && l.startTime.slice(0, 10) >= DAYS[0]!);
    expect(mine.metadata.total_api_requests).toBe(own.length);
    expect(mine.metadata.total_spend).toBeCloseTo(
      own.reduce((a, l) => a + l.spend, 0),
      10,
    );
    for (const r of mine.results) expect(Object.keys(r.breakdown.entities)).toEqual(["u2"]);
  });

  it("inside a transaction the whole answer is neither used nor kept", async () => {
    expect((await both()).stats).toEqual(WHOLE);
    const c = aggregatedDayCache(t.db)!;
    const w = c.stats.whole;
    await t.db.transaction().execute(async (trx) => {
      await dailyActivityAggregatedJson(trx, ALL, range, LIMIT);
    });
    expect(c.stats.whole).toBe(w);
    expect((await both()).stats).toEqual(WHOLE);
  });

  it("changed key and user metadata show at once", async () => {
    await sql`UPDATE "LiteLLM_VerificationToken" SET key_alias = 'renamed' WHERE token = ${hashToken("ke")}`.execute(
      t.db,
    );
    await sql`UPDATE "LiteLLM_UserTable" SET user_email = 'new@example.com' WHERE user_id = 'u2'`.execute(
      t.db,
    );
    const { cached, stats } = await both();
    expect(stats.whole).toBe(0);
    const day = cached.results[0]!;
    expect(day.breakdown.api_keys[hashToken("ke")]?.metadata.key_alias).toBe("renamed");
    expect(day.breakdown.entities.u2?.metadata).toEqual({ user_email: "new@example.com" });
    expect((await both()).stats).toEqual(WHOLE);
    // A user's e-mail gone, then the user's row gone: each shows at once (null, then no metadata).
    await sql`UPDATE "LiteLLM_UserTable" SET user_email = NULL WHERE user_id = 'u3'`.execute(t.db);
    const none = await both();
    expect(none.stats.whole).toBe(0);
    expect(none.cached.results[0]!.breakdown.entities.u3?.metadata).toEqual({ user_email: null });
    expect((await both()).stats).toEqual(WHOLE);
    await sql`DELETE FROM "LiteLLM_UserTable" WHERE user_id = 'u3'`.execute(t.db);
    const gone = await both();
    expect(gone.stats.whole).toBe(0);
    expect(gone.cached.results[0]!.breakdown.entities.u3?.metadata).toEqual({});
    await sql`INSERT INTO "LiteLLM_UserTable" (user_id, user_email) VALUES ('u3', 'u3@example.com')`.execute(
      t.db,
    );
    expect((await both()).stats.whole).toBe(0);
  });

  it("a direct write to a rollup row of a past day, and logs deleted in subtract mode", async () => {
    const spendOf = async () => (await dailyActivityAggregated(t.db, ALL, range, LIMIT)).metadata.total_spend;
    const before = await spendOf();
    expect((await both()).stats).toEqual(WHOLE);
    await sql`UPDATE spendlens.activity_dim_daily SET spend = spend + 1000 WHERE dim = 'd' AND day = ${DAYS[2]!}::date`.execute(
      t.db,
    );
    try {
      expect((await spendOf()) - before).toBeCloseTo(1000, 6);
    } finally {
      await sql`UPDATE spendlens.activity_dim_daily SET spend = spend - 1000 WHERE dim = 'd' AND day = ${DAYS[2]!}::date`.execute(
        t.db,
      );
    }
    expect(await spendOf()).toBeCloseTo(before, 10);
    await setRollupDeleteMode(t.db, "subtract");
    try {
      const gone = logs.filter((l) => l.startTime.startsWith(DAYS[1]!)).slice(0, 3);
      await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id = ANY(${gone.map((l) => l.request_id)}::text[])`.execute(
        t.db,
      );
      logs.splice(0, logs.length, ...logs.filter((l) => !gone.includes(l)));
      expect((await both()).stats).toEqual({ hits: DAYS.length - 1, built: 1, cold: 0, whole: 0 });
      expect((await both()).stats).toEqual(WHOLE);
    } finally {
      await setRollupDeleteMode(t.db, "keep");
    }
  });
}, 120_000);
