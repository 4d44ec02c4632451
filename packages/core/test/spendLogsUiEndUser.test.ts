import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALL,
  COUNT_SCAN_LIMIT,
  countEndUserLogs,
  countSpendLogs,
  type Db,
  logFilterOf,
  pauseRollups,
  rebuildRollups,
  resumeRollups,
  setClock,
  setRollupDeleteMode,
  spendLogsUi,
  spendLogsUiInput,
  userScope,
} from "../src/internal.ts";
import { createTestDb, insertLogs, makeLog, type TestDb } from "../src/testing/index.ts";

/**
 * /spend/logs/ui?end_user=X counts its exact total from end_user_daily / end_user_hourly (+ raw slivers,
 * dirty and raw-deleted days raw): every total equals a count over the raw logs the test wrote, for
 * windows with partial days, partial hours and slivers, after a dirty day, deletes in both delete modes,
 * updates, and logs inserted after the last fold.
 */

const ms = (iso: string) => Date.parse(iso);
let seq = 0;
const log = (end_user: string | null, startTime: string, extra: Record<string, unknown> = {}) =>
  makeLog({ request_id: `eul-${++seq}`, startTime, spend: 0.25, end_user, model: "gpt-4o", ...extra });

interface RawLog {
  endUser: string | null;
  at: number;
  failed: boolean;
}

/** The raw logs the brute force counts: read whole, once per check (a plain SELECT, no rollup). */
async function rawLogs(db: Db): Promise<RawLog[]> {
  const r = await sql<{ end_user: string | null; t: string; status: string | null }>`
    SELECT end_user, "startTime" AS t, status FROM "LiteLLM_SpendLogs"`.execute(db);
  return r.rows.map((x) => ({ endUser: x.end_user, at: ms(x.t), failed: x.status === "failure" }));
}

/** The brute force: the end user's raw logs with from <= "startTime" <= toInclusive (and `keep`). */
function count(
  logs: RawLog[],
  endUser: string,
  from: string,
  toInclusive: string,
  keep: (l: RawLog) => boolean = () => true,
): number {
  const [lo, hi] = [ms(from), ms(toInclusive)];
  let n = 0;
  for (const l of logs) if (l.endUser === endUser && l.at >= lo && l.at <= hi && keep(l)) n++;
  return n;
}

const brute = async (db: Db, endUser: string, from: string, toInclusive: string) =>
  count(await rawLogs(db), endUser, from, toInclusive);

/** 'YYYY-MM-DD HH:MM:SS' (the route's form) as the ISO instant the input parses it to. */
const isoOf = (s: string) => `${s.replace(" ", "T")}.000Z`;

