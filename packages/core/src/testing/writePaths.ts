/**
 * The ways rows reach "LiteLLM_SpendLogs" outside spendlens's API, shared by the rollup property tests
 * (rollups, tagRollup, derivedRollups): random days and times, LiteLLM's multi-row INSERT (skip or
 * update duplicates) and COPY. Each test names the columns it writes; the rest keep their defaults.
 */
import { type Kysely, sql } from "kysely";
import type { TestDb } from "./index.ts";

export function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

/** A time on `day`: the first or last millisecond with probability `edge` each, else uniform. */
export function randomTime(rnd: () => number, day: string, edge: number): string {
  const r = rnd();
  if (r < edge) return `${day}T00:00:00.000Z`;
  if (r < 2 * edge) return `${day}T23:59:59.999Z`;
  return new Date(Date.parse(`${day}T00:00:00Z`) + Math.floor(rnd() * 86_400_000)).toISOString();
}

type Value = string | number | null;

/** A column of the spend log table; `jsonb` ones are sent as JSON text and cast. */
export type Column = string | { name: string; jsonb: true };
const nameOf = (c: Column) => (typeof c === "string" ? c : c.name);

/**
 * As LiteLLM writes: one multi-row INSERT ... VALUES. `onConflict` "skip" is prisma's skipDuplicates;
 * "update" sets the listed columns from the new row. Column names come from the test's literal lists.
 */
export async function insertLikeLiteLLM<R extends object>(
  db: Kysely<any>,
  columns: readonly Column[],
  rows: readonly R[],
  onConflict: "skip" | { update: readonly string[] } = "skip",
): Promise<void> {
  const values = rows.map(
    (r) =>
      sql`(${sql.join(
        columns.map((c) => {
          const v = (r as Record<string, unknown>)[nameOf(c)] as Value;
          return typeof c === "string" ? sql`${v}` : sql`${v}::jsonb`;
        }),
      )})`,
  );
  // A partitioned table (standalone, migration 0011) has the key (request_id, "startTime"); the rows
  // rewritten here keep their "startTime", so the upsert is the same.
  const kind = await sql<{ relkind: string }>`SELECT relkind::text AS relkind FROM pg_class
    WHERE oid = to_regclass('public."LiteLLM_SpendLogs"')`.execute(db);
  const target = kind.rows[0]?.relkind === "p" ? sql`(request_id, "startTime")` : sql`(request_id)`;
  const conflict =
    onConflict === "skip"
      ? sql`DO NOTHING`
      : sql`${target} DO UPDATE SET ${sql.join(onConflict.update.map((c) => sql`${sql.id(c)} = ${sql.ref(`excluded.${c}`)}`))}`;
  await sql`INSERT INTO "LiteLLM_SpendLogs" (${sql.join(columns.map((c) => sql.id(nameOf(c))))})
    VALUES ${sql.join(values)} ON CONFLICT ${conflict}`.execute(db);
}

/** COPY ... FROM STDIN (FORMAT csv) of the listed columns (Postgres only: needs the test's pool). */
export async function copyIn<R extends object>(
  t: TestDb,
  columns: readonly Column[],
  rows: readonly R[],
): Promise<void> {
  const pgCopy = (await import("pg-copy-streams")).default;
  const { Readable } = await import("node:stream");
  const { pipeline } = await import("node:stream/promises");
  const q = (v: Value) =>
    v === null ? "" : typeof v === "number" ? String(v) : `"${v.replaceAll('"', '""')}"`;
  const names = columns.map(nameOf);
  const csv = rows
    .map((r) => names.map((c) => q((r as Record<string, unknown>)[c] as Value)).join(","))
    .join("\n");
  const client = await t.pool!.connect();
  try {
    const cols = names.map((c) => `"${c}"`).join(", ");
    const stream = client.query(pgCopy.from(`COPY "LiteLLM_SpendLogs" (${cols}) FROM STDIN (FORMAT csv)`));
    await pipeline(Readable.from([`${csv}\n`]), stream);
  } finally {
    client.release();
  }
}

/** The columns every direct write here sets: id, spend, tokens and times. */
export const BASE_COLUMNS = [
  "request_id",
  "spend",
  "total_tokens",
  "prompt_tokens",
  "completion_tokens",
  "startTime",
  "endTime",
] as const;

/** BASE_COLUMNS, then `extra`, then request_tags (cast to jsonb for INSERT, plain text for COPY) if asked. */
export function logColumns(extra: readonly string[], tags: "jsonb" | "text" | "none" = "none"): Column[] {
  const cols: Column[] = [...BASE_COLUMNS, ...extra];
  if (tags === "jsonb") cols.push({ name: "request_tags", jsonb: true });
  if (tags === "text") cols.push("request_tags");
  return cols;
}

/** request_tags values that are not arrays (an object, a string, a number, JSON null, SQL NULL): no tags. */
export const NON_ARRAY_TAGS: readonly (string | null)[] = [
  '{"legacy": ["prod"]}',
  '"prod"',
  "5",
  "null",
  null,
];

let idSeq = 0;
/**
 * A random log's id (`<prefix>-<n>-<random>`), spend (a tenth of them 0) and tokens (total_tokens three
 * over prompt + completion a fifth of the time, as a provider's own count can be).
 */
export function randomIdAndUsage(rnd: () => number, prefix: string) {
  idSeq++;
  const prompt = Math.floor(rnd() * 2000);
  const completion = Math.floor(rnd() * 800);
  return {
    request_id: `${prefix}-${idSeq}-${Math.floor(rnd() * 1e9)}`,
    spend: rnd() < 0.1 ? 0 : Math.round(rnd() * 1e7) / 1e6,
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion + (rnd() < 0.2 ? 3 : 0),
  };
}
