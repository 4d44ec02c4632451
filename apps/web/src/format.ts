/** Money, counts, dates and time-zone arithmetic for the dashboard (Intl only, no date library). */

// The zone arithmetic the analytics query uses (pure Intl, no database code: safe in the bundle).
import { offsetAt, wallClock } from "@spendlens/core/zones";

const usd = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
// Sub-cent amounts (a single request's cost) keep three significant digits instead of showing $0.00.
const usdSubCent = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  maximumSignificantDigits: 3,
});
const count = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function money(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return v !== 0 && Math.abs(v) < 0.005 ? usdSubCent.format(v) : usd.format(v);
}

export function int(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return count.format(v);
}

export function percent(v: number): string {
  return new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1 }).format(v);
}

export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

export function isZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

// Listed first; also makes sure the current IANA names are offered where the browser's list has only the
// older aliases (Chromium lists Asia/Calcutta, not Asia/Kolkata).
const COMMON_ZONES = [
  "UTC",
  "America/Los_Angeles",
  "America/New_York",
  "America/Sao_Paulo",
  "Europe/London",
  "Europe/Paris",
  "Europe/Berlin",
  "Asia/Kolkata",
  "Asia/Singapore",
  "Asia/Tokyo",
  "Australia/Sydney",
];

export function allZones(): string[] {
  const f = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf;
  const list = f ? f("timeZone") : [];
  return [...new Set([...COMMON_ZONES.filter(isZone), ...list])];
}

/** The local calendar day of an instant in a zone, YYYY-MM-DD. */
export function dayIn(tz: string, at: Date = new Date()): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(at)
    .slice(0, 10);
}

export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

export const isDay = (s: string | null | undefined): s is string =>
  !!s && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));

/** The UTC instant (ms) of a local day's midnight in a zone. */
export function localMidnight(day: string, tz: string): number {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d);
  let t = wall - offsetAt(tz, wall);
  t = wall - offsetAt(tz, t);
  return t;
}

/** `YYYY-MM-DD HH:MM:SS` in UTC, the form the logs procedures take. */
export function utcDateTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/** An instant (ISO, UTC when it names no offset) as `YYYY-MM-DD HH:MM:SS` on the zone's wall clock. */
export function dateTimeIn(iso: string, tz: string): string {
  const d = new Date(iso.endsWith("Z") || /[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
  if (Number.isNaN(d.getTime())) return iso;
  return utcDateTime(wallClock(tz, d.getTime()));
}

/** A short label for a key's hash when it has no alias. */
export function shortHash(h: string): string {
  return h.length > 14 ? `${h.slice(0, 6)}…${h.slice(-4)}` : h;
}