describe("/spend/logs/ui end_user total from the end-user rollups", () => {
  let t: TestDb;
  const now = "2026-03-26T09:30:00.000Z";
  const users = ["ann", "bob", "cy", ""];
  beforeAll(async () => {
    setClock(() => new Date(now));
    t = await createTestDb();
    const logs = [];
    // Nine days, a log every 7 minutes, end users in turn (and logs without one): ~1,800 logs.
    for (let i = 0, at = ms("2026-03-17T00:03:00.000Z"); at < ms(now); i++, at += 7 * 60_000)
      logs.push(
        log(
          i % 5 === 4 ? null : users[i % 4]!,
          new Date(at).toISOString(),
          i % 9 === 0 ? { status: "failure" } : {},
        ),
      );
    // Logs on the cuts the windows use and a millisecond either side.
    for (const at of ["2026-03-20T08:15:00.000Z", "2026-03-22T23:59:59.000Z", "2026-03-24T00:00:00.000Z"]) {
      const c = ms(at);
      for (const d of [-1, 0, 1]) logs.push(log("ann", new Date(c + d).toISOString()));
    }
    // A busy end user: more than COUNT_SCAN_LIMIT logs in a window, so the route itself counts through
    // the rollups.
    for (let i = 0, at = ms("2026-03-18T00:00:30.000Z"); i < COUNT_SCAN_LIMIT + 600; i++, at += 6 * 60_000)
      logs.push(log("busy", new Date(at).toISOString()));
    await insertLogs(t.db, logs);
  });
  afterAll(async () => {
    setClock(null);
    await t?.drop();
  });

  // [start_date, end_date], both inclusive, as the route takes them.
  const windows: [string, string][] = [
    ["2026-03-18 00:00:00", "2026-03-24 23:59:59"], // the UI's: whole days, ending a second before midnight
    ["2026-03-18 00:00:00", "2026-03-26 23:59:59"], // ending tomorrow: today's rest holds nothing
    ["2026-03-17 13:20:00", "2026-03-25 08:15:00"], // mid-day, mid-hour edges around whole days
    ["2026-03-20 08:15:00", "2026-03-22 23:59:59"], // exactly on a log, and a second short of midnight
    ["2026-03-19 05:05:00", "2026-03-19 17:55:00"], // inside one day (the day minus its rest)
    ["2026-03-21 10:10:00", "2026-03-21 10:50:00"], // inside one hour (the hour minus its slivers)
    ["2026-03-21 10:10:00", "2026-03-21 10:20:00"], // a short sliver (raw)
    ["2026-03-23 22:30:00", "2026-03-24 01:45:00"], // two partial days around a midnight
    ["2026-03-24 00:00:00", "2026-03-24 00:00:00"], // one instant (three logs of ann are on it)
    ["2026-03-16 00:00:00", "2026-03-26 09:30:00"], // everything, ending now
    ["2026-03-25 12:00:00", "2026-03-26 09:29:00"], // ending a minute before now
  ];
  const endUsers = ["ann", "bob", "cy", "", "busy", "nobody"];

  /**
   * Every end user and window: the rollup count, the route's count path, and the page's total. With
   * end_user alone (an admin's count), countSpendLogs answers through countEndUserLogs whatever its
   * scanLimit, and the page (page_size 1) counts with countSpendLogs(db, ALL, the same filter) whenever
   * its page is not known to be the last (a full page: 1 log or more; pageOf): there the page's total is
   * that same call, so countSpendLogs is asked on its own only where the page does not count (no log).
   */
  const expectAll = async (label: string) => {
    const raw = await rawLogs(t.db);
    let nonZero = 0;
    for (const [s, e] of windows)
      for (const u of endUsers) {
        const want = count(raw, u, isoOf(s), isoOf(e));
        if (want > 0) nonZero++;
        const to = new Date(ms(isoOf(e)) + 1).toISOString();
        expect(await countEndUserLogs(t.db, u, isoOf(s), to), `${label} ${u} ${s}..${e}`).toBe(want);
        const input = spendLogsUiInput.parse({ start_date: s, end_date: e, end_user: u, page_size: "1" });
        if (want === 0)
          expect(await countSpendLogs(t.db, ALL, logFilterOf(input), { scanLimit: 0 }), `${label} ${u}`).toBe(
            want,
          );
        const page = await spendLogsUi(t.db, ALL, input);
        expect(page.total, `${label} page ${u} ${s}..${e}`).toBe(want);
        expect(page.data.length).toBe(Math.min(1, want));
        expect(page.data.every((r) => r.end_user === u)).toBe(true);
      }
    expect(nonZero).toBeGreaterThan(windows.length * 3);
    // With a status filter the total is counted otherwise (success: all of the end user's logs, from the
    // rollups, minus the failures), still equal to the raw logs.
    let failures = 0;
    for (const [s, e] of windows.slice(0, 4))
      for (const u of ["ann", "bob", "busy"]) {
        const failed = count(raw, u, isoOf(s), isoOf(e), (l) => l.failed);
        failures += failed;
        for (const [status, want] of [
          ["failure", failed],
          ["success", count(raw, u, isoOf(s), isoOf(e), (l) => !l.failed)],
        ] as const) {
          const input = spendLogsUiInput.parse({
            start_date: s,
            end_date: e,
            end_user: u,
            status_filter: status,
          });
          expect(
            await countSpendLogs(t.db, ALL, logFilterOf(input), { scanLimit: 0 }),
            `${label} ${u} ${status}`,
          ).toBe(want);
        }
      }
    expect(failures).toBeGreaterThan(0);
  };

  it("equals COUNT(*) over the raw logs for every window", async () => {
    await expectAll("fresh");
  });

  it("reads end_user_daily and end_user_hourly (a marked row shows through), only for end_user alone", async () => {
    const [s, e] = ["2026-03-18 00:00:00", "2026-03-24 23:59:59"];
    const want = await brute(t.db, "busy", isoOf(s), isoOf(e));
    expect(want).toBeGreaterThan(COUNT_SCAN_LIMIT);
    const q = (extra: Record<string, string> = {}) =>
      spendLogsUi(
        t.db,
        ALL,
        spendLogsUiInput.parse({ start_date: s, end_date: e, end_user: "busy", ...extra }),
      );
    await sql`UPDATE spendlens.end_user_daily SET requests = requests + 1000 WHERE end_user = 'busy' AND day = '2026-03-20'`.execute(
      t.db,
    );
    try {
      expect((await q()).total).toBe(want + 1000);
      // Other filters with end_user do not read end_user_daily.
      expect((await q({ status_filter: "failure" })).total).toBe(0);
      expect((await q({ model: "gpt-4o" })).total).toBe(want);
      // An internal user's count is their own logs (no end-user rollup holds the user).
      const own = await spendLogsUi(
        t.db,
        userScope("u-none"),
        spendLogsUiInput.parse({ start_date: s, end_date: e, end_user: "busy" }),
      );
      expect(own.total).toBe(0);
    } finally {
      await sql`UPDATE spendlens.end_user_daily SET requests = requests - 1000 WHERE end_user = 'busy' AND day = '2026-03-20'`.execute(
        t.db,
      );
    }
    // An hour of an edge day comes from end_user_hourly.
    const [hs, he] = ["2026-03-21 10:00:00", "2026-03-21 12:59:59"];
    const wantH = await brute(t.db, "bob", isoOf(hs), isoOf(he));
    await sql`UPDATE spendlens.end_user_hourly SET requests = requests + 100 WHERE end_user = 'bob' AND hour = '2026-03-21 11:00'`.execute(
      t.db,
    );
    try {
      expect(await countEndUserLogs(t.db, "bob", isoOf(hs), new Date(ms(isoOf(he)) + 1).toISOString())).toBe(
        wantH + 100,
      );
    } finally {
      await sql`UPDATE spendlens.end_user_hourly SET requests = requests - 100 WHERE end_user = 'bob' AND hour = '2026-03-21 11:00'`.execute(
        t.db,
      );
    }
  });

  it("logs inserted after the last fold, updates and subtract-mode deletes", async () => {
    // The state before is the first test's, checked there (the marked rows above are restored).
    await insertLogs(t.db, [
      log("ann", "2026-03-21T10:15:00.000Z"),
      log("busy", "2026-03-20T11:11:11.111Z"),
      log("cy", "2026-03-26T09:29:59.999Z"),
      log("bob", "2026-03-24T00:00:00.000Z"),
    ]);
    const pending = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM spendlens.spend_log_pending`.execute(t.db);
    expect(pending.rows[0]!.n).toBe(4);
    await expectAll("inserted after the fold");
    await setRollupDeleteMode(t.db, "subtract");
    await sql`UPDATE "LiteLLM_SpendLogs" SET end_user = 'cy' WHERE request_id IN ('eul-30', 'eul-31', 'eul-900')`.execute(
      t.db,
    );
    await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE end_user = 'bob' AND "startTime" < '2026-03-21 10:30'
      AND "startTime" >= '2026-03-19 03:00'`.execute(t.db);
    await expectAll("subtract deletes");
    await setRollupDeleteMode(t.db, "keep");
  });

  it("a dirty day and a raw-deleted day (delete mode keep) are read raw, whole or at an edge", async () => {
    await pauseRollups(t.db);
    await insertLogs(t.db, [
      log("ann", "2026-03-19T11:00:00.000Z"), // a whole day of most windows, an edge of one
      log("busy", "2026-03-21T10:40:00.000Z"),
      log("ann", "2026-03-25T08:00:00.000Z"),
    ]);
    await resumeRollups(t.db);
    const dirty = await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.rollup_days
      WHERE dirty_at IS NOT NULL`.execute(t.db);
    expect(dirty.rows[0]!.n).toBe(3);
    await expectAll("dirty days");
    await rebuildRollups(t.db);
    await expectAll("rebuilt");
    // Keep mode: deleted logs stay in the rollups, their days are flagged raw_deleted and read raw.
    const del = await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE end_user IN ('ann', 'busy')
      AND "startTime" >= '2026-03-20 08:00' AND "startTime" < '2026-03-20 09:00'`.execute(t.db);
    expect(Number(del.numAffectedRows)).toBeGreaterThan(3);
    const flagged = await sql<{ day: string }>`SELECT day::text AS day FROM spendlens.rollup_days
      WHERE raw_deleted ORDER BY 1`.execute(t.db);
    expect(flagged.rows.map((r) => r.day)).toEqual(["2026-03-20"]);
    await expectAll("raw deleted");
    await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE end_user = 'busy' AND "startTime" >= '2026-03-24 06:00'
      AND "startTime" < '2026-03-25 23:00'`.execute(t.db);
    await expectAll("raw deleted at the edges");
  });
});
