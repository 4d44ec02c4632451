import { type Kysely, sql } from "kysely";
import { describe, expect, it } from "vitest";
import { foldRollups, prng, rebuildRollups, rollupStatus, setRollupDeleteMode } from "../src/internal.ts";
import { ACTIVITY_DIMS } from "../src/rollups/activityRollup.ts";
import { ROUTE_MEASURES } from "../src/rollups/activityRouteRollup.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { testEngine, withOwnConnections } from "../src/testing/index.ts";
import { dimValues, routeRowKey } from "../src/testing/routeRollups.ts";
import { type Column, insertLikeLiteLLM, logColumns, pick } from "../src/testing/writePaths.ts";
import { closeTo, sameKeys } from "./sums.ts";

/**
 * Migration 0015: the route rollups (activity_route_daily, activity_route_rows, activity_dim_daily) are fed
 * once per fold chunk from the chunk's logs, and a rebuild recomputes their days from the activity rollups;
 * UPDATE, DELETE (subtract mode) and TRUNCATE of logs still reach them through 0012's triggers. Inserts,
 * updates, deletes, folds and a rebuild are interleaved (on Postgres two connections write while a third
 * folds), and after each step the three tables equal a brute-force computation over the raw logs.
 */

const t = useTestDb({ setup: (t) => setRollupDeleteMode(t.db, "subtract") });

const DAYS = ["2026-07-01", "2026-07-02", "2026-07-03"];
/** Every column the route rollups read: the activity dimensions, status, timing, usage and tags. */
const COLS: Column[] = [
  ...logColumns([...ACTIVITY_DIMS, "status", "request_duration_ms"], "jsonb"),
  { name: "metadata", jsonb: true },
];

let seq = 0;
function randomLog(rnd: () => number, prefix: string): Record<string, string | number | null> {
  const start = Date.parse(`${pick(rnd, DAYS)}T00:00:00Z`) + Math.floor(rnd() * 86_400) * 1000;
  const prompt = Math.floor(rnd() * 300);
  const completion = Math.floor(rnd() * 100);
  const usage = pick(rnd, [
    {},
    { cache_read_input_tokens: Math.floor(rnd() * 50) },
    { cache_read_input_tokens: 7, cache_creation_input_tokens: Math.floor(rnd() * 20) },
    { cache_creation_input_tokens: "12" }, // not a number: counts as 0
  ]);
  return {
    request_id: `${prefix}-${seq++}`,
    spend: Math.round(rnd() * 1e6) / 1e7,
    total_tokens: prompt + completion,
    prompt_tokens: prompt,
    completion_tokens: completion,
    startTime: new Date(start).toISOString(),
    endTime: new Date(start + Math.floor(rnd() * 5000)).toISOString(),
    api_key: pick(rnd, ["k1", "k2", "k3"]),
    user: pick(rnd, ["alice", "bob", null]),
    team_id: pick(rnd, ["team-a", "team-b", null]),
    organization_id: pick(rnd, ["org-1", null]),
    end_user: pick(rnd, ["cust-1", "cust-2", null]),
    agent_id: pick(rnd, ["agent-1", null]),
    model: pick(rnd, ["gpt-4o", "claude-3"]),
    model_group: pick(rnd, ["", "group-x", null]),
    custom_llm_provider: pick(rnd, ["openai", "anthropic"]),
    mcp_namespaced_tool_name: pick(rnd, [null, null, "tool/search"]),
    call_type: pick(rnd, ["acompletion", "aembedding"]),
    status: pick(rnd, ["success", "success", "failure", null]),
    request_duration_ms: rnd() < 0.5 ? Math.floor(rnd() * 3000) : null,
    metadata: JSON.stringify({ usage_object: usage }),
    request_tags: JSON.stringify(pick(rnd, [[], ["prod"], ["prod", "beta"], ["beta", "beta"], null])),
  };
}

interface Raw {
  startTime: string;
  endTime: string | null;
  api_key: string | null;
  user: string | null;
  team_id: string | null;
  organization_id: string | null;
  end_user: string | null;
  agent_id: string | null;
  model: string | null;
  model_group: string | null;
  custom_llm_provider: string | null;
  mcp_namespaced_tool_name: string | null;
  call_type: string | null;
  status: string | null;
  spend: number | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  request_duration_ms: number | null;
  metadata: unknown;
  request_tags: unknown;
}

