export { errorDetail, internalMessage, standbyUnusable, toTRPCError } from "./errors.ts";
export { VerifiedKeys } from "./keyCache.ts";
export {
  type InputField,
  inputFields,
  type OpenApiOptions,
  openApiDocument,
  requiredInputFields,
} from "./openapi.ts";
export {
  callRestRoute,
  matchRoute,
  procedureMeta,
  procedureReads,
  type RestResponse,
  type RestRoute,
  restErrorBody,
  restRoutes,
} from "./rest.ts";
export { type AppRouter, appRouter, createCaller } from "./root.ts";
export { SPEND_REPORT_CSV_COLUMNS } from "./routers/reports.ts";
export {
  isRestStream,
  type OpenedStream,
  openRestStream,
  type RestItem,
  type RestStream,
  streamOr,
} from "./stream.ts";
export { cell, columnsOf, csvLines, flatTableOf, flattenRow, type Row, tableOf, toCsv } from "./tabular.ts";
export {
  ACCESS_LEVELS,
  type Access,
  type Context,
  createContext,
  createLocalContext,
  type Meta,
  type RestMeta,
  readsFromStandby,
  type Services,
  type StandbyRead,
} from "./trpc.ts";
