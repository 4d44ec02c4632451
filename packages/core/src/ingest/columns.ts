/** The log columns ingest writes (spend logs, the optional LiteLLM ones, error logs). */
import type { Column } from "./idempotent.ts";

export const SPEND_LOG_COLUMNS: Column[] = [
  { name: "request_id", type: "text" },
  { name: "call_type", type: "text" },
  { name: "api_key", type: "text" },
  { name: "spend", type: "float8" },
  { name: "total_tokens", type: "int4" },
  { name: "prompt_tokens", type: "int4" },
  { name: "completion_tokens", type: "int4" },
  { name: "startTime", type: "timestamp" },
  { name: "endTime", type: "timestamp" },
  { name: "model", type: "text" },
  { name: "model_id", type: "text" },
  { name: "model_group", type: "text" },
  { name: "custom_llm_provider", type: "text" },
  { name: "api_base", type: "text" },
  { name: "user", type: "text" },
  { name: "metadata", type: "jsonb" },
  { name: "cache_hit", type: "text" },
  { name: "request_tags", type: "jsonb" },
  { name: "team_id", type: "text" },
  { name: "end_user", type: "text" },
];
/** LiteLLM columns stored when the table has them (an older attached database may lack some). */
export const OPTIONAL_SPEND_LOG_COLUMNS: Column[] = [
  { name: "completionStartTime", type: "timestamp" },
  { name: "cache_key", type: "text" },
  { name: "organization_id", type: "text" },
  { name: "requester_ip_address", type: "text" },
  { name: "session_id", type: "text" },
  { name: "status", type: "text" },
  { name: "messages", type: "jsonb" },
  { name: "response", type: "jsonb" },
];

export const ERROR_LOG_COLUMNS: Column[] = [
  { name: "request_id", type: "text" },
  { name: "startTime", type: "timestamp" },
  { name: "endTime", type: "timestamp" },
  { name: "api_base", type: "text" },
  { name: "model_group", type: "text" },
  { name: "litellm_model_name", type: "text" },
  { name: "model_id", type: "text" },
  { name: "request_kwargs", type: "jsonb" },
  { name: "exception_type", type: "text" },
  { name: "exception_string", type: "text" },
  { name: "status_code", type: "text" },
];
