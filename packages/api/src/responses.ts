import { MAX_INGEST_BATCH } from "@spendlens/core";
import { z } from "zod";

/**
 * The REST answers' shapes, for the OpenAPI document only (nothing parses answers with them): each is
 * named by a route's `meta.rest.response`. apps/server/test/openapi.test.ts checks real answers from a
 * real server against them, so they stay true. Rows with many columns (LiteLLM's own tables) list the
 * columns clients use and allow the rest.
 */

const num = z.number();
const day = z.string().meta({ format: "date" });
const instant = z.string().meta({ format: "date-time" });

export const globalSpendResponse = z.object({
  spend: num.meta({ description: "USD over the last 30 days" }),
  max_budget: num.meta({ description: "litellm_settings.max_budget; 0 when unset" }),
});

export const dailySpendResponse = z.array(z.object({ date: day, spend: num }));

export const topKeysResponse = z.array(
  z.object({
    api_key: z.string(),
    key_alias: z.string().nullable(),
    key_name: z.string().nullable(),
    total_spend: num,
  }),
);

export const topModelsResponse = z.array(
  z.object({ model: z.string(), total_spend: num, total_tokens: num }),
);

export const teamsSpendResponse = z.object({
  daily_spend: z
    .array(z.looseObject({ date: day }).catchall(z.union([num, z.string()])))
    .meta({ description: "One entry per day: `date` and one spend per team alias" }),
  teams: z.array(z.string()),
  total_spend_per_team: z.array(z.object({ team_id: z.string(), total_spend: num })),
});

export const endUsersListResponse = z.object({ end_users: z.array(z.string()) });

export const endUsersSpendResponse = z.array(
  z.object({ end_user: z.string(), total_count: num, total_spend: num }),
);

/** A LiteLLM_VerificationToken row (the key's hash in `token`). */
export const keyRowsResponse = z.array(
  z.looseObject({
    token: z.string(),
    key_name: z.string().nullable(),
    key_alias: z.string().nullable(),
    spend: num,
    user_id: z.string().nullable(),
    team_id: z.string().nullable(),
    max_budget: num.nullable(),
    expires: z.string().nullable(),
  }),
);

/** A LiteLLM_UserTable row. */
export const userRowsResponse = z.array(
  z.looseObject({
    user_id: z.string(),
    user_alias: z.string().nullable(),
    user_email: z.string().nullable(),
    user_role: z.string().nullable(),
    spend: num,
    max_budget: num.nullable(),
  }),
);

/** GET /spendlens/teams: every team the caller may list, with its alias. */
export const teamListResponse = z.object({
  teams: z.array(
    z.object({
      team_id: z.string(),
      team_alias: z.string().nullable(),
      organization_id: z.string().nullable(),
    }),
  ),
});

/** A LiteLLM_SpendLogs row. */
export const spendLogRow = z.looseObject({
  request_id: z.string(),
  call_type: z.string(),
  api_key: z.string(),
  spend: num,
  total_tokens: num,
  prompt_tokens: num,
  completion_tokens: num,
  startTime: instant,
  endTime: instant,
  model: z.string(),
  model_id: z.string().nullable(),
  model_group: z.string().nullable(),
  api_base: z.string().nullable(),
  user: z.string().nullable(),
  team_id: z.string().nullable(),
  end_user: z.string().nullable(),
  request_tags: z.unknown(),
  metadata: z.unknown(),
});

export const spendLogsResponse = z
  .array(
    z.union([
      spendLogRow,
      z
        .looseObject({
          startTime: day,
          spend: num,
          users: z.record(z.string(), num),
          models: z.record(z.string(), num),
        })
        .catchall(z.unknown()),
    ]),
  )
  .meta({
    description:
      "With api_key / request_id / user_id: the logs (at most 1000). With start_date and end_date: one summary per day (spend per key hash as extra fields).",
  });

export const spendLogsUiResponse = z.object({
  data: z.array(spendLogRow),
  total: num,
  page: num,
  page_size: num,
  total_pages: num,
});

