import { sql } from "kysely";
import type { Db } from "./connect.ts";

/**
 * What the query planner needs to know about a database's schema, probed in one statement when the
 * database is migrated (`migrate` ends with `probeSchemaFacts`), or on first use for a handle that was
 * not (a standby, a test's clone of a migrated template), and then passed to the planner (rollups/plan.ts)
 * as plain data. One cache for the whole package instead of a WeakMap per fact per file: the log
 * columns (analytics, ingest's optional columns, the planner, the activity rollups' raw-log reads), the
 * time precision (logs/query.ts), the engine (db/stream.ts), the derived grains (rollups/plan.ts,
 * rollups/distinct.ts), and which later migrations' objects exist (the fold, the route rollups, the day
 * markers).
 */
export interface SchemaFacts {
  /** Columns of "LiteLLM_SpendLogs" (an older LiteLLM lacks organization_id: it reads as NULL). */
  spendLogColumns: ReadonlySet<string>;
  /** True when "LiteLLM_SpendLogs"."startTime" is `timestamp with time zone` (a hand-made table). */
  startTimeHasZone: boolean;
  /**
   * Whether migration 0005's derived tables (end_user_daily, key_weekly) exist: a database migrated only
   * part of the way, as some tests make, lacks them, and the planner then reads their sources.
   */
  derivedGrains: boolean;
  /**
   * True when "LiteLLM_SpendLogs"."startTime" keeps at most milliseconds (LiteLLM's timestamp(3)), so
   * that `<= t` is `< t + 1 ms` (logs/query.ts counts from the rollups only then).
   */
  startTimeMillis: boolean;
  /** True on PGlite (Postgres compiled to WebAssembly), false on a Postgres server (db/stream.ts). */
  embedded: boolean;
  /** Whether migration 0010's `spendlens.rollups_fold(integer)` exists (rollups/fold.ts). */
  fold: boolean;
  /** Whether migration 0012's route rollups (`spendlens.activity_route_rows`) exist (activity/). */
  routeRollups: boolean;
  /** Whether migration 0017's day markers exist beside the route rollups (activity/aggregatedCache.ts). */
  dayMarks: boolean;
  /** Whether migration 0019's route marks exist beside the route rollups (activity/pageCache.ts). */
  routeMarks: boolean;
  /**
   * Whether the log table has migration 0013's (model, "startTime") index (standalone mode) and a NOT NULL
   * model (LiteLLM's `model String @default("")`), so that a page in model order can read each model's
   * logs as one index range (logs/query.ts). A database LiteLLM made has no index on model: there the
   * plain ORDER BY is the cheaper plan. Not in `complete`: attach mode never gets it, and without it pages
   * are only slower, never different.
   */
  modelTimeIndex: boolean;
  /**
   * Whether migration 0022's `spendlens.logs_folded()` exists: a report's statement then carries the
   * "nothing pending a fold" check itself instead of a fold call before it (rollups/fold.ts
   * `executeFolded`).
   */
  foldGuard: boolean;
}

/**
 * The facts a later migration may still turn on: while one of them is false (a database migrated part
 * of the way, as some tests make), every `schemaFacts` call probes again.
 */
const complete = (f: SchemaFacts): boolean =>
  f.derivedGrains && f.fold && f.routeRollups && f.dayMarks && f.routeMarks && f.foldGuard;

const facts = new WeakMap<Db, Promise<SchemaFacts>>();

/**
 * The log table's columns as information_schema.columns describes them (name, `data_type` for a built-in
 * type, `datetime_precision` of a timestamp, `is_nullable`; the columns the caller may use: the table's
 * owner's, or those it holds a column privilege on), read from pg_attribute and pg_type alone: the view
 * joins a dozen catalogs over every column of the database, and a whole probe on PGlite went from 10.3 to
 * 4.2 ms of CPU (test/schemaFacts.s8.test.ts compares the two lists on tables of every kind of column
 * type). A domain is described by its base type, as the view does.
 */
