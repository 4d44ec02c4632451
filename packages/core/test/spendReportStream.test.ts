import { CompiledQuery, sql } from "kysely";
import { describe, expect, it } from "vitest";
import {
  ALL,
  cmpCodePoint,
  type DemoLog,
  eachDay,
  explainSpendReport,
  hashToken,
  pauseRollups,
  prng,
  reportItemText,
  resumeRollups,
  rollupStatus,
  type SpendReportInput,
  spendReport,
  spendReportStream,
  userScope,
} from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { insertLogs, makeLog, testEngine } from "../src/testing/index.ts";
import { bruteCustomers, bruteKeys, bruteTeams, cmpCodePoints as cp } from "../src/testing/spendReport.ts";

/**
 * The streamed spend report (GET /global/spend/report's REST answer, element by element from a
 * cursor) against a brute-force JS computation over the inserted logs: exact values, exact order
 * (ties included), chunks much smaller than the answer, both connection layouts on Postgres, dirty
 * days (raw logs), one snapshot for the whole stream, and a stream stopped early.
 */

const START = "2026-03-02";
const END = "2026-03-11";
const inWindow = (s: string) => s >= "2026-03-02T" && s < "2026-03-12T";

const KEYS = [hashToken("sk-s1"), hashToken("sk-s2"), "plain-key", "zz-key"];
// t1 and t2 share an alias (merged as the original's GROUP BY team_alias does); t3 has none; ghost is not
// in the team table.
const TEAMS: Record<string, string | null> = { t1: "Alpha", t2: "Alpha", t3: null, t4: "Zed", t5: "é-team" };
const TEAM_IDS: (string | null)[] = ["t1", "t2", "t3", "t4", "t5", "ghost", null];
// Code-point order differs from UTF-16 order for U+FF21 against an astral character.
const CUSTOMERS: (string | null)[] = ["c-1", "c-2", "é-cust", "\u{1F600}-cust", "\uFF21-cust", null];
const MODELS = ["gpt-4o", "claude", "", "gpt-4o-mini"];
const USERS = ["alice", "bob", "carol"];

const rnd = prng(606);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
// Few distinct dyadic spends: many ties (tie-breaks are tested), every sum exact in any order.
const spend = () => Math.floor(rnd() * 6) / 4;

/** A log at `startTime` with these tokens, of a random key, team, customer, user and model and spend. */
const randomLog = (startTime: string, prompt: number, completion: number) =>
  makeLog({
    startTime,
    api_key: pick(KEYS),
    team_id: pick(TEAM_IDS),
    end_user: pick(CUSTOMERS),
    user: pick(USERS),
    model: pick(MODELS),
    spend: spend(),
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  });
const logs: DemoLog[] = [];
for (let i = 0; i < 900; i++) {
  const day = Math.floor(rnd() * 12); // 2026-03-01 .. 2026-03-12: the days either side are outside
  const startTime = new Date(
    Date.parse("2026-03-01T00:00:00.000Z") + day * 86_400_000 + Math.floor(rnd() * 86_400_000),
  ).toISOString();
  const p = Math.floor(rnd() * 500);
  const c = Math.floor(rnd() * 200);
  logs.push(randomLog(startTime, p, c));
}

type Log = DemoLog;

const teamName = (l: Log) => (l.team_id && TEAMS[l.team_id] != null ? TEAMS[l.team_id]! : "Unassigned Team");
const bruteDays = (rows: Log[], by: "team" | "customer") =>
  by === "team" ? bruteTeams(rows, teamName) : bruteCustomers(rows);

/** Reads the stream to the end: the elements parsed one by one, and how many came. */
async function collect(s: ReturnType<typeof spendReportStream>) {
  const out: unknown[] = [];
  for await (const item of s.items()) out.push(JSON.parse(reportItemText(item)));
  return out;
}

let inserted: Log[] = [];
const range = { start_date: START, end_date: END };
const win = () => inserted.filter((l) => inWindow(l.startTime));
const postgres = testEngine() === "postgres";
const LAYOUTS = postgres ? ([1, 2] as const) : ([1] as const);

