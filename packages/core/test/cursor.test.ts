import { describe, expect, it } from "vitest";
import { hashToken } from "../src/auth/hash.ts";
import { decodeLogsCursor, encodeLogsCursor, type LogsPageInput, logsPage } from "../src/logs/cursor.ts";
import { ALL, type Scope, userScope } from "../src/scope.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { errorOf, insertLogs, makeLog } from "../src/testing/index.ts";

/**
 * Keyset pages of spend logs. Request ids are `r0000`… (same order under every collation); many logs
 * share a "startTime", so pages break inside groups of equal times.
 */
const KA = hashToken("sk-cursor-a");
const KB = hashToken("sk-cursor-b");
const users = ["alice", "bob", "carol"];
const logs = Array.from({ length: 240 }, (_, i) => {
  // 48 distinct instants, 5 logs each (in scrambled id order), plus ms offsets on some.
  const slot = (i * 7) % 48;
  const ms = Date.parse("2026-03-01T00:00:00.000Z") + slot * 3_600_000 + (slot % 3 === 0 ? 123 : 0);
  return makeLog({
    request_id: `r${String((i * 37) % 240).padStart(4, "0")}`,
    startTime: new Date(ms).toISOString(),
    user: users[i % 3]!,
    api_key: i % 4 === 0 ? KA : KB,
    team_id: i % 5 === 0 ? null : `t${i % 2}`,
    end_user: i % 6 === 0 ? "e1" : null,
    model: i % 3 === 1 ? "gpt-4o" : "claude-3",
    spend: (i % 17) / 4,
  });
});

const t = useTestDb({
  setup: async (t) => {
    await insertLogs(t.db, logs);
  },
});

type L = (typeof logs)[number];
/** Newest first, then request_id descending: the brute-force order. */
const ordered = (xs: L[]) =>
  [...xs]
    .sort((a, b) =>
      a.startTime === b.startTime
        ? b.request_id.localeCompare(a.request_id)
        : Date.parse(b.startTime) - Date.parse(a.startTime),
    )
    .map((l) => l.request_id);

async function pageAll(input: LogsPageInput, scope: Scope = ALL) {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  const totals: (number | null)[] = [];
  for (;;) {
    const p = await logsPage(t.db, scope, { ...input, ...(cursor ? { cursor } : {}) });
    pages += 1;
    totals.push(p.total);
    ids.push(...p.data.map((r) => r.request_id));
    expect(p.has_more).toBe(p.next_cursor !== null);
    if (!p.has_more) break;
    expect(p.data).toHaveLength(p.limit);
    cursor = p.next_cursor!;
    if (pages > 500) throw new Error("no end");
  }
  return { ids, pages, totals };
}

