import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import {
  ALL,
  foldRollups,
  plan,
  render,
  schemaFacts,
  spendTotals,
  tagRequestTotals,
} from "../src/internal.ts";
import { LOGS_PENDING } from "../src/rollups/fold.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { insertLogs, makeLog } from "../src/testing/index.ts";

/**
 * A report over the rollups carries the "nothing waits for a fold" check in its own statement
 * (migration 0022's spendlens.logs_folded(), render's `guard`): one round trip when nothing is pending;
 * when a log is pending the statement fails with SLF01 and the reader folds and reads again. Either way
 * the answer holds every log committed before the call (brute force over the inserted logs).
 */

const t = useTestDb();

const pending = async () =>
  (await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.spend_log_pending`.execute(t.db))
    .rows[0]!.n;

const day = (i: number) => new Date(Date.parse("2026-06-01T00:00:00Z") + i * 3_600_000).toISOString();
const window = { from: "2026-06-01T00:00:00.000Z", to: "2026-06-03T00:00:00.000Z" };

describe("the fold check inside a report's statement", () => {
  it("a report right after an insert counts it; a report with nothing pending answers the same", async () => {
    const logs = Array.from({ length: 30 }, (_, i) =>
      makeLog({
        request_id: `fg-${i}`,
        startTime: day(i),
        spend: (i % 5) / 8,
        request_tags: JSON.stringify(["a", `t${i % 3}`]),
      }),
    );
    await insertLogs(t.db, logs.slice(0, 20));
    expect(await pending()).toBe(20);
    const first = await spendTotals(t.db, ALL, { window });
    expect(first[0]?.requests).toBe(20);
    expect(first[0]?.spend).toBeCloseTo(
      logs.slice(0, 20).reduce((s, l) => s + l.spend, 0),
      9,
    );
    expect(await pending()).toBe(0); // folded on the way
    // Nothing pending now: the same answer from the one-statement read.
    expect(await spendTotals(t.db, ALL, { window })).toEqual(first);
    // More logs, read at once: counted (the check fails, the reader folds, reads again).
    await insertLogs(t.db, logs.slice(20));
    const tags = await tagRequestTotals(t.db, ALL, { window });
    expect(Object.fromEntries(tags.map((r) => [r.tag, r.requests]))).toEqual({
      a: 30,
      t0: 10,
      t1: 10,
      t2: 10,
    });
    const all = await spendTotals(t.db, ALL, { window });
    expect(all[0]?.requests).toBe(30);
    expect(all[0]?.spend).toBeCloseTo(
      logs.reduce((s, l) => s + l.spend, 0),
      9,
    );
  });

  it("the guarded statement fails with SLF01 while a log is pending, and answers as the plain one otherwise", async () => {
    const p = plan({ kind: "spend", scope: ALL, query: { window } }, await schemaFacts(t.db));
    await foldRollups(t.db);
    const plain = (await render(p).execute(t.db)).rows;
    expect((await render(p, { guard: true }).execute(t.db)).rows).toEqual(plain);
    await insertLogs(t.db, [makeLog({ request_id: "fg-late", startTime: day(40), spend: 1 })]);
    await expect(render(p, { guard: true }).execute(t.db)).rejects.toMatchObject({ code: LOGS_PENDING });
    await foldRollups(t.db);
    const after = (await render(p, { guard: true }).execute(t.db)).rows as { requests: number }[];
    expect(after[0]?.requests).toBe(31);
  });
});
