import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import {
  ALL,
  type DemoLog,
  hashToken,
  pauseRollups,
  prng,
  resumeRollups,
  rollupStatus,
  setRollupDeleteMode,
  spendLogs,
  spendLogsInput,
  spendLogsRestShape,
  spendLogsSummaryStream,
  userScope,
} from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { insertLogs, makeLog, testEngine } from "../src/testing/index.ts";

/**
 * GET /spend/logs's per-day summary, streamed from the rollups, against a brute-force sum over the
 * logs the table holds: every day of the range (zeros included), per key, per user, per model; filters
 * and scopes; dirty days; days whose logs were deleted while the rollups kept their totals.
 */

const START = "2026-06-01";
const END = "2026-06-09"; // 2026-06-08 and 2026-06-09 have no logs
const KEYS = [hashToken("sk-l1"), hashToken("sk-l2"), "plain"];
const USERS: (string | null)[] = ["alice", "bob", null];
const MODELS: (string | null)[] = ["gpt-4o", "claude", ""];

const rnd = prng(77);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
const logs: DemoLog[] = [];
for (let i = 0; i < 600; i++) {
  const day = Math.floor(rnd() * 9); // 2026-05-31 .. 2026-06-08 (exclusive of 06-08: see below)
  const at = Date.parse("2026-05-31T00:00:00.000Z") + day * 86_400_000 + Math.floor(rnd() * 86_400_000);
  if (at >= Date.parse("2026-06-08T00:00:00.000Z")) continue;
  logs.push(
    makeLog({
      startTime: new Date(at).toISOString(),
      api_key: pick(KEYS),
      user: pick(USERS) as string,
      model: pick(MODELS) as string,
      spend: Math.floor(rnd() * 64) / 16,
    }),
  );
}
// After the range: must not count.
logs.push(makeLog({ startTime: "2026-06-10T00:00:00.000Z", api_key: KEYS[0]!, user: "alice", spend: 512 }));

let held: DemoLog[] = []; // the logs the table holds
const postgres = testEngine() === "postgres";
const LAYOUTS = postgres ? ([1, 2] as const) : ([1] as const);

/** The original's REST summary, summed by hand over `rows`: one object per day of [START, END]. */
function brute(rows: DemoLog[]) {
  const out: Record<string, unknown>[] = [];
  for (let d = Date.parse(`${START}T00:00:00Z`); d <= Date.parse(`${END}T00:00:00Z`); d += 86_400_000) {
    const day = new Date(d).toISOString().slice(0, 10);
    const o: Record<string, any> = { users: {}, models: {}, spend: 0, startTime: day };
    for (const l of rows) {
      if (l.startTime.slice(0, 10) !== day) continue;
      o.spend += l.spend;
      o[l.api_key] = (o[l.api_key] ?? 0) + l.spend;
      const u = l.user ?? "";
      o.users[u] = (o.users[u] ?? 0) + l.spend;
      const m = l.model === null ? "null" : l.model;
      o.models[m] = (o.models[m] ?? 0) + l.spend;
    }
    out.push(o);
  }
  return out;
}

async function collect(s: ReturnType<typeof spendLogsSummaryStream>) {
  expect(s).not.toBeNull();
  const out: unknown[] = [];
  for await (const item of s!.items()) out.push(JSON.parse(item));
  return out;
}

const input = (extra: Record<string, string> = {}) =>
  spendLogsInput.parse({ start_date: START, end_date: END, ...extra });

const t = useTestDb({
  setup: async (t) => {
    await insertLogs(t.db, logs);
    held = [...logs];
  },
});

describe("spendLogsSummaryStream", () => {
  it("every day of the range, per key, user and model, equal to the brute force", async () => {
    const expected = brute(held);
    expect(expected).toHaveLength(9);
    expect(expected.at(-1)).toEqual({ users: {}, models: {}, spend: 0, startTime: END });
    for (const parallel of LAYOUTS) {
      for (const chunkRows of [1, 4, 500]) {
        expect(await collect(spendLogsSummaryStream(t.db, ALL, input(), { parallel, chunkRows }))).toEqual(
          expected,
        );
      }
    }
  });

  it("the same as the raw-log summary (the tRPC answer in the original's REST shape)", async () => {
    const whole = spendLogsRestShape(await spendLogs(t.db, ALL, input()));
    expect(await collect(spendLogsSummaryStream(t.db, ALL, input()))).toEqual(whole);
  });

  it("api_key (raw sk- hashed), user_id, an internal user; another user's id is refused", async () => {
    const k = await collect(spendLogsSummaryStream(t.db, ALL, input({ api_key: "sk-l2" })));
    expect(k).toEqual(brute(held.filter((l) => l.api_key === hashToken("sk-l2"))));
    const u = await collect(spendLogsSummaryStream(t.db, ALL, input({ user_id: "bob" })));
    expect(u).toEqual(brute(held.filter((l) => l.user === "bob")));
    const own = await collect(spendLogsSummaryStream(t.db, userScope("alice"), input({ api_key: "plain" })));
    expect(own).toEqual(brute(held.filter((l) => l.user === "alice" && l.api_key === "plain")));
    expect(() => spendLogsSummaryStream(t.db, userScope("alice"), input({ user_id: "bob" }))).toThrow(
      /only see their own/,
    );
  });

  it("not a summary: a list request or a request_id is answered whole (null)", () => {
    expect(spendLogsSummaryStream(t.db, ALL, spendLogsInput.parse({ api_key: "sk-l1" }))).toBeNull();
    expect(spendLogsSummaryStream(t.db, ALL, input({ request_id: logs[0]!.request_id }))).toBeNull();
  });

  it("dirty days read the raw logs", async () => {
    await pauseRollups(t.db);
    try {
      const extra = [
        makeLog({
          startTime: "2026-06-03T10:00:00.000Z",
          api_key: "plain",
          user: "bob",
          model: "new",
          spend: 3,
        }),
        makeLog({ startTime: "2026-06-08T23:59:59.999Z", api_key: KEYS[1]!, user: "carol", spend: 0.5 }),
      ];
      await insertLogs(t.db, extra);
      held.push(...extra);
      expect((await rollupStatus(t.db)).dirtyDays.map((d) => d.day)).toEqual(["2026-06-03", "2026-06-08"]);
      for (const parallel of LAYOUTS) {
        expect(await collect(spendLogsSummaryStream(t.db, ALL, input(), { parallel }))).toEqual(brute(held));
      }
    } finally {
      await resumeRollups(t.db);
    }
  });

  it("logs deleted while the rollups keep their totals (keep mode) are gone from the summary", async () => {
    await setRollupDeleteMode(t.db, "keep");
    const gone = held.filter((l) => l.startTime.startsWith("2026-06-05") && l.user === "alice");
    expect(gone.length).toBeGreaterThan(0);
    await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id = ANY(${gone.map((l) => l.request_id)}::text[])`.execute(
      t.db,
    );
    held = held.filter((l) => !gone.includes(l));
    for (const parallel of LAYOUTS) {
      expect(await collect(spendLogsSummaryStream(t.db, ALL, input(), { parallel }))).toEqual(brute(held));
    }
    expect(await collect(spendLogsSummaryStream(t.db, ALL, input()))).toEqual(
      spendLogsRestShape(await spendLogs(t.db, ALL, input())),
    );
  });
});
