import type { DbHandle } from "@spendlens/core";
import { type RawBuilder, sql } from "kysely";
import { removeBenchLogs } from "./cleanup.ts";
import { getJson, type LiteLLMDailyOptions } from "./litellmDaily.ts";
import { fmtMs, percentile, table } from "./stats.ts";

/**
 * `/spend/logs/ui` with each filter and sort the LiteLLM UI sends: p50/p99 through HTTP over the
 * 30-day window, page 1 of 50, and each answer's `total` checked against a COUNT(*) over the raw logs
 * written here independently of spendlens's query code.
 *
 * The demo logs have no failures. So that the failure filters are timed where they match, about 1% of
 * the window's logs (whole pages, `TABLESAMPLE SYSTEM`) are written again as failed copies
 * (`bench-failure-<request_id>`, status 'failure', an `error_information.error_code` of 429 or 500 in
 * the metadata, as LiteLLM's logger writes a failure), folded into the rollups and vacuumed; after the
 * timings they are deleted with the rollups' delete mode 'subtract' (the data set is put back, rollups
 * included), as the ingest bench does with its logs.
 */

type Variant = { label: string; query: Record<string, string>; where: RawBuilder<boolean> };

const FAILURE_PREFIX = "bench-failure-";

const removeFailures = (h: DbHandle) => removeBenchLogs(h, FAILURE_PREFIX);

