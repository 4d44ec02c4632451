/**
 * The rollup grains: which daily tables spendlens keeps, and which dimensions each one groups by.
 *
 * FROZEN as version 1: migration 0003_rollups (db/migrations/0003_rollups.sql) creates exactly these
 * tables, triggers and functions. Changing a grain means a new migration that creates a new table; never
 * edit these.
 *
 * Every table lives in schema `spendlens`, is keyed by (day, key_hash) where key_hash is the sha256 of
 * the row's dimension values (`ROW(dims)::text`, which tells NULL from ''), and holds additive measures
 * only, so any coarser answer is a plain SUM over its rows.
 */

/** Dimensions of a spend log that rollups group by (column names as in "LiteLLM_SpendLogs"). */
export const SPEND_DIMS = [
  "api_key",
  "user",
  "team_id",
  "organization_id",
  "end_user",
  "model",
  "model_group",
  "model_id",
  "custom_llm_provider",
  "api_base",
] as const;
export type SpendDim = (typeof SPEND_DIMS)[number];

/** Dimensions of an error log ("LiteLLM_ErrorLogs"). */
export const ERROR_DIMS = ["model_group", "api_base", "model_id", "status_code", "exception_type"] as const;
export type ErrorDim = (typeof ERROR_DIMS)[number];

export interface SpendGrain {
  kind: "spend";
  table: string;
  dims: readonly SpendDim[];
  /** Extra btree indexes, each on (col, day). The primary key (day, key_hash) serves window scans. */
  indexes: readonly SpendDim[][];
}

export interface TagGrain {
  kind: "tag";
  table: string;
  /** Dimensions besides `tag`. */
  dims: readonly SpendDim[];
  indexes: readonly SpendDim[][];
}

export interface ErrorGrain {
  kind: "error";
  table: string;
  dims: readonly ErrorDim[];
}

/**
 * Spend grains, smallest first: a query uses the first grain whose dimensions cover everything it
 * groups by, filters on, or is scoped to. Rows on the 1M-log demo (90 days): model_daily ~1.1k,
 * team_daily ~2.3k, key_daily ~115k, detail_daily ~189k. An internal user's query (scope user) reads
 * its own rows through the (user, day) index of key_daily or detail_daily.
 */
export const SPEND_GRAINS_V1: readonly SpendGrain[] = [
  {
    kind: "spend",
    table: "model_daily",
    dims: ["model_group", "model", "model_id", "custom_llm_provider", "api_base"],
    indexes: [],
  },
  { kind: "spend", table: "team_daily", dims: ["team_id", "organization_id"], indexes: [] },
  {
    kind: "spend",
    table: "key_daily",
    dims: ["api_key", "user", "team_id", "organization_id"],
    indexes: [["user"], ["api_key"]],
  },
  {
    kind: "spend",
    table: "detail_daily",
    dims: SPEND_DIMS,
    indexes: [["user"], ["api_key"]],
  },
];

/** Per-tag grains. A request's tags are the elements of its request_tags array (a non-array is no tags). */
export const TAG_GRAINS_V1: readonly TagGrain[] = [
  { kind: "tag", table: "tag_daily", dims: [], indexes: [] },
];

export const ERROR_GRAIN_V1: ErrorGrain = { kind: "error", table: "error_daily", dims: ERROR_DIMS };

/**
 * A rollup table derived from a version-1 one (migration 0005, db/migrations/0005_derived_rollups.sql): kept equal to
 * `SELECT period(day), dims, sum(measures) FROM source GROUP BY …` by statement triggers on the source,
 * so it is exactly as fresh and as exact as the source, dirty days included.
 */
export interface DerivedGrain {
  table: string;
  source: "detail_daily" | "key_daily";
  dims: readonly SpendDim[];
  /** `day` (column "day") or `week` (column "week": the Monday of the ISO week, UTC). */
  period: "day" | "week";
  /** Extra btree indexes, each on (col, period column). */
  indexes: readonly SpendDim[][];
}

/**
 * Spend per (day, end_user), derived from detail_daily: ~400 rows a day in the demo whatever the number
 * of logs, where detail_daily has a row per key × model × end user. The (end_user, day) index lets
 * "every end user ever" skip-scan (rollups/distinct.ts).
 */
export const END_USER_DAILY: DerivedGrain = {
  table: "end_user_daily",
  source: "detail_daily",
  dims: ["end_user"],
  period: "day",
  indexes: [["end_user"]],
};

/**
 * key_daily per ISO week: whole weeks of an admin's unfiltered per-key read (top keys over 30 days)
 * come from here, the days at the ends from key_daily (rollups/query.ts).
 */
export const KEY_WEEKLY: DerivedGrain = {
  table: "key_weekly",
  source: "key_daily",
  dims: ["api_key", "user", "team_id", "organization_id"],
  period: "week",
  indexes: [],
};

export const DERIVED_GRAINS: readonly DerivedGrain[] = [END_USER_DAILY, KEY_WEEKLY];

/** end_user_daily as a spend grain the query planner may choose (its period is the day). */
export const END_USER_GRAIN: SpendGrain = {
  kind: "spend",
  table: END_USER_DAILY.table,
  dims: END_USER_DAILY.dims,
  indexes: END_USER_DAILY.indexes,
};

/** The grains queries choose from, smallest first: version 1 plus end_user_daily (0005). */
export const SPEND_GRAINS: readonly SpendGrain[] = [
  SPEND_GRAINS_V1[0]!, // model_daily
  SPEND_GRAINS_V1[1]!, // team_daily
  END_USER_GRAIN,
  ...SPEND_GRAINS_V1.slice(2), // key_daily, detail_daily
];
export const TAG_GRAINS = TAG_GRAINS_V1;
export const ERROR_GRAIN = ERROR_GRAIN_V1;

/**
 * The per-request tag grains of migration 0004 (db/migrations/0004_tag_request_rollups.sql): a request
 * counts once for each DISTINCT non-null element of its request_tags array, its split spend is spend /
 * that count; per (day, tag) for admins and per (day, user, tag) for an internal user.
 */
export const TAG_REQUEST_TABLE = "tag_request_daily";
export const USER_TAG_REQUEST_TABLE = "user_tag_request_daily";

/** The triggers migration 0004 adds to "LiteLLM_SpendLogs" (rollupStatus checks them once it ran). */
export const TRIGGERS_V2 = ["insert", "update", "delete", "truncate"].map(
  (e) => `LiteLLM_SpendLogs.spendlens_rollup_v2_${e}`,
);

/** Additive measures of spend grains. */
export const SPEND_MEASURES = [
  "requests",
  "spend",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
] as const;
/** Additive measures of tag grains: `spend` is the full spend of each tagged request, `spend_split` its share. */
export const TAG_MEASURES = [
  "requests",
  "spend",
  "spend_split",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
] as const;

/** Quotes an identifier from the lists above (never from input). */
export const ident = (name: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not an allowed identifier: ${name}`);
  return `"${name}"`;
};