export const logsPageResponse = z.object({
  data: z.array(spendLogRow),
  next_cursor: z
    .string()
    .nullable()
    .meta({ description: "Pass as `cursor` for the next page; null on the last" }),
  has_more: z.boolean(),
  total: num.nullable().meta({ description: "Every matching log; null unless include_total" }),
  limit: num,
});

export const statusMessageResponse = z.object({ message: z.string(), status: z.string() });

const activityDay = {
  date: z.string().meta({ description: "The original's label, e.g. 'Jan 22'" }),
  date_iso: day,
};

export const activityResponse = z.object({
  daily_data: z.array(z.object({ ...activityDay, api_requests: num, total_tokens: num })),
  sum_api_requests: num,
  sum_total_tokens: num,
});

export const activityByModelResponse = z.array(
  z.object({
    model: z.string(),
    daily_data: z.array(
      z.object({ model_group: z.string(), ...activityDay, api_requests: num, total_tokens: num }),
    ),
    sum_api_requests: num,
    sum_total_tokens: num,
  }),
);

export const exceptionsResponse = z.object({
  daily_data: z.array(z.object({ ...activityDay, num_rate_limit_exceptions: num })),
  sum_num_rate_limit_exceptions: num,
});

export const exceptionsByDeploymentResponse = z.array(
  z.object({
    api_base: z.string(),
    daily_data: z.array(z.object({ api_base: z.string(), ...activityDay, num_rate_limit_exceptions: num })),
    sum_num_rate_limit_exceptions: num,
  }),
);

export const providerSpendResponse = z.array(z.object({ provider: z.string(), spend: num }));

const reportMetadata = z.array(
  z.object({ model: z.string(), api_key: z.string(), spend: num, total_tokens: num }),
);
const modelDetail = z.object({
  model: z.string(),
  total_cost: num,
  total_input_tokens: num,
  total_output_tokens: num,
});

const timeRange = z.object({ from: z.string().nullable(), to: z.string().nullable() });
/** A query plan (packages/core rollups/plan.ts): everything the statement does, as data. */
const queryPlan = z.object({
  measures: z.string(),
  logTable: z.string(),
  dims: z.array(z.string()),
  filters: z.array(z.object({ dim: z.string(), values: z.array(z.string()), withNull: z.boolean() })),
  user: z.string().nullable(),
  tags: z.enum(["elements", "distinct"]).nullable(),
  table: z.string().nullable(),
  fallback: z.string().nullable(),
  rollupDays: timeRange.nullable(),
  weekly: timeRange.extend({ table: z.string() }).nullable(),
  rawRanges: z.array(timeRange),
  complements: z.array(z.object({ day: z.string(), part: timeRange, complement: timeRange })),
  dirtyDays: z.object({ matchRaw: z.boolean() }).nullable(),
  nullColumns: z.array(z.string()),
  orderBy: z.array(z.object({ by: z.string(), desc: z.boolean() })),
  limit: z.number().nullable(),
});

/** What a report would run: per statement its plan and its SQL with the bound parameters ($1, $2, …). */
export const explainResponse = z.object({
  group_by: z.enum(["team", "customer", "api_key"]),
  statements: z.array(z.object({ plan: queryPlan, sql: z.string(), parameters: z.array(z.unknown()) })),
});

export const spendReportResponse = z
  .array(
    z.union([
      z.object({
        group_by_day: day,
        teams: z.array(z.object({ team_name: z.string(), total_spend: num, metadata: reportMetadata })),
      }),
      z.object({
        group_by_day: day,
        customers: z.array(
          z.object({ customer: z.string().nullable(), total_spend: num, metadata: reportMetadata }),
        ),
      }),
      z.object({
        api_key: z.string(),
        total_cost: num,
        total_input_tokens: num,
        total_output_tokens: num,
        model_details: z.array(modelDetail),
      }),
    ]),
  )
  .meta({ description: "group_by=team: days with teams; customer: days with customers; api_key: keys" });

