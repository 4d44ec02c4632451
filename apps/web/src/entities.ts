import { useQuery } from "@tanstack/react-query";
import { spendKeysOptions, teamListOptions } from "./api.ts";
import { useAuth } from "./auth.ts";
import { shortHash } from "./format.ts";

/** The analytics dimensions the dashboard lists as entities, and the logs filter each maps to. */
export const ENTITIES = {
  teams: { dim: "team", title: "Teams", one: "Team", logFilter: "team_id" },
  keys: { dim: "api_key", title: "Keys", one: "Key", logFilter: "api_key" },
  users: { dim: "user", title: "Users", one: "User", logFilter: "user_id" },
  customers: { dim: "end_user", title: "Customers", one: "Customer", logFilter: "end_user" },
  tags: { dim: "tag", title: "Tags", one: "Tag", logFilter: "tag" },
  models: { dim: "model", title: "Models", one: "Model", logFilter: "model" },
} as const;

export type EntityKind = keyof typeof ENTITIES;
export type Dim = (typeof ENTITIES)[EntityKind]["dim"];

export const KIND_OF_DIM: Record<string, EntityKind> = Object.fromEntries(
  (Object.keys(ENTITIES) as EntityKind[]).map((k) => [ENTITIES[k].dim, k]),
);

// One alias map per spend.spendKeys answer, shared by every cell that shows a key.
const aliasMaps = new WeakMap<object, Map<string, string>>();
function aliasesOf(keys: readonly { token: string }[]): Map<string, string> {
  let m = aliasMaps.get(keys);
  if (!m) {
    m = new Map();
    for (const k of keys) {
      const alias = (k as { key_alias?: string | null }).key_alias;
      if (alias) m.set(k.token, alias);
    }
    aliasMaps.set(keys, m);
  }
  return m;
}

/** Key hash → alias, from one spend.spendKeys call shared by every table (never one call per row). */
export function useKeyNames(): (hash: string | null) => string {
  const { client } = useAuth();
  const q = useQuery(spendKeysOptions(client));
  const names = q.data ? aliasesOf(q.data) : null;
  return (hash) => (hash === null ? "(none)" : (names?.get(hash) ?? shortHash(hash)));
}

const teamMaps = new WeakMap<object, Map<string, string>>();
/**
 * Team id → alias, from one spend.teamList call shared by every table (never one call per row). A team
 * without an alias, or one the caller may not list, shows its id.
 */
export function useTeamNames(): (id: string | null) => string {
  const { client } = useAuth();
  const q = useQuery(teamListOptions(client));
  let names: Map<string, string> | null = null;
  if (q.data) {
    names = teamMaps.get(q.data) ?? null;
    if (!names) {
      names = new Map();
      for (const t of q.data.teams) if (t.team_alias) names.set(t.team_id, t.team_alias);
      teamMaps.set(q.data, names);
    }
  }
  return (id) => (id === null ? "(none)" : (names?.get(id) ?? id));
}

export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
