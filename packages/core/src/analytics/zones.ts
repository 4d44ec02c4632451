/**
 * Time zones and time buckets for the analytics query, computed in JS with the same IANA data that
 * validates the zone (Intl), never with the database's own zone table: the buckets are a sorted list
 * of UTC instants, passed to SQL as one array parameter (`width_bucket`). So PGlite and Postgres agree,
 * and a zone that Node knows always works.
 */

export const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const QUARTER_MS = 900_000;

export const BUCKET_UNITS = ["hour", "day", "week", "month"] as const;
export type BucketUnit = (typeof BUCKET_UNITS)[number];

/** One bucket: its first instant (UTC ms) and its label in the zone. */
export interface Bucket {
  start: number;
  label: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** ICU's canonical name of a zone Intl knows (`europe/paris` → `Europe/Paris`, `Asia/Kolkata` → `Asia/Calcutta`), or null. */
export function resolveTimeZone(tz: string): string | null {
  if (typeof tz !== "string" || tz.length === 0 || tz.length > 64) return null;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(tz, f);
  }
  return f;
}

/**
 * The wall-clock time of instant `t` in `tz`, as UTC ms of the same fields (seconds precision).
 * Valid for years 1970..9999, which is all the analytics query accepts.
 */
export function wallClock(tz: string, t: number): number {
  const p: Record<string, number> = {};
  for (const x of formatter(tz).formatToParts(new Date(t))) if (x.type !== "literal") p[x.type] = +x.value;
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour! % 24, p.minute!, p.second!);
}

/** UTC offset of `tz` at instant `t`, in ms (wall clock minus UTC). */
export const offsetAt = (tz: string, t: number): number => wallClock(tz, t) - Math.floor(t / 1000) * 1000;

/**
 * The first instant of a local calendar day (`day` = UTC ms of that date's midnight, i.e. the wall
 * clock 00:00). Usually local midnight; where midnight repeats (a fall-back at 01:00) the earlier one;
 * where midnight is skipped (a DST jump at 00:00) the first instant of that day, found by bisection.
 */
export function zonedDayStart(tz: string, day: number): number {
  const before = offsetAt(tz, day - DAY_MS);
  if (before === offsetAt(tz, day + DAY_MS)) {
    // No offset change around this day (none happens twice within two days): midnight is day - offset.
    const t = day - before;
    if (wallClock(tz, t) === day) return t;
  }
  let best = Number.POSITIVE_INFINITY;
  for (const probe of [day - DAY_MS, day, day + DAY_MS]) {
    const t = day - offsetAt(tz, probe);
    if (wallClock(tz, t) === day && t < best) best = t;
  }
  if (best !== Number.POSITIVE_INFINITY) return best;
  // Midnight does not exist that day: the smallest instant whose wall clock is at or after it.
  let lo = Math.floor((day - 15 * HOUR_MS) / 1000);
  let hi = Math.ceil((day + 15 * HOUR_MS) / 1000);
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallClock(tz, mid * 1000) >= day) hi = mid;
    else lo = mid + 1;
  }
  return lo * 1000;
}

/** `YYYY-MM-DD` of a UTC-ms calendar date. */
const dateText = (day: number) => new Date(day).toISOString().slice(0, 10);

function offsetText(off: number): string {
  const sign = off < 0 ? "-" : "+";
  const m = Math.round(Math.abs(off) / 60_000);
  return `${sign}${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}

/** An instant as local ISO with its offset: `2026-03-29T03:00:00+02:00`. */
export function localIso(tz: string, t: number): string {
  const w = wallClock(tz, t);
  return `${new Date(w).toISOString().slice(0, 19)}${offsetText(w - Math.floor(t / 1000) * 1000)}`;
}

/** Local calendar date (UTC ms of its midnight) of instant `t`. */
const localDay = (tz: string, t: number) => Math.floor(wallClock(tz, t) / DAY_MS) * DAY_MS;

function addMonths(day: number, n: number): number {
  const d = new Date(day);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1);
}

/**
 * The buckets that cover [from, to): the first is the bucket containing `from` (its start may be
 * before `from`; the data is still clipped to the window), then every bucket start before `to`.
 * - hour: every instant whose local wall clock is HH:00:00. Found on 15-minute UTC steps, which every
 *   zone in use today is aligned to (offsets like +05:30 and +05:45 included). Where a fall-back repeats
 *   an hour, the two hours are two buckets (same local hour, different offsets in the label).
 * - day: local calendar days; week: from local Monday; month: from the local 1st.
 */
export function bucketsFor(unit: BucketUnit, tz: string, from: number, to: number): Bucket[] {
  const out: Bucket[] = [];
  if (unit === "hour") {
    const isStart = (t: number) => wallClock(tz, t) % HOUR_MS === 0;
    let t = Math.floor(from / QUARTER_MS) * QUARTER_MS;
    const limit = t - 3 * HOUR_MS;
    while (!isStart(t)) {
      t -= QUARTER_MS;
      if (t < limit)
        throw new Error(`zone ${tz} has no whole-hour wall clock near ${new Date(from).toISOString()}`);
    }
    out.push({ start: t, label: localIso(tz, t) });
    // Next start: one hour on when the offset did not change meanwhile (no zone changes it twice in
    // an hour), else the next quarter-hour step whose wall clock is whole.
    let off = offsetAt(tz, t);
    for (;;) {
      let next = t + HOUR_MS;
      const nextOff = offsetAt(tz, next);
      if (nextOff !== off || (next + nextOff) % HOUR_MS !== 0) {
        next = t + QUARTER_MS;
        while (!isStart(next)) next += QUARTER_MS;
        off = offsetAt(tz, next);
      } else off = nextOff;
      if (next >= to) break;
      out.push({ start: next, label: localIso(tz, next) });
      t = next;
    }
    return out;
  }
  let day = localDay(tz, from);
  if (unit === "week") day -= ((new Date(day).getUTCDay() + 6) % 7) * DAY_MS;
  if (unit === "month") day = addMonths(day, 0);
  for (;;) {
    const start = zonedDayStart(tz, day);
    if (start >= to && out.length > 0) break;
    out.push({ start, label: dateText(day) });
    day = unit === "day" ? day + DAY_MS : unit === "week" ? day + 7 * DAY_MS : addMonths(day, 1);
  }
  // A pathological zone (a day that starts after an instant dated that day): keep `from` covered.
  if (out[0]!.start > from) out[0]!.start = from;
  return out;
}

/** The instant of the start of local day `YYYY-MM-DD` in `tz`. */
export function dayStartIn(tz: string, ymd: string): number {
  return zonedDayStart(tz, Date.parse(`${ymd}T00:00:00Z`));
}
