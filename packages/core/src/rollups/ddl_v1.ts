import {
  ERROR_GRAIN_V1,
  type ErrorGrain,
  ident,
  SPEND_GRAINS_V1,
  type SpendDim,
  type SpendGrain,
  TAG_GRAINS_V1,
  type TagGrain,
} from "./grains.ts";

/**
 * The SQL of migration 0003_rollups, generated from the version-1 grains. FROZEN: the migration that
 * runs it has shipped once it is committed; a change is a new migration with its own DDL.
 *
 * Design (docs/scaling.md has the long form):
 * - Statement-level AFTER triggers with transition tables on "LiteLLM_SpendLogs" and "LiteLLM_ErrorLogs"
 *   turn every INSERT/UPDATE/DELETE/COPY, by spendlens or by LiteLLM itself, into per-day deltas that are
 *   upserted (`x = x + excluded.x`) into the rollup tables in the same transaction: a reader sees the
 *   logs and their rollups commit together.
 * - Each upsert sorts its rows by (day, key_hash) and the tables are always written in the same order, so
 *   two single-statement writers take row locks in one global order and cannot deadlock each other.
 * - The trigger functions never make the gateway's write fail because of spendlens: a deadlock is
 *   retried, and any other error in the rollup part marks the affected days dirty in
 *   spendlens.rollup_days (readers then answer those days from the raw logs until a rebuild).
 * - DELETE does not subtract by default (retention keeps totals); spendlens.meta 'rollups.delete_mode'
 *   = 'subtract' makes it subtract. Days that lost raw rows while totals were kept are flagged
 *   raw_deleted so a rebuild does not silently drop the kept totals.
 * - SECURITY DEFINER with a fixed search_path: LiteLLM's database role needs no rights on schema spendlens.
 */

export interface DdlOptions {
  /** Columns that rollups read but "LiteLLM_SpendLogs" lacks (an older LiteLLM has no organization_id): read as NULL. */
  missingSpendColumns: ReadonlySet<string>;
}

export const SPEND_SOURCE_COLUMNS = [
  "request_id",
  "startTime",
  "api_key",
  "user",
  "team_id",
  "organization_id",
  "end_user",
  "model",
  "model_group",
  "model_id",
  "custom_llm_provider",
  "api_base",
  "spend",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
  "request_tags",
] as const;

const ERROR_SOURCE_COLUMNS = [
  "request_id",
  "startTime",
  "model_group",
  "api_base",
  "model_id",
  "status_code",
  "exception_type",
] as const;

const FN_ATTRS = "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp";
// Trigger batches (a COPY chunk can be 100k rows) aggregate in memory rather than spill to disk.
export const TRIGGER_ATTRS = `${FN_ATTRS} SET work_mem = '64MB' SET jit = off`;
export const REBUILD_ATTRS = `${FN_ATTRS} SET work_mem = '256MB' SET jit = off`;

export const keyHash = (cols: string[]) => `sha256(convert_to(ROW(${cols.join(", ")})::text, 'UTF8'))`;

// ident() allows lower-case names only; "startTime" is LiteLLM's, quoted here by hand.
const q = (c: string) => (c === "startTime" ? `"startTime"` : ident(c));

/** Columns of the source relation that rollups read, as `s.col` or NULL when the table lacks the column. */
function spendCol(o: DdlOptions, alias: string, c: string): string {
  return o.missingSpendColumns.has(c) ? "NULL::text" : `${alias}.${q(c)}`;
}

/**
 * A relation of spend-log rows with a `sign` column, from which every grain is computed:
 * the inserted rows (+1), the deleted rows (-1), or, for an UPDATE, the rows whose rollup-relevant
 * columns changed (old -1, new +1; an unchanged row contributes nothing).
 */
