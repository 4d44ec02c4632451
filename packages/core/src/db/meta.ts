import { sql } from "kysely";
import type { Db } from "./connect.ts";

/** A fact spendlens keeps about this database (schema spendlens, table meta). */
export async function getMeta(db: Db, key: string): Promise<string | null> {
  const r = await sql<{ value: string }>`SELECT value FROM spendlens.meta WHERE key = ${key}`.execute(db);
  return r.rows[0]?.value ?? null;
}

export async function setMeta(db: Db, key: string, value: string): Promise<void> {
  await sql`INSERT INTO spendlens.meta (key, value) VALUES (${key}, ${value})
    ON CONFLICT (key) DO UPDATE SET value = excluded.value`.execute(db);
}

/** True when the database answers. */
export async function ping(db: Db): Promise<boolean> {
  try {
    await sql`SELECT 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
