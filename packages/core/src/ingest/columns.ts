/** The log columns ingest writes (spend logs, the optional LiteLLM ones, error logs): from the catalog. */
import { columnsWhere, ERROR_LOG_CATALOG, type LogColumn, SPEND_LOG_CATALOG } from "../db/logColumns.ts";
import type { Column } from "./idempotent.ts";

const spend: readonly LogColumn[] = SPEND_LOG_CATALOG;

export const SPEND_LOG_COLUMNS: Column[] = columnsWhere(spend, (c) => c.ingest === true && !c.optional);
/** LiteLLM columns stored when the table has them (an older attached database may lack some). */
export const OPTIONAL_SPEND_LOG_COLUMNS: Column[] = columnsWhere(
  spend,
  (c) => c.ingest === true && c.optional === true,
);
export const ERROR_LOG_COLUMNS: Column[] = columnsWhere(ERROR_LOG_CATALOG, (c) => c.ingest === true);
