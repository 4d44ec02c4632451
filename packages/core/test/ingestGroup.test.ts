import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import {
  ALL,
  DEFAULT_LANE_STATEMENTS,
  emptyConfig,
  ingestLaneStats,
  ingestSpendLogs,
  type SpendIngestResult,
  type SpendlensConfig,
  spendTotals,
} from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { testEngine } from "../src/testing/index.ts";

/**
 * Group commit: concurrent ingest calls on one handle are written by one statement per group. Every caller
 * must still get exactly the answer it would get had the batches been written one after the other in
 * arrival order, and the stored rows, counters and rollups must equal brute-force sums over what was sent.
 */

const NOW = new Date("2026-05-20T12:00:00.000Z");
const config: SpendlensConfig = emptyConfig();
const KEYS = ["hk-a", "hk-b", "hk-c"];

const t = useTestDb({
  now: NOW,
  setup: async (t) => {
    await sql`INSERT INTO "LiteLLM_VerificationToken" (token) VALUES ('hk-a'), ('hk-b'), ('hk-c')`.execute(
      t.db,
    );
  },
});

interface Log {
  request_id: string;
  api_key: string;
  spend: number;
  startTime: string;
  model: string;
  end_user: string;
  request_tags: string[];
}

const log = (id: string, k: number, spend: number, model?: string): Log => ({
  request_id: id,
  api_key: KEYS[k % KEYS.length]!,
  spend,
  // Both sides of a UTC midnight.
  startTime: k % 2 ? "2026-05-19T23:59:59.999Z" : "2026-05-20T00:00:00.000Z",
  model: model ?? (k % 3 ? "gpt-4o" : "claude-3-5-sonnet"),
  end_user: `eu-${k % 4}`,
  request_tags: k % 2 ? ["a"] : ["a", "b"],
});

