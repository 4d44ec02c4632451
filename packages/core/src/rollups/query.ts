import type { RawBuilder } from "kysely";
import { sql } from "kysely";
import type { Db } from "../db/connect.ts";
import { executeNamed } from "../db/named.ts";
import { type SchemaFacts, schemaFacts } from "../db/schemaFacts.ts";
import type { Scope } from "../scope.ts";
import { executeFolded, foldBeforeRead } from "./fold.ts";
import type { SpendDim } from "./grains.ts";
import {
  type ErrorQuery,
  type ErrorRollupDim,
  type FilterValue,
  type Plan,
  type PlanRequest,
  plan,
  type RollupDim,
  type SpendMeasure,
  type SpendQuery,
  type TagRequestQuery,
} from "./plan.ts";
import { render, renderDayRows } from "./render.ts";

export * from "./plan.ts";
export { filterSql, render, renderDayRows } from "./render.ts";

/**
 * Typed reads over the rollups: each is plan (rollups/plan.ts: which grain, which days, which edges
 * raw, dirty days, the derived-table fallback) + render (rollups/render.ts: the one statement for any
 * measure set) + execute. A query names what it groups by (`dims`), what it filters on, and a half-open
 * UTC window; it never names a table.
 */

export type SpendRow = Partial<Record<RollupDim, string | null>> & Record<SpendMeasure, number>;
export type ErrorRow = Partial<Record<ErrorRollupDim, string | null>> & { errors: number };

