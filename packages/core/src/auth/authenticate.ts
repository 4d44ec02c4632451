import { now } from "../clock.ts";
import type { Db } from "../db/connect.ts";
import { SpendlensError } from "../errors.ts";
import { ALL, type Scope, userScope } from "../scope.ts";
import { hashToken, secretsEqual } from "./hash.ts";

export const ROLES = ["proxy_admin", "proxy_admin_viewer", "internal_user", "internal_user_viewer"] as const;
export type Role = (typeof ROLES)[number];

export interface Caller {
  role: Role;
  /** The key's user (null for the master key, or a key with no user). */
  userId: string | null;
  /** sha256 of the key used; null for the master key. */
  keyHash: string | null;
  /** Key metadata grants (e.g. `{"spendlens": {"ingest": true}}`). */
  metadata: Record<string, unknown>;
}

export const isAdminRole = (r: Role) => r === "proxy_admin" || r === "proxy_admin_viewer";

/** The rows a caller may read: everything for admins, their own for internal users. */
export function scopeOf(caller: Caller): Scope {
  if (isAdminRole(caller.role)) return ALL;
  if (!caller.userId)
    throw new SpendlensError("FORBIDDEN", "this key has no user, so it may see no user's data");
  return userScope(caller.userId);
}

const asRole = (r: string | null | undefined): Role =>
  (ROLES as readonly string[]).includes(r ?? "") ? (r as Role) : "internal_user";

/**
 * Resolves `Authorization: Bearer <key>` to a caller, or throws UNAUTHORIZED.
 * The master key is compared in constant time; any other key is looked up by its sha256 only.
 */
export async function authenticate(
  db: Db,
  bearer: string | null | undefined,
  masterKey: string | undefined,
): Promise<Caller> {
  return (await verifyKey(db, bearer, masterKey)).caller;
}

/** A verified key: its caller, and when the key expires (ms since the epoch; null: never). */
export interface VerifiedKey {
  caller: Caller;
  expiresAt: number | null;
}

/** `authenticate`, also telling when the key expires (for a cache of verified keys, which must re-check it). */
export async function verifyKey(
  db: Db,
  bearer: string | null | undefined,
  masterKey: string | undefined,
): Promise<VerifiedKey> {
  if (!bearer) throw new SpendlensError("UNAUTHORIZED", "missing API key: send Authorization: Bearer <key>");
  if (masterKey && secretsEqual(bearer, masterKey)) {
    return { caller: { role: "proxy_admin", userId: null, keyHash: null, metadata: {} }, expiresAt: null };
  }
  const token = hashToken(bearer);
  const row = await db
    .selectFrom("LiteLLM_VerificationToken as k")
    .leftJoin("LiteLLM_UserTable as u", "u.user_id", "k.user_id")
    .select(["k.token", "k.user_id", "k.blocked", "k.expires", "k.metadata", "u.user_role"])
    .where("k.token", "=", token)
    .executeTakeFirst();
  if (!row) throw new SpendlensError("UNAUTHORIZED", "invalid API key");
  if (row.blocked) throw new SpendlensError("UNAUTHORIZED", "this API key is blocked");
  const expiresAt = row.expires ? new Date(row.expires).getTime() : null;
  if (expiresAt !== null && expiredAt(expiresAt)) throw keyExpired();
  const metadata =
    row.metadata && typeof row.metadata === "object" ? (row.metadata as Record<string, unknown>) : {};
  return {
    caller: { role: asRole(row.user_role), userId: row.user_id, keyHash: token, metadata },
    expiresAt,
  };
}

/** Whether a key expiring at `expiresAt` (ms) has expired now (the clock of clock.ts). */
export const expiredAt = (expiresAt: number): boolean => expiresAt <= now().getTime();

/** The 401 of an expired key. */
export const keyExpired = () => new SpendlensError("UNAUTHORIZED", "this API key has expired");