const t = useTestDb({
  setup: async (t) => {
    for (const [id, alias] of Object.entries(TEAMS)) {
      await sql`INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias) VALUES (${id}, ${alias})`.execute(t.db);
    }
    await insertLogs(t.db, logs);
    inserted = [...logs];
  },
});

describe("spendReportStream", () => {
  it("the brute-force data has what the test needs: many rows per chunk, ties, both text orders", () => {
    const teams = bruteTeams(win(), teamName);
    const rows = teams.reduce((n, d) => n + d.teams.length, 0);
    expect(teams.length).toBe(10);
    // (day, team) rows: 4 names a day (t1 and t2 merged as "Alpha"; t3, ghost and null "Unassigned
    // Team"): many chunks of 3, one chunk of 500.
    expect(rows).toBe(40);
    const customers = bruteCustomers(win()).flatMap((d) => d.customers.map((c) => c.customer));
    expect(customers.length).toBe(60);
    expect(customers).toContain("\u{1F600}-cust");
    expect(customers).toContain("\uFF21-cust");
    // The astral name sorts after U+FF21 by code point (UTF-16 would put it first).
    expect(cp("\u{1F600}-cust", "\uFF21-cust")).toBe(1);
    expect(cmpCodePoint("\u{1F600}-cust", "\uFF21-cust")).toBe(1);
    expect("\u{1F600}-cust" < "\uFF21-cust").toBe(true);
    const metadata = teams.flatMap((d) => d.teams.flatMap((g) => g.metadata));
    const spends = metadata.map((m) => m.spend);
    expect(new Set(spends).size).toBeLessThan(spends.length / 4); // ties on spend abound
  });

  for (const parallel of LAYOUTS) {
    for (const chunkRows of [1, 3, 500]) {
      it(`team, customer and api_key answers equal the brute force (parallel ${parallel}, chunks of ${chunkRows})`, async () => {
        const opts = { parallel, chunkRows };
        const team = spendReportStream(t.db, ALL, { ...range, group_by: "team" }, opts);
        expect(team.group_by).toBe("team");
        expect(team.columns).toEqual(["group_by_day", "teams"]);
        expect(await collect(team)).toEqual(bruteDays(win(), "team"));
        const cust = spendReportStream(t.db, ALL, { ...range, group_by: "customer" }, opts);
        expect(await collect(cust)).toEqual(bruteDays(win(), "customer"));
        const keys = spendReportStream(t.db, ALL, { ...range, group_by: "api_key" }, opts);
        expect(keys.columns).toEqual([
          "api_key",
          "total_cost",
          "total_input_tokens",
          "total_output_tokens",
          "model_details",
        ]);
        expect(await collect(keys)).toEqual(bruteKeys(win()));
      });
    }
  }

  it("the whole answer (tRPC) is the same elements", async () => {
    expect(await spendReport(t.db, ALL, { ...range, group_by: "customer" })).toEqual({
      group_by: "customer",
      data: bruteDays(win(), "customer"),
    });
    expect(await spendReport(t.db, ALL, range)).toEqual({ group_by: "team", data: bruteDays(win(), "team") });
    expect(await spendReport(t.db, ALL, { ...range, group_by: "api_key" })).toEqual({
      group_by: "api_key",
      data: bruteKeys(win()),
    });
  });

  it("filters and scopes: team_id + customer_id, api_key, an internal user", async () => {
    const f = (p: (l: Log) => boolean) => win().filter(p);
    for (const parallel of LAYOUTS) {
      const both = spendReportStream(
        t.db,
        ALL,
        { ...range, team_id: "t1", customer_id: "c-2" },
        { parallel },
      );
      expect(both.group_by).toBe("customer");
      expect(await collect(both)).toEqual(
        bruteDays(
          f((l) => l.team_id === "t1" && l.end_user === "c-2"),
          "customer",
        ),
      );
      const team = spendReportStream(t.db, ALL, { ...range, group_by: "team", team_id: "t2" }, { parallel });
      expect(await collect(team)).toEqual(
        bruteDays(
          f((l) => l.team_id === "t2"),
          "team",
        ),
      );
      const user = spendReportStream(
        t.db,
        userScope("bob"),
        { ...range, group_by: "customer" },
        { parallel },
      );
      expect(await collect(user)).toEqual(
        bruteDays(
          f((l) => l.user === "bob"),
          "customer",
        ),
      );
    }
    const key = spendReportStream(t.db, ALL, { ...range, api_key: "sk-s2" }, { chunkRows: 1 });
    expect(await collect(key)).toEqual(bruteKeys(f((l) => l.api_key === hashToken("sk-s2"))));
    const byUser = spendReportStream(t.db, ALL, { ...range, internal_user_id: "carol" }, { chunkRows: 1 });
    expect(await collect(byUser)).toEqual(bruteKeys(f((l) => l.user === "carol")));
  });

  it("an empty window streams no element", async () => {
    const s = spendReportStream(t.db, ALL, { start_date: "2025-01-01", end_date: "2025-01-31" });
    expect(await collect(s)).toEqual([]);
  });

  it("bad input and a forbidden user fail before anything is read", () => {
    expect(() => spendReportStream(t.db, ALL, { ...range, group_by: "nope" } as SpendReportInput)).toThrow();
    expect(() => spendReportStream(t.db, ALL, { start_date: END, end_date: START })).toThrow();
    expect(() => spendReportStream(t.db, userScope("bob"), { ...range, internal_user_id: "alice" })).toThrow(
      /only see their own/,
    );
  });

  it("one snapshot: a log written while the stream is read is not in it; the next read has it", async () => {
    const late = makeLog({
      startTime: "2026-03-11T12:00:00.000Z",
      api_key: KEYS[0]!,
      team_id: "t4",
      end_user: "c-1",
      user: "alice",
      model: "gpt-4o",
      spend: 1024,
      prompt_tokens: 1,
      completion_tokens: 1,
      total_tokens: 2,
    });
    for (const parallel of LAYOUTS) {
      const before = bruteDays(win(), "team");
      const it = spendReportStream(t.db, ALL, range, { parallel, chunkRows: 1 }).items();
      const first = await it.next();
      expect(first.done).toBe(false);
      const lateOne = { ...late, request_id: `${late.request_id}-${parallel}` };
      await insertLogs(t.db, [lateOne]);
      inserted.push(lateOne);
      const rest: unknown[] = [first.value];
      for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value);
      const parsed = rest.map((x) => JSON.parse(reportItemText(x as Parameters<typeof reportItemText>[0])));
      expect(parsed).toEqual(before);
      expect(await collect(spendReportStream(t.db, ALL, range, { parallel }))).toEqual(
        bruteDays(win(), "team"),
      );
    }
  });

  it("dirty days come from the raw logs, exactly", async () => {
    await pauseRollups(t.db);
    try {
      const extra = Array.from({ length: 40 }, (_, i) =>
        randomLog(`2026-03-0${3 + (i % 2)}T0${i % 10}:30:00.000Z`, i, 2 * i),
      );
      await insertLogs(t.db, extra);
      inserted.push(...extra);
      const st = await rollupStatus(t.db);
      expect(st.dirtyDays.map((d) => d.day)).toEqual(expect.arrayContaining(["2026-03-03", "2026-03-04"]));
      for (const parallel of LAYOUTS) {
        for (const by of ["team", "customer"] as const) {
          const s = spendReportStream(t.db, ALL, { ...range, group_by: by }, { parallel, chunkRows: 2 });
          expect(await collect(s)).toEqual(bruteDays(win(), by));
        }
        const keys = spendReportStream(t.db, ALL, { ...range, group_by: "api_key" }, { parallel });
        expect(await collect(keys)).toEqual(bruteKeys(win()));
      }
    } finally {
      await resumeRollups(t.db);
    }
  });

  it("a stream left early releases its connections; the database answers the next read", async () => {
    for (const parallel of LAYOUTS) {
      const s = spendReportStream(t.db, ALL, range, { parallel, chunkRows: 1 });
      let n = 0;
      for await (const _ of s.items()) {
        n += 1;
        if (n === 2) break;
      }
      expect(n).toBe(2);
      if (postgres) {
        const open = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND (state LIKE 'idle in transaction%' OR query LIKE 'FETCH%')`.execute(t.db);
        expect(open.rows[0]!.n).toBe(0);
      }
      expect(await collect(spendReportStream(t.db, ALL, range, { parallel }))).toEqual(
        bruteDays(win(), "team"),
      );
    }
  });
});

describe("explainSpendReport", () => {
  /** Runs an explained statement's SQL text with its parameters, as an operator would. */
  const runText = async (s: { sql: string; parameters: readonly unknown[] }) =>
    (await t.db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(s.sql, [...s.parameters]))).rows;

  it("shows the plan that runs, and its SQL text with parameters gives the report's numbers", async () => {
    for (const by of ["team", "customer"] as const) {
      const e = await explainSpendReport(t.db, ALL, { ...range, group_by: by });
      expect(e.group_by).toBe(by);
      expect(e.statements).toHaveLength(1);
      const [s] = e.statements;
      expect(s!.plan).toMatchObject({
        measures: "spend",
        table: "detail_daily",
        dims: [by === "team" ? "team_id" : "end_user", "model", "api_key"],
        user: null,
        fallback: null,
      });
      // Every value is a bound parameter: the days of the window are one text[] parameter.
      expect(s!.sql).not.toContain(START);
      expect(s!.parameters).toContainEqual(eachDay(START, END));
      const rows = await runText(s!);
      const days = new Map<string, unknown[]>();
      for (const r of rows) {
        const list = days.get(r.day as string) ?? [];
        list.push({
          [by === "team" ? "team_name" : "customer"]: r.grp,
          total_spend: r.total,
          metadata: JSON.parse(`[${r.metadata}]`),
        });
        days.set(r.day as string, list);
      }
      const list = by === "team" ? "teams" : "customers";
      expect([...days].map(([d, xs]) => ({ group_by_day: d, [list]: xs }))).toEqual(bruteDays(win(), by));
    }
    const key = hashToken("sk-s2");
    const e = await explainSpendReport(t.db, ALL, { ...range, api_key: "sk-s2" });
    expect(e.group_by).toBe("api_key");
    expect(e.statements[0]!.plan).toMatchObject({
      table: "detail_daily",
      dims: ["api_key", "model"],
      filters: [{ dim: "api_key", values: [key], withNull: false }],
      rollupDays: { from: START, to: "2026-03-12" },
      rawRanges: [],
    });
    expect(e.statements[0]!.sql).not.toContain(key);
    const rows = await runText(e.statements[0]!);
    expect(
      rows.map((r) => ({
        api_key: r.api_key,
        total_cost: r.total_cost,
        total_input_tokens: r.total_input_tokens,
        total_output_tokens: r.total_output_tokens,
        model_details: JSON.parse(`[${r.details}]`),
      })),
    ).toEqual(bruteKeys(win().filter((l) => l.api_key === key)));
    // An internal user's answer (internal_user_id): the plan carries the user, read through key rows.
    const bob = await explainSpendReport(t.db, ALL, { ...range, internal_user_id: "bob" });
    expect(bob.statements[0]!.plan.user).toBe("bob");
    expect(bob.statements[0]!.parameters).toContain("bob");
  });

  it("checks its input as the report does", async () => {
    await expect(explainSpendReport(t.db, ALL, { ...range, group_by: "nope" as never })).rejects.toThrow(
      /group_by/,
    );
    await expect(
      explainSpendReport(t.db, userScope("alice"), { ...range, internal_user_id: "bob" }),
    ).rejects.toThrow();
  });
});
