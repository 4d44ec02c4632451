import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL, prng, setClock, userScope } from "../src/internal.ts";
import * as T from "../src/tags/tagAnalytics.ts";
import { createTestDb, insertLogs, makeLog, type TestDb } from "../src/testing/index.ts";

/** LiteLLM's tag analytics against a brute-force fold of the logs the test wrote (clock pinned). */

const TODAY = "2026-07-20";
const rnd = prng(99);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
const day = (n: number) =>
  new Date(Date.parse(`${TODAY}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const KEYS: Record<string, string | null> = { k1: "u1", k2: "u1", k3: "u2", k4: "u3", k5: null };
const logs = Array.from({ length: 900 }, () => {
  const offset = -Math.floor(rnd() * 240);
  return makeLog({
    startTime: `${day(offset)}T${String(Math.floor(rnd() * 24)).padStart(2, "0")}:30:00.000Z`,
    api_key: pick(["k1", "k2", "k3", "k4", "k5", "k-unknown"]),
    user: pick(["alice", "bob"]),
    spend: Math.floor(rnd() * 100) / 10,
    prompt_tokens: Math.floor(rnd() * 50),
    completion_tokens: Math.floor(rnd() * 50),
    custom_llm_provider: pick(["openai", "hosted_vllm"]),
    status: pick(["success", "failure", null]) as string,
    request_tags: pick([
      '["User-Agent: curl"]',
      '["User-Agent: curl","prod"]',
      '["User-Agent: python","env:dev"]',
      '["prod","prod"]',
      "[]",
    ]),
  });
});
type L = (typeof logs)[number];
const tagsOf = (l: L) => [...new Set(JSON.parse(l.request_tags) as string[])];
const owner = (l: L) => KEYS[l.api_key] ?? null;
const dayOf = (l: L) => l.startTime.slice(0, 10);

let t: TestDb;
beforeAll(async () => {
  setClock(() => new Date(`${TODAY}T15:00:00Z`));
  t = await createTestDb();
  await insertLogs(t.db, logs);
  for (const [token, user_id] of Object.entries(KEYS))
    await sql`INSERT INTO "LiteLLM_VerificationToken" (token, user_id) VALUES (${token}, ${user_id})`.execute(
      t.db,
    );
  await sql`INSERT INTO "LiteLLM_UserTable" (user_id, user_email) VALUES ('u1', 'u1@example.com')`.execute(
    t.db,
  );
}, 120_000);
afterAll(async () => {
  setClock(null);
  await t?.drop();
});

function activeUsers(keep: (l: L) => boolean, bucket: (l: L) => string | null) {
  const m = new Map<string, Set<string>>();
  for (const l of logs) {
    const b = bucket(l);
    const u = owner(l);
    if (b === null || u === null || !keep(l)) continue;
    for (const tag of tagsOf(l)) {
      const k = `${tag}|${b}`;
      if (!m.has(k)) m.set(k, new Set());
      m.get(k)!.add(u);
    }
  }
  return new Map([...m].map(([k, v]) => [k, v.size]));
}

describe("tag analytics", () => {
  it("/tag/dau: distinct key owners per tag and day; default window is the 7 days to today", async () => {
    const got = await T.tagDau(t.db, ALL, T.tagDauInput.parse({ start_date: day(-20), end_date: day(-3) }));
    const want = activeUsers(
      () => true,
      (l) => (dayOf(l) >= day(-20) && dayOf(l) <= day(-3) ? dayOf(l) : null),
    );
    expect(new Map(got.results.map((r) => [`${r.tag}|${r.date}`, r.active_users]))).toEqual(want);
    expect(got.results.map((r) => r.date)).toEqual([...got.results.map((r) => r.date)].sort().reverse());
    const dflt = await T.tagDau(t.db, ALL, T.tagDauInput.parse({ tag_filters: ["prod"] }));
    const wantDflt = activeUsers(
      (l) => tagsOf(l).includes("prod"),
      (l) => (dayOf(l) >= day(-6) && dayOf(l) <= TODAY ? dayOf(l) : null),
    );
    expect(new Map(dflt.results.map((r) => [`${r.tag}|${r.date}`, r.active_users]))).toEqual(
      new Map([...wantDflt].filter(([k]) => k.startsWith("prod|"))),
    );
  });

  it("/tag/wau and /tag/mau: periods counted back from today + 1 day", async () => {
    const end = day(1);
    const since = (l: L) =>
      Math.floor((Date.parse(`${end}T00:00:00Z`) - Date.parse(`${dayOf(l)}T00:00:00Z`)) / 86_400_000);
    // A period's active users by tag and index (0: the period ending at `end`), from its end date.
    const byPeriod = (
      rows: { tag: string; period_end: string | null; active_users: number }[],
      days: number,
    ) =>
      new Map(
        rows.map((r) => [
          `${r.tag}|${(Date.parse(`${end}T00:00:00Z`) - Date.parse(`${r.period_end}T00:00:00Z`)) / days / 86_400_000}`,
          r.active_users,
        ]),
      );
    const wau = await T.tagWau(t.db, ALL, T.tagWauInput.parse({ custom_llm_provider: "openai" }));
    const wantW = activeUsers(
      (l) => l.custom_llm_provider === "openai",
      (l) => (since(l) >= 0 && since(l) < 49 ? String(Math.floor(since(l) / 7)) : null),
    );
    expect(byPeriod(wau.results, 7)).toEqual(wantW);
    const w0 = wau.results.find((r) => r.period_end === end)!;
    expect([w0.date, w0.period_start]).toEqual([`Week 7 (Jul 15)`, day(-5)]);
    const mau = await T.tagMau(t.db, ALL, T.tagMauInput.parse({ months: "3", tag_filter: "user-agent" }));
    const wantM = activeUsers(
      (l) => tagsOf(l).some((x) => x.toLowerCase().includes("user-agent")),
      (l) => (since(l) >= 0 && since(l) < 90 ? String(Math.floor(since(l) / 30)) : null),
    );
    expect(byPeriod(mau.results, 30)).toEqual(
      new Map([...wantM].filter(([k]) => k.toLowerCase().startsWith("user-agent"))),
    );
  });

  it("/tag/summary per tag; /tag/distinct", async () => {
    const got = await T.tagSummary(
      t.db,
      ALL,
      T.tagSummaryInput.parse({ start_date: day(-60), end_date: TODAY }),
    );
    const m = new Map<
      string,
      { users: Set<string>; r: number; ok: number; bad: number; tok: number; spend: number }
    >();
    for (const l of logs) {
      if (dayOf(l) < day(-60) || dayOf(l) > TODAY) continue;
      for (const tag of tagsOf(l)) {
        const e = m.get(tag) ?? { users: new Set(), r: 0, ok: 0, bad: 0, tok: 0, spend: 0 };
        if (owner(l)) e.users.add(owner(l)!);
        e.r += 1;
        e.ok += l.status === "failure" ? 0 : 1;
        e.bad += l.status === "failure" ? 1 : 0;
        e.tok += l.prompt_tokens + l.completion_tokens;
        e.spend += l.spend;
        m.set(tag, e);
      }
    }
    expect(got.results.map((r) => r.tag).sort()).toEqual([...m.keys()].sort());
    for (const r of got.results) {
      const e = m.get(r.tag)!;
      expect([
        r.tag,
        r.unique_users,
        r.total_requests,
        r.successful_requests,
        r.failed_requests,
        r.total_tokens,
      ]).toEqual([r.tag, e.users.size, e.r, e.ok, e.bad, e.tok]);
      expect(r.total_spend).toBeCloseTo(e.spend, 8);
    }
    const distinct = await T.tagDistinct(t.db, ALL);
    expect(distinct.results.map((r) => r.tag).sort()).toEqual([
      "User-Agent: curl",
      "User-Agent: python",
      "prod",
    ]);
  });

  it("/tag/user-agent/per-user-analytics: per key owner, 31 days, paginated; scoped for internal users", async () => {
    const p = await T.tagPerUserAnalytics(t.db, ALL, T.tagPerUserInput.parse({ page_size: "2" }));
    const inWin = (l: L) => dayOf(l) >= day(-29) && dayOf(l) <= day(1);
    const m = new Map<string, number[]>();
    for (const l of logs.filter(inWin)) {
      const u = owner(l);
      if (!u) continue;
      for (const _tag of tagsOf(l)) {
        const e = m.get(u) ?? [0, 0, 0];
        e[0]! += l.status === "failure" ? 0 : 1;
        e[1]! += 1;
        e[2]! += l.prompt_tokens + l.completion_tokens;
        m.set(u, e);
      }
    }
    const order = [...m.entries()].sort((a, b) => b[1][0]! - a[1][0]! || (a[0] < b[0] ? -1 : 1));
    expect([p.total_count, p.total_pages]).toEqual([m.size, Math.ceil(m.size / 2)]);
    expect(
      p.results.map((r) => [r.user_id, r.successful_requests, r.total_requests, r.total_tokens]),
    ).toEqual(order.slice(0, 2).map(([u, e]) => [u, e[0], e[1], e[2]]));
    const u1 = p.results.find((r) => r.user_id === "u1");
    if (u1) expect(u1.user_email).toBe("u1@example.com");
    const mine = await T.tagSummary(
      t.db,
      userScope("alice"),
      T.tagSummaryInput.parse({ start_date: day(-60), end_date: TODAY }),
    );
    const aliceReqs = logs
      .filter((l) => l.user === "alice" && dayOf(l) >= day(-60) && dayOf(l) <= TODAY)
      .reduce((a, l) => a + tagsOf(l).length, 0);
    expect(mine.results.reduce((a, r) => a + r.total_requests, 0)).toBe(aliceReqs);
  });
});
