import { createHash, randomBytes } from "node:crypto";
import { migrate, openDatabase } from "@spendlens/core";
import { rebuildRollups } from "@spendlens/core/demo";
import { litellmFixtureStatements as litellmFixture } from "@spendlens/core/testing";
import { sql } from "kysely";
import pg from "pg";

/**
 * `pnpm --filter @spendlens/bench exec tsx src/attachInsert.ts [--rows 200000] [--rounds 2]
 *   [--preload 1000000] [--fold-every-ms 1000] [--standalone]`
 * (DATABASE_URL: a Postgres role that may create databases): the cost of spendlens's triggers on
 * LiteLLM's own write path. Two fresh databases built from LiteLLM's generated DDL
 * (packages/core/test/fixtures/litellm): one left as LiteLLM has it, one with spendlens attached (every
 * rollup trigger). The same logs go into both as the proxy's writer sends them: multi-row INSERT of
 * 1,000 rows … ON CONFLICT DO NOTHING. Rounds alternate between the two; prints rows/s and the ratio.
 * Each database carries this run's id and is dropped at the end.
 * `--preload N`: both tables first get N logs (30 earlier days, generated server-side; the spendlens one's
 * rollups rebuilt from them). `--fold-every-ms M`: a second connection folds the pending inserts
 * (spendlens.rollups_fold) every M ms while the writer runs, as the server does; the fold's own time is
 * printed apart. `--standalone`: both databases are made by spendlens (its own "LiteLLM_SpendLogs"), the
 * plain one with spendlens's triggers on that table disabled.
 */

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const ROWS = opt("rows", 200_000);
const ROUNDS = opt("rounds", 2);
/** `--disable v9`: leave that migration's triggers off (spendlens_rollup_v9_*), to see their share. */
const DISABLE = args.includes("--disable") ? args[args.indexOf("--disable") + 1] : null;
const PRELOAD = opt("preload", 0);
const FOLD_EVERY_MS = opt("fold-every-ms", 0);
const STANDALONE = args.includes("--standalone");
const BATCH = 1000;
const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const runId = randomBytes(4).toString("hex");

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const KEYS = Array.from({ length: 200 }, (_, i) => sha(`sk-${i}`));
const MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "gemini-1.5-pro", "llama-3-70b"];

/** One 1,000-row statement's values, in column order (30 days of logs, realistic cardinalities). */
function batchValues(seed: number): unknown[][] {
  const out: unknown[][] = [];
  const base = Date.parse("2026-09-01T00:00:00Z");
  for (let i = 0; i < BATCH; i++) {
    const n = seed * BATCH + i;
    const k = (n * 2654435761) >>> 0;
    const t = new Date(base + (k % (30 * 86_400)) * 1000).toISOString();
    out.push([
      `req-${runId}-${n}`,
      k % 5 ? "acompletion" : "aembedding",
      KEYS[k % KEYS.length],
      (k % 1000) / 10_000,
      (k % 900) + 100,
      k % 800,
      100,
      t,
      t,
      MODELS[k % MODELS.length],
      `dep-${k % 12}`,
      MODELS[k % MODELS.length],
      k % 2 ? "openai" : "anthropic",
      "https://api.example.com",
      `user-${k % 300}`,
      `{"usage_object":{"cache_read_input_tokens":${k % 50}}}`,
      k % 10 ? "None" : "True",
      "",
      k % 3 ? `["User-Agent: sdk/${k % 4}","env:prod"]` : "[]",
      `team-${k % 20}`,
      `org-${k % 3}`,
      k % 4 ? `cust-${k % 500}` : null,
      k % 7 ? "success" : "failure",
    ]);
  }
  return out;
}

const COLS = `request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens, "startTime",
  "endTime", model, model_id, model_group, custom_llm_provider, api_base, "user", metadata, cache_hit, cache_key,
  request_tags, team_id, organization_id, end_user, status`;

