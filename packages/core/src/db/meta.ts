import { sql } from "kysely";
import type { Db } from "./connect.ts";

/** A fact spendlens keeps about this database (schema spendlens, table meta). */
export async function getMeta(db: Db, key: string): Promise<string | null> {
  const r = await db.selectFrom("spendlens.meta").select("value").where("key", "=", key).executeTakeFirst();
  return r?.value ?? null;
}

/** Several facts at once: the keys present, with their values. */
export async function getMetas(db: Db, keys: readonly string[]): Promise<Map<string, string>> {
  const r = await db.selectFrom("spendlens.meta").select(["key", "value"]).where("key", "in", keys).execute();
  return new Map(r.map((x) => [x.key, x.value]));
}

export async function setMeta(db: Db, key: string, value: string): Promise<void> {
  await db
    .insertInto("spendlens.meta")
    .values({ key, value })
    .onConflict((oc) => oc.column("key").doUpdateSet((eb) => ({ value: eb.ref("excluded.value") })))
    .execute();
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
