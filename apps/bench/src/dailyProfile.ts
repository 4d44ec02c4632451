import * as core from "@spendlens/core";
import { ALL, authenticate, type Db, emptyConfig, openDatabase } from "@spendlens/core";
import { foldRollupsSoon } from "@spendlens/core/runtime";
import { hashToken, writeFixtures } from "@spendlens/core/testing";
import { startServer } from "@spendlens/server";
import { sql } from "kysely";
import { fmtMs, percentile, profileArgs, table } from "./stats.ts";

/**
 * Where the time of one paginated daily-activity request goes, in process on DATABASE_URL:
 *   DATABASE_URL=… npx tsx src/dailyProfile.ts [--rounds 15]
 * Per route (30-day window ending today, page 1 of the route's default size), interleaved round by round:
 * a bare round trip (`SELECT 1`), the read's fold call (nothing pending), a virtual key's lookup
 * (`authenticate`, a key that is not there: the same indexed query), the input's zod parse, the core
 * function on a handle that never folds (the statement(s) and the shaping) and on the primary (fold +
 * statements), JSON.stringify of the answer, and the whole request through in-process servers (the
 * client's fetch in the same process): with the master key, and with a virtual key (a proxy_admin's,
 * written for the run and removed after) on a server that looks the key up on every request and on one
 * that trusts a verified key for 1 s (SPENDLENS_KEY_CACHE_MS' default). The servers have no standby
 * (the timing handle's read side is the primary itself, which a server would ask per request).
 */

const { url, rounds, start, end } = profileArgs(15);

type Run = (db: Db, input: any) => Promise<unknown>;
const ENTITIES = ["user", "team", "organization", "customer", "agent", "tag"] as const;
/** Each entity's core function and its zod input (`<entity>DailyActivity`, `<entity>DailyActivityInput`). */
const ROUTES: [string, { parse(x: unknown): unknown }, Run][] = ENTITIES.map((e) => [
  e,
  // biome-ignore lint/performance/noDynamicNamespaceImportAccess: a script run by tsx, not a bundle
  core[`${e}DailyActivityInput`],
  // biome-ignore lint/performance/noDynamicNamespaceImportAccess: a script run by tsx, not a bundle
  (db, i) => core[`${e}DailyActivity`](db, ALL, i),
]);

process.env.SPENDLENS_LOG_LEVEL ??= "silent";
const h = await openDatabase({ databaseUrl: url, databaseReadUrl: url });
const master = "sk-bench-profile-master";
const serving = await openDatabase({ databaseUrl: url });
const services = { db: serving.db, handle: serving, config: emptyConfig(), masterKey: master };
const srv = await startServer({ services, port: 0 });
const cached = await startServer({ services, port: 0, keyCacheMs: 1000 });
const virtualKey = `sk-bench-profile-${process.pid}`;
const virtualUser = `bench-profile-admin-${process.pid}`;
await writeFixtures(h.db, {
  users: [{ user_id: virtualUser, user_role: "proxy_admin" }],
  keys: [{ raw: virtualKey, user_id: virtualUser, spend: 0 }],
});
const time = async (f: () => Promise<unknown> | unknown): Promise<number> => {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
};
const samples = new Map<string, number[]>();
const add = (k: string, ms: number) => {
  const s = samples.get(k) ?? [];
  s.push(ms);
  samples.set(k, s);
};
const query = { start_date: start, end_date: end, page: "1" };
const readDb = h.read!.db;
const sizes = new Map<string, number>();
try {
  for (let r = 0; r < rounds + 1; r++) {
    const keep = r > 0; // round 0 warms up
    const rt = await time(() => sql`SELECT 1`.execute(h.db));
    const fold = await time(() => foldRollupsSoon(h.db));
    const auth = await time(() => authenticate(h.db, "sk-bench-profile-no-such-key", master).catch(() => {}));
    if (keep) {
      add("round trip (SELECT 1)", rt);
      add("fold call (nothing pending)", fold);
      add("virtual key lookup", auth);
    }
    for (const [name, schema, run] of ROUTES) {
      let input: unknown;
      const parse = await time(() => {
        input = schema.parse(query);
      });
      const core = await time(() => run(readDb, input));
      let out: unknown;
      const primary = await time(async () => {
        out = await run(h.db, input);
      });
      let text = "";
      const str = await time(() => {
        text = JSON.stringify(out);
      });
      sizes.set(name, text.length);
      const get = (base: string, key: string) =>
        time(async () => {
          const res = await fetch(`${base}/${name}/daily/activity?${new URLSearchParams(query)}`, {
            headers: { authorization: `Bearer ${key}` },
          });
          if (res.status !== 200) throw new Error(`${name}: HTTP ${res.status}: ${await res.text()}`);
          await res.text();
        });
      const http = await get(srv.url, master);
      const uncachedKey = await get(srv.url, virtualKey);
      const cachedKey = await get(cached.url, virtualKey);
      if (keep) {
        add(`${name}: zod parse`, parse);
        add(`${name}: core, no fold`, core);
        add(`${name}: core on the primary (fold + page)`, primary);
        add(`${name}: JSON.stringify`, str);
        add(`${name}: HTTP (in process)`, http);
        add(`${name}: HTTP, virtual key looked up`, uncachedKey);
        add(`${name}: HTTP, virtual key cached`, cachedKey);
      }
    }
  }
  const rows = [...samples].map(([k, s]) => [k, fmtMs(percentile(s, 50)), fmtMs(percentile(s, 90))]);
  process.stdout.write(`${table(["step", "p50", "p90"], rows)}\n`);
  process.stdout.write(
    `answer sizes: ${[...sizes].map(([k, n]) => `${k} ${(n / 1024).toFixed(0)} kB`).join(", ")}\n`,
  );
} finally {
  await h.db.deleteFrom("LiteLLM_VerificationToken").where("token", "=", hashToken(virtualKey)).execute();
  await h.db.deleteFrom("LiteLLM_UserTable").where("user_id", "=", virtualUser).execute();
  await srv.close();
  await cached.close();
  await serving.close();
  await h.close();
}
