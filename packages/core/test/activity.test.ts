import { describe, expect, it } from "vitest";
import {
  ALL,
  activityExceptionsInput,
  activityInput,
  globalActivity,
  globalActivityByModelGroup,
  globalActivityExceptions,
  globalActivityExceptionsByDeployment,
  litellmActivityByModelGroup,
  litellmGlobalActivity,
  prng,
  SpendlensError,
  userScope,
} from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { insertErrorLogs, insertLogs, makeErrorLog, makeLog, reportWindow } from "../src/testing/index.ts";

const { START, END, includes: inWindow } = reportWindow;

const USERS = ["alice", "bob", "carol"];
// 13 groups, so the top-10 cut matters; '' and null are the same "no group".
const GROUPS: (string | null)[] = [
  "gpt-4o",
  "claude",
  "",
  null,
  "g01",
  "g02",
  "g03",
  "g04",
  "g05",
  "g06",
  "g07",
  "g08",
  "g09",
];

const rnd = prng(7);
const logs = [
  // Boundaries: the last instant before the window and the first after it carry huge token counts.
  makeLog({
    startTime: "2026-01-29T23:59:59.999Z",
    user: "alice",
    model_group: "gpt-4o",
    prompt_tokens: 1e6,
  }),
  makeLog({
    startTime: "2026-02-03T00:00:00.000Z",
    user: "alice",
    model_group: "gpt-4o",
    prompt_tokens: 2e6,
  }),
  makeLog({ startTime: "2026-01-30T00:00:00.000Z", user: "alice", model_group: "gpt-4o", prompt_tokens: 11 }),
  makeLog({ startTime: "2026-02-02T23:59:59.999Z", user: "bob", model_group: "claude", prompt_tokens: 13 }),
];
for (let i = 0; i < 300; i++) {
  const day = Math.floor(rnd() * 8); // 2026-01-28 .. 2026-02-04
  const ms = Math.floor(rnd() * 86_400_000);
  const startTime = new Date(Date.parse("2026-01-28T00:00:00.000Z") + day * 86_400_000 + ms).toISOString();
  // Skewed group choice so the groups have different request counts.
  const g = GROUPS[Math.min(GROUPS.length - 1, Math.floor(rnd() * rnd() * GROUPS.length * 1.3))]!;
  logs.push(
    makeLog({
      startTime,
      user: USERS[Math.floor(rnd() * USERS.length)]!,
      model_group: g as string,
      prompt_tokens: Math.floor(rnd() * 1000),
      completion_tokens: Math.floor(rnd() * 300),
    }),
  );
}

const errorLogs = [
  makeErrorLog({ startTime: "2026-01-29T23:59:59.999Z", model_group: "gpt-4o", api_base: "https://a" }),
  makeErrorLog({ startTime: "2026-02-03T00:00:00.000Z", model_group: "gpt-4o", api_base: "https://a" }),
  makeErrorLog({ startTime: "2026-01-30T00:00:00.000Z", model_group: "gpt-4o", api_base: "https://a" }),
  makeErrorLog({ startTime: "2026-02-02T23:59:59.999Z", model_group: "gpt-4o", api_base: "" }),
  makeErrorLog({ startTime: "2026-02-01T12:00:00.000Z", model_group: "gpt-4o", status_code: "500" }),
  makeErrorLog({ startTime: "2026-02-01T12:00:00.000Z", model_group: "claude", api_base: "https://a" }),
];
for (let i = 0; i < 200; i++) {
  const startTime = reportWindow.randomTime(rnd, 6); // 2026-01-29 .. 2026-02-03
  errorLogs.push(
    makeErrorLog({
      startTime,
      model_group: rnd() < 0.8 ? "gpt-4o" : "claude",
      api_base: `https://dep-${String(Math.floor(rnd() * rnd() * 13)).padStart(2, "0")}`,
      status_code: rnd() < 0.85 ? "429" : "500",
    }),
  );
}

const t = useTestDb({
  setup: async (t) => {
    await insertLogs(t.db, logs);
    await insertErrorLogs(t.db, errorLogs);
  },
});

// ---------- brute force over the rows written above ----------

type Log = (typeof logs)[number];
const dayOf = (iso: string) => iso.slice(0, 10);

function bruteDaily(rows: Log[]) {
  const m = new Map<string, { api_requests: number; total_tokens: number }>();
  for (const l of rows) {
    const d = m.get(dayOf(l.startTime)) ?? { api_requests: 0, total_tokens: 0 };
    d.api_requests += 1;
    d.total_tokens += l.total_tokens;
    m.set(dayOf(l.startTime), d);
  }
  const daily_data = [...m.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([date, v]) => ({ date, ...v }));
  return {
    daily_data,
    sum_api_requests: rows.length,
    sum_total_tokens: rows.reduce((s, l) => s + l.total_tokens, 0),
  };
}

