import { keyHash, TRIGGER_ATTRS } from "./ddl_v1.ts";
import { DERIVED_GRAINS, type DerivedGrain, ident } from "./grains.ts";

/**
 * The SQL of migration 0005_derived_rollups: rollup tables DERIVED from version-1 rollup tables rather
 * than from the raw logs. FROZEN once the migration has shipped.
 *   - end_user_daily (day, end_user) from detail_daily: the end-user reports need one row per day and
 *     end user (~400 a day in the demo, whatever the number of logs) where detail_daily has one per
 *     day × key × model × end user (~2k a day at 1M logs, growing with the logs).
 *   - key_weekly (ISO week, api_key, user, team_id, organization_id) from key_daily: a 30-day top-keys
 *     read takes whole weeks from it and only the days at the ends from key_daily (~2.5× fewer rows).
 *
 * How they stay exact: statement-level AFTER triggers with transition tables on the source table add
 * the changed rows' deltas (new − old) per derived key, in the same statement. Every change to the
 * source goes through them: the log triggers' upserts, subtract-mode deletes, dropped empty rows,
 * spendlens.rollups_rebuild_days (its DELETE then INSERT of a day range). So at every commit a derived
 * table equals SELECT period(day), dims, sum(…) FROM source GROUP BY …, and everything the version-1
 * design says about the source (paused → dirty days, failures → dirty days, keep/subtract deletes,
 * rebuilds) holds unchanged; readers take the same dirty days from the raw logs (rollups/query.ts).
 * Nothing here touches the log tables, the version-1 functions or migration 0004's.
 * - A failure here fails the source statement; inside a log trigger that statement is in the version-1
 *   exception block, so the days are marked dirty and the gateway's write still succeeds.
 * - Lock order: a derived table's rows are locked right after its source rows of the same statement,
 *   sorted by (period, key_hash), so single-statement writers still lock in one global order.
 * - Spend is a float8 sum of deltas (new − old per source row): it agrees with a sum over the logs to
 *   ~1e-12 relative, like the other grains.
 * - SECURITY DEFINER with a fixed search_path and work_mem, like the version-1 trigger functions.
 */

const MEASURES = ["requests", "spend", "prompt_tokens", "completion_tokens", "total_tokens"] as const;
const MEASURE_TYPES: Record<(typeof MEASURES)[number], string> = {
  requests: "bigint",
  spend: "double precision",
  prompt_tokens: "bigint",
  completion_tokens: "bigint",
  total_tokens: "bigint",
};
const EVENTS = ["insert", "update", "delete", "truncate"] as const;

/**
 * The period column of a derived table, and the expression mapping a source row's day to it. A week is
 * named by its Monday (ISO weeks), computed by date arithmetic (2001-01-01 was a Monday): date_trunc on
 * a date goes through timestamptz and so through the session's time zone, which a trigger must not
 * depend on.
 */
const periodOf = (g: DerivedGrain) =>
  g.period === "day"
    ? { col: "day", expr: (a: string) => `${a}.day` }
    : { col: "week", expr: (a: string) => `(${a}.day - (((${a}.day - DATE '2001-01-01') % 7 + 7) % 7))` };

/** The triggers migration 0005 adds (on spendlens tables, never on LiteLLM's). */
export const DERIVED_TRIGGERS = [...new Set(DERIVED_GRAINS.map((g) => g.source))].flatMap((s) =>
  EVENTS.map((e) => `${s}.spendlens_derived_${e}`),
);

function createTable(g: DerivedGrain): string[] {
  const p = periodOf(g).col;
  const cols = [
    `${p} date NOT NULL`,
    "key_hash bytea NOT NULL",
    ...g.dims.map((d) => `${ident(d)} text`),
    ...MEASURES.map((m) => `${m} ${MEASURE_TYPES[m]} NOT NULL DEFAULT 0`),
  ];
  return [
    `CREATE TABLE spendlens.${ident(g.table)} (${cols.join(", ")}, PRIMARY KEY (${p}, key_hash)) WITH (fillfactor = 90)`,
    ...g.indexes.map(
      (ix) =>
        `CREATE INDEX ${ident(`${g.table}_${ix.join("_")}_${p}_idx`)} ON spendlens.${ident(g.table)} (${ix.map(ident).join(", ")}, ${p})`,
    ),
  ];
}

/** Upsert of the deltas of signed source rows (`src`: day, dims…, measures, sign). */
function upsert(g: DerivedGrain, src: string): string {
  const { col, expr } = periodOf(g);
  const dims = g.dims.map(ident);
  const a = dims.map((d) => `a.${d}`);
  return `INSERT INTO spendlens.${ident(g.table)} AS r (${col}, key_hash, ${dims.join(", ")}, ${MEASURES.join(", ")})
    SELECT a.p, ${keyHash(a)}, ${a.join(", ")}, ${MEASURES.map((m) => `a.${m}`).join(", ")}
    FROM (SELECT ${expr("s")} AS p, ${dims.map((d) => `s.${d}`).join(", ")},
        sum(s.sign * s.requests)::bigint AS requests,
        sum(s.sign * s.spend)::float8 AS spend,
        sum(s.sign * s.prompt_tokens)::bigint AS prompt_tokens,
        sum(s.sign * s.completion_tokens)::bigint AS completion_tokens,
        sum(s.sign * s.total_tokens)::bigint AS total_tokens
      FROM ${src} s GROUP BY 1, ${dims.map((_, i) => i + 2).join(", ")}) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (${col}, key_hash) DO UPDATE SET ${MEASURES.map((m) => `${m} = r.${m} + excluded.${m}`).join(", ")}`;
}

