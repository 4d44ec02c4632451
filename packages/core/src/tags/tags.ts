import { z } from "zod";
import type { Db } from "../db/connect.ts";
import { dayRangeShape } from "../reports/sqlParts.ts";
import { tagRequestTotals } from "../rollups/query.ts";
import type { Scope } from "../scope.ts";
import { checkDayRange, dayWindow, type Window, zDay } from "../validation.ts";

/**
 * Request tags: GET /spend/tags, /global/spend/all_tag_names and /global/spend/tags.
 *
 * A log's tags are the distinct non-null elements of its request_tags when that is a JSON array; any
 * other value (old rows hold strings, objects or null) means no tags, never an error.
 *
 * Attribution: `split` (default) divides a request's spend evenly over its tags, so the tag totals
 * add up to the spend of tagged requests; `full` gives each tag the whole spend of every request
 * carrying it (the original's figures, which count a multi-tag request once per tag).
 */

export const TAG_ATTRIBUTIONS = ["split", "full"] as const;
export type TagAttribution = (typeof TAG_ATTRIBUTIONS)[number];

const zAttribution = z.preprocess(
  (v) => (v === "" || v === null ? undefined : v),
  z.enum(TAG_ATTRIBUTIONS, { error: "must be split or full" }).default("split"),
);

/** The original's `tags`: comma separated (or a list); `all-tags` anywhere, or nothing, means every tag. */
const zTagList = z.preprocess(
  (v) => (typeof v === "string" ? v.split(",") : v),
  z
    .array(z.string({ error: "must be text" }).max(256, "each tag must be at most 256 characters"), {
      error: "must be comma separated tags",
    })
    .max(200, "at most 200 tags")
    .optional(),
);

/** The tags a filter names (trimmed, non-empty), or null for every tag. */
export function tagFilterOf(tags: string[] | undefined): string[] | null {
  if (!tags) return null;
  const list = [...new Set(tags.map((t) => t.trim()).filter(Boolean))];
  if (list.length === 0 || list.includes("all-tags")) return null;
  return list;
}

// ---------- inputs ----------

/** GET /spend/tags: both dates or neither (all time). */
export const spendTagsInput = z
  .object({
    start_date: zDay.optional(),
    end_date: zDay.optional(),
    attribution: zAttribution,
  })
  .superRefine((v, ctx) => {
    if ((v.start_date === undefined) !== (v.end_date === undefined)) {
      const missing = v.start_date === undefined ? "start_date" : "end_date";
      ctx.addIssue({
        code: "custom",
        path: [missing],
        message: "is required when the other date is given (give both or neither)",
      });
    }
    checkDayRange(v, ctx);
  });
export type SpendTagsInput = z.input<typeof spendTagsInput>;

export const globalSpendTagsInput = z
  .object({ ...dayRangeShape, tags: zTagList, attribution: zAttribution })
  .superRefine(checkDayRange);
export type GlobalSpendTagsInput = z.input<typeof globalSpendTagsInput>;

// ---------- outputs ----------

/** GET /spend/tags rows, in the original's field names. */
export interface TagSpendRow {
  individual_request_tag: string;
  log_count: number;
  total_spend: number;
}

export interface TagNames {
  tag_names: string[];
}

export interface TagSpend {
  name: string;
  spend: number;
  log_count: number;
}

export interface GlobalSpendTags {
  spend_per_tag: TagSpend[];
}

// ---------- queries ----------

export interface TagTotalsRow {
  tag: string;
  /** Requests carrying the tag. */
  log_count: number;
  /** Each request's spend divided by its number of tags. */
  split_spend: number;
  /** Each request's whole spend. */
  full_spend: number;
}

/**
 * Per tag: request count, split and full spend over the caller's logs in the window (null: all time).
 * From the per-request tag rollups (migration 0004: tag_request_daily, or user_tag_request_daily for
 * an internal user), dirty days from the raw logs, through `tagRequestTotals`.
 */
export async function tagTotalsRows(
  db: Db,
  scope: Scope,
  w: Window | null,
  only: string[] | null,
): Promise<TagTotalsRow[]> {
  const rows = await tagRequestTotals(db, scope, {
    window: w ? { from: w.from, to: w.to } : { from: null, to: null },
    tags: only,
  });
  return rows.map((r) => ({
    tag: r.tag,
    log_count: r.requests,
    split_spend: r.spend_split,
    full_spend: r.spend,
  }));
}

/**
 * Every distinct tag of the caller's logs, sorted (all time): the tags of the per-request tag rollups
 * (the caller's own for an internal user).
 */
export async function tagNamesRows(db: Db, scope: Scope): Promise<string[]> {
  const rows = await tagRequestTotals(db, scope, { window: { from: null, to: null } });
  return rows.map((r) => r.tag);
}

// ---------- shaping ----------

const spendOf = (r: TagTotalsRow, a: TagAttribution) => (a === "split" ? r.split_spend : r.full_spend);

/** Highest spend first, ties by tag name. */
function sortedTotals(rows: TagTotalsRow[], a: TagAttribution): TagTotalsRow[] {
  return [...rows].sort((x, y) => spendOf(y, a) - spendOf(x, a) || (x.tag < y.tag ? -1 : 1));
}

export const shapeSpendTags = (rows: TagTotalsRow[], a: TagAttribution): TagSpendRow[] =>
  sortedTotals(rows, a).map((r) => ({
    individual_request_tag: r.tag,
    log_count: r.log_count,
    total_spend: spendOf(r, a),
  }));

export const shapeGlobalSpendTags = (rows: TagTotalsRow[], a: TagAttribution): GlobalSpendTags => ({
  spend_per_tag: sortedTotals(rows, a).map((r) => ({
    name: r.tag,
    spend: spendOf(r, a),
    log_count: r.log_count,
  })),
});

// ---------- reports ----------

/** GET /spend/tags: spend and request count per tag, over all time or a date range. */
export async function spendTags(db: Db, scope: Scope, raw: SpendTagsInput): Promise<TagSpendRow[]> {
  const input = spendTagsInput.parse(raw);
  const w = input.start_date && input.end_date ? dayWindow(input.start_date, input.end_date) : null;
  return shapeSpendTags(await tagTotalsRows(db, scope, w, null), input.attribution);
}

/** GET /global/spend/all_tag_names. */
export async function allTagNames(db: Db, scope: Scope): Promise<TagNames> {
  return { tag_names: await tagNamesRows(db, scope) };
}

/** GET /global/spend/tags: spend and request count per tag in a date range, optionally for some tags. */
export async function globalSpendTags(
  db: Db,
  scope: Scope,
  raw: GlobalSpendTagsInput,
): Promise<GlobalSpendTags> {
  const input = globalSpendTagsInput.parse(raw);
  const rows = await tagTotalsRows(
    db,
    scope,
    dayWindow(input.start_date, input.end_date),
    tagFilterOf(input.tags),
  );
  return shapeGlobalSpendTags(rows, input.attribution);
}
