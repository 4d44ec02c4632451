/**
 * The one calendar-day type and its arithmetic.
 *
 * Supported range: days 1970-01-01 .. 9998-12-31 (UTC), and the instants within them
 * [1970-01-01T00:00:00Z, 9999-01-01T00:00:00Z). Every date that enters (REST, tRPC, CLI, ingest rows,
 * analytics bounds) is checked against it and refused with a 400 naming the field. The upper year stops
 * one short of 9999 so that "the day after the last day" (a half-open window's end) and a time zone's
 * shift of a few hours still fit in a 4-digit year, which Postgres, `toISOString()` and text comparison
 * of `YYYY-MM-DD` all need (`toISOString()` writes year 10000 as `+010000`, which sorts before `1970`).
 *
 * The arithmetic below works on whole day numbers (days since 1970-01-01), never on text, and refuses
 * (RangeError) any result outside years 0001..9999, so no caller can loop past the end of the calendar
 * or produce a day that is not four-digit `YYYY-MM-DD`. Validated inputs stay far inside that margin.
 */

export const MIN_DAY = "1970-01-01";
export const MAX_DAY = "9998-12-31";
/** The first supported instant (UTC ms). */
export const MIN_INSTANT_MS = Date.UTC(1970, 0, 1);
/** The first instant after the supported range (UTC ms): an exclusive window end may equal it. */
export const END_INSTANT_MS = Date.UTC(9999, 0, 1);
/** How messages describe the range. */
export const DAY_RANGE_TEXT = `${MIN_DAY} to ${MAX_DAY}`;

export const DAY_MS = 86_400_000;

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Years 0001..9999: the domain of the arithmetic (four-digit years, so text order = time order). */
const ARITH_MIN_MS = -62_135_596_800_000; // 0001-01-01T00:00:00Z
const ARITH_END_MS = 253_402_300_800_000; // 10000-01-01T00:00:00Z

/** True when y-m-d is a real calendar date (not 2026-02-30). */
export function isRealDate(y: number, m: number, d: number): boolean {
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d);
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/** `YYYY-MM-DD` of a real date (any four-digit year), or false. */
export function isDayText(s: string): boolean {
  const m = DAY_RE.exec(s);
  return !!m && isRealDate(+m[1]!, +m[2]!, +m[3]!);
}

/** A real day inside the supported range. */
export function isSupportedDay(s: string): boolean {
  return isDayText(s) && s >= MIN_DAY && s <= MAX_DAY;
}

/** An instant (UTC ms) inside the supported range. */
export function isSupportedInstant(ms: number): boolean {
  return Number.isFinite(ms) && ms >= MIN_INSTANT_MS && ms < END_INSTANT_MS;
}

/** Days since 1970-01-01 of a `YYYY-MM-DD` day (any four-digit year). */
export function dayNumber(day: string): number {
  if (!isDayText(day)) throw new RangeError(`not a day YYYY-MM-DD: ${JSON.stringify(day).slice(0, 40)}`);
  const m = DAY_RE.exec(day)!;
  const t = new Date(0);
  t.setUTCFullYear(+m[1]!, +m[2]! - 1, +m[3]!);
  return Math.round(t.getTime() / DAY_MS);
}

/** The `YYYY-MM-DD` of a day number; a RangeError outside years 0001..9999. */
export function dayOfNumber(n: number): string {
  const ms = n * DAY_MS;
  if (!Number.isInteger(n) || ms < ARITH_MIN_MS || ms >= ARITH_END_MS)
    throw new RangeError(`day number ${n} is outside years 0001..9999`);
  return new Date(ms).toISOString().slice(0, 10);
}

/** The UTC day (`YYYY-MM-DD`) of an instant in ms; a RangeError outside years 0001..9999. */
export function dayOfInstant(ms: number): string {
  return dayOfNumber(Math.floor(ms / DAY_MS));
}

/** `day` plus `n` days (n may be negative). */
export const addDays = (day: string, n: number): string => dayOfNumber(dayNumber(day) + n);

/** Days from start to end inclusive (0 or less when end is before start). */
export const daysBetween = (start: string, end: string): number => dayNumber(end) - dayNumber(start) + 1;

/**
 * Every day from start to end inclusive (none when end is before start). Counted on day numbers, never
 * compared as text, so it always ends.
 */
export function eachDay(start: string, end: string): string[] {
  const a = dayNumber(start);
  const n = dayNumber(end) - a + 1;
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(dayOfNumber(a + i));
  return out;
}

/** Midnight UTC of a day as an ISO string. */
export const dayStart = (day: string) => `${day}T00:00:00.000Z`;
