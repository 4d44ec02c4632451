import { describe, expect, it } from "vitest";
import { toCsv } from "../src/csv.ts";
import { addDays, localMidnight, money } from "../src/format.ts";
import { logsWindow, viewOf } from "../src/view.ts";

const iso = (ms: number) => new Date(ms).toISOString();

describe("zone arithmetic of the logs window", () => {
  it("finds local midnights as UTC instants, across DST changes", () => {
    expect(iso(localMidnight("2026-11-01", "UTC"))).toBe("2026-11-01T00:00:00.000Z");
    expect(iso(localMidnight("2026-11-01", "Asia/Kolkata"))).toBe("2026-10-31T18:30:00.000Z");
    // New York: EDT (-4) until 2026-11-01 02:00, EST (-5) after.
    expect(iso(localMidnight("2026-11-01", "America/New_York"))).toBe("2026-11-01T04:00:00.000Z");
    expect(iso(localMidnight("2026-11-02", "America/New_York"))).toBe("2026-11-02T05:00:00.000Z");
    // Paris: CET (+1) until 2026-03-29 02:00, CEST (+2) after.
    expect(iso(localMidnight("2026-03-29", "Europe/Paris"))).toBe("2026-03-28T23:00:00.000Z");
    expect(iso(localMidnight("2026-03-30", "Europe/Paris"))).toBe("2026-03-29T22:00:00.000Z");
    expect(iso(localMidnight("2026-01-01", "Asia/Kathmandu"))).toBe("2025-12-31T18:15:00.000Z");
  });

  it("gives the logs procedures both ends included, in UTC", () => {
    expect(logsWindow({ from: "2026-11-01", to: "2026-11-30", tz: "UTC" })).toEqual({
      start_date: "2026-11-01 00:00:00",
      end_date: "2026-11-30 23:59:59.999999",
    });
    expect(logsWindow({ from: "2026-11-01", to: "2026-11-01", tz: "Asia/Kolkata" })).toEqual({
      start_date: "2026-10-31 18:30:00",
      end_date: "2026-11-01 18:29:59.999999",
    });
  });

  it("reads the view from the URL, ignoring a bad zone or day", () => {
    expect(viewOf("from=2026-11-01&to=2026-11-30&tz=Asia/Kolkata")).toEqual({
      from: "2026-11-01",
      to: "2026-11-30",
      tz: "Asia/Kolkata",
    });
    const v = viewOf("from=2026-13-45&tz=Mars/Base");
    expect(v.tz).not.toBe("Mars/Base");
    expect(v.from).toBe(addDays(v.to, -29));
    // An end before the start is not a range: the end moves up to the start.
    expect(viewOf("from=2026-11-10&to=2026-11-01&tz=UTC").to >= "2026-11-10").toBe(true);
  });
});

describe("formatting", () => {
  it("formats money as dollars and cents, sub-cent amounts with three significant digits", () => {
    expect(money(4.9)).toBe("$4.90");
    expect(money(0.717032)).toBe("$0.72");
    expect(money(1234.5)).toBe("$1,234.50");
    expect(money(0)).toBe("$0.00");
    expect(money(0.0050512)).toBe("$0.01");
    expect(money(0.000943)).toBe("$0.000943");
    expect(money(0.00123456)).toBe("$0.00123");
  });

  it("quotes CSV cells that need it and keeps raw numbers", () => {
    expect(
      toCsv(
        ["a", "b", "c"],
        [
          { a: 'x,"y"', b: 0.1 + 0.2, c: null },
          { a: ["t"], b: 1, c: "z" },
        ],
      ),
    ).toBe('a,b,c\r\n"x,""y""",0.30000000000000004,\r\n"[""t""]",1,z\r\n');
  });
});
