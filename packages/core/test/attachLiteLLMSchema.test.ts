import { createHash } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALL,
  cacheHits,
  dailyActivity,
  migrate,
  rollupStatus,
  spendLogsUi,
  spendLogsUiInput,
} from "../src/internal.ts";
import { createTestDb, type TestDb, writeLitellmFixture } from "../src/testing/index.ts";

/**
 * Attach mode on a database built from LiteLLM's own generated DDL (test/fixtures/litellm), plain and
 * with "LiteLLM_SpendLogs" range-partitioned by "startTime" as LiteLLM's db_scripts/partition_spend_logs.sql
 * does it (triggers on the partitioned parent). Logs are written the way the proxy's writer sends them:
 * multi-row INSERT … ON CONFLICT DO NOTHING, sha256 keys, '' team ids, 'None' cache hits.
 */

/** LiteLLM's partition script (db_scripts/partition_spend_logs.sql) without its transaction, plus day partitions. */
const PARTITION = [
  `ALTER TABLE "LiteLLM_SpendLogs" RENAME TO "LiteLLM_SpendLogs_legacy"`,
  `ALTER INDEX IF EXISTS "LiteLLM_SpendLogs_pkey" RENAME TO "LiteLLM_SpendLogs_legacy_pkey"`,
  `ALTER INDEX IF EXISTS "LiteLLM_SpendLogs_startTime_idx" RENAME TO "LiteLLM_SpendLogs_legacy_startTime_idx"`,
  `ALTER INDEX IF EXISTS "LiteLLM_SpendLogs_end_user_idx" RENAME TO "LiteLLM_SpendLogs_legacy_end_user_idx"`,
  `ALTER INDEX IF EXISTS "LiteLLM_SpendLogs_session_id_idx" RENAME TO "LiteLLM_SpendLogs_legacy_session_id_idx"`,
  `CREATE TABLE "LiteLLM_SpendLogs" (LIKE "LiteLLM_SpendLogs_legacy" INCLUDING DEFAULTS INCLUDING GENERATED) PARTITION BY RANGE ("startTime")`,
  `ALTER TABLE "LiteLLM_SpendLogs" ADD PRIMARY KEY ("request_id", "startTime")`,
  `CREATE INDEX IF NOT EXISTS "LiteLLM_SpendLogs_startTime_idx" ON "LiteLLM_SpendLogs" ("startTime")`,
  `CREATE INDEX IF NOT EXISTS "LiteLLM_SpendLogs_end_user_idx" ON "LiteLLM_SpendLogs" ("end_user")`,
  `CREATE TABLE "LiteLLM_SpendLogs_p20260801" PARTITION OF "LiteLLM_SpendLogs" FOR VALUES FROM ('2026-08-01') TO ('2026-08-02')`,
  `CREATE TABLE "LiteLLM_SpendLogs_p20260802" PARTITION OF "LiteLLM_SpendLogs" FOR VALUES FROM ('2026-08-02') TO ('2026-08-03')`,
  `CREATE TABLE IF NOT EXISTS "LiteLLM_SpendLogs_pdefault" PARTITION OF "LiteLLM_SpendLogs" DEFAULT`,
];

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
interface Row {
  request_id: string;
  startTime: string;
  api_key: string;
  team_id: string;
  user: string;
  model: string;
  spend: number;
  prompt_tokens: number;
  completion_tokens: number;
  status: string;
  cache_hit: string;
  request_tags: string;
  call_type: string;
}
let n = 0;
function rows(count: number, seed: number): Row[] {
  return Array.from({ length: count }, (_, i) => {
    n += 1;
    const k = (i * 7 + seed) % 11;
    return {
      request_id: `chatcmpl-${seed}-${n}`,
      startTime: new Date(
        Date.parse("2026-08-01T00:00:00Z") + ((i * 7919 + seed) % (3 * 86_400)) * 1000,
      ).toISOString(),
      api_key: sha(`sk-${k % 3}`),
      team_id: k % 4 === 0 ? "" : `team-${k % 2}`,
      user: `user-${k % 3}`,
      model: k % 2 ? "gpt-4o" : "claude-3",
      spend: (k + 1) / 8,
      prompt_tokens: 10 * k,
      completion_tokens: k,
      status: k === 5 ? "failure" : "success",
      cache_hit: k === 3 ? "True" : "None",
      request_tags: k === 9 ? '"old-string"' : k % 2 ? '["User-Agent: curl","prod"]' : "[]",
      call_type: k % 3 ? "acompletion" : "aembedding",
    };
  });
}

