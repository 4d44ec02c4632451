/** Plain batched INSERTs of demo data: the world (keys, users, teams) and log batches (tests use these). */
import { type RawBuilder, sql } from "kysely";
import type { Db } from "../db/connect.ts";
import { ERROR_LOG_CATALOG, type LogColumn, type PgType, SPEND_LOG_CATALOG } from "../db/logColumns.ts";
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

/**
 * How a demo column travels in its unnest array: as its own type, jsonb as text (cast in the SELECT), a
 * timestamp at full precision (the column's own timestamp(3) rounds it, as it rounds any value).
 */
const ARRAY_TYPE: Record<PgType, string> = {
  text: "text",
  float8: "float8",
  int4: "int",
  timestamp: "timestamp",
  jsonb: "text",
};

/**
 * `INSERT INTO table (the catalog's demo columns) SELECT … FROM unnest(one array per column)`, skipping
 * request ids already stored (`ids`: the id table of migration 0011) and conflicts. Identifiers come
 * from the catalog and the constants of the two callers, never input; every value is a bound array.
 */
function insertDemoRows<Row extends object>(
  table: "LiteLLM_SpendLogs" | "LiteLLM_ErrorLogs",
  ids: "spend_log_ids" | "error_log_ids",
  catalog: readonly LogColumn[],
  rows: readonly Row[],
  returning: RawBuilder<unknown> = sql``,
): RawBuilder<unknown> {
  const cols = catalog.filter((c) => c.demo);
  const arrays = cols.map(
    (c) => sql`${rows.map((r) => r[c.name as keyof Row])}::${sql.raw(ARRAY_TYPE[c.type])}[]`,
  );
  const values = cols.map((c) =>
    c.type === "jsonb" ? sql`v.${sql.id(c.name)}::jsonb` : sql`v.${sql.id(c.name)}`,
  );
  const names = sql.join(cols.map((c) => sql.id(c.name)));
  return sql`INSERT INTO ${sql.table(table)} (${names})
    SELECT ${sql.join(values)} FROM unnest(${sql.join(arrays)}) AS v(${names})
    WHERE NOT EXISTS (SELECT 1 FROM ${sql.table(`spendlens.${ids}`)} k WHERE k.request_id = v.request_id)
    ON CONFLICT DO NOTHING${returning}`;
}

/** Inserts spend logs in one statement; returns the rows actually inserted (duplicates skipped). */
export async function insertLogBatch(db: Db, rows: DemoLog[]) {
  const r = await insertDemoRows(
    "LiteLLM_SpendLogs",
    "spend_log_ids",
    SPEND_LOG_CATALOG,
    rows,
    sql` RETURNING api_key, spend, "user", team_id, end_user`,
  ).execute(db);
  return r.rows as {
    api_key: string;
    spend: number;
    user: string | null;
    team_id: string | null;
    end_user: string | null;
  }[];
}

export async function insertErrorLogBatch(db: Db, rows: DemoErrorLog[]): Promise<number> {
  if (!rows.length) return 0;
  const r = await insertDemoRows("LiteLLM_ErrorLogs", "error_log_ids", ERROR_LOG_CATALOG, rows).execute(db);
  return Number(r.numAffectedRows ?? 0);
}