describe("logs.page: keyset pagination", () => {
  it("paging with cursors returns every log exactly once, newest first, equal times included", async () => {
    const { ids, pages, totals } = await pageAll({ limit: 7 });
    expect(ids).toEqual(ordered(logs));
    expect(new Set(ids).size).toBe(logs.length);
    expect(pages).toBe(Math.ceil(240 / 7));
    expect(totals.every((x) => x === null)).toBe(true);
  });

  it("the first page has the newest rows and their full columns; the default limit is 50", async () => {
    const p = await logsPage(t.db, ALL, {});
    expect(p.limit).toBe(50);
    expect(p.data.map((r) => r.request_id)).toEqual(ordered(logs).slice(0, 50));
    expect(p.data[0]).toEqual(
      expect.objectContaining({ startTime: "2026-03-02T23:00:00.000Z", model: expect.any(String) }),
    );
    expect(Object.keys(p.data[0]!)).not.toContain("__cursor_ts");
    expect(p.total).toBe(null);
  });

  it("filters (raw sk- key hashed, user, team, end user, model, spend, inclusive datetimes) and include_total", async () => {
    const cases: [LogsPageInput, (l: L) => boolean][] = [
      [{ api_key: "sk-cursor-a" }, (l) => l.api_key === KA],
      [{ api_key: KB, user_id: "bob" }, (l) => l.api_key === KB && l.user === "bob"],
      [{ team_id: "t1", model: "gpt-4o" }, (l) => l.team_id === "t1" && l.model === "gpt-4o"],
      [{ end_user: "e1" }, (l) => l.end_user === "e1"],
      [{ min_spend: "1", max_spend: 2.5 }, (l) => l.spend >= 1 && l.spend <= 2.5],
      [
        { start_date: "2026-03-01 05:00:00", end_date: "2026-03-01 09:00:00" },
        (l) => l.startTime >= "2026-03-01T05:00:00.000Z" && l.startTime <= "2026-03-01T09:00:00.000Z",
      ],
      [{ request_id: "r0042" }, (l) => l.request_id === "r0042"],
    ];
    for (const [input, keep] of cases) {
      const want = ordered(logs.filter(keep));
      expect(want.length).toBeGreaterThan(0);
      const { ids, totals } = await pageAll({ ...input, limit: 4, include_total: "true" });
      expect({ input, ids }).toEqual({ input, ids: want });
      expect(new Set(totals)).toEqual(new Set([want.length]));
    }
  });

  it("logs written between pages do not shift the pages after a cursor", async () => {
    const first = await logsPage(t.db, ALL, { limit: 10, user_id: "carol" });
    await insertLogs(t.db, [
      makeLog({ request_id: "r9999", startTime: "2026-03-05T00:00:00.000Z", user: "carol", spend: 1 }),
    ]);
    const second = await logsPage(t.db, ALL, { limit: 10, user_id: "carol", cursor: first.next_cursor! });
    const want = ordered(logs.filter((l) => l.user === "carol"));
    expect([...first.data, ...second.data].map((r) => r.request_id)).toEqual(want.slice(0, 20));
    const all = await logsPage(t.db, ALL, { limit: 100, user_id: "carol", include_total: true });
    expect(all.total).toBe(want.length + 1);
    expect(all.data[0]!.request_id).toBe("r9999");
    await t.db.deleteFrom("LiteLLM_SpendLogs").where("request_id", "=", "r9999").execute();
  });

  it("an internal user pages through their own logs; another user_id is a 403", async () => {
    const bob = userScope("bob");
    const { ids } = await pageAll({ limit: 9 }, bob);
    expect(ids).toEqual(ordered(logs.filter((l) => l.user === "bob")));
    const own = await logsPage(t.db, bob, { user_id: "bob", include_total: true });
    expect(own.total).toBe(80);
    const e = await errorOf(logsPage(t.db, bob, { user_id: "alice" }));
    expect(e.code).toBe("FORBIDDEN");
  });

  it("a malformed cursor, a bad limit or include_total is a 400 naming the field", async () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64url");
    const bad: [LogsPageInput, string][] = [
      [{ cursor: "not a cursor!" }, "cursor"],
      [{ cursor: b64("{}") }, "cursor"],
      [{ cursor: b64("[1,2") }, "cursor"],
      [{ cursor: b64('["yesterday","r0001"]') }, "cursor"],
      [{ cursor: b64('["2026-03-01 00:00:00"]') }, "cursor"],
      [{ cursor: b64('["2026-02-30 00:00:00","r0001"]') }, "cursor"],
      [{ cursor: b64('["2026-02-28 24:00:00","r0001"]') }, "cursor"],
      [{ cursor: b64('["2026-03-01 00:00:00\'; drop table x; --","r1"]') }, "cursor"],
      [{ cursor: "" }, "cursor"],
      [{ limit: 0 }, "limit"],
      [{ limit: "101" }, "limit"],
      [{ include_total: "yes" }, "include_total"],
      [{ start_date: "2026-03-02 00:00:00", end_date: "2026-03-01 00:00:00" }, "end_date"],
    ];
    for (const [input, field] of bad) {
      const e = await errorOf(logsPage(t.db, ALL, input));
      expect({ input, code: e.code, field: e.field }).toEqual({ input, code: "BAD_REQUEST", field });
    }
  });

  it("cursors round-trip and are opaque base64url", () => {
    const c = { startTime: "2026-03-01 00:00:00.123", requestId: "r0001" };
    const s = encodeLogsCursor(c);
    expect(s).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeLogsCursor(s)).toEqual(c);
  });
});

describe("include_total past the direct-count limit (from the rollups)", () => {
  it("equals a brute-force count for key, user, team and partial-day windows; other filters count raw", async () => {
    const KC = hashToken("sk-cursor-c");
    // 1,800 logs of one key over three days, ~2.3 minutes apart with ms offsets (partial days at both
    // ends): more than COUNT_SCAN_LIMIT match the first cases, so their totals come from the rollups.
    const many = Array.from({ length: 1800 }, (_, i) =>
      makeLog({
        request_id: `m${String(i).padStart(5, "0")}`,
        startTime: new Date(Date.parse("2026-04-01T03:00:00.000Z") + i * 137_007).toISOString(),
        api_key: KC,
        user: i % 3 ? "dave" : "erin",
        team_id: i % 4 ? "t9" : null,
        end_user: i % 5 ? null : "e9",
        spend: (i % 9) / 8,
      }),
    );
    await insertLogs(t.db, many);
    const erin = userScope("erin");
    const cases: [LogsPageInput, (l: (typeof many)[number]) => boolean, Scope?][] = [
      [{ api_key: KC }, () => true],
      [
        { api_key: "sk-cursor-c", start_date: "2026-04-01 10:30:00.5", end_date: "2026-04-03 07:00:00" },
        (l) => l.startTime >= "2026-04-01T10:30:00.500Z" && l.startTime <= "2026-04-03T07:00:00.000Z",
      ],
      [
        { api_key: KC, user_id: "dave", start_date: "2026-04-02 00:00:00" },
        (l) => l.user === "dave" && l.startTime >= "2026-04-02T00:00:00.000Z",
      ],
      [{ api_key: KC, team_id: "t9" }, (l) => l.team_id === "t9"],
      [{ api_key: KC, end_user: "e9" }, (l) => l.end_user === "e9"],
      [{ api_key: KC, min_spend: 0.5 }, (l) => l.spend >= 0.5],
      [{ api_key: KC }, (l) => l.user === "erin", erin],
    ];
    for (const [input, keep, scope] of cases) {
      const want = many.filter(keep).length;
      const p = await logsPage(t.db, scope ?? ALL, { ...input, limit: 5, include_total: true });
      expect({ input, total: p.total }).toEqual({ input, total: want });
    }
  });
});
