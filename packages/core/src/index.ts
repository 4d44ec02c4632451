export * from "./activity/activity.ts";
export * from "./activity/cacheHits.ts";
export * from "./activity/dailyActivity.ts";
export * from "./activity/failures.ts";
export * from "./activity/seedShape.ts";
export * from "./admin/refreshSpend.ts";
export * from "./admin/resetSpend.ts";
export * from "./analytics/analytics.ts";
export * from "./analytics/zones.ts";
export * from "./auth/authenticate.ts";
export * from "./auth/hash.ts";
export * from "./budgets/alerts.ts";
export * from "./budgets/providerBudgets.ts";
export * from "./budgets/status.ts";
export * from "./budgets/windows.ts";
export * from "./clock.ts";
export * from "./config/config.ts";
export * from "./db/connect.ts";
export * from "./db/meta.ts";
export * from "./db/migrations.ts";
export type { Database } from "./db/schema.ts";
export { probeSchemaFacts, type SchemaFacts, schemaFacts } from "./db/schemaFacts.ts";
export * from "./db/standby.ts";
export * from "./demo/catalog.ts";
export * from "./demo/generate.ts";
export * from "./demo/write.ts";
export * from "./embeddedServer.ts";
export * from "./errors.ts";
export * from "./ingest/ingest.ts";
export * from "./ingest/rows.ts";
export * from "./keys/spendKeys.ts";
export * from "./logs/cursor.ts";
export * from "./logs/inputs.ts";
export * from "./logs/partitions.ts";
export * from "./logs/query.ts";
export * from "./logs/spendLogs.ts";
export * from "./logs/spendLogsDetail.ts";
export * from "./logs/spendLogsStream.ts";
export * from "./logs/spendLogsUi.ts";
export * from "./periodic.ts";
export * from "./pricing/calculate.ts";
export * from "./pricing/tokenize.ts";
export * from "./providers/resolve.ts";
export * from "./reports/dayCache.ts";
export * from "./reports/spendByProvider.ts";
export * from "./reports/spendReport.ts";
export { explainSpendReport, type SpendReportExplained } from "./reports/spendReport.ts";
export * from "./rollups/index.ts";
export {
  type Explained,
  explainQuery,
  type Plan,
  type PlanRequest,
  plan,
  planQuery,
  render,
} from "./rollups/query.ts";
export * from "./runtime.ts";
export * from "./scope.ts";
export * from "./spend/counters.ts";
export * from "./spend/endUsers.ts";
export * from "./spend/globalSpend.ts";
export * from "./spend/globalSpendLogs.ts";
export * from "./spend/teamList.ts";
export * from "./spend/teams.ts";
export * from "./spend/topSpend.ts";
export * from "./tags/tagAnalytics.ts";
export * from "./tags/tags.ts";
export * from "./text.ts";
export * from "./users/spendUsers.ts";
export * from "./validation.ts";