export function spendSource(o: DdlOptions, kind: "insert" | "delete" | "update" | "raw"): string {
  const cols = (a: string) => SPEND_SOURCE_COLUMNS.map((c) => `${spendCol(o, a, c)} AS ${q(c)}`).join(", ");
  if (kind === "insert") return `(SELECT ${cols("t")}, 1 AS sign FROM new_rows t)`;
  if (kind === "delete") return `(SELECT ${cols("t")}, -1 AS sign FROM old_rows t)`;
  if (kind === "raw")
    return `(SELECT ${cols("t")}, 1 AS sign FROM public."LiteLLM_SpendLogs" t WHERE t."startTime" >= %1$L AND t."startTime" < %2$L)`;
  const rel = SPEND_SOURCE_COLUMNS.filter((c) => c !== "request_id");
  const tuple = (a: string) => `(${rel.map((c) => spendCol(o, a, c)).join(", ")})`;
  return `(SELECT ${cols("n")}, 1 AS sign FROM new_rows n
      WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.request_id = n.request_id AND ${tuple("o")} IS NOT DISTINCT FROM ${tuple("n")})
    UNION ALL
    SELECT ${cols("o")}, -1 AS sign FROM old_rows o
      WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.request_id = o.request_id AND ${tuple("o")} IS NOT DISTINCT FROM ${tuple("n")}))`;
}

function errorSource(kind: "insert" | "delete" | "update" | "raw"): string {
  const cols = (a: string) => ERROR_SOURCE_COLUMNS.map((c) => `${a}.${q(c)}`).join(", ");
  if (kind === "insert") return `(SELECT ${cols("t")}, 1 AS sign FROM new_rows t)`;
  if (kind === "delete") return `(SELECT ${cols("t")}, -1 AS sign FROM old_rows t)`;
  if (kind === "raw")
    return `(SELECT ${cols("t")}, 1 AS sign FROM public."LiteLLM_ErrorLogs" t WHERE t."startTime" >= %1$L AND t."startTime" < %2$L)`;
  const rel = ERROR_SOURCE_COLUMNS.filter((c) => c !== "request_id");
  const tuple = (a: string) => `(${rel.map((c) => `${a}.${q(c)}`).join(", ")})`;
  return `(SELECT ${cols("n")}, 1 AS sign FROM new_rows n
      WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.request_id = n.request_id AND ${tuple("o")} IS NOT DISTINCT FROM ${tuple("n")})
    UNION ALL
    SELECT ${cols("o")}, -1 AS sign FROM old_rows o
      WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.request_id = o.request_id AND ${tuple("o")} IS NOT DISTINCT FROM ${tuple("n")}))`;
}

const MEASURE_SET = (cols: string[]) => cols.map((c) => `${c} = r.${c} + excluded.${c}`).join(", ");

/** Upsert of one spend grain from a signed source. */
function spendUpsert(g: SpendGrain, src: string): string {
  const dims = g.dims.map(ident);
  const a = dims.map((d) => `a.${d}`);
  const m = ["requests", "spend", "prompt_tokens", "completion_tokens", "total_tokens"];
  return `INSERT INTO spendlens.${ident(g.table)} AS r (day, key_hash, ${dims.join(", ")}, ${m.join(", ")})
    SELECT a.day, ${keyHash(a)}, ${a.join(", ")}, ${m.map((x) => `a.${x}`).join(", ")}
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, ${dims.map((d) => `s.${d}`).join(", ")},
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM ${src} s GROUP BY 1, ${dims.map((_, i) => i + 2).join(", ")}) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0 OR a.total_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET ${MEASURE_SET(m)}`;
}

/** A coarser spend grain recomputed from detail_daily for a day range (rebuild only). */
function spendDerive(g: SpendGrain): string {
  const dims = g.dims.map(ident);
  const m = ["requests", "spend", "prompt_tokens", "completion_tokens", "total_tokens"];
  return `INSERT INTO spendlens.${ident(g.table)} (day, key_hash, ${dims.join(", ")}, ${m.join(", ")})
    SELECT day, ${keyHash(dims)}, ${dims.join(", ")}, ${m.map((x) => `sum(${x})`).join(", ")}
    FROM spendlens.detail_daily WHERE day BETWEEN p_from AND p_to
    GROUP BY day, ${dims.join(", ")} ORDER BY 1, 2`;
}

