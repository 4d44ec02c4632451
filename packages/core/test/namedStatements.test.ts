import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../src/db/connect.ts";
import { executeNamed, statementName } from "../src/db/named.ts";
import { useTestDb } from "../src/testing/hooks.ts";

/**
 * Statements run by `executeNamed`: on a Postgres handle's pool a named statement, parsed once per
 * connection (the rollup reports and the fold call); elsewhere kysely's own path. Same rows either way.
 */

const t = useTestDb({
  setup: async (d) => {
    await sql`CREATE TABLE named_probe (a int)`.execute(d.db);
    await sql`INSERT INTO named_probe SELECT g FROM generate_series(1, 5) g`.execute(d.db);
  },
});

const probe = (min: number) => sql<{ a: number }>`SELECT * FROM named_probe WHERE a >= ${min} ORDER BY a`;

describe("executeNamed", () => {
  it("answers what kysely answers, on every engine", async () => {
    for (const min of [1, 3, 6]) {
      const direct = (await probe(min).execute(t.db)).rows;
      expect((await executeNamed(t.db, probe(min))).rows).toEqual(direct);
    }
    expect((await executeNamed(t.db, probe(2).compile(t.db))).rows.map((r) => r.a)).toEqual([2, 3, 4, 5]);
  });

  it("on Postgres, prepares one statement per text and connection, and reuses it", async () => {
    if (!t.url) return expect(t.engine).toBe("pglite");
    const h = await openDatabase({ databaseUrl: t.url, maxConnections: 1 });
    try {
      const name = statementName(probe(1).compile(h.db).sql);
      for (let i = 1; i <= 7; i++)
        expect((await executeNamed(h.db, probe(i))).rows.length).toBe(Math.max(0, 6 - i));
      const ps = await sql<{ n: number; uses: number }>`SELECT count(*)::int AS n,
          coalesce(sum(generic_plans + custom_plans), 0)::int AS uses
        FROM pg_prepared_statements WHERE name = ${name}`.execute(h.db);
      expect(ps.rows[0]).toEqual({ n: 1, uses: 7 });
    } finally {
      await h.close();
    }
  });

  it("a statement whose result changed shape (a migration ran) is answered again, unnamed", async () => {
    if (!t.url) return expect(t.engine).toBe("pglite");
    const h = await openDatabase({ databaseUrl: t.url, maxConnections: 1 });
    try {
      expect((await executeNamed(h.db, probe(5))).rows).toEqual([{ a: 5 }]);
      await sql`ALTER TABLE named_probe ADD COLUMN b int DEFAULT 7`.execute(h.db);
      expect((await executeNamed(h.db, probe(5))).rows).toEqual([{ a: 5, b: 7 }]);
      expect((await executeNamed(h.db, probe(4))).rows).toEqual([
        { a: 4, b: 7 },
        { a: 5, b: 7 },
      ]);
    } finally {
      await h.close();
    }
  });

  it("a connection that dies during or between named statements fails that call only (no crash); the next call prepares again", async () => {
    if (!t.url) return expect(t.engine).toBe("pglite");
    const h = await openDatabase({ databaseUrl: t.url, maxConnections: 1 });
    const admin = await openDatabase({ databaseUrl: t.url, maxConnections: 1 });
    const backend = async () =>
      (await executeNamed(h.db, sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`)).rows[0]!.pid;
    const state = async (pid: number) =>
      (
        await sql<{ state: string | null }>`SELECT state FROM pg_stat_activity WHERE pid = ${pid}`.execute(
          admin.db,
        )
      ).rows[0]?.state ?? null;
    const until = async (ok: () => Promise<boolean>) => {
      for (let i = 0; i < 200 && !(await ok()); i++) await new Promise((r) => setTimeout(r, 25));
    };
    try {
      expect((await executeNamed(h.db, probe(5))).rows.map((r) => r.a)).toEqual([5]);
      // During: the server ends the connection while a statement runs on it.
      const first = await backend();
      // Its failure is caught at once (settled to a value): it may arrive before the expect below runs,
      // and a rejection nobody handles yet is an unhandled one to vitest, which fails the run.
      const inFlight = executeNamed(h.db, sql`SELECT pg_sleep(10)`).then(
        () => null,
        (e: unknown) => e,
      );
      await until(async () => (await state(first)) === "active");
      await sql`SELECT pg_terminate_backend(${first})`.execute(admin.db);
      expect(await inFlight).toBeInstanceOf(Error);
      // The pool dropped that client: a new connection, where the statement is prepared again.
      expect((await executeNamed(h.db, probe(4))).rows.map((r) => r.a)).toEqual([4, 5]);
      const second = await backend();
      expect(second).not.toBe(first);
      // Between: the connection ends while the pool holds it idle.
      await sql`SELECT pg_terminate_backend(${second})`.execute(admin.db);
      await until(async () => (await state(second)) === null);
      const again = await executeNamed(h.db, probe(5)).catch(() => executeNamed(h.db, probe(5)));
      expect(again.rows.map((r) => r.a)).toEqual([5]);
      expect(await backend()).not.toBe(second);
    } finally {
      await h.close();
      await admin.close();
    }
  });
});
