import { sql } from "kysely";
import { z } from "zod";
import { now } from "../clock.ts";
import type { Db } from "../db/connect.ts";
import { type Scope, scopeUserId } from "../scope.ts";
import { last30DaysFrom, zInt } from "../validation.ts";

export const MAX_TOP_LIMIT = 1000;

/** GET /global/spend/keys?limit: 1..1000, absent = every key. */
export const globalSpendKeysInput = z.object({ limit: zInt(1, MAX_TOP_LIMIT).optional() }).optional();
export type GlobalSpendKeysInput = z.output<typeof globalSpendKeysInput>;

/** A row of the seed's Last30dKeysBySpend view. */
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
  const user = scopeUserId(scope);
  const limit = input?.limit;
  return db
    .with("top", (q) =>
      q
        .selectFrom("LiteLLM_SpendLogs")
        .select(["api_key", sql<number>`coalesce(sum(spend), 0)::float8`.as("total_spend")])
        .where("startTime", ">=", last30DaysFrom(now()))
        .$if(user !== null, (w) => w.where("user", "=", user))
        .groupBy("api_key")
        .orderBy("total_spend", "desc")
        .orderBy("api_key")
        .$if(limit !== undefined, (w) => w.limit(limit!)),
    )
    .selectFrom("top as t")
    .leftJoin("LiteLLM_VerificationToken as v", "v.token", "t.api_key")
    .select(["t.api_key", "v.key_alias", "v.key_name", "t.total_spend"])
    .orderBy("t.total_spend", "desc")
    .orderBy("t.api_key")
    .execute();
}

/** GET /global/spend/models?limit: 1..1000, default 10. */
export const globalSpendModelsInput = z.object({ limit: zInt(1, MAX_TOP_LIMIT).default(10) }).optional();
export type GlobalSpendModelsInput = z.output<typeof globalSpendModelsInput>;

/** A row of the seed's Last30dModelsBySpend view, with the tokens its internal-user branch adds. */
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
  const user = scopeUserId(scope);
  return db
    .selectFrom("LiteLLM_SpendLogs")
    .select([
      "model",
      sql<number>`coalesce(sum(spend), 0)::float8`.as("total_spend"),
      sql<number>`coalesce(sum(total_tokens), 0)::float8`.as("total_tokens"),
    ])
    .where("startTime", ">=", last30DaysFrom(now()))
    .where("model", "<>", "")
    .$if(user !== null, (w) => w.where("user", "=", user))
    .groupBy("model")
    .orderBy("total_spend", "desc")
    .orderBy("model")
    .limit(input?.limit ?? 10)
    .execute();
}
