import { sql } from "kysely";
import { z } from "zod";
import type { Db } from "../db/connect.ts";
import { type Scope, scopeUserId } from "../scope.ts";

/**
 * GET /spendlens/teams: every team with its alias, in one answer, so a list of team ids (a table of
 * spend by team) can show the aliases without a call per row. Admins get every team in
 * "LiteLLM_TeamTable"; an internal user gets the teams of their own keys and the teams that list them
 * as a member or an admin (a team's alias is not another user's row, but the teams an internal user has
 * nothing to do with are not theirs to list).
 */

export const teamListInput = z.object({}).strip().optional();

export interface TeamListEntry {
  team_id: string;
  team_alias: string | null;
  organization_id: string | null;
}

export async function teamList(db: Db, scope: Scope): Promise<{ teams: TeamListEntry[] }> {
  const me = scopeUserId(scope);
  const mine =
    me === null
      ? sql``
      : sql` WHERE t.team_id IN (SELECT k.team_id FROM "LiteLLM_VerificationToken" k
            WHERE k.user_id = ${me} AND k.team_id IS NOT NULL)
          OR ${me} = ANY(coalesce(t.members, ARRAY[]::text[]))
          OR ${me} = ANY(coalesce(t.admins, ARRAY[]::text[]))`;
  const r = await sql<TeamListEntry>`SELECT t.team_id, t.team_alias, t.organization_id
    FROM "LiteLLM_TeamTable" t${mine} ORDER BY t.team_id COLLATE "C"`.execute(db);
  return { teams: r.rows };
}
