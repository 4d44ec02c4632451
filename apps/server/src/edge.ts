import type { IncomingMessage, ServerResponse } from "node:http";
import { type Context, createContext, procedureMeta, type Services } from "@spendlens/api";
import { TRPCError } from "@trpc/server";
import { TRPC_ERROR_CODES_BY_KEY } from "@trpc/server/rpc";
import { closeUnlessDrainable } from "./body.ts";
import { HeavyGate, type Limits, QueueFullError, RateLimiter } from "./limits.ts";
import { requestIdOf } from "./requestId.ts";

/**
 * What happens to a request before its procedure runs, for REST and tRPC alike: the caller is
 * authenticated from the headers (the body is not read yet), the key's rate limit is taken, a heavy
 * query waits for a slot; a deadline covers all of it and the answer. A refusal is a TRPCError (401,
 * 429, 503, 504), answered in the transport's own shape by the caller of `admit`.
 */

/** Seconds a client is told to wait when the heavy queue is full. */
const HEAVY_RETRY_AFTER_S = 1;

export interface Admission {
  /** The context (with `caller` null and `authError` set when the key is missing or wrong). */
  ctx: Context;
  /** Why the request is refused before running (auth, rate, batch); the body is then unread. */
  refused: TRPCError | null;
}

export interface RequestKind {
  heavy: boolean;
  /** Heavy calls in the request: a tRPC batch may hold one at most (one request takes one slot). */
  heavyCalls?: number;
  /** Procedure calls in the request (a tRPC batch costs one token per call). */
  calls: number;
}

export class Edge {
  readonly rate: RateLimiter;
  readonly heavy: HeavyGate;
  constructor(
    private readonly services: Services,
    readonly limits: Limits,
  ) {
    this.rate = new RateLimiter(limits.rate);
    this.heavy = new HeavyGate(limits.heavyConcurrency, limits.heavyQueue);
  }

  /**
   * Authenticates and rate-limits one request, from its headers. Sets Retry-After and, when the
   * request is refused with an unread body, `Connection: close` (body.ts). Heavy requests then read
   * their body and `takeSlot`.
   */
  async admit(
    req: IncomingMessage,
    res: ServerResponse,
    bearer: string | null,
    kind: RequestKind,
  ): Promise<Admission> {
    const ctx = await createContext(this.services, bearer, { requestId: requestIdOf(req) });
    const refuse = (refused: TRPCError): Admission => {
      closeUnlessDrainable(req, res);
      return { ctx, refused };
    };
    if (!ctx.caller) {
      return refuse(
        new TRPCError({ code: "UNAUTHORIZED", message: ctx.authError?.message ?? "missing API key" }),
      );
    }
    const wait = this.rate.take(ctx.caller, kind.calls);
    if (wait !== null) {
      res.setHeader("retry-after", String(wait));
      return refuse(
        new TRPCError({
          code: "TOO_MANY_REQUESTS",
          message: `rate limit of this key exceeded: retry after ${wait} s`,
        }),
      );
    }
    if ((kind.heavyCalls ?? 0) > 1) {
      return refuse(
        new TRPCError({
          code: "BAD_REQUEST",
          message: "a batch may hold at most one heavy procedure: send the others in their own requests",
        }),
      );
    }
    return { ctx, refused: null };
  }

  /**
   * A heavy request waits here, once its body is read (a slow upload never holds a slot), for one of
   * the heavy slots; the release function frees it (call when the answer is done; idempotent).
   * Refused with a 503 (queue full, Retry-After) or a 504 (the deadline passed while waiting).
   */
  async takeSlot(
    req: IncomingMessage,
    res: ServerResponse,
    signal: AbortSignal,
  ): Promise<{ release: () => void; refused: TRPCError | null }> {
    try {
      return { release: await this.heavy.acquire(signal), refused: null };
    } catch (e) {
      closeUnlessDrainable(req, res);
      if (e instanceof QueueFullError) {
        res.setHeader("retry-after", String(HEAVY_RETRY_AFTER_S));
        return {
          release: () => {},
          refused: new TRPCError({
            code: "SERVICE_UNAVAILABLE",
            message: `too many heavy queries at once: retry after ${HEAVY_RETRY_AFTER_S} s`,
          }),
        };
      }
      return { release: () => {}, refused: deadlineError() };
    }
  }
}

export const payloadTooLarge = (message: string) => new TRPCError({ code: "PAYLOAD_TOO_LARGE", message });

export const deadlineError = () =>
  new TRPCError({ code: "GATEWAY_TIMEOUT", message: "the request took longer than the server's deadline" });

/**
 * The request's deadline: when it passes (or the client goes away) `signal` aborts; `onExpire` runs
 * when the deadline passed with the response still open. Cleared when the response closes. The
 * AbortController is made only when `signal` is read (a heavy request waiting for a slot): most
 * requests never need one, and aborting it on every close cost an Error and an event per request.
 */
export function startDeadline(
  res: ServerResponse,
  ms: number,
  onExpire: () => void,
): { readonly signal: AbortSignal; expired(): boolean } {
  let ac: AbortController | null = null;
  // Why the signal is (or would be) aborted, once it is.
  let reason: (() => Error) | null = null;
  let expired = false;
  const abort = (why: () => Error) => {
    if (reason) return;
    reason = why;
    ac?.abort(why());
  };
  const timer =
    ms > 0
      ? setTimeout(() => {
          expired = true;
          abort(deadlineError);
          if (!res.writableEnded) onExpire();
        }, ms)
      : null;
  res.once("close", () => {
    if (timer) clearTimeout(timer);
    abort(() => new Error("the response is closed"));
  });
  return {
    get signal() {
      if (!ac) {
        ac = new AbortController();
        if (reason) ac.abort(reason());
      }
      return ac.signal;
    },
    expired: () => expired,
  };
}

/** The procedures a tRPC URL names (`/trpc/a.b,c.d`), and whether it is a batch. */
export function trpcCalls(pathname: string, search: URLSearchParams): { paths: string[]; batch: boolean } {
  const rest = pathname.slice("/trpc/".length);
  const paths = decodeURIComponent(rest).split(",").filter(Boolean);
  return { paths, batch: search.get("batch") === "1" || search.get("batch") === "true" };
}

export function trpcKind(paths: string[]): RequestKind & { largeBody: boolean } {
  const metas = paths.map((p) => procedureMeta(p));
  return {
    heavy: metas.some((m) => m?.heavy),
    heavyCalls: metas.filter((m) => m?.heavy).length,
    largeBody: metas.some((m) => m?.largeBody),
    calls: Math.max(1, paths.length),
  };
}

const STATUS: Partial<Record<TRPCError["code"], number>> = {
  UNAUTHORIZED: 401,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_REQUESTS: 429,
  SERVICE_UNAVAILABLE: 503,
  GATEWAY_TIMEOUT: 504,
};

/**
 * tRPC's error answer (no transformer; the shape of this router's errorFormatter) for a request the
 * server answers itself (a 413 before the body, a deadline): one error, or one per call of a batch.
 */
export function trpcErrorAnswer(
  err: TRPCError,
  paths: string[],
  batch: boolean,
): { status: number; body: unknown } {
  const status = STATUS[err.code] ?? 500;
  const one = (path: string | undefined) => ({
    error: {
      message: err.message,
      code: TRPC_ERROR_CODES_BY_KEY[err.code],
      data: { code: err.code, httpStatus: status, path: path ?? null, field: null },
    },
  });
  return { status, body: batch ? paths.map(one) : one(paths[0]) };
}
