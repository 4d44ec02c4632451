import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { internalMessage } from "@spendlens/api";

/**
 * Every request gets an id, sent back in `x-request-id` on every answer and written on every log line
 * about it, so that a caller quoting a 500's message finds the error's detail in the server's log.
 * A sane incoming `x-request-id` (a proxy's or load balancer's) is kept, so ids match across hops;
 * anything else is replaced (it would end up in the log and in the body).
 */
const SANE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

const ids = new WeakMap<IncomingMessage, string>();

/** Picks the request's id, sets the response header, and remembers it for `requestIdOf`. */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers["x-request-id"];
  const id = typeof incoming === "string" && SANE_ID.test(incoming) ? incoming : randomUUID();
  ids.set(req, id);
  res.setHeader("x-request-id", id);
  return id;
}

export const requestIdOf = (req: IncomingMessage): string | undefined => ids.get(req);

/** LiteLLM's error body for an unexpected error: a generic message with the request id, nothing else. */
export const internalErrorBody = (requestId: string | undefined) => ({
  error: { message: internalMessage(requestId), type: "internal_error", param: null, code: "500" },
});
