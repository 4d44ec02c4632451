import {
  ALL,
  authenticate,
  badRequest,
  type Caller,
  type Db,
  type DbHandle,
  isAdminRole,
  type Scope,
  type SpendlensConfig,
  SpendlensError,
  scopeOf,
  UNSTORABLE_REASON,
  unstorablePath,
} from "@spendlens/core";
import { initTRPC, TRPCError } from "@trpc/server";
import type { ZodType } from "zod";
import { errorField, internalMessage, standbyUnusable, toTRPCError, validationMessage } from "./errors.ts";
import type { VerifiedKeys } from "./keyCache.ts";

/**
 * What every procedure may use. The inner context (services + caller) is built the same way for HTTP,
 * for the in-process CLI and for tests; the HTTP adapter only supplies the bearer token.
 */
export interface Services {
  db: Db;
  handle?: DbHandle;
  config: SpendlensConfig;
  masterKey?: string | undefined;
  /**
   * Virtual keys verified in the last moments (keyCache.ts), so a caller's requests do not each look
   * their key up; absent: every request looks its key up.
   */
  keys?: VerifiedKeys | undefined;
}

export interface Context extends Services {
  caller: Caller | null;
  /** Why there is no caller (missing or wrong key), raised by procedures that need one. */
  authError: SpendlensError | null;
  /** Set by the REST server: a procedure may answer with a stream (stream.ts `streamOr`). */
  restStream?: boolean;
  /** The HTTP request's id (the server's `x-request-id`): quoted in a 500's message and in the log. */
  requestId?: string | undefined;
  /**
   * Set by the HTTP server when a tRPC request accepts a streamed answer (`httpBatchStreamLink`,
   * jsonl): a big answer's list is then an async iterable (stream.ts `streamOr`).
   */
  trpcStream?: boolean;
  /**
   * Set by the HTTP server when it refused the request before running it (rate limit, heavy queue
   * full, deadline passed): every procedure of the request fails with it, in tRPC's own error shape.
   */
  refused?: TRPCError | undefined;
  /**
   * Set by the HTTP server when the request may read from a hot standby (every procedure it calls is a
   * read, `readsFromStandby`, and the standby is within its lag bound): such procedures run with
   * `ctx.db` = the standby (the `routeReads` middleware); everything else keeps the primary.
   */
  standby?: StandbyRead | undefined;
  /** The server's counters (apps/server metrics.ts): ingest reports the rows it stored. */
  observe?: { ingested(kind: "spend" | "error", rows: number): void } | undefined;
}

/** A read offered to a standby; `fallback` is called when the standby failed and the primary answers. */
export interface StandbyRead {
  db: Db;
  fallback(cause: unknown): void;
}

/** How a procedure is also served as one of the original's REST routes. */
export interface RestMeta {
  method: "GET" | "POST";
  /** The original's path, e.g. `/global/spend`. */
  path: string;
  /** REST request -> procedure input. Default: GET takes the query, POST the JSON body over the query. */
  input?: (req: { query: Record<string, string | string[]>; body: unknown }) => unknown;
  /**
   * Query names that may repeat (`tag_filters=a&tag_filters=b`, FastAPI's `List[str]`): they reach the
   * input as an array of every value. Any other repeated name gives its last value, as FastAPI does.
   */
  multi?: readonly string[];
  /** Procedure output -> the original's response shape. Default: unchanged. */
  output?: (out: any) => unknown;
  /** The REST answer's shape, for the OpenAPI document (responses.ts). */
  response?: ZodType;
  /** The REST request body's shape when `input` reshapes it (OpenAPI); default: the procedure input. */
  body?: ZodType;
}

/**
 * Who may call a procedure, set by the builder it is made from (never by hand), so a procedure cannot
 * declare one role and enforce another. The authorization tests and docs/security.md are generated from it.
 * - `authed`: any valid key.
 * - `scoped`: any valid key; internal users get only their own rows (ctx.scope), admins every row.
 * - `adminRead`: proxy_admin and proxy_admin_viewer.
 * - `adminWrite`: proxy_admin only.
 * - `ingest`: proxy_admin, or a key whose metadata grants ingest (routers/ingest.ts).
 */
