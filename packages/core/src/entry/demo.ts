/**
 * `@spendlens/core/demo`: demo data (`spendlens seed`, the embedded server's first start, the benchmark)
 * and the bulk-loading switches the benchmark uses (rollups paused and rebuilt).
 */
export { migrations } from "../db/migrations.ts";
export { demoConfigYaml } from "../demo/catalog.ts";
export { buildWorld, type DemoErrorLog, type DemoLog, generateLogs, prng } from "../demo/generate.ts";
export { insertLogBatch } from "../demo/insert.ts";
export { seedDemoData } from "../demo/write.ts";
export { spendLogRowSchema } from "../ingest/rows.ts";
export {
  pauseRollups,
  rebuildRollups,
  resumeRollups,
  rollupStatus,
  setRollupDeleteMode,
} from "../rollups/maintain.ts";
