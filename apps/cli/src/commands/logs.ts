import type { SpendLogRow, SpendLogsPage, SpendLogsResult } from "@spendlens/core";
import type { OptionSpec, ReportCommand } from "./types.ts";

/** The columns a logs table shows; --json (or `spendlens call logs.spendLogsUi '<json>'`) gives whole rows. */
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
export const brief = (r: SpendLogRow) => Object.fromEntries(LOG_COLUMNS.map((c) => [c, r[c] ?? null]));

const filters: OptionSpec[] = [
  { flags: "--api-key <key>", description: "one key: raw sk-… (hashed) or its hash" },
  { flags: "--user-id <id>", description: "one user" },
  { flags: "--request-id <id>", description: "one request" },
];

/** The filters and sort the current LiteLLM Logs page sends. */
const uiFilters: OptionSpec[] = [
  { flags: "--status-filter <status>", description: "success (every status but failure) or failure" },
  { flags: "--model <model>", description: "one model" },
  { flags: "--model-id <id>", description: "one deployment id" },
  { flags: "--key-alias <alias>", description: "the key alias in the log's metadata" },
  { flags: "--end-user <id>", description: "one end user" },
  { flags: "--error-code <code>", description: "the error code in the log's metadata" },
  { flags: "--sort-by <column>", description: "startTime (default), endTime, spend, total_tokens, …" },
  { flags: "--sort-order <order>", description: "desc (default) or asc" },
];

export const logsCommands: ReportCommand[] = [
  {
    name: "spend-logs-ui",
    procedure: "logs.spendLogsUi",
    summary:
      "Spend logs between two UTC datetimes, filtered and paginated, newest first (GET /spend/logs/ui)",
    options: [
      { flags: "--start-date <datetime>", description: "'YYYY-MM-DD HH:MM:SS' UTC, included (required)" },
      { flags: "--end-date <datetime>", description: "'YYYY-MM-DD HH:MM:SS' UTC, included (required)" },
      ...filters,
      { flags: "--team-id <id>", description: "one team" },
      { flags: "--min-spend <usd>", description: "spend at least this" },
      { flags: "--max-spend <usd>", description: "spend at most this" },
      { flags: "--page <n>", description: "page, from 1 (default 1)" },
      { flags: "--page-size <n>", description: "rows per page, 1..100 (default 50)" },
      ...uiFilters,
    ],
    view: (o: SpendLogsPage) => ({ ...o, data: o.data.map(brief) }),
  },
  {
    name: "spend-logs-v2",
    procedure: "logs.spendLogsV2",
    summary: "As spend-logs-ui, with --start-date/--end-date as days or datetimes (GET /spend/logs/v2)",
    options: [
      { flags: "--start-date <day>", description: "YYYY-MM-DD (from its midnight) or a datetime (required)" },
      { flags: "--end-date <day>", description: "YYYY-MM-DD (included whole) or a datetime (required)" },
      ...filters,
      { flags: "--team-id <id>", description: "one team" },
      { flags: "--page <n>", description: "page, from 1 (default 1)" },
      { flags: "--page-size <n>", description: "rows per page, 1..100 (default 50)" },
      ...uiFilters,
    ],
    view: (o: SpendLogsPage) => ({ ...o, data: o.data.map(brief) }),
  },
  {
    name: "spend-log",
    procedure: "logs.spendLogDetail",
    summary: "One spend log with its payload (GET /spend/logs/ui/{request_id})",
    args: [{ name: "request_id", field: "request_id", description: "the request id" }],
  },
  {
    name: "spend-logs-session",
    procedure: "logs.spendLogsSession",
    summary: "A session's spend logs, oldest first, paginated (GET /spend/logs/session/ui)",
    args: [{ name: "session_id", field: "session_id", description: "the session id" }],
    options: [
      { flags: "--page <n>", description: "page, from 1 (default 1)" },
      { flags: "--page-size <n>", description: "rows per page, 1..100 (default 50)" },
    ],
    view: (o: SpendLogsPage) => ({ ...o, data: o.data.map(brief) }),
  },
  {
    name: "spend-logs",
    procedure: "logs.spendLogs",
    summary:
      "Spend logs by key / user / request (newest 1000 at most), or with --start-date and --end-date a per-day summary (GET /spend/logs)",
    options: [
      ...filters,
      { flags: "--start-date <day>", description: "summary from this day, YYYY-MM-DD (UTC)" },
      { flags: "--end-date <day>", description: "summary to this day, included whole" },
      { flags: "--summarize <bool>", description: "false: the logs of those days instead of the summary" },
    ],
    view: (o: SpendLogsResult) =>
      o.mode === "summary" ? o.days : { data: o.data.map(brief), truncated: o.truncated, limit: o.limit },
  },
];