/** Upsert of one tag grain: one row per array element, spend in full and split over the elements. */
export function tagUpsert(g: TagGrain, src: string): string {
  const dims = g.dims.map(ident);
  const all = [...dims, `"tag"`];
  const a = all.map((d) => `a.${d}`);
  const m = ["requests", "spend", "spend_split", "prompt_tokens", "completion_tokens", "total_tokens"];
  return `INSERT INTO spendlens.${ident(g.table)} AS r (day, key_hash, ${all.join(", ")}, ${m.join(", ")})
    SELECT a.day, ${keyHash(a)}, ${a.join(", ")}, ${m.map((x) => `a.${x}`).join(", ")}
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, ${[...dims.map((d) => `s.${d}`), "e.tag"].join(", ")},
        sum(s.sign)::bigint AS requests,
        sum(s.sign * coalesce(s.spend, 0))::float8 AS spend,
        sum(s.sign * coalesce(s.spend, 0) / e.n)::float8 AS spend_split,
        sum(s.sign * coalesce(s.prompt_tokens, 0))::bigint AS prompt_tokens,
        sum(s.sign * coalesce(s.completion_tokens, 0))::bigint AS completion_tokens,
        sum(s.sign * coalesce(s.total_tokens, 0))::bigint AS total_tokens
      FROM ${src} s CROSS JOIN LATERAL spendlens.request_tags(s.request_tags) e
      GROUP BY 1, ${all.map((_, i) => i + 2).join(", ")}) a
    WHERE a.requests <> 0 OR a.spend <> 0 OR a.spend_split <> 0 OR a.total_tokens <> 0
      OR a.prompt_tokens <> 0 OR a.completion_tokens <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET ${MEASURE_SET(m)}`;
}

function errorUpsert(g: ErrorGrain, src: string): string {
  const dims = g.dims.map(ident);
  const a = dims.map((d) => `a.${d}`);
  return `INSERT INTO spendlens.${ident(g.table)} AS r (day, key_hash, ${dims.join(", ")}, errors)
    SELECT a.day, ${keyHash(a)}, ${a.join(", ")}, a.errors
    FROM (SELECT spendlens.utc_day(s."startTime") AS day, ${dims.map((d) => `s.${d}`).join(", ")},
        sum(s.sign)::bigint AS errors
      FROM ${src} s GROUP BY 1, ${dims.map((_, i) => i + 2).join(", ")}) a
    WHERE a.errors <> 0
    ORDER BY 1, 2
    ON CONFLICT (day, key_hash) DO UPDATE SET errors = r.errors + excluded.errors`;
}

const SPEND_TABLES = [...SPEND_GRAINS_V1.map((g) => g.table), ...TAG_GRAINS_V1.map((g) => g.table)];

/** After negative deltas: rows whose count fell to zero describe no log any more and are removed. */
export function dropEmpty(tables: string[], measure: string, daysExpr: string): string[] {
  return tables.map(
    (t) => `DELETE FROM spendlens.${ident(t)} WHERE ${measure} <= 0 AND day = ANY (${daysExpr})`,
  );
}

function spendApply(o: DdlOptions, kind: "insert" | "delete" | "update"): string[] {
  const src = spendSource(o, kind);
  return [...SPEND_GRAINS_V1.map((g) => spendUpsert(g, src)), ...TAG_GRAINS_V1.map((g) => tagUpsert(g, src))];
}

function errorApply(kind: "insert" | "delete" | "update"): string[] {
  return [errorUpsert(ERROR_GRAIN_V1, errorSource(kind))];
}

/**
 * A trigger body: skip while paused; apply; retry a deadlock twice; on any other failure in the rollup
 * part, mark the days dirty and let the gateway's write succeed.
 */
export function triggerFunction(name: string, statements: string[], daysExpr: string): string {
  return `CREATE FUNCTION spendlens.${name}() RETURNS trigger ${TRIGGER_ATTRS} AS $fn$
DECLARE
  attempt int := 0;
  days date[];
BEGIN
  IF NOT spendlens.rollups_active() THEN
    -- Paused (bulk load): only note the days; readers answer them from the raw logs until a rebuild.
    days := ${daysExpr};
    PERFORM spendlens.rollups_mark_dirty(days, 'paused');
    RETURN NULL;
  END IF;
  LOOP
    attempt := attempt + 1;
    BEGIN
      ${statements.join(";\n      ")};
      RETURN NULL;
    EXCEPTION
      WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
        IF attempt >= 3 THEN
          days := ${daysExpr};
          PERFORM spendlens.rollups_mark_dirty(days, SQLERRM);
          RETURN NULL;
        END IF;
      WHEN OTHERS THEN
        days := ${daysExpr};
        PERFORM spendlens.rollups_mark_dirty(days, SQLERRM);
        RETURN NULL;
    END;
  END LOOP;
END $fn$`;
}

export const daysOf = (rels: string[]) =>
  `ARRAY(${rels.map((r) => `SELECT spendlens.utc_day("startTime") FROM ${r}`).join(" UNION ")})`;