async function insertAll(client: pg.Client, from: number, batches: number): Promise<number> {
  let ms = 0;
  for (let b = from; b < from + batches; b++) {
    const vals = batchValues(b);
    const params: unknown[] = [];
    const tuples = vals.map((row) => {
      const placeholders = row.map((v) => {
        params.push(v);
        return `$${params.length}`;
      });
      return `(${placeholders.join(", ")})`;
    });
    const text = `INSERT INTO "LiteLLM_SpendLogs" (${COLS}) VALUES ${tuples.join(", ")} ON CONFLICT DO NOTHING`;
    const t0 = performance.now();
    await client.query(text, params);
    ms += performance.now() - t0;
  }
  return ms;
}

/**
 * PRELOAD logs over the 30 days before the bench's, written server-side in 100k-row statements with the
 * same cardinalities as batchValues (200 keys, 5 models, 300 users, 20 teams, 500 customers, tags).
 */
async function preload(db: Parameters<typeof migrate>[0]): Promise<void> {
  for (let lo = 0; lo < PRELOAD; lo += 100_000) {
    const hi = Math.min(PRELOAD, lo + 100_000) - 1;
    await sql`INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, total_tokens, prompt_tokens,
        completion_tokens, "startTime", "endTime", model, model_id, model_group, custom_llm_provider, api_base, "user",
        metadata, cache_hit, cache_key, request_tags, team_id, organization_id, end_user, status)
      SELECT 'pre-' || ${runId} || '-' || g, CASE WHEN g % 5 = 0 THEN 'aembedding' ELSE 'acompletion' END,
        md5('sk-' || (g % 200)), (g % 1000) / 10000.0, g % 900 + 100, g % 800, 100,
        timestamp '2026-08-02' + (g % 2592000) * interval '1 second', timestamp '2026-08-02' + (g % 2592000) * interval '1 second',
        (ARRAY['gpt-4o','gpt-4o-mini','claude-3-5-sonnet','gemini-1.5-pro','llama-3-70b'])[g % 5 + 1], 'dep-' || (g % 12),
        (ARRAY['gpt-4o','gpt-4o-mini','claude-3-5-sonnet','gemini-1.5-pro','llama-3-70b'])[g % 5 + 1],
        CASE WHEN g % 2 = 1 THEN 'openai' ELSE 'anthropic' END, 'https://api.example.com', 'user-' || (g % 300),
        jsonb_build_object('usage_object', jsonb_build_object('cache_read_input_tokens', g % 50)),
        CASE WHEN g % 10 = 0 THEN 'True' ELSE 'None' END, '',
        CASE WHEN g % 3 = 0 THEN '[]'::jsonb ELSE jsonb_build_array('User-Agent: sdk/' || (g % 4), 'env:prod') END,
        'team-' || (g % 20), 'org-' || (g % 3), CASE WHEN g % 4 = 0 THEN NULL ELSE 'cust-' || (g % 500) END,
        CASE WHEN g % 7 = 0 THEN 'failure' ELSE 'success' END
      FROM generate_series(${lo}::int, ${hi}::int) g`.execute(db);
  }
  await sql`ANALYZE "LiteLLM_SpendLogs"`.execute(db);
}

/** A connection that dies (a Postgres restart) fails the statement in flight; it must not crash the bench. */
function connectionLost(e: Error): void {
  console.error(`bench: a database connection was lost: ${e.message}`);
}

