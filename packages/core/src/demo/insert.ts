/** Plain batched INSERTs of demo data: the world (keys, users, teams) and log batches (tests use these). */
import { sql } from "kysely";
import type { Db } from "../db/connect.ts";
import { colList, ERROR_COLUMNS, LOG_COLUMNS } from "./copy.ts";
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
 * `INSERT INTO table (cols) SELECT cols FROM unnest(one array per column) AS v(cols) WHERE v's id is not
 * registered ON CONFLICT DO NOTHING`, over the demo loaders' columns (demo/copy.ts, from the catalog).
 * Column names come from the catalog (constants); every value is a bound array.
 */
function unnestInsert<Row>(
  table: "LiteLLM_SpendLogs" | "LiteLLM_ErrorLogs",
  ids: "spend_log_ids" | "error_log_ids",
  cols: ReadonlyArray<readonly [keyof Row & string, string]>,
  rows: Row[],
) {
  const names = sql.raw(colList(cols));
  // jsonb travels as text and is cast per row; the rest as arrays of their own type.
  const arrays = cols.map(
    ([c, t]) => sql`${rows.map((r) => r[c])}::${sql.raw(t === "jsonb" ? "text" : t)}[]`,
  );
  const values = cols.map(([c, t]) => (t === "jsonb" ? sql`v.${sql.ref(c)}::jsonb` : sql`v.${sql.ref(c)}`));
  return sql`INSERT INTO ${sql.table(table)} (${names})
    SELECT ${sql.join(values)} FROM unnest(${sql.join(arrays)}) AS v(${names})
    WHERE NOT EXISTS (SELECT 1 FROM ${sql.table(`spendlens.${ids}`)} k WHERE k.request_id = v.request_id)
    ON CONFLICT DO NOTHING`;
}

/** Inserts spend logs in one statement; returns the rows actually inserted (duplicates skipped). */
export async function insertLogBatch(db: Db, rows: DemoLog[]) {
  const r = await sql<{
    api_key: string;
    spend: number;
    user: string | null;
    team_id: string | null;
    end_user: string | null;
  }>`${unnestInsert("LiteLLM_SpendLogs", "spend_log_ids", LOG_COLUMNS, rows)}
    RETURNING api_key, spend, "user", team_id, end_user`.execute(db);
  return r.rows;
}

export async function insertErrorLogBatch(db: Db, rows: DemoErrorLog[]): Promise<number> {
  if (!rows.length) return 0;
  const r = await unnestInsert("LiteLLM_ErrorLogs", "error_log_ids", ERROR_COLUMNS, rows).execute(db);
  return Number(r.numAffectedRows ?? 0);
}