export interface TagRequestRow {
  tag: string;
  /** Requests carrying the tag. */
  requests: number;
  /** The whole spend of each of those requests. */
  spend: number;
  /** Each request's spend divided by its number of distinct tags. */
  spend_split: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** A planned statement: the plan that runs and its SQL. */
export interface Planned<R> {
  plan: Plan;
  statement: RawBuilder<R>;
}

/**
 * Plans a request on `db` (its schema facts, probed when it was migrated, unless given) and renders it.
 * Spend-log reads fold pending inserts first (`foldBeforeRead`), so the rollups are current.
 */
export async function planQuery<R = unknown>(
  db: Db,
  req: PlanRequest,
  facts?: SchemaFacts,
): Promise<Planned<R>> {
  // Error logs are not folded (their rollup is kept by triggers): no fold before reading them.
  if (req.kind !== "errors") await foldBeforeRead(db);
  const p = plan(req, facts ?? (await schemaFacts(db)));
  return { plan: p, statement: render<R>(p) };
}

/** The SQL text and bound parameters of a planned statement (`explain`). */
export interface Explained {
  plan: Plan;
  sql: string;
  parameters: readonly unknown[];
}

/** The plan of a request and the SQL (with its parameters) that runs it, without running it. */
export async function explainQuery(db: Db, req: PlanRequest): Promise<Explained> {
  const { plan: p, statement } = await planQuery(db, req);
  return explainStatement(db, p, statement);
}

/** A plan with its statement compiled for `db`'s dialect. */
export function explainStatement(db: Db, p: Plan, statement: RawBuilder<unknown>): Explained {
  const c = statement.compile(db);
  return { plan: p, sql: c.sql, parameters: c.parameters };
}

/**
 * The statement for a spend query, for a caller that wraps it in its own statement and runs that
 * through `executeFolded` (rollups/fold.ts): `statement(guard)` is the query with render's fold check
 * (`guard`, evaluated once wherever the statement sits) or without it, nothing folded here. Columns:
 * the dims in order, then requests (int8), spend, prompt_tokens, completion_tokens, total_tokens (float8).
 */
export async function spendTotalsStatement(
  db: Db,
  scope: Scope,
  q: SpendQuery,
): Promise<(guard: boolean) => RawBuilder<SpendRow>> {
  const p = plan({ kind: "spend", scope, query: q }, await schemaFacts(db));
  return (guard) => render<SpendRow>(p, { guard });
}

/**
 * Spend, requests and tokens grouped by `dims` over a window, from the rollups (see rollups/plan.ts).
 * Scope is applied: an internal user gets only rows whose "user" is theirs.
 */
export async function spendTotals(db: Db, scope: Scope, q: SpendQuery): Promise<SpendRow[]> {
  const p = plan({ kind: "spend", scope, query: q }, await schemaFacts(db));
  return (await executeFolded(db, (guard) => render<SpendRow>(p, { guard }))).rows;
}

/**
 * Error-log counts grouped by `dims` over a window. Error logs carry no user, so only an
 * all-rows scope may read them (LiteLLM's exception reports are admin-only).
 */
export async function errorTotals(db: Db, scope: Scope, q: ErrorQuery): Promise<ErrorRow[]> {
  const { statement } = await planQuery<ErrorRow>(db, { kind: "errors", scope, query: q });
  return (await executeNamed(db, statement)).rows;
}

/**
 * Per-tag totals with the tag reports' semantics: a request counts once for each DISTINCT non-null
 * element of its request_tags array (a non-array is no tags); `spend_split` gives it spend / (its
 * number of distinct tags), `spend` the whole spend. Read like spendTotals: whole UTC days from
 * tag_request_daily (admins) or user_tag_request_daily (an internal user, through its (user, day)
 * index), partial days at the window's edges and dirty days from the raw logs, in one statement.
 */
export async function tagRequestTotals(db: Db, scope: Scope, q: TagRequestQuery): Promise<TagRequestRow[]> {
  const p = plan({ kind: "tagRequests", scope, query: q }, await schemaFacts(db));
  return (await executeFolded(db, (guard) => render<TagRequestRow>(p, { guard }))).rows;
}

// ---- per-day reads (streamed reports) ----

/**
 * The given UTC days ('YYYY-MM-DD', in the order given) with whether each is dirty: rows (day date,
 * dirty boolean). For a per-day read: `WITH days AS MATERIALIZED (…) SELECT … FROM days d CROSS JOIN
 * LATERAL (… spendDayRowsSql(…, sql`d.day`, sql`d.dirty`) …)`: a nested loop over the days, so rows
 * come out day after day and each day's work (a few thousand rollup rows) stays in memory.
 */
export function windowDaysSql(
  days: readonly string[],
  opts: { matchRaw?: boolean } = {},
): RawBuilder<{ day: string; dirty: boolean }> {
  // matchRaw (as SpendQuery.matchRaw): days whose raw logs were deleted while the rollups kept their
  // totals (delete mode `keep`) are read from the raw logs too, so the answer is what the table holds.
  const flag = opts.matchRaw
    ? sql`(rd.dirty_at IS NOT NULL OR rd.raw_deleted)`
    : sql`rd.dirty_at IS NOT NULL`;
  return sql`SELECT w.day, EXISTS (SELECT 1 FROM spendlens.rollup_days rd
      WHERE rd.day = w.day AND ${flag}) AS dirty
    FROM unnest(${[...days]}::date[]) WITH ORDINALITY AS w(day, n) ORDER BY w.n`;
}

/**
 * One UTC day's spend rows, for a per-day read (see windowDaysSql): the rows of the smallest grain
 * covering `dims`, `filters` and the scope when the day is clean, the day's raw logs when it is dirty
 * (so, like spendTotals, always equal to the raw logs). Not aggregated (one grain row or one log per
 * row): the caller groups. `day` (a date) and `dirty` (a boolean) are expressions of the enclosing
 * query. Columns: the dims, then requests, spend, prompt_tokens, completion_tokens, total_tokens.
 */
export async function spendDayRowsSql(...args: DayRowsArgs): Promise<RawBuilder<unknown>> {
  return (await spendDayRowsPlanned(...args)).statement;
}

/** A per-day read: the database, the scope, the dims and filters, and the day's `day` and `dirty` expressions. */
type DayRowsArgs = [
  db: Db,
  scope: Scope,
  q: { dims: readonly SpendDim[]; filters?: Partial<Record<SpendDim, FilterValue>> },
  day: RawBuilder<unknown>,
  dirty: RawBuilder<unknown>,
];

/**
 * spendDayRowsSql with its plan (the plan's window is unbounded: the day is the enclosing query's).
 * Nothing is folded here: a per-day read runs through db/stream.ts (`streamPlanned`), which folds once
 * before its snapshot (a fold per statement built cost a round trip each: four before a /spend/logs
 * summary).
 */
export async function spendDayRowsPlanned(
  ...[db, scope, q, day, dirty]: DayRowsArgs
): Promise<Planned<unknown>> {
  const query: SpendQuery = { window: { from: null, to: null }, dims: q.dims };
  if (q.filters) query.filters = q.filters;
  const p = plan({ kind: "spend", scope, query }, await schemaFacts(db));
  return { plan: p, statement: renderDayRows(p, day, dirty) };
}
