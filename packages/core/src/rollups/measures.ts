/**
 * The measure sets the renderer (render.ts) reads, as data: for each measure, the rollup column that
 * holds it, its value for one raw log, the type both sides agree on, and the aggregate over the union of
 * the two. Every string here is a constant of the code (never input); the renderer splices them as
 * identifiers and expressions.
 *
 * In a raw expression `l` is the log row and, with tags, `e` its tag element (`e.tag`, and `e.n` the
 * number of the log's tags).
 */
export interface Measure {
  name: string;
  /** The rollup tables' column holding the measure. */
  column: string;
  /** The measure of one raw log (before the cast to `type`). */
  raw: string;
  type: "int8" | "float8";
  /** The aggregate over the rows (`u`) of every part. */
  total: string;
}

export interface MeasureSet {
  measures: readonly Measure[];
}

// Counts are summed as float8, not int8: sum(int8) accumulates in numeric, which made a 30-day
// top-keys read ~1.7× slower. Exact while a total stays below 2^53 (9e15 requests or tokens).
const count = (
  name: string,
  raw: string,
  total = `coalesce(sum(u.${name}::float8), 0)::float8`,
): Measure => ({
  name,
  column: name,
  raw,
  type: "int8",
  total,
});
const money = (name: string, column: string, raw: string): Measure => ({
  name,
  column,
  raw,
  type: "float8",
  total: `coalesce(sum(u.${name}), 0)::float8`,
});
const tokens = (total?: (name: string) => string) =>
  ["prompt_tokens", "completion_tokens", "total_tokens"].map((n) =>
    count(n, `coalesce(l.${n}, 0)`, total?.(n)),
  );

const REQUESTS = count("requests", "1", "coalesce(sum(u.requests::float8), 0)::int8");
const SPEND = money("spend", "spend", "coalesce(l.spend, 0)");
const SPLIT = "(coalesce(l.spend, 0) / e.n)";

export const MEASURE_SETS = {
  /** Spend, requests and tokens of spend logs (rollups: the spend grains). */
  spend: { measures: [REQUESTS, SPEND, ...tokens()] },
  /** The same per tag element, each of a request's n tags getting spend/n (tag_daily.spend_split). */
  spendTagSplit: { measures: [REQUESTS, money("spend", "spend_split", SPLIT), ...tokens()] },
  /** Error logs counted (error_daily). */
  errors: { measures: [count("errors", "1", "coalesce(sum(u.errors::float8), 0)::int8")] },
  /** Per distinct tag of a request: its whole spend and its split share (tag_request_daily). */
  tagRequests: {
    measures: [
      count("requests", "1", "coalesce(sum(u.requests), 0)::int8"),
      SPEND,
      money("spend_split", "spend_split", SPLIT),
      ...tokens((n) => `coalesce(sum(u.${n}), 0)::float8`),
    ],
  },
} as const satisfies Record<string, MeasureSet>;

export type MeasureSetName = keyof typeof MEASURE_SETS;
