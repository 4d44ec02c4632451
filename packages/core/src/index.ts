/**
 * `@spendlens/core`: what the procedures (packages/api) call. Each report's core function, its zod
 * input and its answer types; the caller's scope and authentication; errors; the config; opening and
 * migrating a database. Named exports only: a module's other names are internal. The edges' runtime
 * (settings, background jobs, standby) is `@spendlens/core/runtime`, demo data `@spendlens/core/demo`,
 * test helpers `@spendlens/core/testing`. A new report adds its function, input and answer type here.
 */
export {
  activityExceptionsInput,
  activityInput,
  type DeploymentExceptions,
  type GlobalActivity,
  globalActivity,
  globalActivityByModelGroup,
  globalActivityExceptions,
  globalActivityExceptionsByDeployment,
  type ModelGroupActivity,
} from "./activity/activity.ts";
export { cacheHits, cacheHitsInput } from "./activity/cacheHits.ts";
export {
  agentDailyActivity,
  agentDailyActivityInput,
  agentDailyActivityJson,
  customerDailyActivity,
  customerDailyActivityInput,
  customerDailyActivityJson,
  organizationDailyActivity,
  organizationDailyActivityInput,
  organizationDailyActivityJson,
  type SpendAnalyticsPaginatedResponse,
  tagDailyActivity,
  tagDailyActivityInput,
  tagDailyActivityJson,
  teamDailyActivity,
  teamDailyActivityInput,
  teamDailyActivityJson,
  userDailyActivity,
  userDailyActivityAggregated,
  userDailyActivityAggregatedInput,
  userDailyActivityInput,
  userDailyActivityJson,
} from "./activity/dailyActivity.ts";
export { userDailyActivityAggregatedJson } from "./activity/dailyAggregated.ts";
export { activityFailures, activityFailuresInput } from "./activity/failures.ts";
export {
  litellmActivityByModelGroup,
  litellmActivityExceptions,
  litellmExceptionsByDeployment,
  litellmGlobalActivity,
} from "./activity/litellmShape.ts";
export { refreshSpend } from "./admin/refreshSpend.ts";
export { resetSpend } from "./admin/resetSpend.ts";
export { analyticsQuery, analyticsQueryInput } from "./analytics/analytics.ts";
export {
  authenticate,
  type Caller,
  expiredAt,
  isAdminRole,
  keyExpired,
  type Role,
  scopeOf,
  type VerifiedKey,
  verifyKey,
} from "./auth/authenticate.ts";
export { budgetAlertsInput, listBudgetAlerts } from "./budgets/alerts.ts";
export { type ProviderBudgetsResponse, providerBudgets } from "./budgets/providerBudgets.ts";
export { type BudgetStatus, budgetStatus, budgetStatusInput } from "./budgets/status.ts";
export { emptyConfig, type SpendlensConfig } from "./config/config.ts";
export { type Db, type DbHandle, openDatabase } from "./db/connect.ts";
export { migrate } from "./db/migrations.ts";
export { badRequest, classifyDbError, type ErrorCode, SpendlensError } from "./errors.ts";
export { type IngestResult, ingestErrorLogs, ingestSpendLogs, MAX_INGEST_BATCH } from "./ingest/ingest.ts";
export { type KeyRow, spendKeys } from "./keys/spendKeys.ts";
export { type LogsPage, logsPage, logsPageInput } from "./logs/cursor.ts";
export type { SpendLogRow } from "./logs/query.ts";
export {
  type SpendLogDay,
  type SpendLogsResult,
  spendLogs,
  spendLogsInput,
  spendLogsRestShape,
} from "./logs/spendLogs.ts";
export {
  spendLogDetail,
  spendLogDetailInput,
  spendLogsSession,
  spendLogsSessionInput,
  spendLogsV2Input,
} from "./logs/spendLogsDetail.ts";
export { spendLogsSummaryStream } from "./logs/spendLogsStream.ts";
export { type SpendLogsPage, spendLogsUi, spendLogsUiInput } from "./logs/spendLogsUi.ts";
export { calculateSpend, type SpendCalculation, spendCalculateInput } from "./pricing/calculate.ts";
export { spendByProvider, spendByProviderInput } from "./reports/spendByProvider.ts";
export {
  explainSpendReport,
  type SpendReport,
  type SpendReportExplained,
  spendReport,
  spendReportInput,
  spendReportShape,
  spendReportStream,
} from "./reports/spendReport.ts";
export { ALL, type Scope } from "./scope.ts";
export { globalAllEndUsers, globalSpendEndUsers, globalSpendEndUsersInput } from "./spend/endUsers.ts";
export { globalSpend } from "./spend/globalSpend.ts";
export { type DailySpendRow, globalSpendLogs, globalSpendLogsInput } from "./spend/globalSpendLogs.ts";
export { teamList, teamListInput } from "./spend/teamList.ts";
export { globalSpendTeams, type TeamSpendResult } from "./spend/teams.ts";
export {
  globalSpendKeys,
  globalSpendKeysInput,
  globalSpendModels,
  globalSpendModelsInput,
} from "./spend/topSpend.ts";
export {
  tagDau,
  tagDauInput,
  tagDistinct,
  tagDistinctInput,
  tagMau,
  tagMauInput,
  tagPerUserAnalytics,
  tagPerUserInput,
  tagSummary,
  tagSummaryInput,
  tagWau,
  tagWauInput,
} from "./tags/tagAnalytics.ts";
export {
  allTagNames,
  globalSpendTags,
  globalSpendTagsInput,
  spendTags,
  spendTagsInput,
  type TagNames,
} from "./tags/tags.ts";
export { UNSTORABLE_REASON, unstorablePath } from "./text.ts";
export { spendUsers, spendUsersInput, type UserRow } from "./users/spendUsers.ts";
