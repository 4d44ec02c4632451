import { describe, expect, it } from "vitest";
import {
  ALL,
  globalAllEndUsers,
  globalSpendEndUsers,
  globalSpendEndUsersInput,
  globalSpendKeys,
  globalSpendKeysInput,
  globalSpendLogs,
  globalSpendModels,
  globalSpendModelsInput,
  globalSpendTeams,
  userScope,
} from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import {
  buildLogs,
  cmp,
  dayOf,
  inWindow,
  KEYS,
  ms,
  NOW,
  spendBy,
  sumBy,
  TEAMS,
  WINDOW_START,
  writeWorld,
} from "../src/testing/spendWorld.ts";

const logs = buildLogs();
const inWin = logs.filter(inWindow);

const t = useTestDb({
  now: NOW,
  setup: async (t) => {
    await writeWorld(t.db, logs);
  },
});

describe("fixture", () => {
  it("has the window-edge rows and rows after now", () => {
    expect(inWin.some((l) => l.startTime === WINDOW_START)).toBe(true);
    expect(logs.some((l) => l.request_id === "edgeout" && !inWindow(l))).toBe(true);
    expect(logs.some((l) => ms(l.startTime) > NOW.getTime())).toBe(true);
  });
});

describe("globalSpendLogs (GET /global/spend/logs)", () => {
  it("admins: spend per day since UTC midnight 30 days ago, ordered by date", async () => {
    const by = spendBy(inWin, (l) => dayOf(l.startTime));
    const expected = [...by.entries()]
      .sort((a, b) => cmp(a[0], b[0]))
      .map(([date, spend]) => ({ date, spend }));
    expect(expected[0]!.date).toBe("2026-02-13");
    const got = await globalSpendLogs(t.db, ALL, undefined);
    expect(got).toEqual(expected);
    // The edge row at exactly the window start counts, the one 1 ms before does not.
    const first = got[0]!;
    expect(first.spend).toBe(
      inWin.filter((l) => dayOf(l.startTime) === "2026-02-13").reduce((s, l) => s + l.spend, 0),
    );
  });

  it("admins with a raw sk- key: that key's days, with api_key", async () => {
    const k = KEYS[1]!;
    const rows = inWin.filter((l) => l.api_key === k.token);
    const by = spendBy(rows, (l) => dayOf(l.startTime));
    const expected = [...by.entries()]
      .sort((a, b) => cmp(a[0], b[0]))
      .map(([date, spend]) => ({ date, spend, api_key: k.token }));
    expect(expected.length).toBeGreaterThan(3);
    expect(await globalSpendLogs(t.db, ALL, { api_key: k.raw })).toEqual(expected);
    expect(await globalSpendLogs(t.db, ALL, { api_key: k.token })).toEqual(expected);
  });

  it("internal users: their own rows per day and key (MonthlyGlobalSpendPerUserPerKey)", async () => {
    const rows = inWin.filter((l) => l.user === "alice");
    const by = spendBy(rows, (l) => `${dayOf(l.startTime)}|${l.api_key}`);
    const expected = [...by.entries()]
      .map(([k, spend]) => {
        const [date, api_key] = k.split("|") as [string, string];
        return { date, spend, api_key, user: "alice" };
      })
      .sort((a, b) => cmp(a.date, b.date) || cmp(a.api_key, b.api_key));
    expect(await globalSpendLogs(t.db, userScope("alice"), undefined)).toEqual(expected);
    const k = KEYS[0]!;
    expect(await globalSpendLogs(t.db, userScope("alice"), { api_key: k.raw })).toEqual(
      expected.filter((r) => r.api_key === k.token),
    );
    expect(await globalSpendLogs(t.db, userScope("nobody"), undefined)).toEqual([]);
  });
});

describe("globalSpendKeys (GET /global/spend/keys)", () => {
  const expectedKeys = (rows: typeof logs) => {
    const by = spendBy(rows, (l) => l.api_key);
    return [...by.entries()]
      .map(([api_key, total_spend]) => {
        const k = KEYS.find((x) => x.token === api_key);
        return { api_key, key_alias: k?.key_alias ?? null, key_name: k?.key_name ?? null, total_spend };
      })
      .sort((a, b) => b.total_spend - a.total_spend || cmp(a.api_key, b.api_key));
  };

  it("every key by 30-day spend, with alias and name (null for keys not in the token table)", async () => {
    const expected = expectedKeys(inWin);
    expect(expected.length).toBe(5);
    expect(expected.some((r) => r.key_alias === null)).toBe(true);
    expect(await globalSpendKeys(t.db, ALL, undefined)).toEqual(expected);
    expect(await globalSpendKeys(t.db, ALL, { limit: 2 })).toEqual(expected.slice(0, 2));
  });

  it("internal users: keys of their own logs", async () => {
    const expected = expectedKeys(inWin.filter((l) => l.user === "bob"));
    expect(await globalSpendKeys(t.db, userScope("bob"), { limit: 3 })).toEqual(expected.slice(0, 3));
  });

  it("limit is validated: 1..1000, a whole number", () => {
    expect(globalSpendKeysInput.parse({ limit: "5" })).toEqual({ limit: 5 });
    expect(globalSpendKeysInput.parse({})).toEqual({});
    for (const bad of ["0", "1001", "2.5", "ten", "-1"]) {
      const r = globalSpendKeysInput.safeParse({ limit: bad });
      expect(r.success).toBe(false);
      expect(r.error!.issues[0]!.path).toEqual(["limit"]);
    }
  });
});

