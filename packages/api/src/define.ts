import type { Db, Scope } from "@spendlens/core";
import type { ZodType, z } from "zod";
import { adminReadProcedure, type Meta, type RestMeta, scopedReadProcedure } from "./trpc.ts";

/** What a route's meta may add to `get`'s: the other Meta fields, and RestMeta's beside method/path/response. */
export type RouteExtra = Omit<Meta, "rest" | "summary" | "access"> & {
  rest?: Omit<RestMeta, "method" | "path" | "response">;
};

/** A procedure's meta served as the REST route `method path`, answering `response`. */
export function route(
  method: RestMeta["method"],
  path: string,
  response: ZodType,
  summary: string,
  extra: RouteExtra = {},
): Meta {
  // The keys in the order the routers always wrote them: cli, rest, summary, then the rest.
  const { rest, cli, ...more } = extra;
  return { ...(cli && { cli }), rest: { method, path, ...rest, response }, summary, ...more };
}

/** `route` for a GET. */
export const get = (path: string, response: ZodType, summary: string, extra?: RouteExtra): Meta =>
  route("GET", path, response, summary, extra);

/** A core read `(db, scope, input)`: what most read procedures answer with. */
export type CoreRead<I extends ZodType, O> = (db: Db, scope: Scope, input: z.output<I>) => O | Promise<O>;

/** A read query internal users may make on their own rows (scopedReadProcedure) answering `run`. */
export function scopedRead<I extends ZodType, O>(meta: Meta, input: I, run: CoreRead<I, O>) {
  return scopedReadProcedure
    .meta(meta)
    .input(input)
    .query(({ ctx, input }) => run(ctx.db, ctx.scope, input as z.output<I>));
}

/** The same for proxy_admin and proxy_admin_viewer only (adminReadProcedure). */
export function adminRead<I extends ZodType, O>(meta: Meta, input: I, run: CoreRead<I, O>) {
  return adminReadProcedure
    .meta(meta)
    .input(input)
    .query(({ ctx, input }) => run(ctx.db, ctx.scope, input as z.output<I>));
}
