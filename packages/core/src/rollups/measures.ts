import { type LogColumn, SPEND_LOG_CATALOG } from "../db/logColumns.ts";

/**
 * The measure sets the renderer (render.ts) reads, as data: for each measure, the rollup column that
 * holds it, its value for one raw log, the type both sides agree on, and the aggregate over the union of
 * the two. Every string here is a constant of the code (never input); the renderer splices them as
 * identifiers and expressions.
 *
 * In a raw expression `l` is the log row and, with tags, `e` its tag element (`e.tag`, and `e.n` the
 * number of the log's tags).
 *
 * The measures that sum a log column come from the column catalog (db/logColumns.ts, the columns with a
 * `rollup` flag, in their `rollupPlace` order): a rollup column is one catalog entry (and the migration
 * that adds it to the rollup tables). The counts of requests and errors are not log columns.
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

/** The spend log columns the rollups sum, in the rollup tables' order. */
const ROLLUP_COLUMNS = (SPEND_LOG_CATALOG as readonly LogColumn[])
  .filter((c) => c.rollup !== undefined)
  .sort((a, b) => (a.rollupPlace ?? 0) - (b.rollupPlace ?? 0));

/** A column's value in one raw log (NULL counts 0). */
const rawOf = (column: string) => `coalesce(l.${column}, 0)`;
/** One tag element's share of a raw log's value: each of the request's n tags gets 1/n. */
const split = (raw: string) => `(${raw} / e.n)`;

/**
 * The measures of the catalog's rollup columns, in order: a token column is a count of its own name
 * (`tokenTotal` its aggregate when not the default); the spend column gives `spend(name, raw)`.
 */
const columnMeasures = (
  spend: (name: string, raw: string) => Measure[],
  tokenTotal?: (name: string) => string,
): Measure[] =>
  ROLLUP_COLUMNS.flatMap((c) =>
    c.rollup === "spend"
      ? spend(c.name, rawOf(c.name))
      : [count(c.name, rawOf(c.name), tokenTotal?.(c.name))],
  );

const REQUESTS = count("requests", "1", "coalesce(sum(u.requests::float8), 0)::int8");

export const MEASURE_SETS = {
  /** Spend, requests and tokens of spend logs (rollups: the spend grains). */
  spend: { measures: [REQUESTS, ...columnMeasures((n, raw) => [money(n, n, raw)])] },
  /** The same per tag element, each of a request's n tags getting spend/n (tag_daily.spend_split). */
  spendTagSplit: {
    measures: [REQUESTS, ...columnMeasures((n, raw) => [money(n, `${n}_split`, split(raw))])],
  },
  /** Error logs counted (error_daily). */
  errors: { measures: [count("errors", "1", "coalesce(sum(u.errors::float8), 0)::int8")] },
  /** Per distinct tag of a request: its whole spend and its split share (tag_request_daily). */
  tagRequests: {
    measures: [
      count("requests", "1", "coalesce(sum(u.requests), 0)::int8"),
      ...columnMeasures(
        (n, raw) => [money(n, n, raw), money(`${n}_split`, `${n}_split`, split(raw))],
        (n) => `coalesce(sum(u.${n}), 0)::float8`,
      ),
    ],
  },
} as const satisfies Record<string, MeasureSet>;

export type MeasureSetName = keyof typeof MEASURE_SETS;
