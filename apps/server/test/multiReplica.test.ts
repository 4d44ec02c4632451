import { createTestDb, hashToken, type TestDb, testEngine, writeFixtures } from "@spendlens/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectCountersEqualBruteForce,
  getJson,
  postJson,
  type Replica,
  startReplica,
  sumBy,
  type WireLog,
} from "./replicas.ts";

/**
 * Three real server processes (the CLI's `serve`) on one Postgres database: concurrent ingest, with the
 * same request_ids sent to different replicas, and reads, for a few seconds. Then every counter (key,
 * user, team, end user) and a set of reports equal brute-force sums over the rows that were
 * acknowledged, nothing is stored that was not acknowledged, and the database's deadlock counter did not
 * move. PGlite is one process per data folder: Postgres only.
 */

const MASTER = "sk-master-replicas";
const KEYS = Array.from({ length: 6 }, (_, i) => `sk-rep-${i}`);
const USERS = ["u-a", "u-b", "u-c", "u-d"];
const TEAMS = ["t-x", "t-y", "t-z"];
const RUN_MS = 4000;

const onPostgres = testEngine() === "postgres";

describe.skipIf(!onPostgres)(
  "3 replicas on one Postgres (Postgres only: PGlite allows one process per database)",
  () => {
    let t: TestDb;
    let replicas: Replica[] = [];
    let deadlocksBefore = 0;
    /** Rows of a query on the test database (constant SQL of this file). */
    const q = async <R>(text: string): Promise<R[]> => (await t.pool!.query(text)).rows as R[];
    const deadlocks = async () =>
      Number(
        (
          await q<{ n: string }>(
            "SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()",
          )
        )[0]!.n,
      );

    beforeAll(async () => {
      t = await createTestDb();
      await writeFixtures(t.db, {
        teams: TEAMS.map((team_id) => ({ team_id, team_alias: `alias-${team_id}` })),
        users: USERS.map((user_id) => ({ user_id, user_role: "internal_user" })),
        keys: KEYS.map((raw, i) => ({
          raw,
          spend: 0,
          user_id: USERS[i % USERS.length]!,
          team_id: TEAMS[i % TEAMS.length]!,
        })),
      });
      deadlocksBefore = await deadlocks();
      replicas = await Promise.all([0, 1, 2].map(() => startReplica(t.url!, MASTER)));
    }, 90_000);

    afterAll(async () => {
      await Promise.all(replicas.map((r) => r.stop()));
      await t?.drop();
    }, 30_000);

    it("ingest and reads for a few seconds: counters and reports equal the acknowledged rows, no deadlock", async () => {
      const now = Date.now();
      /** A log's content is a function of its id, so the same id sent twice is a duplicate, never a conflict. */
      const logOf = (id: string, n: number): WireLog => ({
        request_id: id,
        api_key: KEYS[n % KEYS.length]!,
        spend: (n % 29) / 64,
        startTime: new Date(now - (n % 360) * 60_000).toISOString(),
        model: n % 3 ? "gpt-4o" : "claude-3-5-sonnet",
        user: USERS[(n >> 1) % USERS.length]!,
        team_id: TEAMS[(n >> 2) % TEAMS.length]!,
        end_user: `eu-${n % 11}`,
        prompt_tokens: n % 50,
        completion_tokens: 2,
      });
      const SHARED = 400; // ids every writer sends now and then: duplicates across replicas
      const acked = new Map<string, WireLog>();
      const statuses = new Map<number, number>();
      const note = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
      const deadline = Date.now() + RUN_MS;
      let batches = 0;
      let duplicates = 0;

      const writer = async (w: number) => {
        let n = 0;
        let seed = w * 7919 + 1;
        const rnd = (m: number) => {
          seed = (seed * 1103515245 + 12345) % 2147483648;
          return seed % m;
        };
        while (Date.now() < deadline) {
          const size = 50 + rnd(250);
          const logs: WireLog[] = [];
          const ids = new Set<string>();
          for (let j = 0; j < size; j++) {
            const shared = rnd(4) === 0;
            const k = shared ? rnd(SHARED) : 100_000 + w * 100_000 + n++;
            const id = shared ? `shared-${k}` : `w${w}-${k}`;
            if (ids.has(id)) continue;
            ids.add(id);
            logs.push(logOf(id, k));
          }
          const r = await postJson(`${replicas[rnd(3)]!.url}/spend/logs/ingest`, MASTER, { logs });
          note(r.status);
          if (r.status === 200) {
            batches++;
            duplicates += r.body.duplicates.length;
            expect(r.body.conflicts).toEqual([]);
            expect(r.body.invalid).toEqual([]);
            for (const l of logs) acked.set(l.request_id, l);
          }
        }
      };
      const reader = async (k: number) => {
        const paths = [
          "/global/spend",
          "/spend/keys",
          "/global/spend/keys?limit=10",
          "/spend/users",
          "/global/spend/models",
        ];
        let i = k;
        while (Date.now() < deadline) {
          const r = await getJson(`${replicas[i % 3]!.url}${paths[i % paths.length]}`, MASTER);
          note(r.status);
          i++;
        }
      };
      await Promise.all([...[0, 1, 2, 3, 4, 5].map(writer), reader(0), reader(1)]);

      expect(Object.fromEntries(statuses)).toEqual({ 200: expect.any(Number) });
      expect(batches).toBeGreaterThan(6);
      expect(duplicates).toBeGreaterThan(0); // the shared ids did cross replicas
      expect(replicas.every((r) => r.alive())).toBe(true);

      const rows = [...acked.values()];
      const paid = rows.filter((l) => l.spend > 0);
      const total = paid.reduce((s, l) => s + l.spend, 0);

      // Stored = acknowledged, row for row.
      const stored = await q<{ request_id: string; spend: number }>(
        `SELECT request_id, spend FROM "LiteLLM_SpendLogs"`,
      );
      expect(new Map(stored.map((r) => [r.request_id, r.spend]))).toEqual(
        new Map(rows.map((l) => [l.request_id, l.spend])),
      );

      // Reports through each replica.
      for (const r of replicas) {
        const g = await getJson(`${r.url}/global/spend`, MASTER);
        expect(g.body.spend).toBe(total);
        /** The route's rows as a map of the field `id` to the field `spend`. */
        const answer = async (path: string, id: string, spend: string) => {
          const body = (await getJson(`${r.url}${path}`, MASTER)).body as Record<string, unknown>[];
          return new Map(body.map((x) => [x[id], x[spend]]));
        };
        const bySpend = <T extends { spend: number }>(logs: T[], key: (l: T) => string) =>
          sumBy(logs, key, (l) => l.spend);
        expect(await answer("/global/spend/keys", "api_key", "total_spend")).toEqual(
          bySpend(paid, (l) => hashToken(l.api_key)),
        );
        expect(await answer("/global/spend/models?limit=100", "model", "total_spend")).toEqual(
          bySpend(paid, (l) => l.model),
        );
        expect(await answer("/spend/keys", "token", "spend")).toEqual(
          bySpend([...KEYS.map((k) => ({ api_key: k, spend: 0 })), ...paid], (l) => hashToken(l.api_key)),
        );
        expect(await answer("/spend/users", "user_id", "spend")).toEqual(
          bySpend([...USERS.map((user) => ({ user, spend: 0 })), ...paid], (l) => l.user),
        );
      }

      // The counters themselves (what LiteLLM reads): every increment folded, nothing pending.
      await expectCountersEqualBruteForce(q, paid);

      // Deadlocks: the servers' backends report their statistics when they exit.
      await Promise.all(replicas.map((r) => r.stop()));
      await q("SELECT pg_stat_clear_snapshot()");
      expect(await deadlocks()).toBe(deadlocksBefore);
    }, 60_000);
  },
);
