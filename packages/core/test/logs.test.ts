import type { KyselyPlugin, RootOperationNode } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALL,
  type DemoLog,
  SPEND_LOGS_LIST_CAP,
  spendLogs,
  spendLogsInput,
  spendLogsRestShape,
  spendLogsUi,
  spendLogsUiInput,
  userScope,
} from "../src/internal.ts";
import { createTestDb, insertLogs, makeLog, type TestDb } from "../src/testing/index.ts";
import { buildLogs, dayOf, KEYS, ms, newestFirst, writeWorld } from "../src/testing/spendWorld.ts";

let t: TestDb;

/** Compiles an operation node to its SQL text (for asserting which statements ran). */
const CompiledSql = {
  compile: (db: TestDb["db"], node: RootOperationNode) =>
    db.getExecutor().compileQuery(node, { queryId: "x" } as never).sql,
};
const logs = buildLogs(1100);

beforeAll(async () => {
  t = await createTestDb();
  await writeWorld(t.db, logs);
});
afterAll(async () => {
  await t?.drop();
});

const ui = (q: Record<string, unknown>, scope = ALL) => spendLogsUi(t.db, scope, spendLogsUiInput.parse(q));
const ids = (rows: { request_id: string }[]) => rows.map((r) => r.request_id);

describe("spendLogsUi (GET /spend/logs/ui)", () => {
  const START = "2026-02-20 00:00:00";
  const END = "2026-03-05 12:30:00";
  const inRange = (l: DemoLog) =>
    ms(l.startTime) >= ms("2026-02-20T00:00:00Z") && ms(l.startTime) <= ms("2026-03-05T12:30:00Z");

  it("pages through the window newest first, with exact total and total_pages", async () => {
    const expected = logs.filter(inRange).sort(newestFirst);
    expect(expected.length).toBeGreaterThan(300);
    const size = 37;
    const pages = Math.ceil(expected.length / size);
    const seen: string[] = [];
    for (let p = 1; p <= pages + 1; p++) {
      const r = await ui({ start_date: START, end_date: END, page: String(p), page_size: String(size) });
      expect(r.total).toBe(expected.length);
      expect(r.total_pages).toBe(pages);
      expect(r.page).toBe(p);
      expect(r.page_size).toBe(size);
      expect(ids(r.data)).toEqual(ids(expected.slice((p - 1) * size, p * size)));
      seen.push(...ids(r.data));
    }
    expect(seen).toEqual(ids(expected));
  });

  it("defaults: page 1, page_size 50", async () => {
    const expected = logs.filter(inRange).sort(newestFirst);
    const r = await ui({ start_date: START, end_date: END });
    expect([r.page, r.page_size, r.total]).toEqual([1, 50, expected.length]);
    expect(ids(r.data)).toEqual(ids(expected.slice(0, 50)));
  });

  it("keeps whole rows (every LiteLLM column, times as ISO)", async () => {
    const one = logs.find((l) => l.request_id === "req00007")!;
    const r = await ui({
      start_date: "2026-01-01 00:00:00",
      end_date: "2026-12-31 00:00:00",
      request_id: "req00007",
    });
    expect(r).toMatchObject({ total: 1, total_pages: 1 });
    expect(r.data[0]).toMatchObject({
      request_id: one.request_id,
      api_key: one.api_key,
      user: one.user,
      model: one.model,
      spend: one.spend,
      team_id: one.team_id,
      end_user: one.end_user,
      startTime: one.startTime,
      total_tokens: one.total_tokens,
    });
  });

  it("filters: api_key (raw sk- hashed), user_id, team_id, min/max spend inclusive, all together", async () => {
    const k = KEYS[1]!;
    const cases: [Record<string, string>, (l: DemoLog) => boolean][] = [
      [{ api_key: k.raw }, (l) => l.api_key === k.token],
      [{ api_key: k.token }, (l) => l.api_key === k.token],
      [{ user_id: "bob" }, (l) => l.user === "bob"],
      [{ team_id: "team03" }, (l) => l.team_id === "team03"],
      [{ min_spend: "5", max_spend: "7.5" }, (l) => l.spend >= 5 && l.spend <= 7.5],
      [{ min_spend: "9.5" }, (l) => l.spend >= 9.5],
      [{ max_spend: "0.5" }, (l) => l.spend <= 0.5],
      [
        { api_key: k.raw, user_id: "alice", min_spend: "2" },
        (l) => l.api_key === k.token && l.user === "alice" && l.spend >= 2,
      ],
    ];
    for (const [q, pred] of cases) {
      const expected = logs.filter((l) => inRange(l) && pred(l)).sort(newestFirst);
      expect(expected.length, JSON.stringify(q)).toBeGreaterThan(0);
      const r = await ui({ start_date: START, end_date: END, page_size: "100", ...q });
      expect(r.total, JSON.stringify(q)).toBe(expected.length);
      expect(ids(r.data), JSON.stringify(q)).toEqual(ids(expected.slice(0, 100)));
    }
    // a spend bound exactly on a value includes it
    const exact = logs.find((l) => inRange(l) && l.spend > 0)!;
    const r = await ui({
      start_date: START,
      end_date: END,
      min_spend: String(exact.spend),
      max_spend: String(exact.spend),
      page_size: "100",
    });
    expect(r.total).toBe(logs.filter((l) => inRange(l) && l.spend === exact.spend).length);
  });

  it("both ends of the window are inclusive, to the millisecond the bound names", async () => {
    const db2 = await createTestDb();
    try {
      const rows = [
        makeLog({ request_id: "a", startTime: "2026-01-10T00:00:00.000Z", spend: 1 }),
        makeLog({ request_id: "b", startTime: "2026-01-09T23:59:59.999Z", spend: 1 }),
        makeLog({ request_id: "c", startTime: "2026-01-11T08:00:00.000Z", spend: 1 }),
        makeLog({ request_id: "d", startTime: "2026-01-11T08:00:00.001Z", spend: 1 }),
      ];
      await insertLogs(db2.db, rows);
      const r = await spendLogsUi(
        db2.db,
        ALL,
        spendLogsUiInput.parse({ start_date: "2026-01-10 00:00:00", end_date: "2026-01-11 08:00:00" }),
      );
      expect(ids(r.data)).toEqual(["c", "a"]);
      expect(r.total).toBe(2);
    } finally {
      await db2.drop();
    }
  });

  it("an empty first page and a page past the end answer the true total", async () => {
    const none = await ui({ start_date: START, end_date: END, user_id: "nobody" });
    expect(none).toEqual({ data: [], total: 0, page: 1, page_size: 50, total_pages: 0 });
    const n = logs.filter((l) => inRange(l) && l.user === "carol").length;
    const past = await ui({
      start_date: START,
      end_date: END,
      user_id: "carol",
      page: "99",
      page_size: "100",
    });
    expect(past).toEqual({ data: [], total: n, page: 99, page_size: 100, total_pages: Math.ceil(n / 100) });
  });

  it("counts only when the page cannot tell the total, and always with the filters", async () => {
    const seen: string[] = [];
    const recorder: KyselyPlugin = {
      transformQuery(args) {
        seen.push(CompiledSql.compile(t.db, args.node));
        return args.node;
      },
      async transformResult(args) {
        return args.result;
      },
    };
    const compiled = t.db.withPlugin(recorder);
    const run = async (q: Record<string, string>) => {
      seen.length = 0;
      const r = await spendLogsUi(
        compiled,
        ALL,
        spendLogsUiInput.parse({ start_date: START, end_date: END, ...q }),
      );
      return { r, counts: seen.filter((x) => /count\(\*\)/.test(x)) };
    };
    // A narrow filter whose rows fit on the first page: no COUNT at all.
    const narrow = await run({ user_id: "carol", team_id: "team05" });
    expect(narrow.r.total).toBe(
      logs.filter((l) => inRange(l) && l.user === "carol" && l.team_id === "team05").length,
    );
    expect(narrow.r.total).toBeLessThan(50);
    expect(narrow.counts).toEqual([]);
    // A full page needs the count, which carries the same WHERE as the page.
    const wide = await run({ page_size: "10" });
    expect(wide.counts.length).toBe(1);
    expect(wide.counts[0]).toMatch(/where/i);
    expect(wide.counts[0]).toContain('"startTime" >=');
    expect(wide.counts[0]).toContain('"startTime" <=');
  });

  it("internal users: their own logs only; another user_id is 403", async () => {
    const expected = logs.filter((l) => inRange(l) && l.user === "alice").sort(newestFirst);
    const r = await ui({ start_date: START, end_date: END, page_size: "100" }, userScope("alice"));
    expect(r.total).toBe(expected.length);
    expect(ids(r.data)).toEqual(ids(expected.slice(0, 100)));
    const own = await ui(
      { start_date: START, end_date: END, page_size: "100", user_id: "alice" },
      userScope("alice"),
    );
    expect(own.total).toBe(expected.length);
    await expect(
      ui({ start_date: START, end_date: END, user_id: "bob" }, userScope("alice")),
    ).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    // A key of someone else narrows to nothing, never to their rows.
    const bobKey = KEYS[2]!;
    const cross = await ui({ start_date: START, end_date: END, api_key: bobKey.raw }, userScope("alice"));
    expect(cross.total).toBe(
      logs.filter((l) => inRange(l) && l.user === "alice" && l.api_key === bobKey.token).length,
    );
  });

  it("validation names the field", () => {
    const issue = (q: Record<string, unknown>) => {
      const r = spendLogsUiInput.safeParse(q);
      expect(r.success, JSON.stringify(q)).toBe(false);
      return r.error!.issues[0]!.path.join(".");
    };
    expect(issue({ end_date: END })).toBe("start_date");
    expect(issue({ start_date: START })).toBe("end_date");
    expect(issue({ start_date: "2026-02-20", end_date: END })).toBe("start_date");
    expect(issue({ start_date: END, end_date: START })).toBe("end_date");
    expect(issue({ start_date: START, end_date: END, page: "0" })).toBe("page");
    expect(issue({ start_date: START, end_date: END, page_size: "101" })).toBe("page_size");
    expect(issue({ start_date: START, end_date: END, page_size: "0" })).toBe("page_size");
    expect(issue({ start_date: START, end_date: END, min_spend: "abc" })).toBe("min_spend");
    expect(issue({ start_date: START, end_date: END, max_spend: "" })).toBe("max_spend");
  });
});

