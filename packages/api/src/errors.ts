import { classifyDbError, type ErrorCode, SpendlensError } from "@spendlens/core";
import { TRPCError } from "@trpc/server";

/** The one place domain errors become tRPC errors (and so HTTP statuses). */
const CODE_MAP: Record<ErrorCode, TRPCError["code"]> = {
  BAD_REQUEST: "BAD_REQUEST",
  UNAUTHORIZED: "UNAUTHORIZED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  UNAVAILABLE: "SERVICE_UNAVAILABLE",
  TIMEOUT: "GATEWAY_TIMEOUT",
  SCHEMA: "SERVICE_UNAVAILABLE",
  CONFIG: "INTERNAL_SERVER_ERROR",
};

export function toTRPCError(err: unknown): TRPCError {
  if (err instanceof TRPCError) {
    if (err.code !== "INTERNAL_SERVER_ERROR") return err;
    // Anything thrown inside a procedure arrives wrapped by tRPC, with the thrown error's own message
    // (a driver's text, a file path): unwrap it and classify it again.
    const inner = err.cause ?? err;
    if (inner === err) return isGenericInternal(err) ? err : genericInternal(err);
    return toTRPCError(inner);
  }
  const e = classifyDbError(err);
  if (e instanceof SpendlensError) {
    const code = CODE_MAP[e.code];
    // A 500 of ours (CONFIG) may still name a file: its text goes to the log only.
    if (code === "INTERNAL_SERVER_ERROR") return genericInternal(e);
    return new TRPCError({ code, message: e.message, cause: e });
  }
  return genericInternal(err);
}

export const INTERNAL_MESSAGE = "internal error";

/** Never leak internals: the message stays generic, the cause goes to the server's log. */
function genericInternal(cause: unknown): TRPCError {
  return new TRPCError({
    code: "INTERNAL_SERVER_ERROR",
    message: INTERNAL_MESSAGE,
    cause: cause instanceof Error ? cause : new Error(String(cause)),
  });
}
const isGenericInternal = (err: TRPCError) => err.message === INTERNAL_MESSAGE;

/** The message of an unexpected error as the caller sees it: generic, with the request id to quote. */
export const internalMessage = (requestId: string | undefined) =>
  requestId ? `${INTERNAL_MESSAGE} (request id ${requestId})` : INTERNAL_MESSAGE;

/** The error worth logging behind a tRPC error: what was thrown, not tRPC's wrapper. */
export function errorDetail(err: unknown): unknown {
  let e = err;
  for (let i = 0; i < 5 && e instanceof TRPCError && e.cause; i++) e = e.cause;
  return e;
}

/** The input field a validation or domain error names, if any. */
export function errorField(err: TRPCError): string | null {
  const cause = err.cause as { field?: string; issues?: { path: PropertyKey[] }[] } | undefined;
  if (cause && cause instanceof SpendlensError) return cause.field ?? null;
  const issues = cause?.issues;
  if (Array.isArray(issues) && issues[0]) return issues[0].path.map(String).join(".") || null;
  return null;
}

/** Human text for a zod validation failure: `start_date: is required (a date YYYY-MM-DD)`. */
export function validationMessage(err: TRPCError): string | null {
  const issues = (err.cause as { issues?: { path: PropertyKey[]; message: string }[] } | undefined)?.issues;
  if (!Array.isArray(issues) || !issues.length) return null;
  return issues.map((i) => `${i.path.map(String).join(".") || "input"}: ${i.message}`).join("; ");
}

/** pg error codes of a standby that cannot answer: a recovery conflict, or a write on a read-only server. */
const STANDBY_CODES = new Set(["40001", "25006", "57P04", "3D000"]);

/**
 * Whether an error means the standby could not answer (unreachable, shutting down, a query cancelled by
 * a recovery conflict, a write refused in recovery): the read is then answered by the primary.
 */
export function standbyUnusable(err: unknown): boolean {
  const e = errorDetail(err);
  if (e instanceof SpendlensError) return e.code === "UNAVAILABLE";
  const c = classifyDbError(e);
  if (c instanceof SpendlensError) return c.code === "UNAVAILABLE";
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && STANDBY_CODES.has(code);
}
