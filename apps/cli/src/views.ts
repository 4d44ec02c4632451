import { readFileSync } from "node:fs";
import type {
  BudgetStatus,
  DailySpendRow,
  DeploymentExceptions,
  GlobalActivity,
  IngestResult,
  KeyRow,
  LogsPage,
  ModelGroupActivity,
  ProviderBudgetsResponse,
  SpendAnalyticsPaginatedResponse,
  SpendCalculation,
  SpendLogRow,
  SpendLogsPage,
  SpendLogsResult,
  TagNames,
  TeamSpendResult,
  UserRow,
} from "@spendlens/core";
import { renderBudgets } from "./budgetsView.ts";
import { dailyChart, perDay } from "./charts.ts";
import { render } from "./output.ts";
import { flattenSpendReport, streamSpendReport } from "./spendReport.ts";
import type { RowStream } from "./stream.ts";
import type { StreamSource } from "./target.ts";

/**
 * How some named commands print their answer: presentation only. Every command, its options and
 * their checks come from the procedure (derive.ts); a procedure with no entry here prints its answer as
 * it is (a table, `--json`, `--csv`).
 */
export interface Presentation {
  /** Shapes the answer before it is printed (e.g. choosing the table to show). Default: as is. */
  view?: (out: any) => unknown;
  /** The default (table) format drawn instead of a table, e.g. bars and charts. --json/--csv stay plain. */
  picture?: (out: any) => string;
  /**
   * For big answers: the rows `view` would give, streamed (printed as they come with --json and --csv;
   * see stream.ts). Null: this input is answered whole through the procedure (also how errors are
   * reported, so they read the same as every other command's).
   */
  streamRows?: (src: StreamSource, input: Record<string, unknown>) => Promise<RowStream | null>;
  /**
   * An input field read differently from the derived option (`--<field> <value>`, JSON for objects):
   * its own flag and how the value becomes the field.
   */
  options?: Record<string, { flags: string; description: string; parse: (value: string) => unknown }>;
}

/**
 * Reads log rows from a file (`-` for stdin): a JSON array of rows, `{"logs": [...]}`, or NDJSON (one
 * row per line). One call takes at most 1000 rows; split larger files.
 */
export function readRows(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const trimmed = text.trim();
  if (!trimmed) throw new Error(`${path} is empty`);
  try {
    const v = JSON.parse(trimmed) as unknown;
    if (Array.isArray(v)) return v;
    if (v && typeof v === "object" && Array.isArray((v as { logs?: unknown }).logs)) {
      return (v as { logs: unknown[] }).logs;
    }
    return [v];
  } catch {
    return trimmed.split(/\r?\n/).flatMap((line, i) => {
      if (!line.trim()) return [];
      try {
        return [JSON.parse(line) as unknown];
      } catch {
        throw new Error(`${path}: line ${i + 1} is not valid JSON`);
      }
    });
  }
}

