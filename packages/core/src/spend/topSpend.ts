import { sql } from "kysely";
import { z } from "zod";
import { now } from "../clock.ts";
import type { Db } from "../db/connect.ts";
import { spendTotals } from "../rollups/query.ts";
import type { Scope } from "../scope.ts";
import { last30DaysFrom, zInt } from "../validation.ts";

export const MAX_TOP_LIMIT = 1000;

/** GET /global/spend/keys?limit: 1..1000, absent = every key. */
export const globalSpendKeysInput = z.object({ limit: zInt(1, MAX_TOP_LIMIT).optional() }).optional();
export type GlobalSpendKeysInput = z.output<typeof globalSpendKeysInput>;

/** A row of the original's Last30dKeysBySpend view. */
export interface KeySpendRow {
  api_key: string;
  key_alias: string | null;
  key_name: string | null;
  total_spend: number;
}

/**
 * GET /global/spend/keys: keys by spend since UTC midnight 30 days ago, highest first, with the key's
 * alias and name (null when the key is not in LiteLLM_VerificationToken). Internal users: the keys of
 * their own logs.
 */
export async function globalSpendKeys(
  db: Db,
  scope: Scope,
  input: GlobalSpendKeysInput,
): Promise<KeySpendRow[]> {
  const limit = input?.limit;
  const top = await spendTotals(db, scope, {
    window: { from: last30DaysFrom(now()), to: null },
    dims: ["api_key"],
    orderBy: [{ by: "spend", desc: true }, { by: "api_key" }],
    ...(limit !== undefined ? { limit } : {}),
  });
  // Names joined after aggregation: one lookup for the (at most `limit`) keys.
  const keys = top.map((r) => r.api_key).filter((k): k is string => k != null);
  const names = new Map<string, { key_alias: string | null; key_name: string | null }>();
  if (keys.length) {
    const v = await db
      .selectFrom("LiteLLM_VerificationToken")
      .select(["token", "key_alias", "key_name"])
      .where("token", "=", sql<string>`ANY(${keys}::text[])`)
      .execute();
    for (const r of v) names.set(r.token, { key_alias: r.key_alias ?? null, key_name: r.key_name ?? null });
  }
  return top.map((r) => {
    const n = r.api_key != null ? names.get(r.api_key) : undefined;
    return {
      api_key: r.api_key as string,
      key_alias: n?.key_alias ?? null,
      key_name: n?.key_name ?? null,
      total_spend: r.spend,
    };
  });
}

/** GET /global/spend/models?limit: 1..1000, default 10. */
export const globalSpendModelsInput = z.object({ limit: zInt(1, MAX_TOP_LIMIT).default(10) }).optional();
export type GlobalSpendModelsInput = z.output<typeof globalSpendModelsInput>;

/** A row of the original's Last30dModelsBySpend view, with the tokens its internal-user branch adds. */
export interface ModelSpendRow {
  model: string;
  total_spend: number;
  total_tokens: number;
}

/**
 * GET /global/spend/models: models by spend since UTC midnight 30 days ago (logs with an empty model are
 * left out, as the view does), highest first, top `limit`. Internal users: their own logs.
 */
export async function globalSpendModels(
  db: Db,
  scope: Scope,
  input: GlobalSpendModelsInput,
): Promise<ModelSpendRow[]> {
  // Every model's total in the database's order (few rows: one per model), then the view's
  // `model <> ''` (which also leaves out NULL) and the limit.
  const rows = await spendTotals(db, scope, {
    window: { from: last30DaysFrom(now()), to: null },
    dims: ["model"],
    orderBy: [{ by: "spend", desc: true }, { by: "model" }],
  });
  return rows
    .filter((r) => r.model != null && r.model !== "")
    .slice(0, input?.limit ?? 10)
    .map((r) => ({ model: r.model as string, total_spend: r.spend, total_tokens: r.total_tokens }));
}
