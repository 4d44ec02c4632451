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
export function dailyChart(title: string, days: { date: string; value: number }[], height = 8): string {
  if (!days.length) return "";
  const values = days.flatMap((d) => Array<number>(DAY_COLUMNS).fill(d.value));
  const chart = plot(values, {
    height,
    format: (x) => money(x).padStart(10),
  });
  const width = Math.max(...chart.split("\n").map((l) => l.length));
  const first = days[0]!.date;
  const last = days[days.length - 1]!.date;
  const axis = `${" ".repeat(12)}${first}${last.padStart(Math.max(last.length + 1, width - 12 - first.length))}`;
  return `${title}\n${chart}\n${axis}\n`;
}