/** One multi-row INSERT, as the proxy's writer batches its spend logs. */
async function writeLikeLiteLLM(t: TestDb, batch: Row[]): Promise<void> {
  const values = batch.map(
    (
      r,
    ) => sql`(${r.request_id}, ${r.call_type}, ${r.api_key}, ${r.spend}, ${r.prompt_tokens + r.completion_tokens},
      ${r.prompt_tokens}, ${r.completion_tokens}, ${r.startTime}::timestamp, ${r.startTime}::timestamp, ${r.model}, '', '',
      'openai', '', ${r.user}, '{}'::jsonb, ${r.cache_hit}, '', ${r.request_tags}::jsonb, ${r.team_id}, NULL, '', NULL,
      '{}'::jsonb, '{}'::jsonb, NULL, ${r.status}, NULL, NULL, '{}'::jsonb)`,
  );
  await sql`INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, total_tokens, prompt_tokens,
      completion_tokens, "startTime", "endTime", model, model_id, model_group, custom_llm_provider, api_base, "user",
      metadata, cache_hit, cache_key, request_tags, team_id, organization_id, end_user, requester_ip_address,
      messages, response, session_id, status, mcp_namespaced_tool_name, agent_id, proxy_server_request)
    VALUES ${sql.join(values)} ON CONFLICT DO NOTHING`.execute(t.db);
}

/** The days the proxy wrote, as one page of the aggregated answer. */
const AUGUST = { start_date: "2026-08-01", end_date: "2026-08-03", page: null, page_size: 1 };

