import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { ALL, foldRollups, spendTotals } from "../src/internal.ts";
import { vacuumPendingIfBloated } from "../src/rollups/fold.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { insertLogs, makeLog } from "../src/testing/index.ts";

/**
 * The fold's queue (spendlens.spend_log_pending) keeps a dead row for every log it folded until a vacuum;
 * every reader's "anything pending?" check scans those pages. The server vacuums the queue itself once
 * the statistics count enough dead rows (`vacuumPendingIfBloated`), whether or not autovacuum runs.
 */

const t = useTestDb();

const deadRows = async () =>
  Number(
    (
      await sql<{ n: string | number | null }>`SELECT n_dead_tup AS n FROM pg_stat_user_tables
        WHERE relid = to_regclass('spendlens.spend_log_pending')`.execute(t.db)
    ).rows[0]?.n ?? 0,
  );

describe("the fold's queue is vacuumed when bloated", () => {
  it("below the threshold nothing happens; above it the dead rows go and the totals stay exact", async () => {
    const logs = Array.from({ length: 400 }, (_, i) =>
      makeLog({
        request_id: `pv-${i}`,
        startTime: new Date(Date.parse("2026-04-01T00:00:00Z") + i * 60_000).toISOString(),
        spend: (i % 7) / 4,
      }),
    );
    await insertLogs(t.db, logs);
    expect(await foldRollups(t.db)).toBe(400); // the queue's 400 rows applied and deleted
    // The statistics arrive after the writers' transactions (at most a second later on Postgres).
    let dead = 0;
    for (let i = 0; i < 50 && dead < 400; i++) {
      await sql`SELECT pg_stat_force_next_flush()`.execute(t.db).catch(() => {});
      dead = await deadRows();
      if (dead < 400) await new Promise((r) => setTimeout(r, 100));
    }
    expect(dead).toBeGreaterThanOrEqual(400);
    expect(await vacuumPendingIfBloated(t.db, dead + 1)).toBe(false);
    expect(await deadRows()).toBe(dead);
    expect(await vacuumPendingIfBloated(t.db, 400)).toBe(true);
    expect(await deadRows()).toBe(0);
    expect(await vacuumPendingIfBloated(t.db, 400)).toBe(false);
    const [row] = await spendTotals(t.db, ALL, { window: { from: "2026-04-01T00:00:00.000Z", to: null } });
    expect(row?.requests).toBe(400);
    expect(row?.spend).toBeCloseTo(
      logs.reduce((s, l) => s + l.spend, 0),
      9,
    );
  });
  it("inside a transaction it never vacuums (VACUUM cannot run there)", async () => {
    await t.db.transaction().execute(async (trx) => {
      expect(await vacuumPendingIfBloated(trx, 0)).toBe(false);
    });
  });
});