function bruteByGroup(rows: Log[]) {
  const m = new Map<string, Log[]>();
  for (const l of rows) {
    const g = (l.model_group as string | null) ?? "";
    m.set(g, [...(m.get(g) ?? []), l]);
  }
  return [...m.entries()]
    .map(([model, ls]) => ({ model, ...bruteDaily(ls) }))
    .sort((a, b) => b.sum_api_requests - a.sum_api_requests || (a.model < b.model ? -1 : 1))
    .slice(0, 10);
}

const windowLogs = logs.filter((l) => inWindow(l.startTime));

describe("globalActivity", () => {
  it("counts requests and tokens per day over the whole end day, sorted by real date", async () => {
    const expected = bruteDaily(windowLogs);
    expect(expected.daily_data.map((d) => d.date)).toEqual([
      "2026-01-30",
      "2026-01-31",
      "2026-02-01",
      "2026-02-02",
    ]);
    const r = await globalActivity(t.db, ALL, { start_date: START, end_date: END });
    expect(r).toEqual(expected);
    // Neither boundary outsider (1e6 / 2e6 tokens) is in, both boundary insiders are.
    expect(r.sum_total_tokens).toBeLessThan(1e6);
    expect(r.daily_data[0]!.api_requests).toBe(windowLogs.filter((l) => dayOf(l.startTime) === START).length);
  });

  it("an internal user sees only their own rows", async () => {
    for (const u of USERS) {
      const own = windowLogs.filter((l) => l.user === u);
      const r = await globalActivity(t.db, userScope(u), { start_date: START, end_date: END });
      expect(r).toEqual(bruteDaily(own));
      expect(r.sum_api_requests).toBeLessThan(windowLogs.length);
    }
    expect(await globalActivity(t.db, userScope("nobody"), { start_date: START, end_date: END })).toEqual({
      daily_data: [],
      sum_api_requests: 0,
      sum_total_tokens: 0,
    });
  });

  it("a one-day range counts exactly that day, 00:00:00.000 to 23:59:59.999", async () => {
    const r = await globalActivity(t.db, ALL, { start_date: END, end_date: END });
    expect(r).toEqual(bruteDaily(windowLogs.filter((l) => dayOf(l.startTime) === END)));
    const r2 = await globalActivity(t.db, ALL, { start_date: "2026-01-29", end_date: "2026-01-29" });
    expect(r2.daily_data.map((d) => d.date)).toEqual(["2026-01-29"]);
    expect(r2.sum_total_tokens).toBe(
      logs.filter((l) => dayOf(l.startTime) === "2026-01-29").reduce((s, l) => s + l.total_tokens, 0),
    );
  });

  it("REST shape keeps the original's 'Jan 30' label in date and adds date_iso, still in date order", async () => {
    const r = litellmGlobalActivity(await globalActivity(t.db, ALL, { start_date: START, end_date: END }));
    expect(r.daily_data.map((d) => [d.date, d.date_iso])).toEqual([
      ["Jan 30", "2026-01-30"],
      ["Jan 31", "2026-01-31"],
      ["Feb 01", "2026-02-01"],
      ["Feb 02", "2026-02-02"],
    ]);
    expect(Object.keys(r.daily_data[0]!)).toEqual(["date", "date_iso", "api_requests", "total_tokens"]);
  });
});

describe("globalActivityByModelGroup", () => {
  it("answers the top 10 model groups by requests, each with its days and sums", async () => {
    const expected = bruteByGroup(windowLogs);
    const groupsSeen = new Set(windowLogs.map((l) => (l.model_group as string | null) ?? ""));
    expect(groupsSeen.size).toBeGreaterThan(10); // the cut is exercised
    expect(expected.some((g) => g.model === "")).toBe(true); // '' and null merged, and in the top 10
    const r = await globalActivityByModelGroup(t.db, ALL, { start_date: START, end_date: END });
    expect(r).toEqual(expected);
    expect(r).toHaveLength(10);
  });

  it("an internal user sees only their own rows", async () => {
    const own = windowLogs.filter((l) => l.user === "bob");
    const r = await globalActivityByModelGroup(t.db, userScope("bob"), { start_date: START, end_date: END });
    expect(r).toEqual(bruteByGroup(own));
  });

  it("REST shape: model_group inside each daily row, seed label and ISO date", async () => {
    const r = litellmActivityByModelGroup(
      await globalActivityByModelGroup(t.db, ALL, { start_date: START, end_date: END }),
    );
    const first = r[0]!;
    expect(Object.keys(first)).toEqual(["model", "daily_data", "sum_api_requests", "sum_total_tokens"]);
    expect(first.daily_data[0]).toMatchObject({ model_group: first.model });
    expect(Object.keys(first.daily_data[0]!)).toEqual([
      "model_group",
      "date",
      "date_iso",
      "api_requests",
      "total_tokens",
    ]);
  });
});