describe("globalSpendModels (GET /global/spend/models)", () => {
  const expectedModels = (rows: typeof logs) => {
    const r = rows.filter((l) => l.model !== "");
    const spend = spendBy(r, (l) => l.model);
    const tokens = sumBy(
      r,
      (l) => l.model,
      (l) => l.total_tokens,
    );
    return [...spend.entries()]
      .map(([model, total_spend]) => ({ model, total_spend, total_tokens: tokens.get(model)! }))
      .sort((a, b) => b.total_spend - a.total_spend || cmp(a.model, b.model));
  };

  it("models by 30-day spend (empty model left out), default top 10, limit honoured", async () => {
    const expected = expectedModels(inWin);
    expect(expected.length).toBe(3);
    expect(await globalSpendModels(t.db, ALL, globalSpendModelsInput.parse({}))).toEqual(expected);
    expect(await globalSpendModels(t.db, ALL, globalSpendModelsInput.parse({ limit: "1" }))).toEqual(
      expected.slice(0, 1),
    );
    expect(globalSpendModelsInput.parse(undefined)).toBeUndefined();
    expect(await globalSpendModels(t.db, ALL, undefined)).toEqual(expected);
    expect(globalSpendModelsInput.safeParse({ limit: "1001" }).success).toBe(false);
  });

  it("internal users: their own rows", async () => {
    expect(await globalSpendModels(t.db, userScope("carol"), { limit: 10 })).toEqual(
      expectedModels(inWin.filter((l) => l.user === "carol")),
    );
  });
});

describe("globalSpendTeams (GET /global/spend/teams)", () => {
  it("daily spend per team alias sorted by date, Unassigned for no team/alias/unknown team, top 10 totals", async () => {
    const aliasOf = (id: string | null) => TEAMS.find((x) => x.team_id === id)?.team_alias ?? "Unassigned";
    const r2 = (x: number) => Math.round(x * 100) / 100;
    const byDayTeam = spendBy(inWin, (l) => `${dayOf(l.startTime)}|${aliasOf(l.team_id)}`);
    const days = new Map<string, Record<string, string | number>>();
    for (const [k, v] of byDayTeam) {
      const [date, team] = k.split("|") as [string, string];
      if (!days.has(date)) days.set(date, { date });
      days.get(date)![team] = r2(v);
    }
    const totals = spendBy(inWin, (l) => aliasOf(l.team_id));
    const ranked = [...totals.entries()]
      .map(([team_id, v]) => ({ team_id, total_spend: r2(v) }))
      .sort((a, b) => b.total_spend - a.total_spend || cmp(a.team_id, b.team_id));
    expect(ranked.length).toBe(13); // 12 aliases + Unassigned
    const got = await globalSpendTeams(t.db, ALL);
    expect(got.daily_spend).toEqual(
      [...days.values()].sort((a, b) => cmp(a.date as string, b.date as string)),
    );
    expect(got.daily_spend[0]!.date).toBe("2026-02-13");
    expect(got.total_spend_per_team).toEqual(ranked.slice(0, 10));
    expect(got.teams).toEqual(ranked.map((x) => x.team_id));
  });
});

describe("end users", () => {
  it("GET /global/all_end_users: distinct non-empty end users, sorted", async () => {
    const expected = [...new Set(logs.map((l) => l.end_user).filter((e): e is string => !!e))].sort(cmp);
    expect(expected).toEqual(["eu1", "eu2", "eu3", "eu4"]);
    expect(await globalAllEndUsers(t.db, ALL)).toEqual({ end_users: expected });
  });

  const expectedEndUsers = (from: number, to: number, key?: string) => {
    const rows = logs.filter(
      (l) => !!l.end_user && ms(l.startTime) >= from && ms(l.startTime) < to && (!key || l.api_key === key),
    );
    const spend = spendBy(rows, (l) => l.end_user!);
    const count = sumBy(
      rows,
      (l) => l.end_user!,
      () => 1,
    );
    return [...spend.entries()]
      .map(([end_user, total_spend]) => ({ end_user, total_count: count.get(end_user)!, total_spend }))
      .sort((a, b) => b.total_spend - a.total_spend || cmp(a.end_user, b.end_user));
  };

  it("POST /global/spend/end_users: default window is [UTC midnight 30 days ago, now)", async () => {
    const expected = expectedEndUsers(ms(WINDOW_START), NOW.getTime());
    expect(expected.length).toBe(4);
    expect(await globalSpendEndUsers(t.db, ALL, undefined)).toEqual(expected);
    expect(await globalSpendEndUsers(t.db, ALL, globalSpendEndUsersInput.parse({}))).toEqual(expected);
  });

  it("a day as endTime includes the whole day; a datetime is an exclusive end; api_key hashed", async () => {
    const k = KEYS[2]!;
    const byDay = globalSpendEndUsersInput.parse({
      startTime: "2026-02-20",
      endTime: "2026-03-01",
      api_key: k.raw,
    });
    expect(await globalSpendEndUsers(t.db, ALL, byDay)).toEqual(
      expectedEndUsers(ms("2026-02-20T00:00:00Z"), ms("2026-03-02T00:00:00Z"), k.token),
    );
    const byTime = globalSpendEndUsersInput.parse({
      startTime: "2026-02-20 06:00:00",
      endTime: "2026-03-01T18:30:00Z",
    });
    expect(await globalSpendEndUsers(t.db, ALL, byTime)).toEqual(
      expectedEndUsers(ms("2026-02-20T06:00:00Z"), ms("2026-03-01T18:30:00Z")),
    );
  });

  it("rejects bad bounds naming the field", async () => {
    const r = globalSpendEndUsersInput.safeParse({ startTime: "yesterday" });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(["startTime"]);
    await expect(
      globalSpendEndUsers(
        t.db,
        ALL,
        globalSpendEndUsersInput.parse({ startTime: "2026-03-10", endTime: "2026-03-01" }),
      ),
    ).rejects.toMatchObject({ code: "BAD_REQUEST", field: "endTime" });
  });
});
