import { useQuery } from "@tanstack/react-query";
import { spendKeysOptions } from "./api.ts";
import { useAuth } from "./auth.ts";
import { shortHash } from "./format.ts";

/** The analytics dimensions the dashboard lists as entities, and the logs filter each maps to. */
export const ENTITIES = {
  teams: { dim: "team", title: "Teams", one: "Team", logFilter: "team_id" },
  keys: { dim: "api_key", title: "Keys", one: "Key", logFilter: "api_key" },
  users: { dim: "user", title: "Users", one: "User", logFilter: "user_id" },
  customers: { dim: "end_user", title: "Customers", one: "Customer", logFilter: "end_user" },
  tags: { dim: "tag", title: "Tags", one: "Tag", logFilter: null },
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

export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