/** The sums a route row carries, in the order measuresOf lists them. */
const MEASURES = ROUTE_MEASURES;

const asObject = (v: unknown): Record<string, unknown> | null => {
  const o = typeof v === "string" ? JSON.parse(v) : v;
  return o !== null && typeof o === "object" && !Array.isArray(o) ? (o as Record<string, unknown>) : null;
};
const count = (v: unknown) => (typeof v === "number" && v >= 0 && v <= 1e15 ? Math.trunc(v) : 0);

/** One log's measures, as LiteLLM's daily tables count them (written here from their definitions). */
function measuresOf(l: Raw): number[] {
  const failed = l.status === "failure" ? 1 : 0;
  const usage = asObject(asObject(l.metadata)?.usage_object ?? null) ?? {};
  const elapsed =
    l.request_duration_ms ??
    (l.endTime === null ? null : Math.round(Date.parse(l.endTime) - Date.parse(l.startTime)));
  return [
    1,
    1 - failed,
    failed,
    l.spend ?? 0,
    l.prompt_tokens ?? 0,
    l.completion_tokens ?? 0,
    count(usage.cache_read_input_tokens),
    count(usage.cache_creation_input_tokens),
    elapsed ?? 0,
    elapsed === null ? 0 : 1,
  ];
}

function add(m: Map<string, number[]>, k: string, v: number[]) {
  const cur = m.get(k);
  if (cur) for (let i = 0; i < v.length; i++) cur[i]! += v[i]!;
  else m.set(k, [...v]);
}

/** The three tables computed from the raw logs: route rows, row counters, dimension sums. */
async function brute(): Promise<{
  rows: Map<string, number[]>;
  counts: Map<string, number>;
  dims: Map<string, number[]>;
}> {
  const logs =
    await sql<Raw>`SELECT "startTime", "endTime", api_key, "user", team_id, organization_id, end_user,
      agent_id, model, model_group, custom_llm_provider, mcp_namespaced_tool_name, call_type, status, spend,
      prompt_tokens, completion_tokens, request_duration_ms, metadata, request_tags
    FROM "LiteLLM_SpendLogs"`.execute(t.db);
  const rows = new Map<string, number[]>();
  const dims = new Map<string, number[]>();
  for (const l of logs.rows) {
    const day = l.startTime.slice(0, 10);
    const m = measuresOf(l);
    const rest = [
      l.api_key,
      l.model,
      l.model_group,
      l.custom_llm_provider,
      l.mcp_namespaced_tool_name,
      l.call_type,
    ];
    const tagsRaw = typeof l.request_tags === "string" ? JSON.parse(l.request_tags) : l.request_tags;
    const tags = Array.isArray(tagsRaw) ? [...new Set(tagsRaw.filter((x) => x !== null).map(String))] : [];
    const entities: [string, string | null][] = [
      ["u", l.user],
      ["t", l.team_id],
      ["o", l.organization_id],
      ["c", l.end_user],
      ["a", l.agent_id],
      ...tags.map((tag): [string, string] => ["g", tag]),
    ];
    for (const [kind, entity] of entities) add(rows, JSON.stringify([kind, day, entity, ...rest]), m);
    for (const [dim, value] of dimValues(l)) add(dims, JSON.stringify([dim, day, value]), m);
  }
  const counts = new Map<string, number>();
  for (const k of rows.keys()) {
    const [kind, day, entity] = JSON.parse(k) as [string, string, string | null];
    const ck = JSON.stringify([kind, day, entity]);
    counts.set(ck, (counts.get(ck) ?? 0) + 1);
  }
  return { rows, counts, dims };
}

const measureCols = sql.raw(
  MEASURES.map((m) => (m === "spend" ? "spend" : `${m}::float8 AS ${m}`)).join(", "),
);

