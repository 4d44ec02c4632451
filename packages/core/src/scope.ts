import { forbidden } from "./errors.ts";

/**
 * Whose rows a caller may see. Every core query takes one, so no query can forget it.
 * - all: proxy_admin and proxy_admin_viewer.
 * - user: an internal user, who sees only rows whose "user" is their own id.
 */
export type Scope = { readonly kind: "all" } | { readonly kind: "user"; readonly userId: string };

export const ALL: Scope = Object.freeze({ kind: "all" });
export const userScope = (userId: string): Scope => Object.freeze({ kind: "user", userId });

/**
 * Narrows a scope by a user id the caller asked for. An internal user asking for someone else is a
 * 403, never an empty or a global answer.
 */
export function narrowToUser(scope: Scope, requested: string | null | undefined): Scope {
  if (requested == null || requested === "") return scope;
  if (scope.kind === "user") {
    if (requested !== scope.userId) throw forbidden("internal users may only see their own data");
    return scope;
  }
  return userScope(requested);
}

/** The user id a query must filter on, or null for all rows. */
export const scopeUserId = (scope: Scope): string | null => (scope.kind === "user" ? scope.userId : null);