export const ACCESS_LEVELS = ["authed", "scoped", "adminRead", "adminWrite", "ingest"] as const;
export type Access = (typeof ACCESS_LEVELS)[number];

export interface Meta {
  /** Set by the procedure builder (authedProcedure, scopedReadProcedure, …); see `Access`. */
  access?: Access;
  rest?: RestMeta;
  /** One line for `--help` and the docs. */
  summary?: string;
  /**
   * The CLI's named command (apps/cli derives one from every procedure, cli/src/derive.ts): `name`
   * where it is not the one derived from the REST path; `args`, input fields taken as positional
   * arguments, in order (a REST path's `{name}` segments are positional without saying so).
   */
  cli?: { name?: string; args?: readonly string[] };
  /**
   * Where text in the input is checked for NUL and unpaired surrogates. Default `"input"`: the whole raw
   * input, by the base procedure (a 400 naming the field). `"rows"`: the procedure checks it itself, row
   * by row (ingest: a bad row is reported in its batch, the others are stored).
   */
  textCheck?: "input" | "rows";
  /**
   * A query that can read much (a big range, a long list): the server runs a bounded number of them
   * at once and queues the rest (apps/server/src/limits.ts).
   */
  heavy?: boolean;
  /**
   * A query that must run on the primary even when reads may go to a hot standby: it writes while
   * reading (provider budget windows are persisted when one opens) or must see the newest writes.
   * Mutations and ingest always run on the primary; see `readsFromStandby`.
   */
  primary?: boolean;
  /** Takes a big body (ingest batches): the server allows its larger body limit. */
  largeBody?: boolean;
  /**
   * Over tRPC with httpBatchStreamLink (jsonl), the answer's big list is an async iterable, streamed
   * (stream.ts `streamOr`); plain httpLink calls get the whole value.
   */
  streamed?: boolean;
}

/** Access levels whose queries only read (ingest and adminWrite procedures write). */
const READ_ACCESS: ReadonlySet<Access | undefined> = new Set<Access | undefined>([
  "authed",
  "scoped",
  "adminRead",
]);

/**
 * Whether a procedure may read from a hot standby: a query (no side effects) of a reading access level
 * that does not ask for the primary (`meta.primary`). Mutations, ingest and budget writes never do.
 */
export function readsFromStandby(type: string, meta: Meta | undefined): boolean {
  return type === "query" && READ_ACCESS.has(meta?.access) && !meta?.primary;
}

export async function createContext(
  services: Services,
  bearer: string | null | undefined,
  opts: { requestId?: string | undefined } = {},
): Promise<Context> {
  const base = { ...services, ...(opts.requestId ? { requestId: opts.requestId } : {}) };
  try {
    const caller = services.keys
      ? await services.keys.authenticate(services.db, bearer, services.masterKey)
      : await authenticate(services.db, bearer, services.masterKey);
    return { ...base, caller, authError: null };
  } catch (e) {
    if (e instanceof SpendlensError && e.code === "UNAUTHORIZED")
      return { ...base, caller: null, authError: e };
    // The database down while checking the key is a 503; anything else a generic 500 (the formatter
    // cannot see a context that was never made, so the request id goes in the message here).
    const err = toTRPCError(e);
    if (err.code === "INTERNAL_SERVER_ERROR")
      throw new TRPCError({ code: err.code, message: internalMessage(opts.requestId), cause: err.cause });
    throw err;
  }
}

