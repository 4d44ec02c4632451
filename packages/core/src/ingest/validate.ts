import { hashToken } from "../auth/hash.ts";
import { UNSTORABLE_REASON, unstorablePath } from "../text.ts";
import { errorLogRowSchema, parseIsoInstant, spendLogRowSchema } from "./rows.ts";

/**
 * One-pass row checks for the ingest hot path. The zod schemas in rows.ts stay the definition of a valid
 * row and of every error message: a row that the fast check is sure about is normalized here in one pass
 * (the zod schemas cost ~0.1–0.3 ms per row, which capped ingest at ~6k logs/s); a row it is not sure about
 * (any invalid or unusual value) goes through zod, which reports the first issue exactly as before
 * (`field`, `reason`) or, if it accepts the row after all, normalizes it. Test: ingestFast.test.ts checks that
 * wherever the fast check accepts a row, zod accepts it with the same values.
 *
 * Output: a "wire row", the column values to store as zod's output has them, except that jsonb columns
 * hold their JSON value (zod's output has the JSON text): each column of a batch is sent to Postgres as
 * one JSON array (idempotent.ts), so a jsonb value is encoded once, with its column.
 */

export type WireValue = unknown;
export type WireRow = Record<string, WireValue>;

export type RowCheck = { ok: true; row: WireRow } | { ok: false; field: string | null; reason: string };

const BAD = Symbol("bad");
type Bad = typeof BAD;

/** A string of at most `max` characters; `undefined` gives `def` (zod's `.default`). */
function str(v: unknown, max: number, def: string): string | Bad {
  if (typeof v === "string") return v.length <= max ? v : BAD;
  return v === undefined ? def : BAD;
}
/** zOptText: undefined gives `def`, null stays null. */
function optStr(v: unknown, def: string | null, max = 10_000): string | null | Bad {
  if (typeof v === "string") return v.length <= max ? v : BAD;
  if (v === undefined) return def;
  return v === null ? null : BAD;
}
/** zCount: a whole number 0..2^31-1. */
function count(v: unknown): number | Bad {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 2_147_483_647 ? v : BAD;
}
/**
 * A canonical `toISOString()` instant inside the supported range (days.ts: years 1970..9998, which as
 * four-digit text compare like the years) is kept as is (the usual case); anything else is parsed.
 */
const CANONICAL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
function instant(v: unknown): string | Bad {
  if (typeof v !== "string") return BAD;
  if (CANONICAL.test(v) && v >= "1970" && v < "9999") {
    const t = Date.parse(v);
    if (Number.isFinite(t) && new Date(t).toISOString() === v) return v;
  }
  return parseIsoInstant(v) ?? BAD;
}
/** zJsonObject: a plain object (JSON.parse gives nothing else). */
function plainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

/**
 * What JSON.stringify writes for unstorable text (text.ts; it escapes NUL and unpaired surrogates, and only
 * them among these characters). An escaped backslash followed by `u0000` matches too: a hit is only a
 * reason to look closer.
 */
export const MAYBE_UNSTORABLE_JSON = /\\u0000|\\ud[89a-f]/i;

/** The first field of a row holding text Postgres cannot store (e.g. `metadata.a.0`), or null. */
export function unstorableField(row: WireRow): string | null {
  for (const [k, v] of Object.entries(row)) {
    const p = unstorablePath(v);
    if (p !== null) return `${k}${p}`;
  }
  return null;
}

export { UNSTORABLE_REASON };

/** The fast path for a spend-log row: a wire row, or null when zod must decide. */
export function fastSpendLogRow(raw: Record<string, unknown>): WireRow | null {
  const rid = raw.request_id;
  if (typeof rid !== "string" || rid.length < 1 || rid.length > 255) return null;
  const call_type = str(raw.call_type, 255, "");
  if (call_type === BAD) return null;
  let api_key = str(raw.api_key, 255, "");
  if (api_key === BAD) return null;
  if (api_key.startsWith("sk-")) api_key = hashToken(api_key);
  let spend = raw.spend;
  if (spend === undefined) spend = 0;
  else if (typeof spend !== "number" || !(spend >= 0) || spend === Number.POSITIVE_INFINITY) return null;
  const tt = raw.total_tokens;
  const total = tt === undefined ? undefined : count(tt);
  if (total === BAD) return null;
  const prompt = raw.prompt_tokens === undefined ? 0 : count(raw.prompt_tokens);
  if (prompt === BAD) return null;
  const completion = raw.completion_tokens === undefined ? 0 : count(raw.completion_tokens);
  if (completion === BAD) return null;
  const startTime = instant(raw.startTime);
  if (startTime === BAD) return null;
  const endTime = raw.endTime === undefined ? startTime : instant(raw.endTime);
  if (endTime === BAD) return null;
  const cst = raw.completionStartTime;
  const completionStartTime = cst === undefined || cst === null ? null : instant(cst);
  if (completionStartTime === BAD) return null;
  const model = str(raw.model, 255, "");
  if (model === BAD) return null;
  const model_id = optStr(raw.model_id, "");
  const model_group = optStr(raw.model_group, "");
  const custom_llm_provider = optStr(raw.custom_llm_provider, "");
  const api_base = optStr(raw.api_base, "");
  const user = optStr(raw.user, "");
  if (
    model_id === BAD ||
    model_group === BAD ||
    custom_llm_provider === BAD ||
    api_base === BAD ||
    user === BAD
  )
    return null;
  let metadata = raw.metadata;
  if (metadata === undefined || metadata === null) metadata = {};
  else if (!plainObject(metadata)) return null;
  let cache_hit: unknown = raw.cache_hit;
  if (typeof cache_hit === "boolean") cache_hit = cache_hit ? "True" : "False";
  else if (cache_hit === undefined) cache_hit = "";
  else if (cache_hit !== null && !(typeof cache_hit === "string" && cache_hit.length <= 64)) return null;
  const cache_key = optStr(raw.cache_key, "");
  if (cache_key === BAD) return null;
  let tags = raw.request_tags;
  if (tags === undefined || tags === null) tags = [];
  else {
    if (!Array.isArray(tags) || tags.length > 1000) return null;
    for (let i = 0; i < tags.length; i++) {
      const t = tags[i];
      if (typeof t !== "string" || t.length > 1000) return null;
    }
  }
  const team_id = optStr(raw.team_id, null);
  const organization_id = optStr(raw.organization_id, null);
  const end_user = optStr(raw.end_user, null);
  const requester_ip_address = optStr(raw.requester_ip_address, null);
  const session_id = optStr(raw.session_id, null);
  const status = optStr(raw.status, null);
  if (
    team_id === BAD ||
    organization_id === BAD ||
    end_user === BAD ||
    requester_ip_address === BAD ||
    session_id === BAD ||
    status === BAD
  )
    return null;
  return {
    request_id: rid,
    call_type,
    api_key,
    spend,
    total_tokens: total ?? prompt + completion,
    prompt_tokens: prompt,
    completion_tokens: completion,
    startTime,
    endTime,
    completionStartTime,
    model,
    model_id,
    model_group,
    custom_llm_provider,
    api_base,
    user,
    metadata,
    cache_hit: cache_hit as string | null,
    cache_key,
    request_tags: tags,
    team_id,
    organization_id,
    end_user,
    requester_ip_address,
    session_id,
    status,
    messages: raw.messages === undefined ? {} : raw.messages,
    response: raw.response === undefined ? {} : raw.response,
  } as WireRow;
}

