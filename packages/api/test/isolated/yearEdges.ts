/**
 * Run in a child process by edges.test.ts (a regression here is an endless synchronous loop, which must
 * fail that test rather than hang it): procedures called with days at and past the end of the supported
 * range; prints, per call, `{ok}` or the tRPC error's code and field.
 */
import { emptyConfig } from "@spendlens/core";
import { createTestDb } from "@spendlens/core/testing";
import { TRPCError } from "@trpc/server";
import { errorField } from "../../src/errors.ts";
import { createCaller, createLocalContext } from "../../src/index.ts";

const t = await createTestDb();
try {
  const api = createCaller(createLocalContext({ db: t.db, config: emptyConfig() }));
  const outcome = async (f: () => Promise<unknown>) => {
    try {
      await f();
      return "ok";
    } catch (e) {
      return e instanceof TRPCError ? { code: e.code, field: errorField(e), message: e.message } : String(e);
    }
  };
  const y9999 = { start_date: "9999-12-30", end_date: "9999-12-31" };
  const last = { start_date: "9998-12-30", end_date: "9998-12-31" };
  const out = {
    reportLast: await outcome(() => api.reports.spendReport(last)),
    report9999: await outcome(() => api.reports.spendReport(y9999)),
    spendLogsLast: await outcome(() => api.logs.spendLogs(last)),
    spendLogs9999: await outcome(() => api.logs.spendLogs(y9999)),
    activity9999: await outcome(() => api.activity.globalActivity(y9999)),
    tags9999: await outcome(() => api.tags.globalSpendTags(y9999)),
    endUsersFuture: await outcome(() =>
      api.spend.globalSpendEndUsers({ startTime: "2024-01-01", endTime: "9999-12-31" }),
    ),
    endUsersReversed: await outcome(() =>
      api.spend.globalSpendEndUsers({ startTime: "2024-01-02", endTime: "2024-01-01" }),
    ),
  };
  process.stdout.write(JSON.stringify(out));
} finally {
  await t.drop();
}