/** The same keys, and every key's MEASURES equal (spend to 9 places). */
function expectMeasures(label: string, got: Map<string, number[]>, want: Map<string, number[]>): void {
  // The same checks as plain comparisons first (thousands of rows × 10 measures; sums.ts, closeTo); only
  // when one fails, as the assertions below, for their message.
  const same =
    sameKeys(got.keys(), want.keys()) &&
    [...want].every(([k, w]) => {
      const g = got.get(k);
      return (
        g !== undefined &&
        MEASURES.every((m, i) => (m === "spend" ? closeTo(g[i], w[i]!, 9) : Object.is(g[i], w[i])))
      );
    });
  if (same) return;
  expect([...got.keys()].sort(), label).toEqual([...want.keys()].sort());
  for (const [k, w] of want) {
    const g = got.get(k)!;
    for (const [i, m] of MEASURES.entries()) {
      if (m === "spend") expect(g[i], `${label} ${k} ${m}`).toBeCloseTo(w[i]!, 9);
      else expect(g[i], `${label} ${k} ${m}`).toBe(w[i]);
    }
  }
}

async function expectRoutesEqualRaw(label: string): Promise<void> {
  await foldRollups(t.db);
  expect((await rollupStatus(t.db)).dirtyDays, label).toEqual([]);
  const want = await brute();
  const got = await sql<
    Record<string, string | number | null>
  >`SELECT kind::text AS kind, day::text AS day, entity,
      api_key, model, model_group, custom_llm_provider, mcp_namespaced_tool_name, call_type, ${measureCols}
    FROM spendlens.activity_route_daily`.execute(t.db);
  const gotRows = new Map(got.rows.map((r) => [routeRowKey(r, r.kind), MEASURES.map((m) => Number(r[m]))]));
  expectMeasures(`${label}: route rows`, gotRows, want.rows);
  const c = await sql<{
    kind: string;
    day: string;
    entity: string | null;
    n: number;
  }>`SELECT kind::text AS kind,
      day::text AS day, entity, n::int AS n FROM spendlens.activity_route_rows`.execute(t.db);
  expect(
    new Map(c.rows.map((r) => [JSON.stringify([r.kind, r.day, r.entity]), r.n])),
    `${label}: row counters`,
  ).toEqual(want.counts);
  const d = await sql<
    Record<string, string | number | null>
  >`SELECT dim::text AS dim, day::text AS day, value,
      ${measureCols} FROM spendlens.activity_dim_daily`.execute(t.db);
  const gotDims = new Map(
    d.rows.map((r) => [JSON.stringify([r.dim, r.day, r.value]), MEASURES.map((m) => Number(r[m]))]),
  );
  expectMeasures(`${label}: dimension rows`, gotDims, want.dims);
}

/** Changes some logs: another user/team/model/status/tags/spend, or another day of the same month. */
async function updateSome(db: Kysely<any>, rnd: () => number, share: number, prefix = ""): Promise<void> {
  const ids = await sql<{ request_id: string }>`SELECT request_id FROM "LiteLLM_SpendLogs"
    WHERE request_id LIKE ${`${prefix}%`} ORDER BY request_id`.execute(db);
  const chosen = ids.rows.filter(() => rnd() < share).map((r) => r.request_id);
  if (chosen.length === 0) return;
  const variant = Math.floor(rnd() * 3);
  if (variant === 0)
    await sql`UPDATE "LiteLLM_SpendLogs" SET spend = coalesce(spend, 0) + 0.5, "user" = ${pick(rnd, ["carol", null])},
        status = ${pick(rnd, ["failure", "success"])}, request_tags = ${JSON.stringify(["gamma", "prod"])}::jsonb
      WHERE request_id = ANY(${chosen})`.execute(db);
  else if (variant === 1)
    await sql`UPDATE "LiteLLM_SpendLogs" SET team_id = ${pick(rnd, ["team-c", null])}, model = 'gpt-4o-mini',
        prompt_tokens = coalesce(prompt_tokens, 0) + 3, request_duration_ms = NULL
      WHERE request_id = ANY(${chosen})`.execute(db);
  else
    await sql`UPDATE "LiteLLM_SpendLogs" SET "startTime" = ${`${pick(rnd, DAYS)}T12:00:00.000Z`}::timestamp,
        "endTime" = ${`${pick(rnd, DAYS)}T12:00:01.000Z`}::timestamp
      WHERE request_id = ANY(${chosen})`.execute(db);
}