async function main() {
  const names = {
    plain: `spendlens_bench_attach_${runId}_plain`,
    attached: `spendlens_bench_attach_${runId}_spendlens`,
  };
  const a = new pg.Client({ connectionString: admin });
  a.on("error", connectionLost);
  await a.connect();
  const urlOf = (db: string) => {
    const u = new URL(admin);
    u.pathname = `/${db}`;
    return u.toString();
  };
  try {
    for (const db of Object.values(names)) {
      await a.query(`CREATE DATABASE ${pg.escapeIdentifier(db)}`); // names generated above
      const h = await openDatabase({ databaseUrl: urlOf(db), maxConnections: 2, statementTimeoutMs: 0 });
      // LiteLLM's own DDL, statement by statement, from the committed fixture files (no input in it).
      if (!STANDALONE)
        for (const s of [...litellmFixture("schema.sql"), ...litellmFixture("views.sql")])
          await sql.raw(s).execute(h.db);
      if (STANDALONE) {
        await migrate(h.db);
        if (db === names.plain) await sql`ALTER TABLE "LiteLLM_SpendLogs" DISABLE TRIGGER USER`.execute(h.db);
      }
      if (PRELOAD > 0) {
        const t0 = performance.now();
        await sql`ALTER TABLE "LiteLLM_SpendLogs" DISABLE TRIGGER USER`.execute(h.db);
        await preload(h.db);
        if (!(STANDALONE && db === names.plain))
          await sql`ALTER TABLE "LiteLLM_SpendLogs" ENABLE TRIGGER USER`.execute(h.db);
        if (STANDALONE && db === names.attached) await rebuildRollups(h.db, { scope: "all", chunkDays: 31 });
        console.error(
          `${db}: preloaded ${PRELOAD} logs in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
        );
      }
      if (db === names.attached && !STANDALONE) {
        const t0 = performance.now();
        await migrate(h.db);
        if (PRELOAD > 0)
          console.error(
            `${db}: attached (rollups filled) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
          );
        if (DISABLE && /^v\d+$/.test(DISABLE))
          for (const e of ["insert", "update", "delete", "truncate"])
            await sql`ALTER TABLE "LiteLLM_SpendLogs" DISABLE TRIGGER ${sql.id(`spendlens_rollup_${DISABLE}_${e}`)}`.execute(
              h.db,
            );
      }
      await h.close();
    }
    const clients = {
      plain: new pg.Client(urlOf(names.plain)),
      attached: new pg.Client(urlOf(names.attached)),
    };
    clients.plain.on("error", connectionLost);
    clients.attached.on("error", connectionLost);
    await clients.plain.connect();
    await clients.attached.connect();
    const perRound = Math.floor(ROWS / BATCH / ROUNDS);
    const ms = { plain: 0, attached: 0 };
    // The server's periodic fold, on a connection of its own (its time is the fold's, not the writer's).
    const folder = new pg.Client(urlOf(names.attached));
    folder.on("error", connectionLost);
    await folder.connect();
    const fold = { ms: 0, rows: 0, folds: 0, stop: false };
    const folding = (async () => {
      while (FOLD_EVERY_MS > 0 && !fold.stop) {
        await new Promise((r) => setTimeout(r, FOLD_EVERY_MS));
        const t0 = performance.now();
        const r = await folder.query("SELECT spendlens.rollups_fold() AS n");
        fold.ms += performance.now() - t0;
        fold.rows += Number(r.rows[0].n);
        fold.folds++;
      }
    })();
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 ? (["attached", "plain"] as const) : (["plain", "attached"] as const);
      for (const which of order) ms[which] += await insertAll(clients[which], r * perRound, perRound);
    }
    fold.stop = true;
    await folding;
    // What is left pending is folded at the end (a reader would fold it first).
    const t1 = performance.now();
    const last = await folder.query("SELECT spendlens.rollups_fold() AS n");
    fold.ms += performance.now() - t1;
    fold.rows += Number(last.rows[0].n);
    await folder.end();
    const rows = perRound * ROUNDS * BATCH;
    const rate = (m: number) => Math.round((rows / m) * 1000);
    console.log(
      JSON.stringify(
        {
          rows,
          statement_rows: BATCH,
          disabled_triggers: DISABLE,
          preloaded_rows: PRELOAD,
          table: STANDALONE ? "standalone (spendlens's)" : "LiteLLM's schema.sql",
          plain_s: +(ms.plain / 1000).toFixed(2),
          attached_s: +(ms.attached / 1000).toFixed(2),
          plain_rows_per_s: rate(ms.plain),
          attached_rows_per_s: rate(ms.attached),
          ratio: +(ms.attached / ms.plain).toFixed(3),
          fold_every_ms: FOLD_EVERY_MS,
          folds: fold.folds + 1,
          folded_rows: fold.rows,
          fold_s: +(fold.ms / 1000).toFixed(2),
          fold_rows_per_s: fold.ms > 0 ? Math.round((fold.rows / fold.ms) * 1000) : null,
        },
        null,
        2,
      ),
    );
    await clients.plain.end();
    await clients.attached.end();
  } finally {
    for (const db of Object.values(names)) await a.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    await a.end();
  }
}

await main();
