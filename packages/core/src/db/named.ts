import { createHash } from "node:crypto";
import type { CompiledQuery, QueryResult, RawBuilder } from "kysely";
import type pg from "pg";
import { type Db, type PgliteSession, pgliteOf, pgPoolOf } from "./connect.ts";

/**
 * Statements run as named (prepared) statements on a Postgres handle's pool: each pooled connection
 * parses a statement's text once, and after its first executions Postgres may keep one generic plan for
 * it (`plan_cache_mode = auto`: the generic plan is used only while its estimated cost is no worse than
 * the custom plans' average). A report's statement over the rollups parses in ~0.2 ms and plans in
 * ~0.5–1 ms (its dirty-days branch joins every partition of the log table and considers each of their
 * indexes) and executes in ~0.2 ms: named, the parse and the plan are gone from every call but the first
 * few on a connection.
 *
 * For statements whose plan does not depend on the values bound (the rollup reports: day ranges, ids
 * compared for equality, `= ANY(array)`); a statement over the raw logs whose best plan depends on how
 * common a value is stays unnamed (kysely's own path).
 *
 * The name is a digest of the text, so one text is one statement on every connection; a connection keeps
 * at most NAMED_PER_CONNECTION of them prepared and runs any further text unnamed (no eviction: a text
 * past the limit is still answered, only parsed and planned as before). A prepared report with its
 * generic plan holds ~0.25 MB of the backend's memory (its plan over every log partition), so the limit
 * bounds that to ~13 MB per connection; the small reports use a few dozen texts. A transaction's handle
 * and a standby's handle run the statement through kysely as before.
 *
 * On PGlite (one session, Postgres compiled to WebAssembly) the same statements are named in its one
 * session, and each runs on its generic plan (`plan_cache_mode` is forced for that execution only):
 * there, planning a report's statement costs ~7 ms against well under 1 ms to run it on an embedded
 * database's data, and `auto` keeps custom plans for these statements (the generic plan's estimate counts
 * every log partition), so only the parse would be saved. A report over the rollups went from ~9 to
 * ~3 ms of CPU. Unnamed statements keep their custom plans: the setting is reset in the same message.
 * PGlite keeps the NAMED_PER_CONNECTION most recently used texts prepared: a new one past the limit
 * closes the least recently used (an embedded server runs for months; its hot texts stay named).
 */
export const NAMED_PER_CONNECTION = 50;

interface Prepared {
  names: Set<string>;
  /** Names whose prepared plan Postgres refused to reuse (the result's type changed): run unnamed. */
  refused: Set<string>;
}

const perClient = new WeakMap<pg.PoolClient, Prepared>();

/** The statement's name: a digest of its text (the same on every connection and every process). */
export function statementName(text: string): string {
  return `spendlens_${createHash("sha1").update(text).digest("base64url").slice(0, 24)}`;
}

/** Postgres's refusal to run a prepared statement whose result's type changed (a migration ran). */
function resultTypeChanged(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown };
  return err?.code === "0A000" && /cached plan must not change result type/.test(String(err.message));
}

/**
 * Runs a statement as a named statement on `db`'s Postgres pool or its PGlite (see above); anywhere else,
 * through kysely. Same rows, same type parsers, same errors.
 *
 * `where = "pglite"`: named on PGlite only, unnamed (kysely's path) on Postgres. For a statement over the
 * raw logs whose best plan on a Postgres-sized table depends on the values (how common an end user is,
 * which days are dirty), on PGlite, where planning it costs several times running it: the end-user
 * count (`countEndUserLogs`) went from 13.6 to 2.0 ms of CPU with 5,000 demo logs and from 18.7 to 5.5 ms
 * with 100,000 for the most common of 399 end users (2.6 ms for a rare one).
 */
export async function executeNamed<R>(
  db: Db,
  query: RawBuilder<R> | CompiledQuery<R>,
  where: "everywhere" | "pglite" = "everywhere",
): Promise<QueryResult<R>> {
  const compiled = "sql" in query ? query : query.compile(db);
  const pool = pgPoolOf(db);
  if (!pool) {
    const session = pgliteOf(db);
    return session ? executeNamedPglite(db, session, compiled) : db.executeQuery<R>(compiled);
  }
  if (where === "pglite") return db.executeQuery<R>(compiled);
  const text = compiled.sql;
  const values = [...compiled.parameters];
  // Every client of this pool has an 'error' listener for its whole life (openPool's 'connect' hook in
  // connect.ts; pgPoolOf answers only pools openPool made), so a connection that dies while checked out
  // here fails this call and never crashes the process; a lost one is dropped on release (below).
  const client = await pool.connect();
  let failed: unknown;
  try {
    let p = perClient.get(client);
    if (!p) {
      p = { names: new Set(), refused: new Set() };
      perClient.set(client, p);
    }
    const name = statementName(text);
    const named = !p.refused.has(name) && (p.names.has(name) || p.names.size < NAMED_PER_CONNECTION);
    if (!named) return { rows: (await client.query<R & pg.QueryResultRow>(text, values)).rows };
    p.names.add(name);
    try {
      return { rows: (await client.query<R & pg.QueryResultRow>({ name, text, values })).rows };
    } catch (e) {
      if (!resultTypeChanged(e)) throw e;
      p.refused.add(name);
      return { rows: (await client.query<R & pg.QueryResultRow>(text, values)).rows };
    }
  } catch (e) {
    failed = e;
    throw e;
  } finally {
    client.release(lostConnection(failed) ? (failed as Error) : undefined);
  }
}