export function createTable(
  table: string,
  dims: string[],
  measures: [string, string][],
  indexes: readonly string[][],
): string[] {
  const cols = [
    "day date NOT NULL",
    "key_hash bytea NOT NULL",
    ...dims.map((d) => `${ident(d)} text`),
    ...measures.map(([m, t]) => `${m} ${t} NOT NULL DEFAULT 0`),
  ];
  return [
    `CREATE TABLE spendlens.${ident(table)} (${cols.join(", ")}, PRIMARY KEY (day, key_hash)) WITH (fillfactor = 90)`,
    ...indexes.map(
      (ix) =>
        `CREATE INDEX ${ident(`${table}_${ix.join("_")}_day_idx`)} ON spendlens.${ident(table)} (${ix.map(ident).join(", ")}, day)`,
    ),
  ];
}

const SPEND_MEASURE_COLS: [string, string][] = [
  ["requests", "bigint"],
  ["spend", "double precision"],
  ["prompt_tokens", "bigint"],
  ["completion_tokens", "bigint"],
  ["total_tokens", "bigint"],
];
export const TAG_MEASURE_COLS: [string, string][] = [
  ["requests", "bigint"],
  ["spend", "double precision"],
  ["spend_split", "double precision"],
  ["prompt_tokens", "bigint"],
  ["completion_tokens", "bigint"],
  ["total_tokens", "bigint"],
];

