import {
  ALL,
  authenticate,
  type Caller,
  type Db,
  type DbHandle,
  isAdminRole,
  type Scope,
  type SpendlensConfig,
  SpendlensError,
  scopeOf,
} from "@spendlens/core";
import { initTRPC, TRPCError } from "@trpc/server";
import type { ZodType } from "zod";
import { errorField, toTRPCError, validationMessage } from "./errors.ts";

/**
 * What every procedure may use. The inner context (services + caller) is built the same way for HTTP,
 * for the in-process CLI and for tests; the HTTP adapter only supplies the bearer token.
 */
export interface Services {
  db: Db;
  handle?: DbHandle;
  config: SpendlensConfig;
  masterKey?: string | undefined;
}

export interface Context extends Services {
  caller: Caller | null;
  /** Why there is no caller (missing or wrong key), raised by procedures that need one. */
  authError: SpendlensError | null;
  /** Set by the REST server: a procedure may answer with a stream (stream.ts `streamOr`). */
  restStream?: boolean;
}

/** How a procedure is also served as one of the seed's REST routes. */
export interface RestMeta {
  method: "GET" | "POST";
  /** The seed's path, e.g. `/global/spend`. */
  path: string;
  /** REST request -> procedure input. Default: GET takes the query, POST the JSON body over the query. */
  input?: (req: { query: Record<string, string>; body: unknown }) => unknown;
  /** Procedure output -> the seed's response shape. Default: unchanged. */
  output?: (out: any) => unknown;
  /** The REST answer's shape, for the OpenAPI document (responses.ts). */
  response?: ZodType;
  /** The REST request body's shape when `input` reshapes it (OpenAPI); default: the procedure input. */
  body?: ZodType;
}

export interface Meta {
  rest?: RestMeta;
  /** One line for `--help` and the docs. */
  summary?: string;
}

export async function createContext(services: Services, bearer: string | null | undefined): Promise<Context> {
  try {
    const caller = await authenticate(services.db, bearer, services.masterKey);
    return { ...services, caller, authError: null };
  } catch (e) {
    if (e instanceof SpendlensError && e.code === "UNAUTHORIZED")
      return { ...services, caller: null, authError: e };
    throw e;
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
    errorFormatter({ shape, error }) {
      const field = errorField(error);
      const vmsg = error.code === "BAD_REQUEST" ? validationMessage(error) : null;
      return {
        ...shape,
        message: vmsg ?? shape.message,
        data: { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path, field },
      };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Domain errors thrown anywhere below become the right tRPC code; nothing else leaks. */
const mapErrors = t.middleware(async ({ next }) => {
  const res = await next();
  if (!res.ok) throw toTRPCError(res.error);
  return res;
});

export const publicProcedure = t.procedure.use(mapErrors);

/** Any valid key (master or virtual). */
export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.caller) {
    throw new TRPCError({ code: "UNAUTHORIZED", message: ctx.authError?.message ?? "missing API key" });
  }
  return next({ ctx: { ...ctx, caller: ctx.caller } });
});

/**
 * Reads that internal users may make on their own rows: admins get every row, internal users a scope
 * of their own user id (the seed's internal-user branches).
 */
export const scopedReadProcedure = authedProcedure.use(({ ctx, next }) => {
  const scope: Scope = scopeOf(ctx.caller);
  return next({ ctx: { ...ctx, scope } });
});

/** Reports for proxy_admin and proxy_admin_viewer only. */
export const adminReadProcedure = authedProcedure.use(({ ctx, next }) => {
  if (!isAdminRole(ctx.caller.role)) {
    throw new TRPCError({ code: "FORBIDDEN", message: `role ${ctx.caller.role} may not use this report` });
  }
  return next({ ctx: { ...ctx, scope: ALL as Scope } });
});

/** Mutations: proxy_admin only. */
export const adminWriteProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.caller.role !== "proxy_admin") {
    throw new TRPCError({ code: "FORBIDDEN", message: "only proxy_admin may do this" });
  }
  return next({ ctx: { ...ctx, scope: ALL as Scope } });
});