/** In-process access (the CLI on a local database): the operator is proxy_admin. */
export function createLocalContext(services: Services): Context {
  return {
    ...services,
    caller: { role: "proxy_admin", userId: null, keyHash: null, metadata: {} },
    authError: null,
  };
}

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    errorFormatter({ shape, error, ctx }) {
      const field = errorField(error);
      const vmsg = error.code === "BAD_REQUEST" ? validationMessage(error) : null;
      // The one boundary for tRPC answers: an unexpected error never shows its own text (a driver's
      // message, a path), only a generic one with the request id that finds it in the server's log.
      const internal = error.code === "INTERNAL_SERVER_ERROR";
      return {
        ...shape,
        message: internal ? internalMessage(ctx?.requestId) : (vmsg ?? shape.message),
        data: { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path, field },
      };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Domain errors thrown anywhere below become the right tRPC code; nothing else leaks. */
const mapErrors = t.middleware(async ({ ctx, next }) => {
  if (ctx.refused) throw ctx.refused;
  const res = await next();
  if (!res.ok) throw toTRPCError(res.error);
  return res;
});

/**
 * Text the database cannot hold (NUL, an unpaired surrogate; core's text.ts) anywhere in the raw input,
 * refused before the input parser runs, on every procedure: a 400 naming the field. A caller without a
 * valid key is told that first (401), as for any other bad input.
 */
const rejectUnstorableText = t.middleware(async ({ ctx, meta, getRawInput, next }) => {
  if (meta?.textCheck === "rows") return next();
  const path = unstorablePath(await getRawInput());
  if (path === null) return next();
  if (!ctx.caller && ctx.authError) throw ctx.authError;
  throw badRequest(path.replace(/^\./, "") || "input", UNSTORABLE_REASON);
});

/**
 * Reads on a hot standby: when the server offers one (`ctx.standby`) and the procedure is a read, it runs
 * with `ctx.db` = the standby; if the standby fails (unreachable, shut down, a query cancelled by a
 * recovery conflict), the server is told (`fallback`: its headers then say primary) and the procedure
 * runs again on the primary, so the caller sees no error. A streamed answer fails later, when it is
 * read: the REST server retries it the same way before its first byte (apps/server).
 */
const routeReads = t.middleware(async ({ ctx, meta, type, next }) => {
  const standby = ctx.standby;
  if (!standby || !readsFromStandby(type, meta)) return next();
  const res = await next({ ctx: { db: standby.db } });
  if (res.ok || !standbyUnusable(res.error)) return res;
  standby.fallback(res.error);
  return next({ ctx: { standby: undefined } });
});

export const publicProcedure = t.procedure.use(mapErrors).use(rejectUnstorableText).use(routeReads);

/** Any valid key (master or virtual). */
const requireKey = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.caller) {
    throw new TRPCError({ code: "UNAUTHORIZED", message: ctx.authError?.message ?? "missing API key" });
  }
  return next({ ctx: { caller: ctx.caller } });
});

/**
 * The builders below set `meta.access`; tRPC merges a procedure's own `.meta({ rest, summary })` over it
 * shallowly, so the access stays the builder's. The authorization matrix (packages/api/test/authMatrix.test.ts)
 * takes its expected statuses from the declared access and calls every procedure with every kind of key,
 * so a declaration that differs from what the middleware enforces fails there.
 */
export const authedProcedure = requireKey.meta({ access: "authed" });

/**
 * Reads that internal users may make on their own rows: admins get every row, internal users a scope
 * of their own user id (the original's internal-user branches).
 */
export const scopedReadProcedure = requireKey.meta({ access: "scoped" }).use(({ ctx, next }) => {
  const scope: Scope = scopeOf(ctx.caller);
  return next({ ctx: { scope } });
});

/** Reports for proxy_admin and proxy_admin_viewer only. */
export const adminReadProcedure = requireKey.meta({ access: "adminRead" }).use(({ ctx, next }) => {
  if (!isAdminRole(ctx.caller.role)) {
    throw new TRPCError({ code: "FORBIDDEN", message: `role ${ctx.caller.role} may not use this report` });
  }
  return next({ ctx: { scope: ALL as Scope } });
});

/** Mutations: proxy_admin only. */
export const adminWriteProcedure = requireKey.meta({ access: "adminWrite" }).use(({ ctx, next }) => {
  if (ctx.caller.role !== "proxy_admin") {
    throw new TRPCError({ code: "FORBIDDEN", message: "only proxy_admin may do this" });
  }
  return next({ ctx: { scope: ALL as Scope } });
});
