import type { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { errorDetail, errorField, internalMessage, toTRPCError, validationMessage } from "./errors.ts";
import { type AppRouter, appRouter, createCaller } from "./root.ts";
import { isRestStream, type RestStream } from "./stream.ts";
import { type Context, type Meta, type RestMeta, readsFromStandby } from "./trpc.ts";

/**
 * The original's REST routes, served from the same procedures: each procedure whose meta has `rest` is a
 * route with the original's path and method; query names are the procedure's input names (snake_case).
 */
export interface RestRoute {
  method: "GET" | "POST";
  path: string;
  procedure: string;
  meta: RestMeta;
  /** Values of the path's `{name}` segments, set by matchRoute; they join the query as input fields. */
  params?: Record<string, string>;
  /** The procedure's meta.heavy / meta.largeBody (the server's admission and body limit). */
  heavy: boolean;
  largeBody: boolean;
}

export function restRoutes(router: AppRouter = appRouter): RestRoute[] {
  const out: RestRoute[] = [];
  const procs = router._def.procedures as unknown as Record<string, { _def: { meta?: Meta } }>;
  for (const [name, proc] of Object.entries(procs)) {
    const m = proc._def.meta;
    const rest = m?.rest;
    if (rest)
      out.push({
        method: rest.method,
        path: rest.path,
        procedure: name,
        meta: rest,
        heavy: !!m.heavy,
        largeBody: !!m.largeBody,
      });
  }
  return out;
}

export interface RestResponse {
  status: number;
  body: unknown;
  /** A streamed answer (status 200, body unset): see stream.ts. Only when the call asked for one. */
  stream?: RestStream;
  /** For a 5xx: the error behind it, for the server's log only (never in the body). */
  cause?: unknown;
}

const ERROR_TYPES: Record<number, string> = {
  400: "bad_request_error",
  401: "auth_error",
  403: "permission_error",
  404: "not_found_error",
  409: "conflict_error",
  413: "bad_request_error",
  429: "throttling_error",
  503: "service_unavailable",
  504: "timeout_error",
};

/**
 * The LiteLLM proxy's error body: `{"error": {"message", "type", "param", "code"}}`. A 500's message is
 * always the generic one with the request id (the detail is in `cause`, for the log).
 */
export function restErrorBody(err: TRPCError, requestId?: string): RestResponse {
  const status = getHTTPStatusCodeFromError(err);
  const message =
    status === 500
      ? internalMessage(requestId)
      : ((err.code === "BAD_REQUEST" ? validationMessage(err) : null) ?? err.message);
  return {
    ...(status >= 500 ? { cause: errorDetail(err) } : {}),
    status,
    body: {
      error: {
        message,
        type: ERROR_TYPES[status] ?? "internal_error",
        param: errorField(err),
        code: String(status),
      },
    },
  };
}

function defaultInput(route: RestRoute, query: Record<string, string | string[]>, body: unknown): unknown {
  if (route.method === "GET") return query;
  if (body && typeof body === "object" && !Array.isArray(body)) return { ...query, ...(body as object) };
  return Object.keys(query).length ? query : body;
}

/**
 * Runs one REST request through its procedure; errors come back in LiteLLM's error shape. With
 * `stream: true`, a procedure that can stream its answer (stream.ts `streamOr`) returns it as
 * `stream` (already in the REST shape: `meta.output` does not apply) instead of a whole `body`.
 */
export async function callRestRoute(
  ctx: Context,
  route: RestRoute,
  req: { query: Record<string, string | string[]>; body: unknown },
  opts: { stream?: boolean } = {},
): Promise<RestResponse> {
  try {
    const query = route.params ? { ...req.query, ...route.params } : req.query;
    const input = route.meta.input
      ? route.meta.input({ ...req, query })
      : defaultInput(route, query, req.body);
    const caller = createCaller(opts.stream ? { ...ctx, restStream: true } : ctx) as unknown as Record<
      string,
      unknown
    >;
    const fn = route.procedure.split(".").reduce<any>((o, k) => o?.[k], caller) as (
      i: unknown,
    ) => Promise<unknown>;
    const out = await fn(input);
    if (isRestStream(out)) return { status: 200, body: undefined, stream: out };
    return { status: 200, body: route.meta.output ? route.meta.output(out) : out };
  } catch (e) {
    return restErrorBody(toTRPCError(e), ctx.requestId);
  }
}

/** A procedure's meta by its dotted path (tRPC requests name their procedures in the URL). */
export function procedureMeta(path: string, router: AppRouter = appRouter): Meta | undefined {
  const procs = router._def.procedures as unknown as Record<string, { _def: { meta?: Meta } } | undefined>;
  return Object.hasOwn(procs, path) ? procs[path]?._def.meta : undefined;
}

/**
 * Whether the procedure at this dotted path only reads and may run on a hot standby
 * (`readsFromStandby`); false for an unknown path.
 */
export function procedureReads(path: string, router: AppRouter = appRouter): boolean {
  const procs = router._def.procedures as unknown as Record<
    string,
    { _def: { meta?: Meta; type?: string } } | undefined
  >;
  const p = Object.hasOwn(procs, path) ? procs[path] : undefined;
  return !!p && readsFromStandby(p._def.type ?? "", p._def.meta);
}

/** `{name}` segments of a route path matched against a request path: their values, or null. */
function matchTemplate(template: string, path: string): Record<string, string> | null {
  if (!template.includes("{")) return template === path ? {} : null;
  const t = template.split("/");
  const p = path.split("/");
  if (t.length !== p.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    const m = /^\{([a-z_]+)\}$/.exec(t[i]!);
    if (!m) {
      if (t[i] !== p[i]) return null;
      continue;
    }
    if (p[i] === "") return null;
    try {
      params[m[1]!] = decodeURIComponent(p[i]!);
    } catch {
      return null;
    }
  }
  return params;
}

/** Per route list: its fixed paths' routes by path, and its templated routes in order (built once). */
const routeIndex = new WeakMap<RestRoute[], { fixed: Map<string, RestRoute[]>; templated: RestRoute[] }>();

function indexOf(routes: RestRoute[]) {
  let ix = routeIndex.get(routes);
  if (!ix) {
    ix = { fixed: new Map(), templated: [] };
    for (const r of routes) {
      if (r.path.includes("{")) ix.templated.push(r);
      else {
        const same = ix.fixed.get(r.path);
        if (same) same.push(r);
        else ix.fixed.set(r.path, [r]);
      }
    }
    routeIndex.set(routes, ix);
  }
  return ix;
}

/**
 * Finds the route for a method and path (a fixed path before a `{name}` template); `null` when none,
 * `"method"` when the path exists with another method. A templated route comes back with `params`.
 * The fixed paths are looked up in an index made once per route list (the list is never changed after).
 */
export function matchRoute(routes: RestRoute[], method: string, path: string): RestRoute | "method" | null {
  const ix = indexOf(routes);
  const fixed = ix.fixed.get(path);
  if (fixed) {
    for (const r of fixed) if (r.method === method) return r;
    return "method";
  }
  let other = false;
  for (const r of ix.templated) {
    const params = matchTemplate(r.path, path);
    if (params === null) continue;
    if (r.method === method) return { ...r, params };
    other = true;
  }
  return other ? "method" : null;
}
