/**
 * Text that Postgres cannot store or compare: NUL (U+0000), which `text` refuses, and an unpaired UTF-16
 * surrogate, which is not Unicode (no UTF-8 encoding; Postgres's JSON parser refuses its `\udXXX`
 * escape). Every input is checked for it before it reaches a query (packages/api's base procedure; ingest
 * rows one by one, so a bad row is reported in its batch), so it is a 400 naming the field, never a
 * driver error.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what this looks for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const UNSTORABLE_REASON = "must not contain a NUL character or an unpaired UTF-16 surrogate";

/** True when `s` holds a NUL or an unpaired surrogate. */
export const isUnstorableText = (s: string): boolean => UNSTORABLE.test(s);

/**
 * The first string inside a value (its own object keys included) that Postgres cannot store, as a path
 * suffix: `""` for `v` itself, `.a.0` for `v.a[0]`; null when there is none. Depth is capped: deeper
 * values are not walked (the inputs that take them cap their depth themselves).
 */
export function unstorablePath(v: unknown, depth = 0): string | null {
  if (typeof v === "string") return UNSTORABLE.test(v) ? "" : null;
  if (v === null || typeof v !== "object" || depth > 200) return null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = unstorablePath(v[i], depth + 1);
      if (p !== null) return `.${i}${p}`;
    }
    return null;
  }
  for (const k of Object.keys(v)) {
    if (UNSTORABLE.test(k)) return `.${k}`;
    const p = unstorablePath((v as Record<string, unknown>)[k], depth + 1);
    if (p !== null) return `.${k}${p}`;
  }
  return null;
}