/** What each caller must be told, written one batch after the other (first stored content wins). */
function expectedAnswers(batches: unknown[][]): {
  answers: Pick<SpendIngestResult, "received" | "inserted" | "duplicates" | "conflicts" | "spend_added">[];
  stored: Map<string, Log>;
} {
  const stored = new Map<string, Log>();
  const answers = batches.map((b) => {
    const a = {
      received: b.length,
      inserted: 0,
      duplicates: [] as string[],
      conflicts: [] as { request_id: string; fields: string[] }[],
      spend_added: 0,
    };
    for (const raw of b) {
      const l = raw as Log;
      if (typeof l.spend !== "number" || l.spend < 0) continue; // invalid, reported by index
      const prev = stored.get(l.request_id);
      if (!prev) {
        stored.set(l.request_id, l);
        a.inserted++;
        a.spend_added += l.spend;
      } else if (JSON.stringify(prev) === JSON.stringify(l)) a.duplicates.push(l.request_id);
      else
        a.conflicts.push({
          request_id: l.request_id,
          fields: (Object.keys(l) as (keyof Log)[]).filter(
            (f) => JSON.stringify(prev[f]) !== JSON.stringify(l[f]),
          ),
        });
    }
    return a;
  });
  return { answers, stored };
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

/** Brute force over the raw table: spend and count per key for the ids with this prefix. */
async function rawPerKey(prefix: string): Promise<Map<string, { spend: number; n: number }>> {
  const r = await sql<{ api_key: string; spend: number; n: number }>`SELECT api_key,
      sum(spend)::float8 AS spend, count(*)::int AS n FROM "LiteLLM_SpendLogs"
    WHERE request_id LIKE ${`${prefix}%`} GROUP BY api_key`.execute(t.db);
  return new Map(r.rows.map((x) => [x.api_key, { spend: x.spend, n: x.n }]));
}

async function keySpends(): Promise<Map<string, number>> {
  const r = await sql<{ token: string; spend: number }>`SELECT token, spend::float8 AS spend
    FROM "LiteLLM_VerificationToken" ORDER BY token`.execute(t.db);
  return new Map(r.rows.map((x) => [x.token, x.spend]));
}

/**
 * The raw table holds exactly `stored` under `prefix` (spend and count per key, summed here), and each
 * key's counter moved by its stored spend since `keysBefore`.
 */
async function expectStoredAndCounted(prefix: string, stored: Log[], keysBefore: Map<string, number>) {
  const want = new Map<string, { spend: number; n: number }>();
  for (const l of stored) {
    const w = want.get(l.api_key) ?? { spend: 0, n: 0 };
    w.spend += l.spend;
    w.n++;
    want.set(l.api_key, w);
  }
  expect(await rawPerKey(prefix)).toEqual(want);
  const keysAfter = await keySpends();
  for (const k of KEYS) expect(keysAfter.get(k)).toBe(keysBefore.get(k)! + want.get(k)!.spend);
}

const WINDOW = { from: "2026-05-19T00:00:00.000Z", to: "2026-05-21T00:00:00.000Z" };

describe(`ingest group commit (${testEngine()})`, () => {
  it("concurrent batches go in as one statement and each caller gets its own answer", async () => {
    // Warm the lane (the first call on a handle reads the table's columns first).
    await ingestSpendLogs(t.db, ALL, { logs: [log("g0-warm", 0, 0.5)] }, config);
    const keysBefore = await keySpends();
    const before = ingestLaneStats(t.db);
    // Dyadic spends: every order of additions gives the same float.
    const b1 = Array.from({ length: 300 }, (_, i) => log(`g1-${i}`, i, (i % 17) / 32));
    const b2 = [
      ...b1.slice(0, 50), // duplicates of the first batch (same group statement as b3… or the one before)
      log("g1-x-conflict", 1, 1),
      ...Array.from({ length: 200 }, (_, i) => log(`g1-b2-${i}`, i + 1, (i % 5) / 8)),
    ];
    const b3 = [
      { ...log("g1-x-conflict", 1, 1), spend: 2 }, // conflict with b2's row: spend differs
      log("g1-b3-0", 2, 0.25),
      log("g1-b3-0", 2, 0.25), // repeat inside the batch: a duplicate
      { ...log("g1-b3-bad", 2, 1), spend: -1 }, // invalid, index 3
      log("g1-b3-1", 0, 0.75),
    ];
    const b4 = [
      ...b1.slice(100, 120),
      ...Array.from({ length: 100 }, (_, i) => log(`g1-b4-${i}`, i, 1 / 16)),
    ];
    const b5 = [{ ...b2[60]!, model: "other" }, log("g1-b5-0", 1, 3)]; // conflict on model
    const batches = [b1, b2, b3, b4, b5];
    const results = await Promise.all(batches.map((logs) => ingestSpendLogs(t.db, ALL, { logs }, config)));
    const after = ingestLaneStats(t.db);
    // The first DEFAULT_LANE_STATEMENTS batches found a free statement and went alone; the rest, which came
    // meanwhile, went together.
    expect(DEFAULT_LANE_STATEMENTS).toBeLessThan(5);
    expect({ groups: after.groups - before.groups, batches: after.batches - before.batches }).toEqual({
      groups: DEFAULT_LANE_STATEMENTS + 1,
      batches: 5,
    });

    // Statements that run at the same time commit in either order, so the answers must be those of the
    // batches written one after the other in SOME order of the groups (inside a group: arrival order).
    const groups = [
      ...Array.from({ length: DEFAULT_LANE_STATEMENTS }, (_, k) => [k]),
      Array.from({ length: batches.length - DEFAULT_LANE_STATEMENTS }, (_, j) => DEFAULT_LANE_STATEMENTS + j),
    ];
    const got = results.map((r) => ({
      received: r.received,
      inserted: r.inserted,
      duplicates: r.duplicates,
      conflicts: r.conflicts,
      spend_added: r.spend_added,
    }));
    const orders = permutations(groups).map((gs) => gs.flat());
    const matching = orders.filter((order) => {
      const { answers } = expectedAnswers(order.map((k) => batches[k]!));
      return order.every((k, pos) => JSON.stringify(got[k]) === JSON.stringify(answers[pos]));
    });
    expect({ got, serializable: matching.length > 0 }).toEqual({ got, serializable: true });
    const order = matching[0]!;
    const { answers, stored } = expectedAnswers(order.map((k) => batches[k]!));
    expect(results[2]!.invalid.map((x) => [x.index, x.field])).toEqual([[3, "spend"]]);
    expect(results.filter((_, k) => k !== 2).every((r) => r.invalid.length === 0)).toBe(true);
    // Spot checks of the brute force itself, in arrival order.
    const arrival = expectedAnswers(batches).answers;
    expect(arrival.map((a) => a.inserted)).toEqual([300, 201, 2, 100, 1]);
    expect(arrival[2]!.conflicts).toEqual([{ request_id: "g1-x-conflict", fields: ["spend"] }]);
    expect(arrival[4]!.conflicts).toEqual([{ request_id: b2[60]!.request_id, fields: ["model"] }]);
    expect(answers.reduce((s, a) => s + a.inserted, 0)).toBe(604);

    // Stored rows, counters and rollups against brute-force sums of what was stored.
    await expectStoredAndCounted("g1-", [...stored.values()], keysBefore);
    const rolled = await spendTotals(t.db, ALL, { window: WINDOW, dims: ["api_key"] });
    const allRaw = await sql<{ api_key: string; spend: number; requests: number }>`SELECT api_key,
        sum(spend)::float8 AS spend, count(*)::int AS requests FROM "LiteLLM_SpendLogs" GROUP BY api_key`.execute(
      t.db,
    );
    expect(new Map(rolled.map((x) => [x.api_key, { spend: x.spend, requests: Number(x.requests) }]))).toEqual(
      new Map(allRaw.rows.map((x) => [x.api_key, { spend: x.spend, requests: x.requests }])),
    );
  });

  it("a group whose statement fails is written again batch by batch: only the bad batch's caller gets the error", async () => {
    // A row the database refuses (as a gateway-side constraint would): the whole group statement fails.
    await sql`CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.request_id LIKE 'g2-boom%' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF;
      RETURN NEW; END $$`.execute(t.db);
    await sql`CREATE TRIGGER boom BEFORE INSERT ON "LiteLLM_SpendLogs" FOR EACH ROW EXECUTE FUNCTION boom()`.execute(
      t.db,
    );
    try {
      const keysBefore = await keySpends();
      const before = ingestLaneStats(t.db);
      // DEFAULT_LANE_STATEMENTS batches that go alone, then a group of three whose middle batch is refused.
      const alone = Array.from({ length: DEFAULT_LANE_STATEMENTS }, (_, k) =>
        Array.from({ length: 50 }, (_, i) => log(`g2-a${k}-${i}`, i, 0.5)),
      );
      const batches = [
        ...alone,
        // …and a row Postgres cannot store (a NUL in a text field), reported invalid once by its batch.
        [...Array.from({ length: 50 }, (_, i) => log(`g2-b-${i}`, i, 0.25)), log("g2-nul", 0, 1, "x\u0000y")],
        [log("g2-c-0", 0, 1), log("g2-boom-1", 1, 1)],
        Array.from({ length: 50 }, (_, i) => log(`g2-d-${i}`, i, 0.125)),
      ];
      const bad = DEFAULT_LANE_STATEMENTS + 1;
      const settled = await Promise.allSettled(
        batches.map((logs) => ingestSpendLogs(t.db, ALL, { logs }, config)),
      );
      expect(settled.map((s) => s.status)).toEqual(
        batches.map((_, k) => (k === bad ? "rejected" : "fulfilled")),
      );
      expect(String((settled[bad] as PromiseRejectedResult).reason)).toMatch(/refused by a test trigger/);
      expect(settled.map((s) => (s.status === "fulfilled" ? s.value.inserted : null))).toEqual(
        batches.map((b, k) => (k === bad ? null : b.filter((l) => l.model !== "x\u0000y").length)),
      );
      const after = ingestLaneStats(t.db);
      expect(after.regrouped - before.regrouped).toBe(1);
      // Nothing of the refused batch is stored, and everything else counts once.
      const nulBatch = settled[DEFAULT_LANE_STATEMENTS] as PromiseFulfilledResult<SpendIngestResult>;
      expect(nulBatch.value.invalid.map((x) => [x.index, x.field])).toEqual([[50, "model"]]);
      await expectStoredAndCounted(
        "g2-",
        batches
          .filter((_, k) => k !== bad)
          .flat()
          .filter((l) => l.request_id !== "g2-nul"),
        keysBefore,
      );
    } finally {
      await sql`DROP TRIGGER boom ON "LiteLLM_SpendLogs"`.execute(t.db);
      await sql`DROP FUNCTION boom()`.execute(t.db);
    }
  });
});
