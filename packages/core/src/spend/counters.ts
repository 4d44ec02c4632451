import { type RawBuilder, sql } from "kysely";
import type { Db } from "../db/connect.ts";

/** Spend to add, per entity. Built from logs that were actually inserted. */
export interface SpendDeltas {
  keys: Map<string, number>;
  users: Map<string, number>;
  teams: Map<string, number>;
  endUsers: Map<string, number>;
}

export const emptyDeltas = (): SpendDeltas => ({
  keys: new Map(),
  users: new Map(),
  teams: new Map(),
  endUsers: new Map(),
});

const bump = (m: Map<string, number>, k: string | null | undefined, v: number) => {
  if (k) m.set(k, (m.get(k) ?? 0) + v);
};

/** Adds one inserted log's spend to the deltas. */
export function addLogToDeltas(
  d: SpendDeltas,
  log: {
    api_key: string;
    spend: number;
    user: string | null;
    team_id: string | null;
    end_user: string | null;
  },
): void {
  if (!(log.spend > 0)) return;
  bump(d.keys, log.api_key, log.spend);
  bump(d.users, log.user, log.spend);
  bump(d.teams, log.team_id, log.spend);
  bump(d.endUsers, log.end_user, log.spend);
}

/** Entries sorted by id: every writer locks rows in the same order, so concurrent batches cannot deadlock. */
const sorted = (m: Map<string, number>) =>
  [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

/**
 * Applies deltas atomically (`spend = spend + delta`, never read-modify-write). Keys, users and teams
 * that do not exist are left alone (LiteLLM owns them); end users are created when missing, as the
 * gateway does. Run inside the transaction that inserted the logs.
 */
export async function applySpendDeltas(db: Db, d: SpendDeltas): Promise<void> {
  const keys = sorted(d.keys);
  if (keys.length) {
    await sql`UPDATE "LiteLLM_VerificationToken" AS t SET spend = t.spend + v.delta
      FROM unnest(${keys.map((x) => x[0])}::text[], ${keys.map((x) => x[1])}::float8[]) AS v(id, delta)
      WHERE t.token = v.id`.execute(db);
  }
  const users = sorted(d.users);
  if (users.length) {
    await sql`UPDATE "LiteLLM_UserTable" AS t SET spend = t.spend + v.delta
      FROM unnest(${users.map((x) => x[0])}::text[], ${users.map((x) => x[1])}::float8[]) AS v(id, delta)
      WHERE t.user_id = v.id`.execute(db);
  }
  const teams = sorted(d.teams);
  if (teams.length) {
    await sql`UPDATE "LiteLLM_TeamTable" AS t SET spend = t.spend + v.delta
      FROM unnest(${teams.map((x) => x[0])}::text[], ${teams.map((x) => x[1])}::float8[]) AS v(id, delta)
      WHERE t.team_id = v.id`.execute(db);
  }
  const ends = sorted(d.endUsers);
  if (ends.length) {
    await sql`INSERT INTO "LiteLLM_EndUserTable" AS t (user_id, spend)
      SELECT id, delta FROM unnest(${ends.map((x) => x[0])}::text[], ${ends.map((x) => x[1])}::float8[]) AS v(id, delta)
      ON CONFLICT (user_id) DO UPDATE SET spend = t.spend + excluded.spend`.execute(db);
  }
}

/**
 * The same increments as `applySpendDeltas`, as CTEs of the ingest statement: each reads the CTE `ins`
 * (the rows that statement actually inserted: spend, api_key, "user", team_id, end_user), groups it per
 * entity in SQL and adds `spend = spend + sum`. Same rules: only spend > 0, no empty or null ids; keys,
 * users and teams that do not exist are left alone, end users are created. Deltas are sorted by id
 * (`COLLATE "C"`), so the join visits rows in one order for every writer. Returns `[cte name, body]`
 * pairs, in the order the statement must run them (keys → users → teams → end users).
 */
export function spendCounterCtes(): [string, RawBuilder<unknown>][] {
  const delta = (col: string) => sql`SELECT ${sql.ref(col)} AS id, sum(spend) AS delta FROM ins
    WHERE spend > 0 AND ${sql.ref(col)} <> '' GROUP BY 1 ORDER BY ${sql.ref(col)} COLLATE "C"`;
  return [
    [
      "c_keys",
      sql`UPDATE "LiteLLM_VerificationToken" AS t SET spend = t.spend + d.delta
        FROM (${delta("api_key")}) AS d WHERE t.token = d.id RETURNING 1`,
    ],
    [
      "c_users",
      sql`UPDATE "LiteLLM_UserTable" AS t SET spend = t.spend + d.delta
        FROM (${delta("user")}) AS d WHERE t.user_id = d.id RETURNING 1`,
    ],
    [
      "c_teams",
      sql`UPDATE "LiteLLM_TeamTable" AS t SET spend = t.spend + d.delta
        FROM (${delta("team_id")}) AS d WHERE t.team_id = d.id RETURNING 1`,
    ],
    [
      "c_end_users",
      sql`INSERT INTO "LiteLLM_EndUserTable" AS t (user_id, spend)
        SELECT id, delta FROM (${delta("end_user")}) AS d ORDER BY id COLLATE "C"
        ON CONFLICT (user_id) DO UPDATE SET spend = t.spend + excluded.spend RETURNING 1`,
    ],
  ];
}
