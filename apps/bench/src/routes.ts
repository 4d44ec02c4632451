import type { Ctx } from "./original.ts";

/**
 * The bench's parameters for each REST route: a realistic call (30-day window ending today), the key
 * of its original SQL in original.ts, and how to read the same numbers out of both answers. A route the
 * server does not serve yet is skipped with a note; a served route without an entry here is listed as
 * "no bench parameters".
 */

export type Numbers = Record<string, number>;

export interface RouteBench {
  /** Row label; the original SQL's key in ORIGINAL (default: the path). */
  name: string;
  method: "GET" | "POST";
  path: string;
  query?: (c: Ctx) => Record<string, string>;
  body?: (c: Ctx) => unknown;
  /** Small answer (a handful of rows) or a big one (a row per day × group): the targets differ. */
  size: "small" | "big";
  /** The numbers to compare, from spendlens's answer and from the original rows. */
  api?: (body: any) => Numbers;
  orig?: (rows: any[][]) => Numbers;
  /** Why there is no original (not SQL in the original, or not comparable). */
  note?: string;
}

const num = (v: unknown): number => (v == null ? 0 : Number(v));
const sum = <T>(xs: readonly T[], f: (x: T) => unknown): number => xs.reduce((s, x) => s + num(f(x)), 0);
const window = (c: Ctx) => ({ start_date: c.start, end_date: c.end });
const arr = (b: any): any[] => (Array.isArray(b) ? b : (b?.data ?? []));

/** Top n of `rows` by `key` (the original keeps the top 10 groups). */
function topBy<T>(rows: T[], n: number, key: (x: T) => number): T[] {
  return [...rows].sort((a, b) => key(b) - key(a)).slice(0, n);
}

function groupSum(rows: any[], by: string, field: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) m.set(String(r[by]), (m.get(String(r[by])) ?? 0) + num(r[field]));
  return m;
}

/**
 * An entry: `name` is the route (its path up to a `?`, GET unless `method` says otherwise) and the rest
 * of the entry.
 */
const route = (name: string, size: RouteBench["size"], rest: Partial<RouteBench> = {}): RouteBench => ({
  name,
  method: "GET",
  path: name.split("?")[0]!,
  size,
  ...rest,
});
/** The same numbers read the same way out of spendlens's rows (`arr`) and the original's first result. */
const same = (f: (rows: any[]) => Numbers): Pick<RouteBench, "api" | "orig"> => ({
  api: (b) => f(arr(b)),
  orig: ([r]) => f(r!),
});
const spendOf = (field: string) => same((rows) => ({ spend: sum(rows, (x) => x[field]) }));
/** Per day, the total spend of the day's list `list` (`teams`, `customers`). */
const dayListSpend = (list: string) =>
  same((rows) => ({ spend: sum(rows, (d) => sum(d[list] ?? [], (t: any) => t.total_spend)) }));
const rowCount = (what: string) => same((rows) => ({ [what]: rows.length }));
const logsWindow = (c: Ctx) => ({ start_date: `${c.start} 00:00:00`, end_date: `${c.end} 23:59:59` });

