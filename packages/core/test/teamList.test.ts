import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL, teamList, userScope } from "../src/internal.ts";
import { createTestDb, type TestDb, writeFixtures } from "../src/testing/index.ts";

/** GET /spendlens/teams: every team with its alias; an internal user only the teams that are theirs. */

const TEAMS = [
  { team_id: "t-a", team_alias: "Alpha", organization_id: "org-1" },
  { team_id: "t-b", team_alias: null, organization_id: null, members: ["alice"] },
  { team_id: "t-c", team_alias: "Gamma", organization_id: null, admins: ["alice"] },
  { team_id: "t-d", team_alias: "Delta (bob's)", organization_id: null, members: ["bob"] },
  { team_id: "T-e", team_alias: "Upper", organization_id: null },
];

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
  await writeFixtures(t.db, {
    teams: TEAMS,
    keys: [
      { raw: "sk-alice-1", user_id: "alice", team_id: "t-a" },
      { raw: "sk-alice-2", user_id: "alice", team_id: null },
      { raw: "sk-bob-1", user_id: "bob", team_id: "T-e" },
    ],
  });
}, 120_000);
afterAll(async () => {
  await t?.drop();
});

const row = (x: (typeof TEAMS)[number]) => ({
  team_id: x.team_id,
  team_alias: x.team_alias,
  organization_id: x.organization_id,
});

describe("teamList", () => {
  it("admins: every team with its alias and organization, ordered by team_id (bytewise)", async () => {
    const want = TEAMS.map(row).sort((a, b) => (a.team_id < b.team_id ? -1 : 1));
    expect((await teamList(t.db, ALL)).teams).toEqual(want);
  });
  it("an internal user: the teams of their own keys and those listing them as member or admin", async () => {
    expect((await teamList(t.db, userScope("alice"))).teams).toEqual(
      ["t-a", "t-b", "t-c"].map((id) => row(TEAMS.find((x) => x.team_id === id)!)),
    );
    expect((await teamList(t.db, userScope("bob"))).teams.map((x) => x.team_id)).toEqual(["T-e", "t-d"]);
    expect((await teamList(t.db, userScope("nobody"))).teams).toEqual([]);
  });
});
