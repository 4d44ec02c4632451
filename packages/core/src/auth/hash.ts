import { createHash, timingSafeEqual } from "node:crypto";

/** LiteLLM's hash_token: the sha256 hex of the raw key. */
export const hashToken = (raw: string): string => createHash("sha256").update(raw, "utf8").digest("hex");

/** A key given as a filter: raw `sk-…` keys are hashed, anything else is taken as already hashed. */
export const normalizeKeyFilter = (key: string): string => (key.startsWith("sk-") ? hashToken(key) : key);

/** Constant-time comparison of two secrets (compares their hashes, so lengths never leak). */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a, "utf8").digest();
  const hb = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(ha, hb);
}