export const tagSpendResponse = z.array(
  z.object({ individual_request_tag: z.string(), log_count: num, total_spend: num }),
);

export const tagNamesResponse = z.object({ tag_names: z.array(z.string()) });

export const globalSpendTagsResponse = z.object({
  spend_per_tag: z.array(z.object({ name: z.string(), spend: num, log_count: num })),
});

export const analyticsResponse = z.object({
  start: instant,
  end: instant,
  timezone: z.string(),
  bucket: z.enum(["hour", "day", "week", "month"]).nullable(),
  attribution: z.enum(["split", "full"]),
  source: z.enum(["rollups", "raw_logs"]),
  truncated: z.boolean(),
  rows: z
    .array(
      z.looseObject({
        requests: num,
        spend: num,
        prompt_tokens: num,
        completion_tokens: num,
        total_tokens: num,
      }),
    )
    .meta({
      description:
        "One row per group: the bucket label (named after the unit) and bucket_start when bucketed, then the dimensions asked, then the sums",
    }),
});

export const providerBudgetsResponse = z.object({
  providers: z.record(
    z.string(),
    z.object({
      budget_limit: num,
      time_period: z.string(),
      spend: num,
      budget_reset_at: instant.nullable(),
      window: z.enum(["rolling", "calendar"]),
      window_start: instant.nullable(),
    }),
  ),
});

export const spendCalculationResponse = z.object({
  cost: num.meta({ description: "USD" }),
  breakdown: z.object({ input: num, output: num, cache_read: num, cache_write: num, other: num }),
  tokens: z.object({
    prompt_tokens: num,
    completion_tokens: num,
    cache_read_tokens: num,
    cache_write_tokens: num,
    reasoning_tokens: num,
    total_tokens: num,
    tokenizer: z.string().nullable(),
    tokenizer_exact: z.boolean().nullable(),
  }),
  price_source: z.enum(["config", "genai-prices"]),
  price_entry: z.object({
    provider: z.string(),
    model: z.string(),
    deployment_id: z.string().nullable().optional(),
  }),
});

const ingestCommon = {
  received: num,
  inserted: num.meta({ description: "Rows newly stored (and counted)" }),
  duplicates: z.array(z.string()).meta({ description: "request_ids already stored with the same content" }),
  conflicts: z.array(z.object({ request_id: z.string(), fields: z.array(z.string()) })),
  invalid: z.array(
    z.object({
      index: num,
      request_id: z.string().nullable(),
      field: z.string().nullable(),
      reason: z.string(),
    }),
  ),
};

export const errorIngestResponse = z.object(ingestCommon);

export const spendIngestResponse = z.object({
  ...ingestCommon,
  spend_added: num,
  provider_spend_added: z.record(z.string(), num),
});

/** The body of a request to the ingest routes: `{"logs": [...]}` or a bare array of rows. */
export const ingestRequestBody = z.union([
  z.object({
    logs: z
      .array(z.record(z.string(), z.unknown()))
      .min(1)
      .max(MAX_INGEST_BATCH)
      .meta({ description: "LiteLLM_SpendLogs / LiteLLM_ErrorLogs rows, validated one by one" }),
  }),
  z.array(z.record(z.string(), z.unknown())).min(1).max(MAX_INGEST_BATCH),
]);

export const spendLogDetailResponse = spendLogRow.nullable().meta({
  description:
    "The log with every column (messages, response, proxy_server_request, metadata), or null when there is none the key may see",
});

/** GET /spendlens/activity/failures. */
export const activityFailuresResponse = z.object({
  rows: z.array(
    z.object({
      date: z.string().meta({ description: "UTC day, YYYY-MM-DD" }),
      model_group: z.string(),
      model: z.string(),
      api_requests: num,
      successful_requests: num,
      failed_requests: num,
    }),
  ),
});