type ELog = (typeof errorLogs)[number];
function bruteExceptions(rows: ELog[]) {
  const m = new Map<string, number>();
  for (const e of rows) m.set(dayOf(e.startTime), (m.get(dayOf(e.startTime)) ?? 0) + 1);
  return {
    daily_data: [...m.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([date, n]) => ({ date, num_rate_limit_exceptions: n })),
    sum_num_rate_limit_exceptions: rows.length,
  };
}
const rateLimited = (group: string) =>
  errorLogs.filter((e) => e.model_group === group && e.status_code === "429" && inWindow(e.startTime));

describe("globalActivityExceptions", () => {
  it("counts one model group's 429s per day, boundaries included/excluded exactly", async () => {
    for (const g of ["gpt-4o", "claude", "no-such-group"]) {
      const r = await globalActivityExceptions(t.db, ALL, {
        model_group: g,
        start_date: START,
        end_date: END,
      });
      expect(r).toEqual(bruteExceptions(rateLimited(g)));
    }
    const r = await globalActivityExceptions(t.db, ALL, {
      model_group: "gpt-4o",
      start_date: START,
      end_date: START,
    });
    expect(r.sum_num_rate_limit_exceptions).toBe(
      errorLogs.filter(
        (e) => e.model_group === "gpt-4o" && e.status_code === "429" && dayOf(e.startTime) === START,
      ).length,
    );
  });

  it("per api_base: top 10 by errors, '' kept as its own deployment", async () => {
    const rows = rateLimited("gpt-4o");
    const m = new Map<string, ELog[]>();
    for (const e of rows) m.set(e.api_base, [...(m.get(e.api_base) ?? []), e]);
    expect(m.size).toBeGreaterThan(10);
    const expected = [...m.entries()]
      .map(([api_base, es]) => ({ api_base, ...bruteExceptions(es) }))
      .sort(
        (a, b) =>
          b.sum_num_rate_limit_exceptions - a.sum_num_rate_limit_exceptions ||
          (a.api_base < b.api_base ? -1 : 1),
      )
      .slice(0, 10);
    const r = await globalActivityExceptionsByDeployment(t.db, ALL, {
      model_group: "gpt-4o",
      start_date: START,
      end_date: END,
    });
    expect(r).toEqual(expected);
  });

  it("error logs have no user: an internal user's scope is refused", async () => {
    const input = { model_group: "gpt-4o", start_date: START, end_date: END };
    await expect(globalActivityExceptions(t.db, userScope("alice"), input)).rejects.toBeInstanceOf(
      SpendlensError,
    );
    await expect(globalActivityExceptionsByDeployment(t.db, userScope("alice"), input)).rejects.toMatchObject(
      {
        code: "FORBIDDEN",
      },
    );
  });
});

describe("inputs", () => {
  const issue = (r: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
    r.error?.issues.map((i) => i.path.join("."));

  it("requires both dates as real YYYY-MM-DD days, start ≤ end, at most 366 days", () => {
    expect(issue(activityInput.safeParse({ end_date: END }))).toEqual(["start_date"]);
    expect(issue(activityInput.safeParse({ start_date: START }))).toEqual(["end_date"]);
    expect(issue(activityInput.safeParse({ start_date: "2026-02-30", end_date: END }))).toEqual([
      "start_date",
    ]);
    expect(issue(activityInput.safeParse({ start_date: "01/30/2026", end_date: END }))).toEqual([
      "start_date",
    ]);
    expect(issue(activityInput.safeParse({ start_date: END, end_date: START }))).toEqual(["end_date"]);
    expect(activityInput.safeParse({ start_date: "2025-01-01", end_date: "2026-01-01" }).success).toBe(true); // 366 days
    expect(issue(activityInput.safeParse({ start_date: "2025-01-01", end_date: "2026-01-02" }))).toEqual([
      "end_date",
    ]);
  });

  it("exceptions require model_group", () => {
    expect(issue(activityExceptionsInput.safeParse({ start_date: START, end_date: END }))).toEqual([
      "model_group",
    ]);
  });
});
