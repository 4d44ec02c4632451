/**
 * `@spendlens/core/runtime`: for the edges that run spendlens (apps/server, apps/cli): settings read once
 * from the environment, opening the runtime, the embedded server's record, background jobs (fold,
 * partitions, budget alerts) and the hot standby's position.
 */
export { dailyPageCache, setDailyPageCache } from "../activity/pageCache.ts";
export { type BudgetAlerter, budgetWebhooksEnabled, startBudgetAlerter } from "../budgets/alerts.ts";
export type { ReadHandle } from "../db/connect.ts";
export { getMeta, ping, setMeta } from "../db/meta.ts";
export {
  lsnBytes,
  primaryFlushLsn,
  type ReplayPosition,
  replayPosition,
  rollupFreshness,
} from "../db/standby.ts";
export { embeddedMasterKey, embeddedServer, recordEmbeddedServer } from "../embeddedServer.ts";
export {
  ensurePartitions,
  type PartitionMaintainer,
  type PartitionOptions,
  startPartitionMaintainer,
} from "../logs/partitions.ts";
export { startPeriodic } from "../periodic.ts";
export { configureTokenCounter } from "../pricing/tokenCounter.ts";
export { foldRollupsSoon, vacuumPendingIfBloated } from "../rollups/fold.ts";
export {
  DEMO_MARK,
  EMBEDDED_SERVER_SHARED_BUFFERS,
  embeddedDemoWanted,
  ensureEmbeddedMasterKey,
  openRuntime,
  type Runtime,
  type Settings,
  settingsFromEnv,
} from "../runtime.ts";
export { foldSpendCountersSoon } from "../spend/counters.ts";
