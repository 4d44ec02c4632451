import { activityRouter } from "./routers/activity.ts";
import { adminRouter } from "./routers/admin.ts";
import { analyticsRouter } from "./routers/analytics.ts";
import { authRouter } from "./routers/auth.ts";
import { budgetsRouter } from "./routers/budgets.ts";
import { dailyActivityRouter } from "./routers/dailyActivity.ts";
import { ingestRouter } from "./routers/ingest.ts";
import { logsRouter } from "./routers/logs.ts";
import { pricingRouter } from "./routers/pricing.ts";
import { reportsRouter } from "./routers/reports.ts";
import { spendRouter } from "./routers/spend.ts";
import { tagAnalyticsRouter } from "./routers/tagAnalytics.ts";
import { tagsRouter } from "./routers/tags.ts";
import { createCallerFactory, router } from "./trpc.ts";

export const appRouter = router({
  spend: spendRouter,
  activity: activityRouter,
  dailyActivity: dailyActivityRouter,
  reports: reportsRouter,
  tags: tagsRouter,
  tagAnalytics: tagAnalyticsRouter,
  logs: logsRouter,
  budgets: budgetsRouter,
  ingest: ingestRouter,
  pricing: pricingRouter,
  analytics: analyticsRouter,
  admin: adminRouter,
  auth: authRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