export const cacheHitsResponse = z.array(
  z.object({
    api_key: z.string().meta({ description: "The key's alias, or 'Unnamed Key' (every key without one)" }),
    call_type: z.string().nullable(),
    model: z.string().nullable(),
    total_rows: num,
    cache_hit_true_rows: num,
    failed_rows: num,
    cached_completion_tokens: num,
    generated_completion_tokens: num,
  }),
);

/** LiteLLM's SpendMetrics (core activity/dailyActivity.ts). */
const spendMetrics = z.object({
  spend: num,
  flat_cost: num,
  prompt_tokens: num,
  completion_tokens: num,
  cache_read_input_tokens: num,
  cache_creation_input_tokens: num,
  compression_saved_tokens: num,
  compression_savings_spend: num,
  prompt_caching_savings_spend: num,
  gateway_injected_caching_savings_spend: num,
  autorouter_savings_spend: num,
  total_tokens: num,
  successful_requests: num,
  failed_requests: num,
  api_requests: num,
  total_response_time_ms: num,
  timed_requests: num,
});

const keyMetricWithMetadata = z.object({
  metrics: spendMetrics,
  metadata: z.object({
    key_alias: z.string().nullable(),
    team_id: z.string().nullable(),
    user_id: z.string().nullable(),
    user_email: z.string().nullable(),
    key_exists: z.boolean().meta({ description: "false when the hash is not in LiteLLM_VerificationToken" }),
  }),
});
const keyBreakdown = z
  .record(z.string(), keyMetricWithMetadata)
  .meta({ description: "Per key hash ('' for logs without a key)" });

const metricWithMetadata = z.object({
  metrics: spendMetrics,
  metadata: z.looseObject({
    team_alias: z.string().nullable().optional(),
    user_email: z.string().nullable().optional(),
  }),
  api_key_breakdown: keyBreakdown,
});
const breakdownOf = (description: string) => z.record(z.string(), metricWithMetadata).meta({ description });

export const dailyActivityResponse = z.object({
  results: z
    .array(
      z.object({
        date: day,
        metrics: spendMetrics,
        breakdown: z.object({
          mcp_servers: breakdownOf("Per MCP tool (mcp_namespaced_tool_name)"),
          models: breakdownOf("Per model"),
          model_groups: breakdownOf("Per model group (the model when the log has none)"),
          providers: breakdownOf("Per custom_llm_provider ('unknown' when empty)"),
          endpoints: breakdownOf("Per endpoint"),
          api_keys: keyBreakdown,
          entities: breakdownOf(
            "Per user / team / organization / customer / agent / tag ('Unassigned' when the log has none); metadata: team_alias for teams, user_email for users",
          ),
        }),
      }),
    )
    .meta({ description: "One entry per UTC day, newest first" }),
  metadata: z.object({
    total_spend: num,
    total_flat_cost: num,
    total_prompt_tokens: num,
    total_completion_tokens: num,
    total_tokens: num,
    total_api_requests: num,
    total_successful_requests: num,
    total_failed_requests: num,
    total_cache_read_input_tokens: num,
    total_cache_creation_input_tokens: num,
    total_compression_saved_tokens: num,
    total_compression_savings_spend: num,
    total_prompt_caching_savings_spend: num,
    total_gateway_injected_caching_savings_spend: num,
    total_autorouter_savings_spend: num,
    total_response_time_ms: num,
    total_timed_requests: num,
    page: num,
    total_pages: num,
    has_more: z.boolean(),
    api_key_limit: num.optional().meta({
      description: "Aggregated route only: api_keys lists at most this many keys (the top by spend)",
    }),
    total_api_keys: num
      .optional()
      .meta({ description: "Aggregated route only: keys with spend in the range" }),
  }),
});

const budgetEntityType = z.enum(["key", "user", "team", "end_user", "organization", "provider"]);

