import {
  ALL,
  type Caller,
  ingestErrorLogs,
  ingestSpendLogs,
  MAX_INGEST_BATCH,
  type Scope,
} from "@spendlens/core";
import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { z } from "zod";
import * as R from "../responses.ts";
import { authedProcedure, type RestMeta } from "../trpc.ts";

/**
 * Who may ingest: proxy_admin (the master key), or a key whose metadata grants it:
 * `{"spendlens_ingest": true}` (or the nested form `{"spendlens": {"ingest": true}}`). A granted key writes
 * for the whole gateway, like the master key (scope: all).
 */
export const INGEST_METADATA_KEY = "spendlens_ingest";

export function mayIngest(caller: Caller): boolean {
  if (caller.role === "proxy_admin") return true;
  const m = caller.metadata ?? {};
  if (m[INGEST_METADATA_KEY] === true) return true;
  const nested = m.spendlens;
  return !!nested && typeof nested === "object" && (nested as { ingest?: unknown }).ingest === true;
}

/** authedProcedure + the ingest grant. */
export const ingestProcedure = authedProcedure.meta({ access: "ingest" }).use(({ ctx, next }) => {
  if (!mayIngest(ctx.caller)) {
    throw new TRPCError({
      code: "FORBIDDEN",
      message: `only proxy_admin or a key whose metadata has "${INGEST_METADATA_KEY}": true may ingest logs`,
    });
  }
  return next({ ctx: { ...ctx, scope: ALL as Scope } });
});

/** Rows are validated one by one in core (a bad row is reported, not fatal), so here only the batch. */
const ingestInput = z.object({
  logs: z
    .array(z.unknown(), { error: "is required (an array of log rows)" })
    .min(1, "must hold at least one row")
    .max(MAX_INGEST_BATCH, `at most ${MAX_INGEST_BATCH} rows per call`),
});

/** The body is `{"logs": [...]}`; a bare JSON array of rows is taken as the logs too. */
const restInput: RestMeta["input"] = ({ body }) => (Array.isArray(body) ? { logs: body } : (body ?? {}));

export const ingestRouter = {
  spendLogs: ingestProcedure
    .meta({
      cli: { name: "ingest-logs" },
      rest: {
        method: "POST",
        path: "/spend/logs/ingest",
        input: restInput,
        body: R.ingestRequestBody,
        response: R.spendIngestResponse,
      },
      textCheck: "rows",
      summary:
        "Write up to 1000 spend logs (LiteLLM_SpendLogs rows), idempotent on request_id; keeps key/user/team/end-user spend and provider budget windows in step",
      largeBody: true,
    })
    .input(ingestInput)
    .mutation(async ({ ctx, input }) => {
      const r = await ingestSpendLogs(ctx.db, ctx.scope, input, ctx.config);
      ctx.observe?.ingested("spend", r.inserted);
      return r;
    }),

  errorLogs: ingestProcedure
    .meta({
      cli: { name: "ingest-error-logs" },
      rest: {
        method: "POST",
        path: "/error/logs/ingest",
        input: restInput,
        body: R.ingestRequestBody,
        response: R.errorIngestResponse,
      },
      textCheck: "rows",
      summary: "Write up to 1000 error logs (LiteLLM_ErrorLogs rows), idempotent on request_id",
      largeBody: true,
    })
    .input(ingestInput)
    .mutation(async ({ ctx, input }) => {
      const r = await ingestErrorLogs(ctx.db, ctx.scope, input);
      ctx.observe?.ingested("error", r.inserted);
      return r;
    }),
} satisfies TRPCRouterRecord;