export const LOG_COLUMNS_SQL = sql`SELECT json_agg(json_build_object('name', a.attname,
      'type', CASE WHEN b.typelem <> 0 AND b.typlen = -1 THEN 'ARRAY'
        WHEN b.typnamespace = 'pg_catalog'::regnamespace THEN format_type(x.typid, NULL) ELSE 'USER-DEFINED' END,
      'precision', CASE WHEN x.typid = 1082 THEN 0
        WHEN x.typid IN (1083, 1114, 1184, 1266) THEN CASE WHEN x.typmod < 0 THEN 6 ELSE x.typmod END
        WHEN x.typid = 1186 THEN CASE WHEN x.typmod < 0 OR x.typmod & 65535 = 65535 THEN 6 ELSE x.typmod & 65535 END
        END,
      'nullable', CASE WHEN a.attnotnull OR (t.typtype = 'd' AND t.typnotnull) THEN 'NO' ELSE 'YES' END))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_type t ON t.oid = a.atttypid
      CROSS JOIN LATERAL (SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END AS typid,
        CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod) x
      JOIN pg_type b ON b.oid = x.typid
    WHERE a.attrelid = to_regclass('public."LiteLLM_SpendLogs"') AND a.attnum > 0 AND NOT a.attisdropped
      AND c.relkind IN ('r', 'v', 'f', 'p')
      AND (pg_has_role(c.relowner, 'USAGE') OR has_column_privilege(c.oid, a.attnum, 'SELECT, INSERT, UPDATE, REFERENCES'))`;

/** Probes the facts now (one statement) and keeps them for `schemaFacts(db)`. */
export function probeSchemaFacts(db: Db): Promise<SchemaFacts> {
  const p = sql<{
    cols: { name: string; type: string; precision: number | null; nullable: string }[] | null;
    derived: boolean;
    fold: boolean;
    routes: boolean;
    marks: boolean;
    route_marks: boolean;
    model_index: boolean;
    fold_guard: boolean;
    version: string;
  }>`SELECT
      (${LOG_COLUMNS_SQL}) AS cols,
      to_regclass('spendlens.end_user_daily') IS NOT NULL AS derived,
      to_regprocedure('spendlens.rollups_fold(integer)') IS NOT NULL AS fold,
      to_regclass('spendlens.activity_route_rows') IS NOT NULL AS routes,
      to_regclass('spendlens.activity_day_marks') IS NOT NULL AS marks,
      to_regclass('spendlens.activity_route_marks') IS NOT NULL AS route_marks,
      to_regclass('public.spendlens_logs_model_time_idx') IS NOT NULL AS model_index,
      to_regprocedure('spendlens.logs_folded()') IS NOT NULL AS fold_guard,
      version() AS version`
    .execute(db)
    .then((r): SchemaFacts => {
      const row = r.rows[0];
      const cols = row?.cols ?? [];
      const startTime = cols.find((c) => c.name === "startTime");
      const routeRollups = row?.routes === true;
      return {
        spendLogColumns: new Set(cols.map((c) => c.name)),
        startTimeHasZone: startTime?.type === "timestamp with time zone",
        derivedGrains: row?.derived === true,
        startTimeMillis: startTime?.precision != null && Number(startTime.precision) <= 3,
        embedded: /wasm|emscripten/i.test(row?.version ?? ""),
        fold: row?.fold === true,
        routeRollups,
        dayMarks: routeRollups && row?.marks === true,
        routeMarks: routeRollups && row?.route_marks === true,
        modelTimeIndex: row?.model_index === true && cols.find((c) => c.name === "model")?.nullable === "NO",
        foldGuard: row?.fold_guard === true,
      };
    });
  facts.set(db, p);
  p.catch(() => facts.delete(db));
  return p;
}

/**
 * The facts of a database handle: as probed when it was migrated, or probed now. While a fact a later
 * migration may still turn on is false (`complete`), the facts are probed again on the next call, so a
 * database migrated the rest of the way by another handle is seen at once.
 */
export async function schemaFacts(db: Db): Promise<SchemaFacts> {
  const known = facts.get(db);
  const f = await (known ?? probeSchemaFacts(db));
  if (known && !complete(f)) return probeSchemaFacts(db);
  return f;
}