export const budgetStatusResponse = z.object({
  budgets: z.array(
    z.object({
      entity_type: budgetEntityType,
      entity_id: z.string().meta({
        description: "The key's hash, the user, team, customer or organization id, or the provider",
      }),
      alias: z.string().nullable(),
      user_id: z.string().nullable(),
      team_id: z.string().nullable(),
      organization_id: z.string().nullable(),
      user_email: z.string().nullable(),
      max_budget: num.nullable(),
      soft_budget: num.nullable(),
      budget_duration: z
        .string()
        .nullable()
        .meta({ description: "LiteLLM's budget_duration (a provider's time_period); null: never resets" }),
      spend: num.meta({ description: "USD in the current window (the whole history when it never resets)" }),
      window_start: instant.nullable(),
      budget_reset_at: instant.nullable(),
      avg_daily_spend: num.meta({ description: "Spend of the last 7 × 24 h, per day" }),
      projected_spend: num.nullable(),
      projected_exhausted_at: instant.nullable(),
      percent_used: num.nullable(),
      status: z.enum(["exceeded", "soft_exceeded", "warning", "ok"]),
      daily: z
        .array(z.object({ date: day, spend: num }))
        .meta({ description: "Spend per UTC day, the last 14 days, oldest first" }),
    }),
  ),
});

/** LiteLLM's WebhookEvent, as the budget webhook posts it. */
const webhookEvent = z.object({
  spend: num,
  max_budget: num.nullable(),
  soft_budget: num.nullable(),
  token: z.string().nullable(),
  customer_id: z.string().nullable(),
  user_id: z.string().nullable(),
  team_id: z.string().nullable(),
  team_alias: z.string().nullable(),
  user_email: z.string().nullable(),
  key_alias: z.string().nullable(),
  organization_id: z.string().nullable(),
  projected_exceeded_date: day.nullable(),
  projected_spend: num.nullable(),
  event_group: z.string(),
  event: z.enum(["threshold_crossed", "soft_budget_crossed", "budget_crossed", "projected_limit_exceeded"]),
  event_message: z.string(),
});

export const budgetAlertsResponse = z.object({
  alerts: z
    .array(
      z.object({
        id: num,
        idempotency_key: z.string().meta({ description: "Sent as the Idempotency-Key header" }),
        entity_type: budgetEntityType,
        entity_id: z.string(),
        event: z.string().meta({
          description:
            "The event, threshold_crossed with its level (threshold_crossed_85, threshold_crossed_95)",
        }),
        window_start: z
          .string()
          .meta({ description: "The budget window the event belongs to: its start, or `lifetime`" }),
        payload: webhookEvent,
        created_at: instant,
        attempts: num,
        next_attempt_at: instant,
        delivered_at: instant.nullable(),
        last_error: z.string().nullable(),
      }),
    )
    .meta({ description: "Newest first" }),
});

const tagActiveUsers = (date: z.ZodType, periods: boolean) =>
  z.object({
    results: z.array(
      z.object({
        tag: z.string(),
        active_users: num.meta({
          description: "Distinct owners (user_id) of the keys the tagged requests used",
        }),
        date,
        period_start: periods ? day : z.null(),
        period_end: periods ? day : z.null(),
      }),
    ),
  });
export const tagDauResponse = tagActiveUsers(day, false);
export const tagPeriodResponse = tagActiveUsers(
  z.string().meta({ description: "The period's label: 'Week N (Mon DD)' for weeks, 'Mon YYYY' for months" }),
  true,
);

export const tagDistinctResponse = z.object({ results: z.array(z.object({ tag: z.string() })) });

export const tagSummaryResponse = z.object({
  results: z.array(
    z.object({
      tag: z.string(),
      unique_users: num,
      total_requests: num,
      successful_requests: num,
      failed_requests: num,
      total_tokens: num,
      total_spend: num,
    }),
  ),
});

export const tagPerUserResponse = z.object({
  results: z.array(
    z.object({
      user_id: z.string(),
      user_email: z.string().nullable(),
      user_agent: z.string().nullable(),
      successful_requests: num,
      failed_requests: num,
      total_requests: num,
      total_tokens: num,
      spend: num,
    }),
  ),
  total_count: num,
  page: num,
  page_size: num,
  total_pages: num,
});
