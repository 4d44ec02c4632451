import { plot } from "asciichart";

/**
 * Terminal pictures for answers a person would rather look at than read: a bar of used / limit, and a
 * daily series as a line chart (asciichart). Only for the table format; --json and --csv stay plain.
 */

const BAR_WIDTH = 24;

/** `[██████░░░░░░]`: the share used, capped at full (an exceeded budget shows full and a `!`). */
export function bar(used: number, limit: number | null, width = BAR_WIDTH): string {
  if (limit === null || !(limit > 0)) return `[${" ".repeat(width)}]`;
  const share = Math.max(0, used / limit);
  const filled = Math.min(width, Math.round(share * width));
  return `[${"█".repeat(filled)}${"░".repeat(width - filled)}]${share >= 1 ? "!" : " "}`;
}

export const money = (x: number | null | undefined): string =>
  x === null || x === undefined ? "—" : `$${x.toFixed(x !== 0 && Math.abs(x) < 0.01 ? 4 : 2)}`;

/** Columns per day: a 14-day series spans 42 columns, wide enough to read and to label. */
const DAY_COLUMNS = 3;

/** A day series as a line chart with the first and last day under it. */
export function dailyChart(
  title: string,
  days: { date: string; value: number }[],
  height = 8,
  label: (x: number) => string = money,
): string {
  if (!days.length) return "";
  // Long ranges get one column per day; short ones are stretched to stay readable.
  const cols = days.length > 40 ? 1 : DAY_COLUMNS;
  const values = days.flatMap((d) => Array<number>(cols).fill(d.value));
  const chart = plot(values, {
    height,
    format: (x) => label(x).padStart(10),
  });
  const width = Math.max(...chart.split("\n").map((l) => l.length));
  const first = days[0]!.date;
  const last = days[days.length - 1]!.date;
  const axis = `${" ".repeat(12)}${first}${last.padStart(Math.max(last.length + 1, width - 12 - first.length))}`;
  return `${title}\n${chart}\n${axis}\n`;
}

/** Sums a row series per date (rows of several keys on one day become one point), dates in order. */
export function perDay<T extends { date: string }>(rows: T[], value: (r: T) => number) {
  const by = new Map<string, number>();
  for (const r of rows) by.set(r.date, (by.get(r.date) ?? 0) + value(r));
  return [...by.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([date, v]) => ({ date, value: v }));
}