export async function benchLogsUiFilters(
  h: DbHandle,
  o: LiteLLMDailyOptions,
): Promise<{ table: string; notes: string[] }> {
  const from = `${o.start} 00:00:00`;
  const to = `${o.end} 23:59:59`;
  const notes: string[] = [];
  await removeFailures(h); // a run cut short left some
  const t0 = performance.now();
  const ins = await sql`INSERT INTO "LiteLLM_SpendLogs"
    SELECT (jsonb_populate_record(NULL::"LiteLLM_SpendLogs", to_jsonb(l) || jsonb_build_object(
      'request_id', ${FAILURE_PREFIX} || l.request_id,
      'status', 'failure',
      'metadata', coalesce(l.metadata, '{}'::jsonb) || jsonb_build_object('error_information',
        jsonb_build_object('error_code', CASE WHEN abs(hashtext(l.request_id)) % 10 < 7 THEN '429' ELSE '500' END))))).*
    FROM "LiteLLM_SpendLogs" AS l TABLESAMPLE SYSTEM (1) REPEATABLE (42)
    WHERE l."startTime" >= ${from}::timestamp AND l."startTime" <= ${to}::timestamp`.execute(h.db);
  await sql`SELECT spendlens.rollups_fold()`.execute(h.db);
  await sql`VACUUM (ANALYZE) "LiteLLM_SpendLogs"`.execute(h.db);
  // The fold's queue keeps the folded copies as dead rows until a vacuum (rollups/fold.ts).
  await sql`VACUUM spendlens.spend_log_pending`.execute(h.db);
  notes.push(
    `${Number(ins.numAffectedRows ?? 0).toLocaleString("en-US")} failed logs (status 'failure', error_code 429 or 500 in metadata) added to the window for these timings, folded and vacuumed in ${((performance.now() - t0) / 1000).toFixed(1)} s, deleted afterwards`,
  );
  try {
    const s = await sql<Record<string, string | null>>`SELECT
      (SELECT model FROM "LiteLLM_SpendLogs" WHERE "startTime" >= now() - interval '1 day' LIMIT 1) AS model,
      (SELECT model_id FROM "LiteLLM_SpendLogs" WHERE "startTime" >= now() - interval '1 day' AND model_id IS NOT NULL AND model_id <> '' LIMIT 1) AS model_id,
      (SELECT end_user FROM "LiteLLM_SpendLogs" WHERE "startTime" >= now() - interval '1 day' AND end_user IS NOT NULL AND end_user <> '' LIMIT 1) AS end_user,
      (SELECT key_alias FROM "LiteLLM_VerificationToken" WHERE key_alias IS NOT NULL ORDER BY token LIMIT 1) AS key_alias`.execute(
      h.db,
    );
    const v = s.rows[0] ?? {};
    const [model, modelId, endUser, alias] = [v.model, v.model_id, v.end_user, v.key_alias].map(String) as [
      string,
      string,
      string,
      string,
    ];
    const failure = sql<boolean>`status = 'failure'`;
    const code = (c: string) => sql<boolean>`metadata #>> '{error_information,error_code}' = ${c}`;
    const variants: Variant[] = [
      { label: "no filter", query: {}, where: sql`true` },
      { label: "status_filter=failure", query: { status_filter: "failure" }, where: failure },
      {
        label: "status_filter=success",
        query: { status_filter: "success" },
        where: sql`(status IS NULL OR status <> 'failure')`,
      },
      { label: `model=${model}`, query: { model }, where: sql`model = ${model}` },
      { label: `model_id=${modelId}`, query: { model_id: modelId }, where: sql`model_id = ${modelId}` },
      {
        label: `key_alias=${alias}`,
        query: { key_alias: alias },
        where: sql`metadata ->> 'user_api_key_alias' = ${alias}`,
      },
      { label: `end_user=${endUser}`, query: { end_user: endUser }, where: sql`end_user = ${endUser}` },
      { label: "error_code=429", query: { error_code: "429" }, where: code("429") },
      { label: "error_code=418 (no log has it)", query: { error_code: "418" }, where: code("418") },
      {
        label: `status_filter=failure&key_alias=${alias}`,
        query: { status_filter: "failure", key_alias: alias },
        where: sql`${failure} AND metadata ->> 'user_api_key_alias' = ${alias}`,
      },
      {
        label: "sort_by=spend&sort_order=desc",
        query: { sort_by: "spend", sort_order: "desc" },
        where: sql`true`,
      },
      {
        label: "sort_by=total_tokens&sort_order=asc",
        query: { sort_by: "total_tokens", sort_order: "asc" },
        where: sql`true`,
      },
      {
        label: "sort_by=model&sort_order=asc",
        query: { sort_by: "model", sort_order: "asc" },
        where: sql`true`,
      },
      {
        label: "sort_by=spend&sort_order=desc&status_filter=failure",
        query: { sort_by: "spend", sort_order: "desc", status_filter: "failure" },
        where: failure,
      },
    ];
    const base = { start_date: from, end_date: to, page: "1", page_size: "50" };
    const rows: string[][] = [];
    for (const { label, query, where } of variants) {
      o.log(`timing /spend/logs/ui ${label}`);
      const q = { ...base, ...query };
      let body: any = null;
      for (let i = 0; i < o.warmup; i++) body = (await getJson(o, "/spend/logs/ui", q)).body;
      const ms: number[] = [];
      for (let i = 0; i < o.calls; i++) {
        const r = await getJson(o, "/spend/logs/ui", q);
        ms.push(r.ms);
        body = r.body;
      }
      const raw = await sql<{ n: string }>`SELECT count(*) AS n FROM "LiteLLM_SpendLogs"
        WHERE "startTime" >= ${from}::timestamp AND "startTime" <= ${to}::timestamp AND ${where}`.execute(
        h.db,
      );
      const total = Number(body?.total ?? Number.NaN);
      const exact = Number(raw.rows[0]?.n);
      rows.push([
        `GET /spend/logs/ui ${label}`,
        fmtMs(percentile(ms, 50)),
        fmtMs(percentile(ms, 99)),
        String((body?.data ?? []).length),
        total.toLocaleString("en-US"),
        total === exact ? "yes" : `**no** (COUNT(*) ${exact.toLocaleString("en-US")})`,
      ]);
    }
    return {
      table: table(
        ["route (30 days, page 1 of 50)", "p50", "p99", "rows", "total", "total = COUNT(*)"],
        rows,
      ),
      notes,
    };
  } finally {
    await removeFailures(h);
    await sql`VACUUM "LiteLLM_SpendLogs"`.execute(h.db);
    await sql`VACUUM spendlens.spend_log_pending`.execute(h.db);
  }
}