describe("spendLogs (GET /spend/logs)", () => {
  const summary = async (q: Record<string, unknown>, scope = ALL) => {
    const r = await spendLogs(t.db, scope, spendLogsInput.parse(q));
    if (r.mode !== "summary") throw new Error("expected a summary");
    return r.days;
  };
  const list = async (q: Record<string, unknown>, scope = ALL) => {
    const r = await spendLogs(t.db, scope, spendLogsInput.parse(q));
    if (r.mode !== "logs") throw new Error("expected logs");
    return r;
  };

  /** Brute force: every day of [start, end] (whole end day), spend and per user/model/key. */
  const expectedDays = (start: string, end: string, pred: (l: DemoLog) => boolean) => {
    const out: {
      date: string;
      spend: number;
      users: Record<string, number>;
      models: Record<string, number>;
      api_keys: Record<string, number>;
    }[] = [];
    for (
      let d = start;
      d <= end;
      d = new Date(ms(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)
    ) {
      const rows = logs.filter((l) => dayOf(l.startTime) === d && pred(l));
      const add = (m: Record<string, number>, k: string, v: number) => {
        m[k] = (m[k] ?? 0) + v;
      };
      const day = { date: d, spend: 0, users: {}, models: {}, api_keys: {} } as (typeof out)[number];
      for (const l of rows) {
        day.spend += l.spend;
        add(day.users, l.user, l.spend);
        add(day.models, l.model, l.spend);
        add(day.api_keys, l.api_key, l.spend);
      }
      out.push(day);
    }
    return out;
  };

  it("per-day summary over whole days, every day present (zero days included)", async () => {
    // 2026-03-14..2026-03-20 runs past the last log (2026-03-16), so trailing days are zero.
    for (const [s, e] of [
      ["2026-02-10", "2026-02-25"],
      ["2026-03-14", "2026-03-20"],
      ["2026-01-01", "2026-01-03"],
    ] as const) {
      const expected = expectedDays(s, e, () => true);
      const got = await summary({ start_date: s, end_date: e });
      expect(got.length).toBe(expected.length);
      for (let i = 0; i < got.length; i++) {
        expect(got[i]!.date).toBe(expected[i]!.date);
        expect(got[i]!.spend).toBeCloseTo(expected[i]!.spend, 10);
        expect(Object.keys(got[i]!.users).sort()).toEqual(Object.keys(expected[i]!.users).sort());
        for (const [k, v] of Object.entries(expected[i]!.users)) expect(got[i]!.users[k]).toBeCloseTo(v, 10);
        for (const [k, v] of Object.entries(expected[i]!.models))
          expect(got[i]!.models[k]).toBeCloseTo(v, 10);
        expect(Object.keys(got[i]!.api_keys).sort()).toEqual(Object.keys(expected[i]!.api_keys).sort());
        for (const [k, v] of Object.entries(expected[i]!.api_keys))
          expect(got[i]!.api_keys[k]).toBeCloseTo(v, 10);
      }
    }
    const zero = await summary({ start_date: "2026-01-01", end_date: "2026-01-03" });
    expect(zero).toEqual([
      { date: "2026-01-01", spend: 0, users: {}, models: {}, api_keys: {} },
      { date: "2026-01-02", spend: 0, users: {}, models: {}, api_keys: {} },
      { date: "2026-01-03", spend: 0, users: {}, models: {}, api_keys: {} },
    ]);
  });

  it("the end day is included whole: 23:59:59.999 in, next midnight out", async () => {
    const db2 = await createTestDb();
    try {
      await insertLogs(db2.db, [
        makeLog({ startTime: "2026-01-05T23:59:59.999Z", spend: 2, user: "u", model: "m", api_key: "k" }),
        makeLog({ startTime: "2026-01-06T00:00:00.000Z", spend: 4, user: "u", model: "m", api_key: "k" }),
        makeLog({ startTime: "2026-01-04T00:00:00.000Z", spend: 0.5, user: "v", model: "m", api_key: "k" }),
        makeLog({ startTime: "2026-01-03T23:59:59.999Z", spend: 8, user: "v", model: "m", api_key: "k" }),
      ]);
      const r = await spendLogs(
        db2.db,
        ALL,
        spendLogsInput.parse({ start_date: "2026-01-04", end_date: "2026-01-05" }),
      );
      expect(r).toEqual({
        mode: "summary",
        days: [
          { date: "2026-01-04", spend: 0.5, users: { v: 0.5 }, models: { m: 0.5 }, api_keys: { k: 0.5 } },
          { date: "2026-01-05", spend: 2, users: { u: 2 }, models: { m: 2 }, api_keys: { k: 2 } },
        ],
      });
      // The original's REST shape: one object per day, api keys as fields, startTime the day.
      expect(spendLogsRestShape(r)).toEqual([
        { k: 0.5, users: { v: 0.5 }, models: { m: 0.5 }, spend: 0.5, startTime: "2026-01-04" },
        { k: 2, users: { u: 2 }, models: { m: 2 }, spend: 2, startTime: "2026-01-05" },
      ]);
    } finally {
      await db2.drop();
    }
  });

  it("summary filters: api_key (raw hashed), user_id, and internal users forced to themselves", async () => {
    const k = KEYS[0]!;
    const [s, e] = ["2026-02-15", "2026-03-01"];
    const check = (got: Awaited<ReturnType<typeof summary>>, exp: ReturnType<typeof expectedDays>) => {
      expect(got.map((d) => d.date)).toEqual(exp.map((d) => d.date));
      got.forEach((d, i) => {
        expect(d.spend).toBeCloseTo(exp[i]!.spend, 10);
        expect(Object.keys(d.api_keys).sort()).toEqual(Object.keys(exp[i]!.api_keys).sort());
        expect(Object.keys(d.users).sort()).toEqual(Object.keys(exp[i]!.users).sort());
      });
    };
    check(
      await summary({ start_date: s, end_date: e, api_key: k.raw }),
      expectedDays(s, e, (l) => l.api_key === k.token),
    );
    check(
      await summary({ start_date: s, end_date: e, user_id: "bob" }),
      expectedDays(s, e, (l) => l.user === "bob"),
    );
    check(
      await summary({ start_date: s, end_date: e }, userScope("bob")),
      expectedDays(s, e, (l) => l.user === "bob"),
    );
    check(
      await summary({ start_date: s, end_date: e, api_key: k.raw }, userScope("bob")),
      expectedDays(s, e, (l) => l.user === "bob" && l.api_key === k.token),
    );
    await expect(
      summary({ start_date: s, end_date: e, user_id: "alice" }, userScope("bob")),
    ).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
  });

  it("list modes: by api_key, request_id, user_id, newest first", async () => {
    const k = KEYS[3]!;
    const byKey = logs.filter((l) => l.api_key === k.token).sort(newestFirst);
    const r1 = await list({ api_key: k.raw });
    expect(ids(r1.data)).toEqual(ids(byKey));
    expect(r1.truncated).toBe(false);
    const r2 = await list({ request_id: "req00042" });
    expect(ids(r2.data)).toEqual(["req00042"]);
    expect((await list({ request_id: "nope" })).data).toEqual([]);
    const byUser = logs.filter((l) => l.user === "carol").sort(newestFirst);
    expect(ids((await list({ user_id: "carol" })).data)).toEqual(ids(byUser));
    expect(spendLogsRestShape(r2)).toEqual(r2.data);
  });

  it("without filters: at most 1000 rows, newest first, and says it was cut", async () => {
    expect(logs.length).toBeGreaterThan(SPEND_LOGS_LIST_CAP);
    const r = await list({});
    expect(r.limit).toBe(1000);
    expect(r.truncated).toBe(true);
    expect(ids(r.data)).toEqual(ids([...logs].sort(newestFirst).slice(0, 1000)));
  });

  it("internal users: their own logs, another user id 403, someone else's request id empty", async () => {
    const mine = logs.filter((l) => l.user === "alice").sort(newestFirst);
    const r = await list({}, userScope("alice"));
    expect(ids(r.data)).toEqual(ids(mine));
    expect(r.truncated).toBe(false);
    const bobs = logs.find((l) => l.user === "bob")!;
    expect((await list({ request_id: bobs.request_id }, userScope("alice"))).data).toEqual([]);
    await expect(list({ user_id: "bob" }, userScope("alice"))).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("validation: dates go together, end not before start, at most 366 days", () => {
    const issue = (q: Record<string, unknown>) =>
      spendLogsInput.safeParse(q).error?.issues[0]?.path.join(".");
    expect(issue({ start_date: "2026-01-01" })).toBe("end_date");
    expect(issue({ end_date: "2026-01-01" })).toBe("start_date");
    expect(issue({ start_date: "2026-01-05", end_date: "2026-01-01" })).toBe("end_date");
    expect(issue({ start_date: "2024-01-01", end_date: "2026-01-01" })).toBe("end_date");
    expect(issue({ start_date: "2026-02-30", end_date: "2026-03-01" })).toBe("start_date");
    expect(issue({})).toBeUndefined();
  });
});