/**
 * Whether an error leaves the connection unusable (no server answer, or a FATAL one): the client is then
 * dropped from the pool. An ordinary statement error (a timeout, a constraint) keeps it, as kysely does.
 */
function lostConnection(e: unknown): boolean {
  if (e === undefined) return false;
  const severity = (e as { severity?: unknown } | null)?.severity;
  return typeof severity !== "string" || severity === "FATAL" || severity === "PANIC";
}

interface PglitePrepared {
  /** Each prepared name's parameter types (from its Describe), in order. */
  types: Map<string, number[]>;
  refused: Set<string>;
}

const perPglite = new WeakMap<object, PglitePrepared>();

const GENERIC_ON = "SET plan_cache_mode = force_generic_plan";
const GENERIC_OFF = "RESET plan_cache_mode";

/**
 * The same on PGlite (one backend, one session): the statement is parsed once under its name (Parse,
 * Describe), and each call binds, describes its portal and executes it, as PGlite's own `query` does
 * with the unnamed statement. The call holds `db`'s one kysely connection (so it never runs inside a
 * transaction another caller has open on it) and PGlite's query lock (so no other PGlite call interleaves
 * with its messages). Rows are parsed by PGlite's own parser with the handle's type parsers.
 */
async function executeNamedPglite<R>(
  db: Db,
  session: PgliteSession,
  compiled: CompiledQuery<R>,
): Promise<QueryResult<R>> {
  const { pglite, serialize, parse } = session;
  let p = perPglite.get(pglite);
  if (!p) {
    p = { types: new Map(), refused: new Set() };
    perPglite.set(pglite, p);
  }
  const text = compiled.sql;
  const name = statementName(text);
  if (p.refused.has(name)) return db.executeQuery<R>(compiled);
  const prepared = p;
  return db.connection().execute(async (conn) => {
    const send = (...messages: Uint8Array[]) =>
      pglite.execProtocolStream(Buffer.concat(messages), { syncToFs: false });
    const rows = await pglite.runExclusive(async () => {
      let types = prepared.types.get(name);
      if (types) {
        // The most recently used last (a Map keeps insertion order).
        prepared.types.delete(name);
        prepared.types.set(name, types);
      } else {
        // At the limit, the least recently used statement is closed in the same message batch.
        const evict: Uint8Array[] = [];
        if (prepared.types.size >= NAMED_PER_CONNECTION) {
          const oldest = prepared.types.keys().next().value as string;
          prepared.types.delete(oldest);
          evict.push(serialize.close({ type: "S", name: oldest }));
        }
        const described = await send(
          ...evict,
          serialize.parse({ name, text }),
          serialize.describe({ type: "S", name }),
          serialize.sync(),
        );
        types = parse.parseDescribeStatementResults(described);
        prepared.types.set(name, types);
      }
      const values = compiled.parameters.map((v, i) => {
        if (v === null || v === undefined) return null;
        const s = pglite.serializers[types[i]!];
        return s ? s(v) : String(v);
      });
      let messages: Awaited<ReturnType<typeof send>>;
      try {
        messages = await send(
          serialize.query(GENERIC_ON),
          serialize.bind({ statement: name, values }),
          serialize.describe({ type: "P" }),
          serialize.execute({}),
          serialize.sync(),
          serialize.query(GENERIC_OFF),
        );
      } catch (e) {
        if (!resultTypeChanged(e)) throw e;
        // Answered unnamed from now on (below): the statement is closed, its slot freed.
        prepared.refused.add(name);
        prepared.types.delete(name);
        await send(serialize.close({ type: "S", name }), serialize.sync());
        return null;
      }
      await pglite.syncToFs();
      // Three results: the SET's, the statement's, the RESET's.
      return parse.parseResults(messages, pglite.parsers)[1]?.rows ?? [];
    });
    if (rows === null) return conn.executeQuery<R>(compiled);
    return { rows: rows as R[] };
  });
}