const signed = (g: DerivedGrain, rel: string, sign: 1 | -1) =>
  `SELECT t.day, ${g.dims.map((d) => `t.${ident(d)}`).join(", ")}, ${MEASURES.map((m) => `t.${m}`).join(", ")}, ${sign} AS sign FROM ${rel} t`;

/** Rows whose count fell to zero describe no log any more (as version 1's dropEmpty). */
function dropEmpty(g: DerivedGrain): string {
  const { col, expr } = periodOf(g);
  return `DELETE FROM spendlens.${ident(g.table)} WHERE requests <= 0 AND ${col} = ANY (ARRAY(SELECT DISTINCT ${expr("o")} FROM old_rows o))`;
}

/** Fills a derived table from its source (the migration's backfill). */
function fill(g: DerivedGrain): string {
  const { col, expr } = periodOf(g);
  const dims = g.dims.map(ident);
  return `INSERT INTO spendlens.${ident(g.table)} (${col}, key_hash, ${dims.join(", ")}, ${MEASURES.join(", ")})
    SELECT a.p, ${keyHash(dims.map((d) => `a.${d}`))}, ${dims.map((d) => `a.${d}`).join(", ")}, ${MEASURES.map((m) => `a.${m}`).join(", ")}
    FROM (SELECT ${expr("s")} AS p, ${dims.map((d) => `s.${d}`).join(", ")}, ${MEASURES.map((m) => `sum(s.${m}) AS ${m}`).join(", ")}
      FROM spendlens.${ident(g.source)} s GROUP BY 1, ${dims.map((_, i) => i + 2).join(", ")}) a
    ORDER BY 1, 2`;
}

/** Every statement of the migration, in order (each derived table is filled from its source last). */
export function derivedRollupDdl(): string[] {
  const out: string[] = [];
  for (const g of DERIVED_GRAINS) out.push(...createTable(g));
  for (const source of [...new Set(DERIVED_GRAINS.map((g) => g.source))]) {
    const gs = DERIVED_GRAINS.filter((g) => g.source === source);
    const fn = (event: string, body: string[]) =>
      `CREATE FUNCTION spendlens.${ident(`derived_${source}_${event}`)}() RETURNS trigger ${TRIGGER_ATTRS} AS $fn$
BEGIN
  ${body.join(";\n  ")};
  RETURN NULL;
END $fn$`;
    out.push(
      fn(
        "insert",
        gs.map((g) => upsert(g, `(${signed(g, "new_rows", 1)})`)),
      ),
    );
    out.push(
      fn(
        "update",
        gs.flatMap((g) => [
          upsert(g, `(${signed(g, "new_rows", 1)} UNION ALL ${signed(g, "old_rows", -1)})`),
          dropEmpty(g),
        ]),
      ),
    );
    out.push(
      fn(
        "delete",
        gs.flatMap((g) => [upsert(g, `(${signed(g, "old_rows", -1)})`), dropEmpty(g)]),
      ),
    );
    out.push(
      fn(
        "truncate",
        gs.map((g) => `DELETE FROM spendlens.${ident(g.table)}`),
      ),
    );
    for (const e of EVENTS) {
      const ref =
        e === "insert"
          ? "REFERENCING NEW TABLE AS new_rows "
          : e === "update"
            ? "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            : e === "delete"
              ? "REFERENCING OLD TABLE AS old_rows "
              : "";
      out.push(
        `CREATE TRIGGER spendlens_derived_${e} AFTER ${e.toUpperCase()} ON spendlens.${ident(source)} ${ref}FOR EACH STATEMENT EXECUTE FUNCTION spendlens.${ident(`derived_${source}_${e}`)}()`,
      );
    }
  }
  // Existing rollups (the triggers above already hold off writers of the sources until the commit).
  for (const g of DERIVED_GRAINS) out.push(fill(g));
  return out;
}

/**
 * Migration 0006_derived_guard: 0005's update functions, the same upsert, with the DELETE of rows whose
 * count fell to zero run only when some source row lost requests or went away. An upsert into the source
 * (every log insert: ON CONFLICT DO UPDATE fires the UPDATE trigger with only growing rows) then skips a
 * scan of every derived row of the touched weeks or days: 4,000-log inserts into the 10M bench took
 * 201–211 ms instead of 216–256 ms. Without a lost request no derived row can have fallen to zero: a
 * derived row is the sum of its source rows, and a row with no requests is never left behind (0005 drops
 * it in the statement that empties it).
 */
export function derivedGuardDdl(): string[] {
  const out: string[] = [];
  for (const source of [...new Set(DERIVED_GRAINS.map((g) => g.source))]) {
    const gs = DERIVED_GRAINS.filter((g) => g.source === source);
    out.push(`CREATE OR REPLACE FUNCTION spendlens.${ident(`derived_${source}_update`)}() RETURNS trigger ${TRIGGER_ATTRS} AS $fn$
BEGIN
  ${gs.map((g) => upsert(g, `(${signed(g, "new_rows", 1)} UNION ALL ${signed(g, "old_rows", -1)})`)).join(";\n  ")};
  IF EXISTS (SELECT 1 FROM old_rows o LEFT JOIN new_rows n ON n.day = o.day AND n.key_hash = o.key_hash
      WHERE n.day IS NULL OR n.requests < o.requests) THEN
    ${gs.map(dropEmpty).join(";\n    ")};
  END IF;
  RETURN NULL;
END $fn$`);
  }
  return out;
}