/** Every statement of the migration, in order. */
export function rollupDdlV1(o: DdlOptions): string[] {
  const out: string[] = [];
  // Helpers. utc_day has an overload per column type so a timestamptz "startTime" still buckets in UTC.
  out.push(
    `CREATE FUNCTION spendlens.utc_day(ts timestamp) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT ts::date'`,
    `CREATE FUNCTION spendlens.utc_day(ts timestamptz) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$SELECT (ts AT TIME ZONE 'UTC')::date$$`,
    // A request's tags: the elements of an array (each as text, as jsonb_array_elements_text gives them)
    // with the array's length for the split; anything that is not an array has no tags.
    `CREATE FUNCTION spendlens.request_tags(tags jsonb) RETURNS TABLE (tag text, n int) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
      $$SELECT e, jsonb_array_length(tags) FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(tags) = 'array' THEN tags ELSE '[]'::jsonb END) AS e$$`,
    `CREATE TABLE spendlens.rollup_days (
      day date PRIMARY KEY,
      dirty_reason text,
      dirty_at timestamptz,
      raw_deleted boolean NOT NULL DEFAULT false)`,
    `INSERT INTO spendlens.meta (key, value) VALUES ('rollups.status', 'ready'), ('rollups.delete_mode', 'keep')
      ON CONFLICT (key) DO NOTHING`,
    `CREATE FUNCTION spendlens.rollups_active() RETURNS boolean LANGUAGE sql STABLE AS
      $$SELECT coalesce((SELECT value FROM spendlens.meta WHERE key = 'rollups.status'), 'ready') <> 'paused'$$`,
    `CREATE FUNCTION spendlens.rollups_subtract_deletes() RETURNS boolean LANGUAGE sql STABLE AS
      $$SELECT coalesce((SELECT value FROM spendlens.meta WHERE key = 'rollups.delete_mode'), 'keep') = 'subtract'$$`,
    `CREATE FUNCTION spendlens.rollups_mark_dirty(days date[], reason text) RETURNS void ${FN_ATTRS} AS $fn$
BEGIN
  INSERT INTO spendlens.rollup_days AS r (day, dirty_reason, dirty_at)
    SELECT DISTINCT d, left(reason, 500), now() FROM unnest(days) AS d WHERE d IS NOT NULL ORDER BY 1
    ON CONFLICT (day) DO UPDATE SET dirty_reason = excluded.dirty_reason, dirty_at = excluded.dirty_at;
END $fn$`,
  );
  for (const g of SPEND_GRAINS_V1)
    out.push(...createTable(g.table, [...g.dims], SPEND_MEASURE_COLS, g.indexes));
  for (const g of TAG_GRAINS_V1)
    out.push(...createTable(g.table, [...g.dims, "tag"], TAG_MEASURE_COLS, g.indexes));
  out.push(...createTable(ERROR_GRAIN_V1.table, [...ERROR_GRAIN_V1.dims], [["errors", "bigint"]], []));

  // Spend logs.
  out.push(triggerFunction("spendlogs_rollup_insert", spendApply(o, "insert"), daysOf(["new_rows"])));
  out.push(
    triggerFunction(
      "spendlogs_rollup_update",
      [...spendApply(o, "update"), ...dropEmpty(SPEND_TABLES, "requests", daysOf(["old_rows"]))],
      daysOf(["old_rows", "new_rows"]),
    ),
  );
  out.push(`CREATE FUNCTION spendlens.spendlogs_rollup_delete() RETURNS trigger ${TRIGGER_ATTRS} AS $fn$
BEGIN
  IF spendlens.rollups_subtract_deletes() AND NOT spendlens.rollups_active() THEN
    PERFORM spendlens.rollups_mark_dirty(${daysOf(["old_rows"])}, 'paused');
  ELSIF spendlens.rollups_subtract_deletes() THEN
    BEGIN
      ${[...spendApply(o, "delete"), ...dropEmpty(SPEND_TABLES, "requests", daysOf(["old_rows"]))].join(";\n      ")};
    EXCEPTION WHEN OTHERS THEN
      PERFORM spendlens.rollups_mark_dirty(${daysOf(["old_rows"])}, SQLERRM);
    END;
  ELSE
    -- Retention: totals are kept; remember which days lost raw rows so a rebuild leaves them alone.
    INSERT INTO spendlens.rollup_days AS r (day, raw_deleted)
      SELECT DISTINCT spendlens.utc_day("startTime"), true FROM old_rows ORDER BY 1
      ON CONFLICT (day) DO UPDATE SET raw_deleted = true;
  END IF;
  RETURN NULL;
END $fn$`);
  out.push(`CREATE FUNCTION spendlens.spendlogs_rollup_truncate() RETURNS trigger ${TRIGGER_ATTRS} AS $fn$
BEGIN
  IF spendlens.rollups_subtract_deletes() THEN
    ${SPEND_TABLES.map((t) => `DELETE FROM spendlens.${ident(t)}`).join(";\n    ")};
  ELSE
    INSERT INTO spendlens.rollup_days AS r (day, raw_deleted)
      SELECT DISTINCT day, true FROM spendlens.model_daily ORDER BY 1
      ON CONFLICT (day) DO UPDATE SET raw_deleted = true;
  END IF;
  RETURN NULL;
END $fn$`);

  // Error logs.
  out.push(triggerFunction("errorlogs_rollup_insert", errorApply("insert"), daysOf(["new_rows"])));
  out.push(
    triggerFunction(
      "errorlogs_rollup_update",
      [...errorApply("update"), ...dropEmpty([ERROR_GRAIN_V1.table], "errors", daysOf(["old_rows"]))],
      daysOf(["old_rows", "new_rows"]),
    ),
  );
  out.push(`CREATE FUNCTION spendlens.errorlogs_rollup_delete() RETURNS trigger ${TRIGGER_ATTRS} AS $fn$
BEGIN
  IF spendlens.rollups_subtract_deletes() AND NOT spendlens.rollups_active() THEN
    PERFORM spendlens.rollups_mark_dirty(${daysOf(["old_rows"])}, 'paused');
  ELSIF spendlens.rollups_subtract_deletes() THEN
    BEGIN
      ${[...errorApply("delete"), ...dropEmpty([ERROR_GRAIN_V1.table], "errors", daysOf(["old_rows"]))].join(";\n      ")};
    EXCEPTION WHEN OTHERS THEN
      PERFORM spendlens.rollups_mark_dirty(${daysOf(["old_rows"])}, SQLERRM);
    END;
  ELSE
    INSERT INTO spendlens.rollup_days AS r (day, raw_deleted)
      SELECT DISTINCT spendlens.utc_day("startTime"), true FROM old_rows ORDER BY 1
      ON CONFLICT (day) DO UPDATE SET raw_deleted = true;
  END IF;
  RETURN NULL;
END $fn$`);
  out.push(`CREATE FUNCTION spendlens.errorlogs_rollup_truncate() RETURNS trigger ${TRIGGER_ATTRS} AS $fn$
BEGIN
  IF spendlens.rollups_subtract_deletes() THEN
    DELETE FROM spendlens.${ident(ERROR_GRAIN_V1.table)};
  ELSE
    INSERT INTO spendlens.rollup_days AS r (day, raw_deleted)
      SELECT DISTINCT day, true FROM spendlens.${ident(ERROR_GRAIN_V1.table)} ORDER BY 1
      ON CONFLICT (day) DO UPDATE SET raw_deleted = true;
  END IF;
  RETURN NULL;
END $fn$`);

  // Rebuild of a day range from the raw logs, under a lock that keeps writers out meanwhile (SHARE ROW
  // EXCLUSIVE: conflicts with INSERT/UPDATE/DELETE and with another rebuild, not with readers). The
  // coarser spend grains are derived from detail_daily, so the spend logs are scanned twice (detail, tags).
  const spendRaw = spendSource(o, "raw");
  const errRaw = errorSource("raw");
  const allTables = [...SPEND_TABLES, ERROR_GRAIN_V1.table];
  const detail = SPEND_GRAINS_V1.find((g) => g.table === "detail_daily")!;
  out.push(`CREATE FUNCTION spendlens.rollups_rebuild_days(p_from date, p_to date) RETURNS void ${REBUILD_ATTRS} AS $fn$
DECLARE
  lo text := to_char(p_from, 'YYYY-MM-DD') || 'T00:00:00Z';
  hi text := to_char(p_to + 1, 'YYYY-MM-DD') || 'T00:00:00Z';
BEGIN
  LOCK TABLE public."LiteLLM_SpendLogs", public."LiteLLM_ErrorLogs" IN SHARE ROW EXCLUSIVE MODE;
  ${allTables.map((t) => `DELETE FROM spendlens.${ident(t)} WHERE day BETWEEN p_from AND p_to`).join(";\n  ")};
  -- Bounds are passed as literals so they take the column's own type (timestamp or timestamptz).
  EXECUTE format(${lit(spendUpsert(detail, spendRaw))}, lo, hi);
  ${SPEND_GRAINS_V1.filter((g) => g !== detail)
    .map((g) => spendDerive(g))
    .join(";\n  ")};
  ${TAG_GRAINS_V1.map((g) => `EXECUTE format(${lit(tagUpsert(g, spendRaw))}, lo, hi)`).join(";\n  ")};
  EXECUTE format(${lit(errorUpsert(ERROR_GRAIN_V1, errRaw))}, lo, hi);
  DELETE FROM spendlens.rollup_days WHERE day BETWEEN p_from AND p_to;
END $fn$`);

  // The triggers themselves: one per event, statement level, with transition tables.
  for (const [table, prefix] of [
    ["LiteLLM_SpendLogs", "spendlogs"],
    ["LiteLLM_ErrorLogs", "errorlogs"],
  ] as const) {
    out.push(
      `CREATE TRIGGER spendlens_rollup_insert AFTER INSERT ON public."${table}" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.${prefix}_rollup_insert()`,
      `CREATE TRIGGER spendlens_rollup_update AFTER UPDATE ON public."${table}" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.${prefix}_rollup_update()`,
      `CREATE TRIGGER spendlens_rollup_delete AFTER DELETE ON public."${table}" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION spendlens.${prefix}_rollup_delete()`,
      `CREATE TRIGGER spendlens_rollup_truncate AFTER TRUNCATE ON public."${table}" FOR EACH STATEMENT EXECUTE FUNCTION spendlens.${prefix}_rollup_truncate()`,
    );
  }
  return out;
}

/** A SQL string literal (for format() templates built above from code, never from input). */
export function lit(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/**
 * Extra indexes on "LiteLLM_SpendLogs" for log pages filtered by key, user or team, newest first
 * (keyset on ("startTime", request_id); the unfiltered page uses LiteLLM's own "startTime" index).
 * Standalone mode only: in attach mode LiteLLM's tables are not touched (docs/scaling.md gives the
 * statements for an operator who wants them).
 */
export const LOG_PAGE_INDEXES_V1 = [
  `CREATE INDEX IF NOT EXISTS spendlens_logs_key_time_idx ON public."LiteLLM_SpendLogs" (api_key, "startTime")`,
  `CREATE INDEX IF NOT EXISTS spendlens_logs_user_time_idx ON public."LiteLLM_SpendLogs" ("user", "startTime")`,
  `CREATE INDEX IF NOT EXISTS spendlens_logs_team_time_idx ON public."LiteLLM_SpendLogs" (team_id, "startTime")`,
];

export type { SpendDim };
