import { useCallback, useMemo } from "react";
import { useLocation, useSearch } from "wouter";
import { addDays, browserZone, dayIn, isDay, isZone, localMidnight, utcDateTime } from "./format.ts";

/** The one date range and time zone every panel on a page uses; kept in the URL so a view can be shared. */
export interface View {
  /** First local day, YYYY-MM-DD. */
  from: string;
  /** Last local day, included whole. */
  to: string;
  tz: string;
}

export const DEFAULT_DAYS = 30;

/** The later of two YYYY-MM-DD days (they sort as text). */
const laterDay = (a: string, b: string) => (a.localeCompare(b) > 0 ? a : b);

export function defaultView(tz = browserZone()): View {
  const to = dayIn(tz);
  return { from: addDays(to, -(DEFAULT_DAYS - 1)), to, tz };
}

export function viewOf(search: string): View {
  const q = new URLSearchParams(search);
  const tzParam = q.get("tz");
  const tz = tzParam && isZone(tzParam) ? tzParam : browserZone();
  const d = defaultView(tz);
  const from = isDay(q.get("from")) ? q.get("from")! : d.from;
  const toParam = q.get("to");
  const to = isDay(toParam) && toParam >= from ? toParam : laterDay(from, d.to);
  return { from, to, tz };
}

/** The search string of a view, merged into other parameters (e.g. log filters). */
export function withView(view: View, extra: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  q.set("from", view.from);
  q.set("to", view.to);
  q.set("tz", view.tz);
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== "") q.set(k, v);
  return q.toString();
}

export function useView(): { view: View; params: URLSearchParams; setView(patch: Partial<View>): void } {
  const search = useSearch();
  const [path, navigate] = useLocation();
  const view = useMemo(() => viewOf(search), [search]);
  const params = useMemo(() => new URLSearchParams(search), [search]);
  const setView = useCallback(
    (patch: Partial<View>) => {
      const q = new URLSearchParams(search);
      const next = { ...view, ...patch };
      q.set("from", next.from);
      q.set("to", laterDay(next.from, next.to));
      q.set("tz", next.tz);
      // A new window starts the logs over from the first page.
      q.delete("cursor");
      navigate(`${path}?${q.toString()}`);
    },
    [search, view, path, navigate],
  );
  return { view, params, setView };
}

/** Search-parameter setter for a page's own filters (keeps the view). */
export function useParamSetter(): (patch: Record<string, string | null>) => void {
  const search = useSearch();
  const [path, navigate] = useLocation();
  return useCallback(
    (patch) => {
      const q = new URLSearchParams(search);
      for (const [k, v] of Object.entries(patch)) {
        if (v === null || v === "") q.delete(k);
        else q.set(k, v);
      }
      navigate(`${path}?${q.toString()}`);
    },
    [search, path, navigate],
  );
}

/** The analytics procedure's window for a view: local days in the view's zone. */
export function analyticsWindow(view: View) {
  return { start: view.from, end: view.to, timezone: view.tz };
}

/**
 * The logs procedures take UTC datetimes with both ends included: the view's first local midnight
 * to the last microsecond before the local midnight after its last day (Postgres keeps microseconds).
 */
export function logsWindow(view: View): { start_date: string; end_date: string } {
  return {
    start_date: utcDateTime(localMidnight(view.from, view.tz)),
    end_date: `${utcDateTime(localMidnight(addDays(view.to, 1), view.tz) - 1000)}.999999`,
  };
}
