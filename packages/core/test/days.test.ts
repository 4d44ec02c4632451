import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkErrorLogRow, checkSpendLogRow } from "../src/ingest/validate.ts";
import { runBundled } from "../src/testing/index.ts";
import {
  addDays,
  daysBetween,
  eachDay,
  MAX_DAY,
  MIN_DAY,
  zDateTime,
  zDay,
  zDayRange,
} from "../src/validation.ts";

const issue = (r: { success: boolean; error?: { issues: { message: string; path: PropertyKey[] }[] } }) =>
  r.success ? null : { path: r.error!.issues[0]!.path.join("."), message: r.error!.issues[0]!.message };

describe("the day type: supported range 1970-01-01..9998-12-31", () => {
  it("day arithmetic at the calendar's edges ends, keeps four-digit years, and refuses to leave 0001..9999", async () => {
    const run = await runBundled(fileURLToPath(new URL("./isolated/dayEdges.ts", import.meta.url)), {
      timeoutMs: 30_000,
    });
    expect(run.timedOut).toBe(false);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      lastTwoDays: { ok: ["9998-12-30", "9998-12-31"] },
      dayAfterLast: { ok: "9999-01-01" },
      year9999: { ok: ["9999-12-30", "9999-12-31"] },
      past9999: { threw: "RangeError" },
      before1: { threw: "RangeError" },
    });
  }, 40_000);

  it("counts days, not text", () => {
    expect(eachDay("2024-02-27", "2024-03-01")).toEqual([
      "2024-02-27",
      "2024-02-28",
      "2024-02-29",
      "2024-03-01",
    ]);
    expect(eachDay("2024-03-01", "2024-02-28")).toEqual([]);
    expect(daysBetween("1970-01-01", "9998-12-31")).toBe(2_932_532);
    expect(addDays("1970-01-01", -1)).toBe("1969-12-31");
  });

  it("zDay and zDateTime accept the range's ends and refuse a day outside it, saying so", () => {
    expect(zDay.safeParse(MIN_DAY).success).toBe(true);
    expect(zDay.safeParse(MAX_DAY).success).toBe(true);
    expect(issue(zDay.safeParse("9999-01-01"))).toEqual({
      path: "",
      message: "must be within 1970-01-01 to 9998-12-31 (got 9999-01-01)",
    });
    expect(issue(zDay.safeParse("1969-12-31"))?.message).toBe(
      "must be within 1970-01-01 to 9998-12-31 (got 1969-12-31)",
    );
    expect(issue(zDay.safeParse("2026-02-30"))?.message).toBe("must be a real date in the form YYYY-MM-DD");
    expect(zDateTime.safeParse("9998-12-31 23:59:59").data).toBe("9998-12-31T23:59:59.000Z");
    expect(issue(zDateTime.safeParse("9999-12-31 00:00:00"))?.message).toBe(
      "must be within 1970-01-01 to 9998-12-31 (got 9999-12-31)",
    );
    expect(issue(zDateTime.safeParse("0001-01-01 00:00:00"))?.message).toBe(
      "must be within 1970-01-01 to 9998-12-31 (got 0001-01-01)",
    );
    expect(issue(zDayRange.safeParse({ start_date: "9999-12-31", end_date: "9999-12-31" }))?.path).toBe(
      "start_date",
    );
  });

  it("an ingest row with a time outside the range is an invalid row naming the field", () => {
    const row = (p: Record<string, unknown>) => ({
      request_id: "r1",
      startTime: "2024-01-01T00:00:00.000Z",
      ...p,
    });
    expect(checkSpendLogRow(row({})).ok).toBe(true);
    expect(checkSpendLogRow(row({ startTime: "9998-12-31T23:59:59.999Z" })).ok).toBe(true);
    expect(checkSpendLogRow(row({ endTime: "9999-12-31T00:00:00.000Z" }))).toEqual({
      ok: false,
      field: "endTime",
      reason: "endTime: must be within 1970-01-01 to 9998-12-31 (UTC), got 9999-12-31T00:00:00.000Z",
    });
    // [the check, the row's time, the field it names]; the first: an offset moves the instant past the last day.
    const outside: [typeof checkSpendLogRow, Record<string, string>, string][] = [
      [checkSpendLogRow, { startTime: "9998-12-31T23:00:00-05:00" }, "startTime"],
      [checkSpendLogRow, { startTime: "1969-12-31T23:59:59Z" }, "startTime"],
      [checkSpendLogRow, { completionStartTime: "0001-01-01T00:00:00.000Z" }, "completionStartTime"],
      [checkErrorLogRow, { startTime: "9999-06-01T00:00:00Z" }, "startTime"],
    ];
    for (const [check, p, field] of outside) expect(check(row(p))).toMatchObject({ ok: false, field });
  });
});
