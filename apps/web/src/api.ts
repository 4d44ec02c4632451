import type { AppRouter } from "@spendlens/api";
import { QueryCache, QueryClient, queryOptions } from "@tanstack/react-query";
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";

export type Inputs = inferRouterInputs<AppRouter>;
export type Outputs = inferRouterOutputs<AppRouter>;
export type AnalyticsInput = Inputs["analytics"]["query"];
export type AnalyticsAnswer = Outputs["analytics"]["query"];
export type AnalyticsRow = AnalyticsAnswer["rows"][number];
export type LogsPageInput = Inputs["logs"]["page"];
export type LogRow = Outputs["logs"]["page"]["data"][number];
export type Whoami = Outputs["auth"]["whoami"];

const KEY_STORE = "spendlens.key";

/** The key lives in this tab's sessionStorage only; the server never sets a cookie. */
export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_STORE);
}
export function storeKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_STORE, key);
  else sessionStorage.removeItem(KEY_STORE);
}

export type Client = ReturnType<typeof makeClient>;

/**
 * The typed client: one HTTP request per query (TanStack Query dedupes and caches them). Not batched:
 * the server admits at most one heavy procedure per tRPC batch (each heavy query takes one of a bounded
 * number of slots; apps/server/src/limits.ts), and most of a page's panels are heavy analytics queries.
 */
export function makeClient(key: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: "/trpc",
        headers: () => ({ authorization: `Bearer ${key}` }),
      }),
    ],
  });
}

export function httpStatusOf(e: unknown): number | null {
  if (e instanceof TRPCClientError) {
    const s = (e.data as { httpStatus?: number } | undefined)?.httpStatus;
    return typeof s === "number" ? s : null;
  }
  return null;
}

/** One line for a failed panel: what went wrong, without a stack. */
export function errorText(e: unknown): string {
  const status = httpStatusOf(e);
  const msg = e instanceof Error ? e.message : String(e);
  if (status === 503) return "The database is unavailable right now; try again shortly.";
  if (status === 504) return "The query took too long; try a shorter date range.";
  if (status === null && /fetch|network/i.test(msg)) return "The server cannot be reached.";
  return msg;
}

export function makeQueryClient(onUnauthorized: () => void) {
  return new QueryClient({
    queryCache: new QueryCache({
      // A key revoked while signed in: back to the sign-in form, with one message (not one per panel).
      onError: (e) => {
        if (httpStatusOf(e) === 401) onUnauthorized();
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 60_000,
        retry: (n, e) => {
          const s = httpStatusOf(e);
          return s !== null && s >= 400 && s < 500 ? false : n < 1;
        },
        refetchOnWindowFocus: false,
      },
    },
  });
}

/** The flexible analytics procedure: every chart and list of the dashboard is one of these. */
export const analyticsOptions = (client: Client, input: AnalyticsInput, enabled = true) =>
  queryOptions({
    queryKey: ["analytics.query", input],
    queryFn: () => client.analytics.query.query(input),
    enabled,
  });

export const logsPageOptions = (client: Client, input: LogsPageInput) =>
  queryOptions({
    queryKey: ["logs.page", input],
    queryFn: () => client.logs.page.query(input),
  });

export const spendKeysOptions = (client: Client) =>
  queryOptions({ queryKey: ["spend.spendKeys"], queryFn: () => client.spend.spendKeys.query() });

export const providerBudgetsOptions = (client: Client) =>
  queryOptions({
    queryKey: ["budgets.providerBudgets"],
    queryFn: () => client.budgets.providerBudgets.query(),
  });

/** Every team the caller may list with its alias: one call shared by every cell that shows a team. */
export const teamListOptions = (client: Client) =>
  queryOptions({ queryKey: ["spend.teamList"], queryFn: () => client.spend.teamList.query() });

export type BudgetStatusRow = Outputs["budgets"]["budgetStatus"]["budgets"][number];
export const budgetStatusOptions = (client: Client) =>
  queryOptions({
    queryKey: ["budgets.budgetStatus"],
    queryFn: () => client.budgets.budgetStatus.query(),
  });

export type FailuresInput = Inputs["activity"]["failures"];
export type FailuresAnswer = Outputs["activity"]["failures"];
export type FailuresRow = FailuresAnswer["rows"][number];
/** Requests, successes and failures per UTC day, model group and model (LiteLLM's daily-activity counts). */
export const failuresOptions = (client: Client, input: FailuresInput) =>
  queryOptions({
    queryKey: ["activity.failures", input],
    queryFn: () => client.activity.failures.query(input),
  });

/** The analytics procedure's dimensions and buckets (its input type takes any list: REST sends strings). */
export type DimName =
  | "api_key"
  | "user"
  | "team"
  | "organization"
  | "end_user"
  | "model"
  | "model_group"
  | "provider"
  | "tag"
  | "api_base"
  | "hour"
  | "day"
  | "week"
  | "month";
