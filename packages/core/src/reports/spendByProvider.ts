import { z } from "zod";
import type { SpendlensConfig } from "../config/config.ts";
import type { Db } from "../db/connect.ts";
import { providerResolver, UNKNOWN_PROVIDER } from "../providers/resolve.ts";
import { spendTotals } from "../rollups/query.ts";
import type { Scope } from "../scope.ts";
import { checkDayRange, type Window } from "../validation.ts";
import { dayRangeShape, windowOf } from "./sqlParts.ts";

/**
 * GET /global/spend/provider: spend per provider. A log's provider is its deployment's (model_id →
 * the config's model_list → provider), else its own custom_llm_provider, else its model name's
 * prefix; "Unknown" when none says.
 */

export const spendByProviderInput = z.object(dayRangeShape).superRefine(checkDayRange);
export type SpendByProviderInput = z.infer<typeof spendByProviderInput>;

export interface ProviderSpend {
  provider: string;
  spend: number;
}

export interface ProviderSpendRow {
  model_id: string;
  custom_llm_provider: string;
  model: string;
  spend: number;
}

/** Spend per (model_id, custom_llm_provider, model) of the caller's logs in the window (daily rollups). */
export async function spendByProviderRows(db: Db, scope: Scope, w: Window): Promise<ProviderSpendRow[]> {
  const rows = await spendTotals(db, scope, {
    window: w,
    dims: ["model_id", "custom_llm_provider", "model"],
  });
  return rows.map((r) => ({
    model_id: r.model_id ?? "",
    custom_llm_provider: r.custom_llm_provider ?? "",
    model: r.model ?? "",
    spend: r.spend,
  }));
}

/** Highest spend first (ties by name); "Unknown" always last. */
export function shapeSpendByProvider(
  rows: ProviderSpendRow[],
  modelList: SpendlensConfig["modelList"],
): ProviderSpend[] {
  const resolve = providerResolver(modelList);
  const totals = new Map<string, number>();
  for (const r of rows) {
    const p = resolve(r);
    totals.set(p, (totals.get(p) ?? 0) + r.spend);
  }
  return [...totals.entries()]
    .map(([provider, spend]) => ({ provider, spend }))
    .sort((a, b) => {
      const ua = a.provider === UNKNOWN_PROVIDER;
      const ub = b.provider === UNKNOWN_PROVIDER;
      if (ua !== ub) return ua ? 1 : -1;
      return b.spend - a.spend || (a.provider < b.provider ? -1 : 1);
    });
}

export async function spendByProvider(
  db: Db,
  scope: Scope,
  input: SpendByProviderInput,
  config: Pick<SpendlensConfig, "modelList">,
): Promise<ProviderSpend[]> {
  return shapeSpendByProvider(await spendByProviderRows(db, scope, windowOf(input)), config.modelList);
}
