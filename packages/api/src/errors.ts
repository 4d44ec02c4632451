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
    // A domain error thrown inside a procedure arrives wrapped by tRPC.
    if (err.code === "INTERNAL_SERVER_ERROR" && err.cause) {
      const inner = classifyDbError(err.cause);
      if (inner instanceof SpendlensError) return toTRPCError(inner);
    }
    return err;
  }
  const e = classifyDbError(err);
  if (e instanceof SpendlensError) {
    return new TRPCError({ code: CODE_MAP[e.code], message: e.message, cause: e });
  }
  // Never leak internals: the message stays generic, the cause is logged by the server.
  return new TRPCError({
    code: "INTERNAL_SERVER_ERROR",
    message: "internal error",
    cause: err instanceof Error ? err : undefined,
  });
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
