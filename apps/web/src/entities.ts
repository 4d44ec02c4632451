import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
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

/** Key hash → alias, from one spend.spendKeys call shared by every table (never one call per row). */
export function useKeyNames(): (hash: string | null) => string {
  const { client } = useAuth();
  const q = useQuery(spendKeysOptions(client));
  const names = useMemo(() => {
    const m = new Map<string, string>();
    for (const k of q.data ?? []) {
      const alias = (k as { key_alias?: string | null }).key_alias;
      if (alias) m.set(k.token, alias);
    }
    return m;
  }, [q.data]);
  return (hash) => (hash === null ? "(none)" : (names.get(hash) ?? shortHash(hash)));
}

export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