async function deleteSome(db: Kysely<any>, rnd: () => number, share: number, prefix = ""): Promise<void> {
  const ids = await sql<{ request_id: string }>`SELECT request_id FROM "LiteLLM_SpendLogs"
    WHERE request_id LIKE ${`${prefix}%`} ORDER BY request_id`.execute(db);
  const chosen = ids.rows.filter(() => rnd() < share).map((r) => r.request_id);
  if (chosen.length) await sql`DELETE FROM "LiteLLM_SpendLogs" WHERE request_id = ANY(${chosen})`.execute(db);
}

describe("route rollups fed by the fold (migration 0015)", () => {
  it("equal the raw logs after interleaved inserts, folds, updates, deletes and a rebuild", async () => {
    const rnd = prng(15);
    const db = t.db as Kysely<any>;
    for (let round = 0; round < 6; round++) {
      await insertLikeLiteLLM(
        db,
        COLS,
        Array.from({ length: 60 }, () => randomLog(rnd, "i")),
      );
      // Some rounds leave the inserts pending: the update or delete folds them first.
      if (round % 2 === 0) await foldRollups(t.db);
      await insertLikeLiteLLM(
        db,
        COLS,
        Array.from({ length: 20 }, () => randomLog(rnd, "j")),
      );
      await updateSome(db, rnd, 0.15);
      await deleteSome(db, rnd, 0.08);
      await expectRoutesEqualRaw(`round ${round}`);
    }
    // A route row made wrong by hand is put right by a rebuild of its day (recomputed, not adjusted).
    await sql`UPDATE spendlens.activity_route_daily SET requests = requests + 100 WHERE day = ${DAYS[1]}::date`.execute(
      t.db,
    );
    await sql`DELETE FROM spendlens.activity_dim_daily WHERE day = ${DAYS[1]}::date AND dim = 'm'`.execute(
      t.db,
    );
    await insertLikeLiteLLM(
      db,
      COLS,
      Array.from({ length: 30 }, () => randomLog(rnd, "r")),
    );
    await rebuildRollups(t.db, { from: DAYS[0], to: DAYS[2] });
    await expectRoutesEqualRaw("after a rebuild");
  });

  it("are emptied by TRUNCATE in subtract mode and refilled by the next inserts", async () => {
    const rnd = prng(16);
    await insertLikeLiteLLM(
      t.db as Kysely<any>,
      COLS,
      Array.from({ length: 10 }, () => randomLog(rnd, "p")),
    );
    await sql`TRUNCATE "LiteLLM_SpendLogs"`.execute(t.db);
    await expectRoutesEqualRaw("after truncate");
    const n = await sql<{ n: number }>`SELECT count(*)::int AS n FROM spendlens.activity_route_daily`.execute(
      t.db,
    );
    expect(n.rows[0]!.n).toBe(0);
    await insertLikeLiteLLM(
      t.db as Kysely<any>,
      COLS,
      Array.from({ length: 40 }, () => randomLog(rnd, "q")),
    );
    await expectRoutesEqualRaw("after truncate and inserts");
  });

  it.skipIf(testEngine() !== "postgres")(
    "two writers (inserts, updates, deletes) and a folding reader at once (Postgres)",
    async () => {
      await withOwnConnections(t, 2, async ([a, b]) => {
        const writer = async (db: Kysely<any>, seed: number, prefix: string) => {
          const rnd = prng(seed);
          for (let i = 0; i < 12; i++) {
            await insertLikeLiteLLM(
              db,
              COLS,
              Array.from({ length: 30 }, () => randomLog(rnd, prefix)),
            );
            // Each writer changes only its own logs (two updaters of the same rows could deadlock on them).
            if (i % 3 === 1) await updateSome(db, rnd, 0.05, `${prefix}-`);
            if (i % 4 === 3) await deleteSome(db, rnd, 0.03, `${prefix}-`);
          }
        };
        const folder = async () => {
          for (let i = 0; i < 15; i++) {
            await foldRollups(t.db);
            await new Promise((r) => setTimeout(r, 15));
          }
        };
        await Promise.all([writer(a as Kysely<any>, 20, "x"), writer(b as Kysely<any>, 21, "y"), folder()]);
      });
      await expectRoutesEqualRaw("after concurrent writers and folds");
    },
  );
});