/** The fast path for an error-log row: a wire row, or null when zod must decide. */
export function fastErrorLogRow(raw: Record<string, unknown>): WireRow | null {
  const rid = raw.request_id;
  if (typeof rid !== "string" || rid.length < 1 || rid.length > 255) return null;
  const startTime = instant(raw.startTime);
  if (startTime === BAD) return null;
  const endTime = raw.endTime === undefined ? startTime : instant(raw.endTime);
  if (endTime === BAD) return null;
  const api_base = str(raw.api_base, 10_000, "");
  const model_group = str(raw.model_group, 255, "");
  const litellm_model_name = str(raw.litellm_model_name, 255, "");
  const model_id = str(raw.model_id, 255, "");
  const exception_type = str(raw.exception_type, 255, "");
  const exception_string = str(raw.exception_string, 100_000, "");
  if (
    api_base === BAD ||
    model_group === BAD ||
    litellm_model_name === BAD ||
    model_id === BAD ||
    exception_type === BAD ||
    exception_string === BAD
  )
    return null;
  let request_kwargs = raw.request_kwargs;
  if (request_kwargs === undefined) request_kwargs = {};
  else if (!plainObject(request_kwargs)) return null;
  const sc = raw.status_code;
  let status_code: string;
  if (sc === undefined) status_code = "";
  else if (typeof sc === "string" && sc.length <= 16) status_code = sc;
  else if (typeof sc === "number" && Number.isSafeInteger(sc)) status_code = String(sc);
  else return null;
  return {
    request_id: rid,
    startTime,
    endTime,
    api_base,
    model_group,
    litellm_model_name,
    model_id,
    request_kwargs,
    exception_type,
    exception_string,
    status_code,
  } as WireRow;
}

/** zod's output (jsonb columns as JSON text) as a wire row. */
function wireFromZod(out: Record<string, unknown>, json: readonly string[]): WireRow {
  const row: WireRow = { ...out };
  for (const k of json) if (typeof row[k] === "string") row[k] = JSON.parse(row[k] as string);
  return row;
}

type ZodLike = {
  safeParse(
    v: unknown,
  ):
    | { success: true; data: unknown }
    | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
};

function check(
  raw: unknown,
  fast: (r: Record<string, unknown>) => WireRow | null,
  schema: ZodLike,
  json: readonly string[],
): RowCheck {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    return { ok: false, field: null, reason: "must be a JSON object (one log row)" };
  }
  const row = fast(raw as Record<string, unknown>);
  if (row) return { ok: true, row };
  const p = schema.safeParse(raw);
  if (!p.success) {
    const issue = p.error.issues[0]!;
    const field = issue.path.map(String).join(".") || null;
    return { ok: false, field, reason: `${field ?? "row"}: ${issue.message}` };
  }
  return { ok: true, row: wireFromZod(p.data as Record<string, unknown>, json) };
}

export const SPEND_JSON_FIELDS = ["metadata", "request_tags", "messages", "response"] as const;
export const ERROR_JSON_FIELDS = ["request_kwargs"] as const;

/** Validates and normalizes one spend-log row (the same rows, values and errors as `spendLogRowSchema`). */
export const checkSpendLogRow = (raw: unknown): RowCheck =>
  check(raw, fastSpendLogRow, spendLogRowSchema as unknown as ZodLike, SPEND_JSON_FIELDS);

/** Validates and normalizes one error-log row (the same rows, values and errors as `errorLogRowSchema`). */
export const checkErrorLogRow = (raw: unknown): RowCheck =>
  check(raw, fastErrorLogRow, errorLogRowSchema as unknown as ZodLike, ERROR_JSON_FIELDS);
