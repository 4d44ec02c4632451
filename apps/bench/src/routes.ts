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

export const ROUTE_BENCH: RouteBench[] = [
  {
    name: "/global/spend",
    method: "GET",
    path: "/global/spend",
    size: "small",
    api: (b) => ({ spend: num(b.spend) }),
    orig: ([r]) => ({ spend: num(r![0]?.total_spend) }),
  },
  {
    name: "/global/activity",
    method: "GET",
    path: "/global/activity",
    query: window,
    size: "small",
    api: (b) => ({ requests: num(b.sum_api_requests), tokens: num(b.sum_total_tokens) }),
    orig: ([r]) => ({ requests: sum(r!, (x) => x.api_requests), tokens: sum(r!, (x) => x.total_tokens) }),
  },
  {
    name: "/global/activity/model",
    method: "GET",
    path: "/global/activity/model",
    query: window,
    size: "small",
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
  },
  {
    name: "/global/activity/exceptions",
    method: "GET",
    path: "/global/activity/exceptions",
    query: (c) => ({ ...window(c), model_group: c.modelGroup }),
    size: "small",
    api: (b) => ({ errors: num(b.sum_num_rate_limit_exceptions) }),
    orig: ([r]) => ({ errors: sum(r!, (x) => x.num_rate_limit_exceptions) }),
  },
  {
    name: "/global/activity/exceptions/deployment",
    method: "GET",
    path: "/global/activity/exceptions/deployment",
    query: (c) => ({ ...window(c), model_group: c.modelGroup }),
    size: "small",
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
  },
  {
    name: "/global/spend/provider",
    method: "GET",
    path: "/global/spend/provider",
    query: window,
    size: "small",
    api: (b) => ({ spend: sum(arr(b), (x) => x.spend) }),
    orig: ([r]) => ({ spend: sum(r!, (x) => x.spend) }),
  },
  {
    name: "/global/spend/report?group_by=team",
    method: "GET",
    path: "/global/spend/report",
    query: (c) => ({ ...window(c), group_by: "team" }),
    size: "big",
    api: (b) => ({ spend: sum(arr(b), (d) => sum(d.teams ?? [], (t: any) => t.total_spend)) }),
    orig: ([r]) => ({ spend: sum(r!, (d) => sum(d.teams ?? [], (t: any) => t.total_spend)) }),
  },
  {
    name: "/global/spend/report?group_by=customer",
    method: "GET",
    path: "/global/spend/report",
    query: (c) => ({ ...window(c), group_by: "customer" }),
    size: "big",
    api: (b) => ({ spend: sum(arr(b), (d) => sum(d.customers ?? [], (t: any) => t.total_spend)) }),
    orig: ([r]) => ({ spend: sum(r!, (d) => sum(d.customers ?? [], (t: any) => t.total_spend)) }),
  },
  {
    name: "/global/spend/report?group_by=api_key",
    method: "GET",
    path: "/global/spend/report",
    query: (c) => ({ ...window(c), group_by: "api_key" }),
    size: "big",
    api: (b) => ({
      spend: sum(arr(b), (x) => x.total_cost),
      input_tokens: sum(arr(b), (x) => x.total_input_tokens),
    }),
    orig: ([r]) => ({
      spend: sum(r!, (x) => x.total_cost),
      input_tokens: sum(r!, (x) => x.total_input_tokens),
    }),
  },
  {
    name: "/global/spend/all_tag_names",
    method: "GET",
    path: "/global/spend/all_tag_names",
    size: "small",
    api: (b) => ({ tags: (b.tag_names ?? []).length }),
    orig: ([r]) => ({ tags: r!.length }),
  },
  {
    name: "/global/spend/tags",
    method: "GET",
    path: "/global/spend/tags",
    // attribution=full gives the original's figures (spendlens splits a request's spend over its tags by default).
    query: (c) => ({ ...window(c), attribution: "full" }),
    size: "small",
    api: (b) => {
      const rows: any[] = b.spend_per_tag ?? arr(b);
      return { spend: sum(rows, (x) => x.spend), logs: sum(rows, (x) => x.log_count) };
    },
    orig: ([r]) => ({ spend: sum(r!, (x) => x.total_spend), logs: sum(r!, (x) => x.log_count) }),
  },
  {
    name: "/spend/tags",
    method: "GET",
    path: "/spend/tags",
    query: () => ({ attribution: "full" }),
    size: "small",
    api: (b) => ({ spend: sum(arr(b), (x) => x.total_spend), logs: sum(arr(b), (x) => x.log_count) }),
    orig: ([r]) => ({ spend: sum(r!, (x) => x.total_spend), logs: sum(r!, (x) => x.log_count) }),
  },
  {
    name: "/spend/logs/ui",
    method: "GET",
    path: "/spend/logs/ui",
    query: (c) => ({
      start_date: `${c.start} 00:00:00`,
      end_date: `${c.end} 23:59:59`,
      page: "1",
      page_size: "50",
    }),
    size: "small",
    api: (b) => ({ rows: (b.data ?? []).length, total: num(b.total) }),
    orig: ([count, page]) => ({ rows: page!.length, total: num(count![0]?.total) }),
  },
  {
    name: "/spend/logs",
    method: "GET",
    path: "/spend/logs",
    query: window,
    size: "big",
    api: (b) => ({ spend: sum(arr(b), (d) => d.spend) }),
    orig: ([r]) => ({ spend: sum(r!, (x) => x.spend) }),
  },
  {
    name: "/global/spend/logs",
    method: "GET",
    path: "/global/spend/logs",
    size: "small",
    api: (b) => ({
      spend: sum(arr(b), (x) => x.spend),
      days: arr(b).filter((x) => num(x.spend) !== 0).length,
    }),
    orig: ([r]) => ({ spend: sum(r!, (x) => x.spend), days: r!.filter((x) => num(x.spend) !== 0).length }),
  },
  {
    name: "/global/spend/logs?api_key",
    method: "GET",
    path: "/global/spend/logs",
    query: (c) => ({ api_key: c.apiKey }),
    size: "small",
    api: (b) => ({ spend: sum(arr(b), (x) => x.spend) }),
    orig: ([r]) => ({ spend: sum(r!, (x) => x.spend) }),
  },
  {
    name: "/global/spend/keys",
    method: "GET",
    path: "/global/spend/keys",
    query: () => ({ limit: "10" }),
    size: "small",
    api: (b) => ({ spend: sum(arr(b), (x) => x.total_spend), keys: arr(b).length }),
    orig: ([r]) => ({ spend: sum(r!, (x) => x.total_spend), keys: r!.length }),
  },
  {
    name: "/global/spend/models",
    method: "GET",
    path: "/global/spend/models",
    query: () => ({ limit: "10" }),
    size: "small",
    api: (b) => ({ spend: sum(arr(b), (x) => x.total_spend), models: arr(b).length }),
    orig: ([r]) => ({ spend: sum(r!, (x) => x.total_spend), models: r!.length }),
  },
  {
    name: "/global/spend/teams",
    method: "GET",
    path: "/global/spend/teams",
    size: "small",
    // The original rounds each day's team spend to cents: compare the unrounded totals per team instead.
    api: (b) => ({ teams: (b.teams ?? []).length }),
    orig: ([r]) => ({ teams: new Set(r!.map((x) => x.team_alias ?? "Unassigned")).size }),
  },
  {
    name: "/global/all_end_users",
    method: "GET",
    path: "/global/all_end_users",
    size: "small",
    // spendlens lists no null or empty end user (docs/spend-logs.md): the original's list without them.
    api: (b) => ({ end_users: (b.end_users ?? []).length }),
    orig: ([r]) => ({ end_users: r!.filter((x) => x.end_user != null && x.end_user !== "").length }),
    note: "compared without the null/empty end user (a documented deviation)",
  },
  {
    name: "/global/spend/end_users",
    method: "POST",
    path: "/global/spend/end_users",
    body: (c) => ({ startTime: c.monthAgoIso, endTime: c.nowIso }),
    size: "small",
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
  },
  {
    name: "/spend/keys",
    method: "GET",
    path: "/spend/keys",
    size: "big",
    api: (b) => ({ keys: arr(b).length }),
    orig: ([r]) => ({ keys: r!.length }),
  },
  {
    name: "/spend/users",
    method: "GET",
    path: "/spend/users",
    size: "small",
    api: (b) => ({ users: arr(b).length }),
    orig: ([r]) => ({ users: r!.length }),
  },
  {
    name: "/spendlens/logs",
    method: "GET",
    path: "/spendlens/logs",
    // The keyset page (newest first, 50 rows, no total unless asked) against the original's /spend/logs/ui
    // page for the same window (which always counts).
    query: (c) => ({ start_date: `${c.start} 00:00:00`, end_date: `${c.end} 23:59:59`, limit: "50" }),
    size: "small",
    api: (b) => ({ rows: (b.data ?? []).length }),
    orig: ([, page]) => ({ rows: page!.length }),
  },
  {
    name: "/spendlens/logs?api_key",
    method: "GET",
    path: "/spendlens/logs",
    query: (c) => ({
      start_date: `${c.start} 00:00:00`,
      end_date: `${c.end} 23:59:59`,
      api_key: c.apiKey,
      limit: "50",
      include_total: "true",
    }),
    size: "small",
    api: (b) => ({ rows: (b.data ?? []).length, total: num(b.total) }),
    orig: ([count, page]) => ({ rows: page!.length, total: num(count![0]?.total) }),
  },
  {
    name: "/spendlens/analytics",
    method: "GET",
    path: "/spendlens/analytics",
    query: (c) => ({ dims: "model_group", bucket: "day", start: c.start, end: c.end }),
    size: "small",
    api: (b) => ({
      spend: sum(b.rows ?? [], (x: any) => x.spend),
      requests: sum(b.rows ?? [], (x: any) => x.requests),
    }),
    orig: ([r]) => ({ spend: sum(r!, (x) => x.spend), requests: sum(r!, (x) => x.requests) }),
    note: "no route in the original: the original column is a plain GROUP BY over the raw logs",
  },
  {
    name: "/provider/budgets",
    method: "GET",
    path: "/provider/budgets",
    size: "small",
    note: "the original reads its router's in-memory budget state, not SQL",
  },
  {
    name: "/spend/calculate",
    method: "POST",
    path: "/spend/calculate",
    body: () => ({ model: "gpt-4o", messages: [{ role: "user", content: "Hey, how's it going?" }] }),
    size: "small",
    note: "no SQL in the original (litellm.completion_cost)",
  },
];

/** Routes the bench never calls: mutations, and ingest (measured separately). */
export const NOT_TIMED = new Set([
  "POST /global/spend/reset",
  "POST /global/spend/refresh",
  "POST /spend/logs/ingest",
  "POST /error/logs/ingest",
  "POST /spendlens/analytics", // the same query as GET /spendlens/analytics, with a JSON body
]);