/** A JSON value given inline, or `@file` to read it from a file (`@-` for stdin). */
export function jsonArg(what: string) {
  return (v: string): unknown => {
    let text = v;
    if (v.startsWith("@")) {
      const path = v.slice(1);
      try {
        text = readFileSync(path === "-" ? 0 : path, "utf8");
      } catch (e) {
        throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error(`${what} is not valid JSON`);
    }
  };
}

const pick = <T extends Record<string, unknown>>(row: T, cols: readonly string[]) =>
  Object.fromEntries(cols.map((c) => [c, row[c] ?? null]));

/** The columns a table shows; `--json` (or `spendlens call …`) gives whole rows. */
const KEY_COLUMNS = [
  "token",
  "key_alias",
  "key_name",
  "user_id",
  "team_id",
  "spend",
  "max_budget",
  "expires",
  "blocked",
];
const USER_COLUMNS = ["user_id", "user_alias", "user_email", "user_role", "team_id", "spend", "max_budget"];
const LOG_COLUMNS = [
  "request_id",
  "startTime",
  "api_key",
  "user",
  "team_id",
  "end_user",
  "model",
  "spend",
  "total_tokens",
];
const brief = (r: SpendLogRow) => pick(r, LOG_COLUMNS);
const logsPage = (o: SpendLogsPage | LogsPage) => ({ ...o, data: o.data.map(brief) });

/** Chart rows for a count series: one per whole number up to 8, so no two rows share a label. */
const countHeight = (values: number[]) =>
  Math.max(1, Math.min(8, Math.max(0, ...values) - Math.min(...values, Number.POSITIVE_INFINITY)));

/** One table row per date: its metrics (`--json` gives the whole answer, breakdowns included). */
const perDate = (o: SpendAnalyticsPaginatedResponse) =>
  o.results.map((r) => ({ date: r.date, ...r.metrics }));
const resultsOf = (o: { results: unknown[] }) => o.results;

/** Ingest, for the table: the counts as a summary, and one row per request that was not inserted. */
function ingestView(
  o: IngestResult & { spend_added?: number; provider_spend_added?: Record<string, number> },
) {
  const problems = [
    ...o.duplicates.map((id) => ({ index: null, request_id: id, status: "duplicate", detail: "" })),
    ...o.conflicts.map((c) => ({
      index: null,
      request_id: c.request_id,
      status: "conflict",
      detail: `differs in ${c.fields.join(", ")}`,
    })),
    ...o.invalid.map((x) => ({
      index: x.index,
      request_id: x.request_id,
      status: "invalid",
      detail: x.reason,
    })),
  ];
  return {
    received: o.received,
    inserted: o.inserted,
    duplicates: o.duplicates.length,
    conflicts: o.conflicts.length,
    invalid: o.invalid.length,
    ...(o.spend_added !== undefined ? { spend_added: o.spend_added } : {}),
    ...(o.provider_spend_added && Object.keys(o.provider_spend_added).length
      ? { provider_spend_added: o.provider_spend_added }
      : {}),
    not_inserted: problems,
  };
}
const ingest: Presentation = {
  view: ingestView,
  options: {
    logs: {
      flags: "--file <path>",
      description: 'rows: a JSON array, {"logs": [...]}, or NDJSON; - for stdin (at most 1000 rows)',
      parse: readRows,
    },
  },
};

/** Pricing, for the table: one row per part of the bill; cost and where the price came from as the summary. */
function pricingView(o: SpendCalculation) {
  const t = o.tokens;
  return {
    cost: o.cost,
    price_source: o.price_source,
    price_entry: `${o.price_entry.provider}/${o.price_entry.model}`,
    ...(t.tokenizer ? { tokenizer: `${t.tokenizer}${t.tokenizer_exact ? "" : " (approximate)"}` } : {}),
    parts: [
      {
        part: "input",
        tokens: t.prompt_tokens - t.cache_read_tokens - t.cache_write_tokens,
        usd: o.breakdown.input,
      },
      { part: "cache_read", tokens: t.cache_read_tokens, usd: o.breakdown.cache_read },
      { part: "cache_write", tokens: t.cache_write_tokens, usd: o.breakdown.cache_write },
      { part: "output", tokens: t.completion_tokens, usd: o.breakdown.output },
      ...(o.breakdown.other ? [{ part: "other", tokens: null, usd: o.breakdown.other }] : []),
    ],
  };
}

const DAILY_ACTIVITY = [
  "user",
  "userAggregated",
  "team",
  "organization",
  "customer",
  "endUser",
  "agent",
  "tag",
];
const TAG_RESULTS = ["dau", "wau", "mau", "summary", "distinct", "perUser"];

/** Presentation by procedure path. */
export const PRESENTATION: Record<string, Presentation> = {
  "spend.spendKeys": { view: (o: KeyRow[]) => o.map((r) => pick(r, KEY_COLUMNS)) },
  "spend.spendUsers": { view: (o: UserRow[]) => o.map((r) => pick(r, USER_COLUMNS)) },
  // The table, then spend per day drawn as a chart.
  "spend.globalSpendLogs": {
    picture: (o: DailySpendRow[]) =>
      `${render(o, "table")}\n${dailyChart(
        "spend per day",
        perDay(o, (r) => r.spend),
      )}`,
  },
  // One row per day, one column per team; `call spend.globalSpendTeams` adds the top-10 totals.
  "spend.globalSpendTeams": { view: (o: TeamSpendResult) => o.daily_spend },
  "spend.globalAllEndUsers": {
    view: (o: { end_users: string[] }) => o.end_users.map((end_user) => ({ end_user })),
  },
  // The table, then requests per day drawn as a chart.
  "activity.globalActivity": {
    picture: (o: GlobalActivity) =>
      `${render(o, "table")}\n${dailyChart(
        "api requests per day",
        o.daily_data.map((d) => ({ date: d.date, value: d.api_requests })),
        countHeight(o.daily_data.map((d) => d.api_requests)),
        (x) => String(Math.round(x)),
      )}`,
  },
  // One row per model group and day; `call activity.globalActivityModel` gives the nested answer.
  "activity.globalActivityModel": {
    view: (o: ModelGroupActivity[]) => o.flatMap((g) => g.daily_data.map((d) => ({ model: g.model, ...d }))),
  },
  "activity.globalActivityExceptionsDeployment": {
    view: (o: DeploymentExceptions[]) =>
      o.flatMap((g) => g.daily_data.map((d) => ({ api_base: g.api_base, ...d }))),
  },
  ...Object.fromEntries(DAILY_ACTIVITY.map((p) => [`dailyActivity.${p}`, { view: perDate }])),
  // One row per leaf; `call reports.spendReport` gives the nested answer.
  "reports.spendReport": { view: flattenSpendReport, streamRows: streamSpendReport },
  ...Object.fromEntries(TAG_RESULTS.map((p) => [`tagAnalytics.${p}`, { view: resultsOf }])),
  "tags.allTagNames": { view: (o: TagNames) => o.tag_names.map((tag) => ({ tag })) },
  "logs.spendLogsUi": { view: logsPage },
  "logs.spendLogsV2": { view: logsPage },
  "logs.spendLogsSession": { view: logsPage },
  "logs.page": { view: logsPage },
  "logs.spendLogs": {
    view: (o: SpendLogsResult) =>
      o.mode === "summary" ? o.days : { data: o.data.map(brief), truncated: o.truncated, limit: o.limit },
  },
  // --csv: one row per budget and day of its daily series (flattened as REST ?format=csv); --json: as it is.
  "budgets.budgetStatus": { picture: (o: { budgets: BudgetStatus[] }) => renderBudgets(o) },
  // The table shows each event's message; --json and --csv keep the whole payload.
  "budgets.budgetAlerts": {
    picture: (o: { alerts: Record<string, unknown>[] }) =>
      render(
        o.alerts.map(({ payload, idempotency_key: _key, ...r }) => ({
          ...r,
          event_message: (payload as { event_message?: string }).event_message,
        })),
        "table",
      ),
  },
  // One row per provider (the API answers an object keyed by provider, as the original).
  "budgets.providerBudgets": {
    view: (o: ProviderBudgetsResponse) =>
      Object.entries(o.providers).map(([provider, b]) => ({ provider, ...b })),
  },
  "ingest.spendLogs": ingest,
  "ingest.errorLogs": ingest,
  "pricing.spendCalculate": { view: pricingView },
};
