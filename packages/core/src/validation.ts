import { z } from "zod";
import { addDays, DAY_RANGE_TEXT, dayStart, daysBetween, isRealDate, isSupportedDay } from "./days.ts";

export * from "./days.ts";

/**
 * Input pieces shared by every domain. Field names are the original's snake_case query names, so a 400
 * names the field exactly as the caller sent it. Every day and datetime is inside the supported range
 * (days.ts: 1970-01-01 .. 9998-12-31).
 */

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?Z?$/;

const required = (what: string) => (iss: { input?: unknown }) =>
  iss.input === undefined || iss.input === null ? `is required (${what})` : `must be ${what}`;

export const OUT_OF_RANGE = `must be within ${DAY_RANGE_TEXT}`;

/** A calendar day, `YYYY-MM-DD`, UTC, from 1970-01-01 to 9998-12-31. */
export const zDay = z
  .string({ error: required("a date YYYY-MM-DD") })
  .superRefine((s, ctx) => {
    const m = DAY_RE.exec(s);
    if (!m || !isRealDate(+m[1]!, +m[2]!, +m[3]!))
      ctx.addIssue({ code: "custom", message: "must be a real date in the form YYYY-MM-DD" });
    else if (!isSupportedDay(s)) ctx.addIssue({ code: "custom", message: `${OUT_OF_RANGE} (got ${s})` });
  })
  // What the OpenAPI document says of it (JSON Schema cannot state the refinement).
  .meta({ format: "date", pattern: DAY_RE.source });

/**
 * A UTC instant, `YYYY-MM-DD HH:MM:SS` (the original's logs/ui form; `T` and a trailing `Z` accepted), on a
 * day from 1970-01-01 to 9998-12-31. Normalised to ISO.
 */
export const zDateTime = z
  .string({ error: required("a datetime YYYY-MM-DD HH:MM:SS") })
  .superRefine((s, ctx) => {
    const m = DATETIME_RE.exec(s);
    if (!m || !isRealDate(+m[1]!, +m[2]!, +m[3]!) || +m[4]! >= 24 || +m[5]! >= 60 || +m[6]! >= 60)
      ctx.addIssue({ code: "custom", message: "must be a UTC datetime in the form YYYY-MM-DD HH:MM:SS" });
    else if (!isSupportedDay(s.slice(0, 10)))
      ctx.addIssue({ code: "custom", message: `${OUT_OF_RANGE} (got ${s.slice(0, 10)})` });
  })
  .transform((s) => new Date(`${s.replace(" ", "T").replace(/Z$/, "")}Z`).toISOString());

/** Whole numbers that may arrive as query strings. */
export const zInt = (min: number, max: number) =>
  z.coerce
    .number({ error: required(`a whole number from ${min} to ${max}`) })
    .int(`must be a whole number from ${min} to ${max}`)
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

export const MAX_RANGE_DAYS = 366;

/**
 * Checks a start/end day pair: end not before start, range at most MAX_RANGE_DAYS.
 * Use as `.superRefine(checkDayRange)` on an object with start_date and end_date.
 */
export function checkDayRange(
  v: { start_date?: string | undefined; end_date?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (!v.start_date || !v.end_date) return;
  // A malformed day already has its own issue; comparing it would add a misleading one on end_date.
  if (!zDay.safeParse(v.start_date).success || !zDay.safeParse(v.end_date).success) return;
  const n = daysBetween(v.start_date, v.end_date);
  if (n < 1) ctx.addIssue({ code: "custom", path: ["end_date"], message: "must not be before start_date" });
  else if (n > MAX_RANGE_DAYS) {
    ctx.addIssue({
      code: "custom",
      path: ["end_date"],
      message: `the range may span at most ${MAX_RANGE_DAYS} days`,
    });
  }
}

/** The required start_date/end_date pair of most reports. */
export const zDayRange = z.object({ start_date: zDay, end_date: zDay }).superRefine(checkDayRange);

/** A half-open UTC window [from, to) as ISO strings. The end day is always included whole. */
export interface Window {
  from: string;
  to: string;
}

export const dayWindow = (start: string, end: string): Window => ({
  from: dayStart(start),
  to: dayStart(addDays(end, 1)),
});

/** "Last 30 days" as the original's views mean it: from UTC midnight 30 days ago, with no upper bound. */
export function last30DaysFrom(at: Date): string {
  return `${addDays(at.toISOString().slice(0, 10), -30)}T00:00:00.000Z`;
}

const SHORT_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * The original's day label, 'Jan 22' (en-US short month, two-digit day). A table, not toLocaleString: that
 * builds an Intl formatter on every call (~0.1-0.25 ms each, 300 labels per /global/activity/model).
 */
export function litellmDayLabel(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  return `${SHORT_MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, "0")}`;
}
