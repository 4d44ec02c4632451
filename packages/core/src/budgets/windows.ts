import { SpendlensError } from "../errors.ts";

/**
 * Provider budget windows: durations in LiteLLM's `time_period` form (`30s`, `15m`, `1h`, `1d`, `1w`,
 * `1mo`), rolling windows (LiteLLM's behaviour: a window starts at the first spend after the previous one
 * ended and lasts one time_period) and calendar windows (aligned in UTC: midnight, Monday, the 1st of the
 * month). All instants are UTC milliseconds.
 */
export type DurationUnit = "s" | "m" | "h" | "d" | "w" | "mo";
export interface Duration {
  n: number;
  unit: DurationUnit;
}
export type WindowKind = "rolling" | "calendar";

const UNIT_MS: Record<Exclude<DurationUnit, "mo">, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** Parses `1d`, `30m`, `2mo`…; anything else is a CONFIG error (the config schema checks it already). */
export function parseDuration(text: string): Duration {
  const m = /^(\d+)(s|m|h|d|w|mo)$/.exec(text);
  const n = m ? Number(m[1]) : 0;
  if (!m || !Number.isSafeInteger(n) || n < 1) {
    throw new SpendlensError(
      "CONFIG",
      `time_period ${JSON.stringify(text)} must be a duration like 1h, 1d, 1mo`,
    );
  }
  return { n, unit: m[2] as DurationUnit };
}

/** `at` plus n months, on the same day of the month and time of day, clamped to the month's last day. */
function addMonths(at: number, n: number): number {
  const d = new Date(at);
  const y = d.getUTCFullYear();
  const mo = d.getUTCMonth() + n;
  const lastDay = new Date(Date.UTC(y, mo + 1, 0)).getUTCDate();
  return Date.UTC(
    y,
    mo,
    Math.min(d.getUTCDate(), lastDay),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    d.getUTCMilliseconds(),
  );
}

/** The end of a rolling window that starts at `start`. */
export function addDuration(start: number, d: Duration): number {
  return d.unit === "mo" ? addMonths(start, d.n) : start + d.n * UNIT_MS[d.unit];
}

/** 1970-01-05T00:00Z, a Monday: weeks are counted from it. */
const MONDAY_EPOCH = 4 * 86_400_000;

/**
 * The calendar window holding `at`: units of n·duration counted from the epoch in UTC, so `1d` is the UTC
 * day, `1w` the week from Monday 00:00, `1mo` the calendar month, `3mo` the calendar quarter, `1h` the hour.
 */
export function calendarWindow(at: number, d: Duration): { start: number; end: number } {
  if (d.unit === "mo") {
    const t = new Date(at);
    const idx = (t.getUTCFullYear() - 1970) * 12 + t.getUTCMonth();
    const first = Math.floor(idx / d.n) * d.n;
    return { start: Date.UTC(1970, first, 1), end: Date.UTC(1970, first + d.n, 1) };
  }
  const size = d.n * UNIT_MS[d.unit];
  const origin = d.unit === "w" ? MONDAY_EPOCH : 0;
  const start = origin + Math.floor((at - origin) / size) * size;
  return { start, end: start + size };
}

/** The start of a window of duration `d` that ends at `end` (months clamped as `addDuration`). */
export function subtractDuration(end: number, d: Duration): number {
  return d.unit === "mo" ? addMonths(end, -d.n) : end - d.n * UNIT_MS[d.unit];
}

/** A duration's length in milliseconds (months as 30 days: for stepping, never for a window's bounds). */
export function approxDurationMs(d: Duration): number {
  return d.unit === "mo" ? d.n * 30 * 86_400_000 : d.n * UNIT_MS[d.unit];
}