export const ROUTE_BENCH: RouteBench[] = [
  route("/global/spend", "small", {
    api: (b) => ({ spend: num(b.spend) }),
    orig: ([r]) => ({ spend: num(r![0]?.total_spend) }),
  }),
  route("/global/activity", "small", {
    query: window,
    api: (b) => ({ requests: num(b.sum_api_requests), tokens: num(b.sum_total_tokens) }),
    orig: ([r]) => ({ requests: sum(r!, (x) => x.api_requests), tokens: sum(r!, (x) => x.total_tokens) }),
  }),
  route("/global/activity/model", "small", {
    query: window,
    api: (b) => ({
      requests: sum(arr(b), (x) => x.sum_api_requests),
      tokens: sum(arr(b), (x) => x.sum_total_tokens),
    }),
    orig: ([r]) => {
      const req = groupSum(r!, "model_group", "api_requests");
      const tok = groupSum(r!, "model_group", "total_tokens");
      const top = topBy([...req.keys()], 10, (k) => req.get(k)!);
      return { requests: sum(top, (k) => req.get(k)), tokens: sum(top, (k) => tok.get(k)) };
    },
  }),
  route("/global/activity/exceptions", "small", {
    query: (c) => ({ ...window(c), model_group: c.modelGroup }),
    api: (b) => ({ errors: num(b.sum_num_rate_limit_exceptions) }),
    orig: ([r]) => ({ errors: sum(r!, (x) => x.num_rate_limit_exceptions) }),
  }),
  route("/global/activity/exceptions/deployment", "small", {
    query: (c) => ({ ...window(c), model_group: c.modelGroup }),
    api: (b) => ({ errors: sum(arr(b), (x) => x.sum_num_rate_limit_exceptions) }),
    orig: ([r]) => {
      const m = groupSum(r!, "api_base", "num_rate_limit_exceptions");
      return {
        errors: sum(
          topBy([...m.values()], 10, (x) => x),
          (x) => x,
        ),
      };
    },
  }),
  route("/global/spend/provider", "small", { query: window, ...spendOf("spend") }),
  route("/global/spend/report?group_by=team", "big", {
    query: (c) => ({ ...window(c), group_by: "team" }),
    ...dayListSpend("teams"),
  }),
  route("/global/spend/report?group_by=customer", "big", {
    query: (c) => ({ ...window(c), group_by: "customer" }),
    ...dayListSpend("customers"),
  }),
  route("/global/spend/report?group_by=api_key", "big", {
    query: (c) => ({ ...window(c), group_by: "api_key" }),
    ...same((rows) => ({
      spend: sum(rows, (x) => x.total_cost),
      input_tokens: sum(rows, (x) => x.total_input_tokens),
    })),
  }),
  route("/global/spend/all_tag_names", "small", {
    api: (b) => ({ tags: (b.tag_names ?? []).length }),
    orig: ([r]) => ({ tags: r!.length }),
  }),
  route("/global/spend/tags", "small", {
    // attribution=full gives the original's figures (spendlens splits a request's spend over its tags by default).
    query: (c) => ({ ...window(c), attribution: "full" }),
    api: (b) => {
      const rows: any[] = b.spend_per_tag ?? arr(b);
      return { spend: sum(rows, (x) => x.spend), logs: sum(rows, (x) => x.log_count) };
    },
    orig: ([r]) => ({ spend: sum(r!, (x) => x.total_spend), logs: sum(r!, (x) => x.log_count) }),
  }),
  route("/spend/tags", "small", {
    query: () => ({ attribution: "full" }),
    ...same((rows) => ({ spend: sum(rows, (x) => x.total_spend), logs: sum(rows, (x) => x.log_count) })),
  }),
  route("/spend/logs/ui", "small", {
    query: (c) => ({ ...logsWindow(c), page: "1", page_size: "50" }),
    api: (b) => ({ rows: (b.data ?? []).length, total: num(b.total) }),
    orig: ([count, page]) => ({ rows: page!.length, total: num(count![0]?.total) }),
  }),
  route("/spend/logs", "big", { query: window, ...spendOf("spend") }),
  route("/global/spend/logs", "small", {
    ...same((rows) => ({
      spend: sum(rows, (x) => x.spend),
      days: rows.filter((x) => num(x.spend) !== 0).length,
    })),
  }),
  route("/global/spend/logs?api_key", "small", {
    query: (c) => ({ api_key: c.apiKey }),
    ...spendOf("spend"),
  }),
  route("/global/spend/keys", "small", {
    query: () => ({ limit: "10" }),
    ...same((rows) => ({ spend: sum(rows, (x) => x.total_spend), keys: rows.length })),
  }),
  route("/global/spend/models", "small", {
    query: () => ({ limit: "10" }),
    ...same((rows) => ({ spend: sum(rows, (x) => x.total_spend), models: rows.length })),
  }),
  route("/global/spend/teams", "small", {
    // The original rounds each day's team spend to cents: compare the unrounded totals per team instead.
    api: (b) => ({ teams: (b.teams ?? []).length }),
    orig: ([r]) => ({ teams: new Set(r!.map((x) => x.team_alias ?? "Unassigned")).size }),
  }),
  route("/global/all_end_users", "small", {
    // spendlens lists no null or empty end user (docs/spend-logs.md): the original's list without them.
    api: (b) => ({ end_users: (b.end_users ?? []).length }),
    orig: ([r]) => ({ end_users: r!.filter((x) => x.end_user != null && x.end_user !== "").length }),
    note: "compared without the null/empty end user (a documented deviation)",
  }),
  route("/global/spend/end_users", "small", {
    method: "POST",
    body: (c) => ({ startTime: c.monthAgoIso, endTime: c.nowIso }),
    // spendlens ranks no null or empty end user (docs/spend-logs.md): compare the top 50 of both.
    api: (b) => {
      const top = arr(b).slice(0, 50);
      return { spend: sum(top, (x) => x.total_spend), requests: sum(top, (x) => x.total_count) };
    },
    orig: ([r]) => {
      const top = r!.filter((x) => x.end_user != null && x.end_user !== "").slice(0, 50);
      return { spend: sum(top, (x) => x.total_spend), requests: sum(top, (x) => x.total_count) };
    },
    note: "compared on the top 50 without the null/empty end user (a documented deviation)",
  }),
  route("/spend/keys", "big", rowCount("keys")),
  route("/spend/users", "small", rowCount("users")),
  route("/spendlens/logs", "small", {
    // The keyset page (newest first, 50 rows, no total unless asked) against the original's /spend/logs/ui
    // page for the same window (which always counts).
    query: (c) => ({ ...logsWindow(c), limit: "50" }),
    api: (b) => ({ rows: (b.data ?? []).length }),
    orig: ([, page]) => ({ rows: page!.length }),
  }),
  route("/spendlens/logs?api_key", "small", {
    query: (c) => ({ ...logsWindow(c), api_key: c.apiKey, limit: "50", include_total: "true" }),
    api: (b) => ({ rows: (b.data ?? []).length, total: num(b.total) }),
    orig: ([count, page]) => ({ rows: page!.length, total: num(count![0]?.total) }),
  }),
  route("/spendlens/analytics", "small", {
    query: (c) => ({ dims: "model_group", bucket: "day", start: c.start, end: c.end }),
    api: (b) => ({
      spend: sum(b.rows ?? [], (x: any) => x.spend),
      requests: sum(b.rows ?? [], (x: any) => x.requests),
    }),
    orig: ([r]) => ({ spend: sum(r!, (x) => x.spend), requests: sum(r!, (x) => x.requests) }),
    note: "no route in the original: the original column is a plain GROUP BY over the raw logs",
  }),
  route("/provider/budgets", "small", {
    note: "the original reads its router's in-memory budget state, not SQL",
  }),
  route("/spend/calculate", "small", {
    method: "POST",
    body: () => ({ model: "gpt-4o", messages: [{ role: "user", content: "Hey, how's it going?" }] }),
    note: "no SQL in the original (litellm.completion_cost)",
  }),
];

/** Routes the bench never calls: mutations, and ingest (measured separately). */
export const NOT_TIMED = new Set([
  "POST /global/spend/reset",
  "POST /global/spend/refresh",
  "POST /spend/logs/ingest",
  "POST /error/logs/ingest",
  "POST /spendlens/analytics", // the same query as GET /spendlens/analytics, with a JSON body
]);
