/** Plain batched INSERTs of demo data: the world (keys, users, teams) and log batches (tests use these). */
import { sql } from "kysely";
import type { Db } from "../db/connect.ts";
import type { DemoErrorLog, DemoLog, DemoWorld } from "./generate.ts";

export async function writeWorld(db: Db, world: DemoWorld): Promise<void> {
  const t = world.teams;
  await sql`INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias)
    SELECT * FROM unnest(${t.map((x) => x.team_id)}::text[], ${t.map((x) => x.team_alias)}::text[])
    ON CONFLICT (team_id) DO NOTHING`.execute(db);
  const u = world.users;
  await sql`INSERT INTO "LiteLLM_UserTable" (user_id, user_role, team_id, user_email)
    SELECT * FROM unnest(${u.map((x) => x.user_id)}::text[], ${u.map((x) => x.user_role)}::text[],
      ${u.map((x) => x.team_id)}::text[], ${u.map((x) => x.user_email)}::text[])
    ON CONFLICT (user_id) DO NOTHING`.execute(db);
  const k = world.keys;
  await sql`INSERT INTO "LiteLLM_VerificationToken" (token, key_alias, key_name, user_id, team_id)
    SELECT * FROM unnest(${k.map((x) => x.token)}::text[], ${k.map((x) => x.key_alias)}::text[],
      ${k.map((x) => x.key_name)}::text[], ${k.map((x) => x.user_id)}::text[], ${k.map((x) => x.team_id)}::text[])
    ON CONFLICT (token) DO NOTHING`.execute(db);
}

/** Inserts spend logs in one statement; returns the rows actually inserted (duplicates skipped). */
export async function insertLogBatch(db: Db, rows: DemoLog[]) {
  const col = <K extends keyof DemoLog>(k: K) => rows.map((r) => r[k]);
  const r = await sql<{
    api_key: string;
    spend: number;
    user: string | null;
    team_id: string | null;
    end_user: string | null;
  }>`
    INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, total_tokens, prompt_tokens,
      completion_tokens, "startTime", "endTime", model, model_id, model_group, custom_llm_provider, api_base,
      "user", metadata, cache_hit, request_tags, team_id, end_user, status)
    SELECT request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens, st, et, model,
      model_id, model_group, provider, api_base, usr, metadata::jsonb, cache_hit, tags::jsonb, team_id, end_user, status
    FROM unnest(${col("request_id")}::text[], ${col("call_type")}::text[], ${col("api_key")}::text[],
      ${col("spend")}::float8[], ${col("total_tokens")}::int[], ${col("prompt_tokens")}::int[],
      ${col("completion_tokens")}::int[], ${col("startTime")}::timestamp[], ${col("endTime")}::timestamp[],
      ${col("model")}::text[], ${col("model_id")}::text[], ${col("model_group")}::text[],
      ${col("custom_llm_provider")}::text[], ${col("api_base")}::text[], ${col("user")}::text[],
      ${col("metadata")}::text[], ${col("cache_hit")}::text[], ${col("request_tags")}::text[],
      ${col("team_id")}::text[], ${col("end_user")}::text[], ${col("status")}::text[])
      AS v(request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens, st, et, model,
        model_id, model_group, provider, api_base, usr, metadata, cache_hit, tags, team_id, end_user, status)
    WHERE NOT EXISTS (SELECT 1 FROM spendlens.spend_log_ids k WHERE k.request_id = v.request_id)
    ON CONFLICT DO NOTHING
    RETURNING api_key, spend, "user", team_id, end_user`.execute(db);
  return r.rows;
}

export async function insertErrorLogBatch(db: Db, rows: DemoErrorLog[]): Promise<number> {
  if (!rows.length) return 0;
  const col = <K extends keyof DemoErrorLog>(k: K) => rows.map((r) => r[k]);
  const r =
    await sql`INSERT INTO "LiteLLM_ErrorLogs" (request_id, "startTime", "endTime", api_base, model_group,
      litellm_model_name, model_id, exception_type, status_code)
    SELECT * FROM unnest(${col("request_id")}::text[], ${col("startTime")}::timestamp[], ${col("endTime")}::timestamp[],
      ${col("api_base")}::text[], ${col("model_group")}::text[], ${col("litellm_model_name")}::text[],
      ${col("model_id")}::text[], ${col("exception_type")}::text[], ${col("status_code")}::text[])
      AS v(request_id, st, et, api_base, model_group, litellm_model_name, model_id, exception_type, status_code)
    WHERE NOT EXISTS (SELECT 1 FROM spendlens.error_log_ids k WHERE k.request_id = v.request_id)
    ON CONFLICT DO NOTHING`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}
