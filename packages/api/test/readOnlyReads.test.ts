import { openDatabase } from "@spendlens/core";
import {
  createTestDb,
  execSql,
  foldRollups,
  insertLogs,
  setClock,
  type TestDb,
  testEngine,
  writeFixtures,
} from "@spendlens/core/testing";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  appRouter,
  createCaller,
  createContext,
  type Meta,
  readsFromStandby,
  toTRPCError,
} from "../src/index.ts";
import {
  MATRIX_MASTER,
  MATRIX_NOW,
  matrixConfig,
  matrixFixture,
  procedureList,
  validInput,
} from "../src/testing.ts";

/**
 * Every procedure that may run on a hot standby (`readsFromStandby`: a query of a reading access level
 * without `meta.primary`) answers on a connection that cannot write: the database's connections default
 * to read-only transactions (what a standby enforces), and each such procedure is called with a valid
 * input by the master key. A read that writes (a counter fold, a cache row, a budget window) fails
 * there with SQLSTATE 25006 and this test names it. Postgres only (PGlite has one connection, and no
 * per-database defaults to set).
 */

const onPostgres = testEngine() === "postgres";
const procs = procedureList();
const metaOf = (path: string) =>
  (appRouter._def.procedures as unknown as Record<string, { _def: { meta?: Meta } }>)[path]!._def.meta;
const reads = procs.filter((p) => readsFromStandby(p.type, metaOf(p.path)));

describe.skipIf(!onPostgres)("reads routed to a standby never write", () => {
  let t: TestDb;
  let ro: Awaited<ReturnType<typeof openDatabase>>;

  beforeAll(async () => {
    setClock(() => MATRIX_NOW);
    t = await createTestDb();
    const fx = matrixFixture();
    await writeFixtures(t.db, fx);
    await insertLogs(t.db, fx.logs);
    await foldRollups(t.db); // the primary's timer or its ingest folds; a standby replays the result
    // This test's own database (its name is the run's): new connections start read-only.
    const name = new URL(t.url!).pathname.slice(1);
    expect(name).toMatch(/^spendlens_t_[a-z0-9_]+$/);
    await execSql(t.db, `ALTER DATABASE "${name}" SET default_transaction_read_only = on`);
    // The handle the server reads a standby through (`handle.read`, which never folds).
    ro = await openDatabase({ databaseUrl: t.url!, databaseReadUrl: t.url! });
  });
  afterAll(async () => {
    setClock(null);
    await ro?.close();
    await t?.drop();
  });

  it("the read-only connection refuses a write", async () => {
    await expect(execSql(ro.read!.db, "CREATE TEMP TABLE x (a int)")).rejects.toMatchObject({
      code: "25006",
    });
  });

  it("covers the report reads and leaves out writes and budget windows", () => {
    const paths = reads.map((p) => p.path);
    expect(paths).toContain("spend.globalSpend");
    expect(paths).toContain("reports.spendReport");
    expect(paths).not.toContain("ingest.spendLogs");
    expect(paths).not.toContain("admin.globalSpendRefresh");
    expect(paths).not.toContain("budgets.providerBudgets");
    expect(paths).not.toContain("budgets.budgetStatus");
  });

  it.each(reads.map((p) => [p.path, p] as const))(
    "%s answers on a read-only connection",
    async (_path, p) => {
      const services = { db: ro.read!.db, handle: ro, config: matrixConfig(), masterKey: MATRIX_MASTER };
      const caller = createCaller(await createContext(services, MATRIX_MASTER)) as unknown as Record<
        string,
        unknown
      >;
      const fn = p.path.split(".").reduce<any>((o, k) => o?.[k], caller) as (i: unknown) => Promise<unknown>;
      let status = 200;
      let detail = "";
      try {
        await fn(validInput(p));
      } catch (e) {
        const err = toTRPCError(e);
        status = getHTTPStatusCodeFromError(err);
        detail = String((err.cause as { message?: string } | undefined)?.message ?? err.message);
      }
      expect(`${status} ${detail}`).toBe("200 ");
    },
  );
});