for (const partitioned of [false, true]) {
  describe(`attach to LiteLLM's own schema${partitioned ? ", LiteLLM_SpendLogs partitioned by startTime" : ""}`, () => {
    let t: TestDb;
    const written: Row[] = [];
    let columnsBefore: string[] = [];
    const columns = async () =>
      (
        await sql<{
          c: string;
        }>`SELECT table_name || '.' || column_name || ':' || data_type AS c FROM information_schema.columns
          WHERE table_schema = 'public' ORDER BY 1`.execute(t.db)
      ).rows.map((r) => r.c);

    beforeAll(async () => {
      t = await createTestDb({ migrate: false });
      await writeLitellmFixture(t, "schema.sql", "views.sql");
      if (partitioned) for (const s of PARTITION) await sql.raw(s).execute(t.db);
      // Logs that exist before spendlens attaches are backfilled by the migration.
      const before = rows(250, 1);
      await writeLikeLiteLLM(t, before);
      written.push(...before);
      columnsBefore = await columns();
      const r = await migrate(t.db);
      expect(r.mode).toBe("attach");
      // After attaching: the proxy keeps writing (1000-row statement, plus a duplicate it retries).
      const after = rows(1000, 2);
      await writeLikeLiteLLM(t, after);
      await writeLikeLiteLLM(t, after.slice(0, 5));
      written.push(...after);
    }, 300_000);
    afterAll(async () => {
      await t?.drop();
    });

    it("leaves LiteLLM's tables and views as they were, and its triggers are all in place", async () => {
      expect((await columns()).filter((c) => !c.startsWith("kysely"))).toEqual(columnsBefore);
      const v = await sql<{ n: number }>`SELECT count(*)::int AS n FROM "MonthlyGlobalSpend"`.execute(t.db);
      expect(v.rows.length).toBe(1);
      const st = await rollupStatus(t.db);
      expect(st.missingTriggers).toEqual([]);
      expect(st.dirtyDays).toEqual([]);
    });

    it("daily activity per team equals the brute-force sum of what the proxy wrote", async () => {
      const res = await dailyActivity(t.db, ALL, "team", AUGUST);
      const want = new Map<string, { spend: number; req: number; failed: number; tok: number }>();
      for (const r of written) {
        const k = `${r.startTime.slice(0, 10)}|${r.team_id || "Unassigned"}`;
        const e = want.get(k) ?? { spend: 0, req: 0, failed: 0, tok: 0 };
        e.spend += r.spend;
        e.req += 1;
        e.failed += r.status === "failure" ? 1 : 0;
        e.tok += r.prompt_tokens + r.completion_tokens;
        want.set(k, e);
      }
      const got = new Map<string, { spend: number; req: number; failed: number; tok: number }>();
      for (const d of res.results)
        for (const [team, b] of Object.entries(d.breakdown.entities))
          got.set(`${d.date}|${team}`, {
            spend: b.metrics.spend,
            req: b.metrics.api_requests,
            failed: b.metrics.failed_requests,
            tok: b.metrics.total_tokens,
          });
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [k, w] of want) {
        const g = got.get(k)!;
        expect([k, g.req, g.failed, g.tok]).toEqual([k, w.req, w.failed, w.tok]);
        expect(g.spend).toBeCloseTo(w.spend, 9);
      }
      expect(res.metadata.total_api_requests).toBe(written.length);
    });

    it("concurrent writers (as several proxy replicas) in opposite orders: no deadlock, no double count", async () => {
      const batches = [rows(400, 3), rows(400, 4), rows(400, 5), rows(400, 6)];
      // Distinct rows over the same days, some writers in reverse time order (the rollup rows they touch
      // overlap), and a retry of one batch in the same order (ON CONFLICT drops it; the triggers see none).
      // A duplicate batch in the opposite order is not tried: the unique index alone deadlocks that,
      // with or without spendlens.
      await Promise.all([
        writeLikeLiteLLM(t, batches[0]!),
        writeLikeLiteLLM(t, [...batches[1]!].reverse()),
        writeLikeLiteLLM(t, batches[2]!),
        writeLikeLiteLLM(t, [...batches[3]!].reverse()),
        writeLikeLiteLLM(t, batches[0]!),
      ]);
      for (const b of batches) written.push(...b);
      const res = await dailyActivity(t.db, ALL, "organization", AUGUST);
      expect(res.metadata.total_api_requests).toBe(written.length);
      expect(res.metadata.total_spend).toBeCloseTo(
        written.reduce((a, r) => a + r.spend, 0),
        8,
      );
      expect((await rollupStatus(t.db)).dirtyDays).toEqual([]);
    });

    it("tags count once per tag (a non-array request_tags counts none); cache hits; the Logs page filters", async () => {
      const tags = await dailyActivity(t.db, ALL, "tag", AUGUST);
      const tagged = written.filter((r) => r.request_tags.startsWith("[") && r.request_tags !== "[]").length;
      expect(tags.metadata.total_api_requests).toBe(tagged * 2);
      const hits = await cacheHits(t.db, ALL, { start_date: "2026-08-01", end_date: "2026-08-03" });
      expect(hits.reduce((a, h) => a + h.cache_hit_true_rows, 0)).toBe(
        written.filter((r) => r.cache_hit === "True").length,
      );
      expect(hits.reduce((a, h) => a + h.total_rows, 0)).toBe(written.length);
      const page = await spendLogsUi(
        t.db,
        ALL,
        spendLogsUiInput.parse({
          start_date: "2026-08-01 00:00:00",
          end_date: "2026-08-03 23:59:59",
          status_filter: "failure",
          model: "gpt-4o",
          page_size: "100",
        }),
      );
      expect(page.total).toBe(written.filter((r) => r.status === "failure" && r.model === "gpt-4o").length);
    });
  });
}
