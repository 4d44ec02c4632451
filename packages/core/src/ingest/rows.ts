import { z } from "zod";
import { hashToken } from "../auth/hash.ts";
import { DAY_RANGE_TEXT, isRealDate, isSupportedInstant } from "../days.ts";

/**
 * One ingested row, validated alone (safeParse per row) so that one bad row never fails its batch.
 * The shape is LiteLLM's LiteLLM_SpendLogs / LiteLLM_ErrorLogs row, with LiteLLM's column names.
 */

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parses an ISO 8601 instant (a missing zone means UTC) to an ISO string with milliseconds; null when
 * it is not one or lies outside the supported range (days.ts; `isIsoInstantOutOfRange` tells which).
 */
export function parseIsoInstant(s: string): string | null {
  const t = isoInstantMs(s);
  return t !== null && isSupportedInstant(t) ? new Date(t).toISOString() : null;
}

/** A well-formed ISO 8601 instant outside the supported range. */
export function isIsoInstantOutOfRange(s: string): boolean {
  const t = isoInstantMs(s);
  return t !== null && !isSupportedInstant(t);
}

/** UTC ms of an ISO 8601 instant (milliseconds precision), or null when malformed. */
function isoInstantMs(s: string): number | null {
  const m = ISO_RE.exec(s.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, sec = "00", frac = "", zone = "Z"] = m;
  if (!isRealDate(+y!, +mo!, +d!)) return null;
  if (+h! > 23 || +mi! > 59 || +sec > 59) return null;
  const ms = frac ? frac.slice(0, 4).padEnd(4, "0") : ".000"; // milliseconds: timestamp(3) keeps no more
  let z = zone.toUpperCase();
  if (z !== "Z" && !z.includes(":")) z = z.length === 3 ? `${z}:00` : `${z.slice(0, 3)}:${z.slice(3)}`;
  const t = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${sec}${ms}${z}`);
  return Number.isFinite(t) ? t : null;
}

const zInstant = z
  .string({
    error: (i) => (i.input === undefined ? "is required (an ISO 8601 time)" : "must be an ISO 8601 time"),
  })
  .transform((s, ctx) => {
    const v = parseIsoInstant(s);
    if (v === null) {
      ctx.addIssue({
        code: "custom",
        message: isIsoInstantOutOfRange(s)
          ? `must be within ${DAY_RANGE_TEXT} (UTC), got ${s.slice(0, 40)}`
          : "must be an ISO 8601 time, e.g. 2026-03-15T10:00:00.000Z",
      });
      return z.NEVER;
    }
    return v;
  });

const zText = (max = 10_000) => z.string().max(max, `must be at most ${max} characters`);
const zOptText = (def: string | null) =>
  zText()
    .nullish()
    .transform((v) => (v === undefined ? def : v));
const zCount = z
  .number({ error: "must be a whole number ≥ 0" })
  .int("must be a whole number ≥ 0")
  .min(0, "must be a whole number ≥ 0")
  .max(2_147_483_647, "must fit in an int4");
const zJsonObject = z.record(z.string(), z.unknown(), { error: "must be a JSON object" });
/** Stable JSON text for a jsonb column; undefined values dropped as JSON does. */
const toJsonText = (v: unknown) => JSON.stringify(v ?? null);

/** A log's request_id: required, 1..255 characters. */
const zRequestId = z
  .string({ error: (i) => (i.input === undefined ? "is required" : "must be a string") })
  .min(1, "must not be empty")
  .max(255, "must be at most 255 characters");

export const spendLogRowSchema = z
  .object({
    request_id: zRequestId,
    call_type: zText(255).default(""),
    /** A raw `sk-…` key is stored as its sha256 (LiteLLM's hash_token); anything else as given. */
    api_key: zText(255)
      .default("")
      .transform((k) => (k.startsWith("sk-") ? hashToken(k) : k)),
    spend: z
      .number({ error: "must be a number ≥ 0" })
      .min(0, "must be ≥ 0")
      .refine(Number.isFinite, "must be finite")
      .default(0),
    total_tokens: zCount.optional(),
    prompt_tokens: zCount.default(0),
    completion_tokens: zCount.default(0),
    startTime: zInstant,
    endTime: zInstant.optional(),
    completionStartTime: zInstant.nullish(),
    model: zText(255).default(""),
    model_id: zOptText(""),
    model_group: zOptText(""),
    custom_llm_provider: zOptText(""),
    api_base: zOptText(""),
    user: zOptText(""),
    metadata: zJsonObject.nullish().transform((v) => toJsonText(v ?? {})),
    cache_hit: z
      .union([z.string().max(64), z.boolean()], { error: "must be a string or a boolean" })
      .nullish()
      .transform((v) => (typeof v === "boolean" ? (v ? "True" : "False") : v === undefined ? "" : v)),
    cache_key: zOptText(""),
    request_tags: z
      .array(z.string({ error: "must be an array of strings" }).max(1000), {
        error: "must be an array of strings",
      })
      .max(1000)
      .nullish()
      .transform((v) => toJsonText(v ?? [])),
    team_id: zOptText(null),
    organization_id: zOptText(null),
    end_user: zOptText(null),
    requester_ip_address: zOptText(null),
    session_id: zOptText(null),
    status: zOptText(null),
    messages: z
      .unknown()
      .optional()
      .transform((v) => toJsonText(v === undefined ? {} : v)),
    response: z
      .unknown()
      .optional()
      .transform((v) => toJsonText(v === undefined ? {} : v)),
  })
  .transform((r) => ({
    ...r,
    total_tokens: r.total_tokens ?? r.prompt_tokens + r.completion_tokens,
    endTime: r.endTime ?? r.startTime,
    completionStartTime: r.completionStartTime ?? null,
  }));

export type IngestSpendLogRow = z.output<typeof spendLogRowSchema>;

export const errorLogRowSchema = z
  .object({
    request_id: zRequestId,
    startTime: zInstant,
    endTime: zInstant.optional(),
    api_base: zText().default(""),
    model_group: zText(255).default(""),
    litellm_model_name: zText(255).default(""),
    model_id: zText(255).default(""),
    request_kwargs: zJsonObject.optional().transform((v) => toJsonText(v ?? {})),
    exception_type: zText(255).default(""),
    exception_string: zText(100_000).default(""),
    status_code: z
      .union([z.string().max(16), z.number().int()], { error: "must be a string or a whole number" })
      .default("")
      .transform(String),
  })
  .transform((r) => ({ ...r, endTime: r.endTime ?? r.startTime }));

export type IngestErrorLogRow = z.output<typeof errorLogRowSchema>;
