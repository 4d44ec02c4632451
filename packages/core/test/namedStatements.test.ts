import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../src/db/connect.ts";
import { executeNamed, NAMED_PER_CONNECTION, statementName } from "../src/db/named.ts";
import { useTestDb } from "../src/testing/hooks.ts";

/**
 * Statements run by `executeNamed`: on a Postgres handle's pool a named statement, parsed once per
 * connection (the rollup reports and the fold call); on PGlite a named statement in its one session, run
 * on its generic plan; elsewhere (a transaction) kysely's own path. Same rows either way.
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

  it("on PGlite, prepares one statement per text, runs it on its generic plan, and leaves others custom", async () => {
    if (t.engine !== "pglite") return expect(t.url).toBeTruthy();
    const name = statementName(probe(1).compile(t.db).sql);
    const uses = async () =>
      (
        await sql<{ n: number; generic: number; custom: number }>`SELECT count(*)::int AS n,
          coalesce(sum(generic_plans), 0)::int AS generic, coalesce(sum(custom_plans), 0)::int AS custom
        FROM pg_prepared_statements WHERE name = ${name}`.execute(t.db)
      ).rows[0]!;
    const before = await uses();
    for (let i = 1; i <= 7; i++)
      expect((await executeNamed(t.db, probe(i))).rows.length).toBe(Math.max(0, 6 - i));
    const after = await uses();
    expect(after).toEqual({ n: 1, generic: before.generic + 7, custom: 0 });
    // The setting is back to the session's own after each call: kysely's unnamed statements plan custom.
    const mode = await sql<{ m: string }>`SELECT current_setting('plan_cache_mode') AS m`.execute(t.db);
    expect(mode.rows[0]!.m).toBe("auto");
  });

  it("every parameter type comes back as sent and as kysely's path gives it, nulls included, on every engine", async () => {
    const q = (v: { d: string; ts: string; arr: string[]; n: number | null; big: string; txt: string }) =>
      sql<
        Record<string, unknown>
      >`SELECT ${v.d}::date AS d, ${v.ts}::timestamp AS ts, ${v.arr}::text[] AS arr,
        ${v.n}::int AS n, ${v.big}::int8 AS big, ${v.txt}::text AS txt, 0.1::float8 + 0.2 AS f, NULL::text AS z`;
    for (const v of [
      {
        d: "0001-01-01",
        ts: "9999-12-31 23:59:59.999",
        arr: ["a", "😀", ""],
        n: null,
        big: "9223372036854775807",
        txt: "x",
      },
      {
        d: "2026-12-07",
        ts: "1970-01-01 00:00:00",
        arr: [],
        n: -2147483648,
        big: "-1",
        txt: "é\u{1F600}".repeat(1000),
      },
    ]) {
      const [named] = (await executeNamed(t.db, q(v))).rows;
      // What was sent, independently of either path: dates, text, arrays, ints and nulls as they went in,
      // int8 as a JS number (the handle's parser: sums and counts).
      expect(named).toMatchObject({ d: v.d, arr: v.arr, n: v.n, txt: v.txt, z: null, big: Number(v.big) });
      expect(named!.f).toBe(0.1 + 0.2);
      expect([named]).toEqual((await q(v).execute(t.db)).rows);
    }
  });

  it("on PGlite, an error leaves the session as it was, and a named read waits for a transaction in progress", async () => {
    if (t.engine !== "pglite") return expect(t.url).toBeTruthy();
    const div = (d: number) => sql<{ q: number }>`SELECT 10 / ${d}::int AS q`;
    expect((await executeNamed(t.db, div(2))).rows).toEqual([{ q: 5 }]);
    await expect(executeNamed(t.db, div(0))).rejects.toMatchObject({ code: "22012" });
    await expect(executeNamed(t.db, sql`SELECT no_such_column FROM named_probe`)).rejects.toMatchObject({
      code: "42703",
    });
    expect((await executeNamed(t.db, div(5))).rows).toEqual([{ q: 2 }]);
    const mode = await sql<{ m: string }>`SELECT current_setting('plan_cache_mode') AS m`.execute(t.db);
    expect(mode.rows[0]!.m).toBe("auto");
    // A transaction holds the handle's one connection: the named read runs after it ends, never inside it.
    let read: Promise<number[]> | undefined;
    await t.db
      .transaction()
      .execute(async (trx) => {
        await sql`INSERT INTO named_probe VALUES (100)`.execute(trx);
        read = executeNamed(t.db, probe(100)).then((r) => r.rows.map((x) => x.a));
        await new Promise((r) => setTimeout(r, 20));
        throw new Error("roll back");
      })
      .catch((e: Error) => expect(e.message).toBe("roll back"));
    expect(await read).toEqual([]);
  });

  it("on PGlite, a statement whose result changed shape is answered again, and the most recently used texts stay prepared", async () => {
    if (t.engine !== "pglite") return expect(t.url).toBeTruthy();
    await sql`CREATE TABLE named_shape (a int)`.execute(t.db);
    await sql`INSERT INTO named_shape VALUES (1)`.execute(t.db);
    const shape = sql<Record<string, number>>`SELECT * FROM named_shape`;
    expect((await executeNamed(t.db, shape)).rows).toEqual([{ a: 1 }]);
    await sql`ALTER TABLE named_shape ADD COLUMN b int DEFAULT 7`.execute(t.db);
    expect((await executeNamed(t.db, shape)).rows).toEqual([{ a: 1, b: 7 }]);
    expect((await executeNamed(t.db, shape)).rows).toEqual([{ a: 1, b: 7 }]);
    const text = (i: number) => sql.raw<{ i: number }>(`SELECT ${i}::int AS i`);
    const prepared = async (i: number) =>
      (
        await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_prepared_statements
          WHERE name = ${statementName(text(i).compile(t.db).sql)}`.execute(t.db)
      ).rows[0]!.n === 1;
    for (let i = 0; i < NAMED_PER_CONNECTION + 5; i++) {
      expect((await executeNamed(t.db, text(i))).rows).toEqual([{ i }]);
      // Text 0 is used again each time: the most recently used, never the one closed.
      expect((await executeNamed(t.db, text(0))).rows).toEqual([{ i: 0 }]);
    }
    const n = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_prepared_statements`.execute(t.db);
    expect(n.rows[0]!.n).toBe(NAMED_PER_CONNECTION);
    expect(await prepared(0)).toBe(true);
    expect(await prepared(NAMED_PER_CONNECTION + 4)).toBe(true);
    expect(await prepared(1)).toBe(false);
    // A closed text is prepared again when it comes back.
    expect((await executeNamed(t.db, text(1))).rows).toEqual([{ i: 1 }]);
    expect(await prepared(1)).toBe(true);
  });

  it("named on PGlite only: unnamed on Postgres, the same rows everywhere", async () => {
    // On Postgres, one connection: the check below sees the session the statement ran in.
    const h = t.url ? await openDatabase({ databaseUrl: t.url, maxConnections: 1 }) : null;
    const db = h?.db ?? t.db;
    try {
      const q = sql<{ a: number }>`SELECT a FROM named_probe WHERE a <= ${2} ORDER BY a`;
      expect((await executeNamed(db, q, "pglite")).rows).toEqual([{ a: 1 }, { a: 2 }]);
      const name = statementName(q.compile(db).sql);
      const ps = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_prepared_statements
        WHERE name = ${name}`.execute(db);
      expect(ps.rows[0]!.n).toBe(t.engine === "pglite" ? 1 : 0);
      // The same text without the restriction is named on both.
      await executeNamed(db, q);
      expect(
        (
          await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_prepared_statements
        WHERE name = ${name}`.execute(db)
        ).rows[0]!.n,
      ).toBe(1);
    } finally {
      await h?.close();
    }
  });
});
