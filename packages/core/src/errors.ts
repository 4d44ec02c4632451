/**
 * Transport-free domain errors. The API layer maps each code to an HTTP/tRPC status in one place
 * (packages/api/src/errors.ts); core never knows about HTTP.
 */
export type ErrorCode =
  | "BAD_REQUEST" // input that cannot be answered (names a field)
  | "UNAUTHORIZED" // no key, unknown key, blocked or expired key
  | "FORBIDDEN" // a valid caller asking for what its role may not see
  | "NOT_FOUND"
  | "CONFLICT"
  | "UNAVAILABLE" // the database cannot be reached
  | "TIMEOUT" // a query ran past the statement timeout
  | "SCHEMA" // the database is not in a shape spendlens can serve
  | "CONFIG"; // the config file is missing or malformed

export class SpendlensError extends Error {
  readonly code: ErrorCode;
  /** The input field at fault, as the caller named it (snake_case, like the REST query). */
  readonly field: string | undefined;
  constructor(code: ErrorCode, message: string, field?: string) {
    super(message);
    this.name = "SpendlensError";
    this.code = code;
    this.field = field;
  }
}

export const badRequest = (field: string, message: string) =>
  new SpendlensError("BAD_REQUEST", message, field);
export const forbidden = (message: string) => new SpendlensError("FORBIDDEN", message);

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
  "53300", // too_many_connections
]);

/**
 * Turns a driver error into a domain error where it is one of ours to explain (database down, query
 * timed out); anything else is returned unchanged.
 */
export function classifyDbError(err: unknown): unknown {
  if (err instanceof SpendlensError) return err;
  const e = err as { code?: string; message?: string; errors?: unknown[] } | null;
  if (!e || typeof e !== "object") return err;
  const code = e.code;
  if (code === "57014") return new SpendlensError("TIMEOUT", "the query ran past the statement timeout");
  const msg = e.message ?? "";
  if (
    (code && CONNECTION_CODES.has(code)) ||
    /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      msg,
    ) ||
    (Array.isArray(e.errors) &&
      e.errors.some((x) => CONNECTION_CODES.has((x as { code?: string })?.code ?? "")))
  ) {
    return new SpendlensError("UNAVAILABLE", "the database is unavailable");
  }
  return err;
}
