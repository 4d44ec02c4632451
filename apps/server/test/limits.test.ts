import { type AppRouter, restRoutes } from "@spendlens/api";
import { emptyConfig } from "@spendlens/core";
import { openRuntime, settingsFromEnv } from "@spendlens/core/runtime";
import { hashToken, insertLogs, makeLog } from "@spendlens/core/testing";
import { createTRPCClient, httpBatchStreamLink, httpLink } from "@trpc/client";
import { sql } from "kysely";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, type Limits, limitsFromEnv, RateLimiter } from "../src/limits.ts";
import { type RunningServer, startServer } from "../src/server.ts";
import { useTestServer } from "../src/testing.ts";

/**
 * Protection against exhaustion, on real HTTP: the per-key token bucket (429 + Retry-After), the
 * heavy-query queue (503 + Retry-After), the request deadline (504), the pool size setting, and big
 * answers streamed through tRPC (httpBatchStreamLink).
 */

/** A JSON body, as the test reads it. */
const json = (r: Response): Promise<any> => r.json();

const MASTER = "sk-master-limits-test";
const ENGINE = process.env.SPENDLENS_TEST_ENGINE ?? "pglite";
const DAYS = ["2026-03-01", "2026-03-02", "2026-03-03"];
const logs = DAYS.flatMap((d, i) =>
  ["alice", "bob"].map((user, j) =>
    makeLog({
      startTime: `${d}T0${i}:00:00.000Z`,
      spend: (i + 1) * 0.5 + j,
      user,
      api_key: hashToken(user === "alice" ? "sk-alice" : "sk-bob"),
      team_id: j ? "t2" : "t1",
      // Names beyond ASCII (a surrogate pair too): the streamed link's UTF-8 encoding is checked.
      end_user: j ? "bøb 😀" : "alice",
    }),
  ),
);

const RATED: Limits = {
  ...DEFAULT_LIMITS,
  // A refill of one token per 100 s: the 4th request of a burst is refused whatever the machine's speed.
  rate: { ...DEFAULT_LIMITS.rate, internal_user: { perSecond: 0.01, burst: 3 } },
};

const h = useTestServer({
  master: MASTER,
  users: [
    { user_id: "alice", user_role: "internal_user" },
    { user_id: "bob", user_role: "internal_user" },
  ],
  teams: [{ team_id: "t1" }, { team_id: "t2" }],
  keys: [
    { raw: "sk-alice", user_id: "alice" },
    { raw: "sk-bob", user_id: "bob" },
  ],
  limits: RATED,
  setup: (t) => insertLogs(t.db, logs),
});

const extra: RunningServer[] = [];
afterAll(async () => {
  await Promise.all(extra.map((s) => s.close()));
});

/** Another server on the same database, with other limits. */
async function serverWith(limits: Limits): Promise<RunningServer> {
  const s = await startServer({
    services: { db: h.t.db, handle: h.t, config: emptyConfig(), masterKey: MASTER },
    port: 0,
    logger: pino({ level: "silent" }),
    limits,
  });
  extra.push(s);
  return s;
}

const get = (s: RunningServer, path: string, key: string | null = MASTER) =>
  fetch(`${s.url}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });

/**
 * Holds an exclusive lock on the keys table in an open transaction: GET /spend/keys (heavy) then waits
 * (on Postgres on the lock; on PGlite, whose one connection the transaction holds, on the connection).
 * The master key is checked without the database, so requests get as far as their query.
 */
async function blockKeysTable(): Promise<() => Promise<void>> {
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => {
    locked = r;
  });
  const tx = h.t.db.transaction().execute(async (trx) => {
    await sql`LOCK TABLE "LiteLLM_VerificationToken" IN ACCESS EXCLUSIVE MODE`.execute(trx);
    locked();
    await released;
  });
  await isLocked;
  return async () => {
    release();
    await tx;
  };
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
}

/** The default limits without rate limits: one heavy request at a time, `queue` waiting, a deadline (0: none). */
const oneHeavy = (queue: number, requestTimeoutMs: number) => ({
  ...DEFAULT_LIMITS,
  rate: {},
  heavyConcurrency: 1,
  heavyQueue: queue,
  requestTimeoutMs,
});

describe("rate limit per key", () => {
  it("refuses the request after a key's burst with 429, Retry-After in seconds and LiteLLM's error shape", async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await h.get("/global/spend/logs", "sk-alice")).status);
    expect(statuses).toEqual([200, 200, 200]);
    const r = await h.get("/global/spend/logs", "sk-alice");
    expect(r.status).toBe(429);
    const after = Number(r.headers.get("retry-after"));
    expect(Number.isInteger(after)).toBe(true);
    expect(after).toBeGreaterThanOrEqual(1);
    expect(after).toBeLessThanOrEqual(100);
    expect(r.body).toEqual({
      error: {
        message: expect.stringMatching(/^rate limit of this key exceeded: retry after \d+ s$/),
        type: "throttling_error",
        param: null,
        code: "429",
      },
    });
    // tRPC shares the bucket and answers in its own shape.
    const t = await h.fetch("/trpc/spend.globalSpendLogs", "sk-alice");
    expect(t.status).toBe(429);
    expect(Number(t.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await json(t)).error.data).toMatchObject({ code: "TOO_MANY_REQUESTS", httpStatus: 429 });
  });

  it("keeps one bucket per key, and none for the master key by default", async () => {
    expect((await h.get("/global/spend/logs", "sk-bob")).status).toBe(200);
    const master = await Promise.all(Array.from({ length: 30 }, () => h.get("/global/spend/logs")));
    expect(master.map((r) => r.status)).toEqual(master.map(() => 200));
  });

  it("charges a tRPC batch one token per call", async () => {
    const s = await serverWith({
      ...DEFAULT_LIMITS,
      rate: { internal_user: { perSecond: 0.01, burst: 2 } },
    });
    const batch = await get(
      s,
      "/trpc/spend.globalSpendLogs,spend.globalSpendLogs?batch=1&input={}",
      "sk-bob",
    );
    expect(batch.status).toBe(200);
    const next = await get(s, "/trpc/spend.globalSpendLogs", "sk-bob");
    expect(next.status).toBe(429);
  });

  it("keys its buckets by the key's hash, never the raw key", () => {
    const limiter = new RateLimiter({ internal_user: { perSecond: 1, burst: 1 } });
    const caller = {
      role: "internal_user" as const,
      userId: "alice",
      keyHash: hashToken("sk-alice"),
      metadata: {},
    };
    expect(limiter.take(caller)).toBeNull();
    expect(limiter.take(caller)).toBe(1);
    const ids = [...(limiter as unknown as { buckets: Map<string, unknown> }).buckets.keys()];
    expect(ids).toEqual([`internal_user:${hashToken("sk-alice")}`]);
  });

  it("reads its settings from the environment, each bad value named", () => {
    const l = limitsFromEnv({
      SPENDLENS_RATE_LIMIT_INTERNAL_USER: "5:7",
      SPENDLENS_RATE_LIMIT_PROXY_ADMIN: "off",
      SPENDLENS_RATE_LIMIT_MASTER: "100:200",
      SPENDLENS_HEAVY_CONCURRENCY: "3",
      SPENDLENS_HEAVY_QUEUE: "0",
      SPENDLENS_REQUEST_TIMEOUT_MS: "2500",
    });
    expect(l.rate).toEqual({
      ...DEFAULT_LIMITS.rate,
      internal_user: { perSecond: 5, burst: 7 },
      proxy_admin: null,
      master: { perSecond: 100, burst: 200 },
    });
    expect([l.heavyConcurrency, l.heavyQueue, l.requestTimeoutMs]).toEqual([3, 0, 2500]);
    expect(limitsFromEnv({})).toEqual(DEFAULT_LIMITS);
    expect(() => limitsFromEnv({ SPENDLENS_RATE_LIMIT_INTERNAL_USER: "fast" })).toThrow(
      /SPENDLENS_RATE_LIMIT_INTERNAL_USER must be/,
    );
    expect(() => limitsFromEnv({ SPENDLENS_HEAVY_CONCURRENCY: "0" })).toThrow(/SPENDLENS_HEAVY_CONCURRENCY/);
  });
});

describe("heavy queries", () => {
  it("marks the big reports and lists heavy, and ingest as taking a large body", () => {
    const routes = new Map(restRoutes().map((r) => [r.path, r]));
    for (const p of [
      "/global/spend/report",
      "/spend/logs",
      "/spendlens/analytics",
      "/spendlens/logs",
      "/spend/keys",
    ])
      expect(routes.get(p)?.heavy).toBe(true);
    expect(routes.get("/global/spend")?.heavy).toBe(false);
    expect(routes.get("/spend/logs/ingest")?.largeBody).toBe(true);
  });

  it("refuses a tRPC batch with two heavy calls, or more than 16 calls, with 400", async () => {
    const two = await h.fetch(
      `/trpc/spend.spendKeys,spend.spendUsers?batch=1&input=${encodeURIComponent(JSON.stringify({}))}`,
    );
    expect(two.status).toBe(400);
    expect((await json(two))[0].error.message).toBe(
      "a batch may hold at most one heavy procedure: send the others in their own requests",
    );
    const paths = Array.from({ length: 17 }, () => "spend.globalSpend").join(",");
    const many = await h.fetch(`/trpc/${paths}?batch=1&input={}`);
    expect(many.status).toBe(400);
    const sixteen = await h.fetch(
      `/trpc/${Array.from({ length: 16 }, () => "spend.globalSpend").join(",")}?batch=1&input={}`,
    );
    expect(sixteen.status).toBe(200);
  });

  it("runs at most heavyConcurrency, queues heavyQueue, and answers the next 503 with Retry-After", async () => {
    const s = await serverWith(oneHeavy(1, 0));
    const unblock = await blockKeysTable();
    let first: Promise<Response> | undefined;
    let second: Promise<Response> | undefined;
    try {
      first = get(s, "/spend/keys");
      await until("the first heavy query to run", () => s.heavyStats().running === 1);
      second = get(s, "/trpc/spend.spendKeys");
      await until("the second to wait", () => s.heavyStats().waiting === 1);
      const third = await get(s, "/spend/keys");
      expect(third.status).toBe(503);
      expect(third.headers.get("retry-after")).toBe("1");
      expect(await json(third)).toEqual({
        error: {
          message: "too many heavy queries at once: retry after 1 s",
          type: "service_unavailable",
          param: null,
          code: "503",
        },
      });
      const trpc = await get(s, "/trpc/reports.spendReport?input={}");
      expect(trpc.status).toBe(503);
      expect(trpc.headers.get("retry-after")).toBe("1");
      expect((await json(trpc)).error.data).toMatchObject({ code: "SERVICE_UNAVAILABLE", httpStatus: 503 });
      if (ENGINE === "postgres") {
        // Light routes and /healthz do not wait behind them. (On PGlite the test's lock holds the one
        // connection, so nothing that reads the database can answer until it is released.)
        expect((await get(s, "/global/spend/logs")).status).toBe(200);
        expect((await get(s, "/healthz")).status).toBe(200);
      }
    } finally {
      await unblock();
    }
    const [a, b] = await Promise.all([first!, second!]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((await json(a)).length).toBe(2);
    expect((await json(b)).result.data.length).toBe(2);
    await until("the slots to be free", () => s.heavyStats().running === 0);
  });
});

describe("request deadline", () => {
  it("answers 504 past the deadline, whether running or still queued, on REST and tRPC", async () => {
    const s = await serverWith(oneHeavy(8, 300));
    const unblock = await blockKeysTable();
    let answers: Response[];
    try {
      const running = get(s, "/spend/keys");
      await until("the heavy query to run", () => s.heavyStats().running === 1);
      const queued = get(s, "/spend/keys");
      const queuedTrpc = get(s, "/trpc/spend.spendKeys");
      answers = await Promise.all([running, queued, queuedTrpc]);
    } finally {
      await unblock();
    }
    expect(answers.map((r) => r.status)).toEqual([504, 504, 504]);
    expect(await json(answers[0]!)).toEqual({
      error: {
        message: "the request took longer than the server's deadline",
        type: "timeout_error",
        param: null,
        code: "504",
      },
    });
    expect((await json(answers[2]!)).error.data).toMatchObject({ code: "GATEWAY_TIMEOUT", httpStatus: 504 });
    // The slot comes back once the query behind the 504 has ended; the server then answers again.
    await until("the slot to be free", () => s.heavyStats().running === 0);
    const after = await get(s, "/spend/keys");
    expect(after.status).toBe(200);
  });
});

describe.runIf(ENGINE === "postgres")("pool size", () => {
  it("opens at most SPENDLENS_DB_POOL_MAX connections", async () => {
    const rt = await openRuntime(settingsFromEnv({ DATABASE_URL: h.t.url!, SPENDLENS_DB_POOL_MAX: "3" }));
    try {
      expect(rt.handle.pool?.options.max).toBe(3);
      const pids = await Promise.all(
        Array.from({ length: 9 }, async () => {
          const r = await sql<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(0.2)`.execute(
            rt.handle.db,
          );
          return r.rows[0]!.pid;
        }),
      );
      expect(new Set(pids).size).toBe(3);
    } finally {
      await rt.close();
    }
  });
});

describe("pool size setting", () => {
  it("refuses a pool size that is not a whole number from 1 to 1000", () => {
    expect(settingsFromEnv({}).dbPoolMax).toBe(10);
    expect(settingsFromEnv({ SPENDLENS_DB_POOL_MAX: "25" }).dbPoolMax).toBe(25);
    expect(() => settingsFromEnv({ SPENDLENS_DB_POOL_MAX: "0" })).toThrow(/SPENDLENS_DB_POOL_MAX/);
    expect(() => settingsFromEnv({ SPENDLENS_DB_POOL_MAX: "many" })).toThrow(/SPENDLENS_DB_POOL_MAX/);
  });

  it("reads the ingest statements and the report cache size once, here, and refuses nonsense", () => {
    const d = settingsFromEnv({});
    // Embedded (no DATABASE_URL): a smaller cache, for the server's 300 MiB; on Postgres 32.
    expect([d.ingestStatements, d.reportCacheMb]).toEqual([2, 8]);
    expect(settingsFromEnv({ DATABASE_URL: "postgres://x@127.0.0.1/y" }).reportCacheMb).toBe(32);
    const s = settingsFromEnv({ SPENDLENS_INGEST_STATEMENTS: "3", SPENDLENS_REPORT_CACHE_MB: "0.5" });
    expect([s.ingestStatements, s.reportCacheMb]).toEqual([3, 0.5]);
    expect(settingsFromEnv({ SPENDLENS_REPORT_CACHE_MB: "0" }).reportCacheMb).toBe(0);
    for (const v of ["0", "1.5", "-1", "65", "x"]) {
      expect(() => settingsFromEnv({ SPENDLENS_INGEST_STATEMENTS: v })).toThrow(
        /SPENDLENS_INGEST_STATEMENTS/,
      );
    }
    for (const v of ["-1", "x", "1e9"]) {
      expect(() => settingsFromEnv({ SPENDLENS_REPORT_CACHE_MB: v })).toThrow(/SPENDLENS_REPORT_CACHE_MB/);
    }
  });
});

describe("big answers streamed through tRPC", () => {
  const range = { start_date: DAYS[0]!, end_date: DAYS[2]! };
  const clients = () => {
    const url = `${h.srv.url}/trpc`;
    const headers = () => ({ authorization: `Bearer ${MASTER}` });
    return {
      stream: createTRPCClient<AppRouter>({ links: [httpBatchStreamLink({ url, headers })] }),
      whole: createTRPCClient<AppRouter>({ links: [httpLink({ url, headers })] }),
    };
  };

  it("the spend report's data is an async iterable over httpBatchStreamLink, equal to REST's and httpLink's", async () => {
    const { stream, whole } = clients();
    const rest = await h.get(
      `/global/spend/report?start_date=${range.start_date}&end_date=${range.end_date}`,
    );
    expect(rest.status).toBe(200);
    const streamed = (await stream.reports.spendReport.query(range)) as unknown as {
      group_by: string;
      data: AsyncIterable<unknown>;
    };
    expect(streamed.group_by).toBe("team");
    expect(Symbol.asyncIterator in streamed.data).toBe(true);
    const elements: unknown[] = [];
    for await (const el of streamed.data) elements.push(el);
    expect(elements).toEqual(rest.body);
    // Brute force: each day's spend over its teams is the sum of that day's logs.
    const perDay = (elements as { group_by_day: string; teams: { total_spend: number }[] }[]).map((d) => [
      d.group_by_day,
      d.teams.reduce((a, t) => a + t.total_spend, 0),
    ]);
    expect(perDay).toEqual(
      DAYS.map((d) => [d, logs.filter((l) => l.startTime.startsWith(d)).reduce((a, l) => a + l.spend, 0)]),
    );
    expect(await whole.reports.spendReport.query(range)).toEqual({ group_by: "team", data: elements });
  });

  it("the per-customer report streams non-ASCII names intact, equal to REST's and httpLink's", async () => {
    const { stream, whole } = clients();
    const input = { ...range, group_by: "customer" as const };
    const rest = await h.get(
      `/global/spend/report?start_date=${range.start_date}&end_date=${range.end_date}&group_by=customer`,
    );
    expect(rest.status).toBe(200);
    const streamed = (await stream.reports.spendReport.query(input)) as unknown as {
      group_by: string;
      data: AsyncIterable<unknown>;
    };
    const elements: unknown[] = [];
    for await (const el of streamed.data) elements.push(el);
    expect(elements).toEqual(rest.body);
    const names = (elements as { customers: { customer: string }[] }[]).flatMap((d) =>
      d.customers.map((c) => c.customer),
    );
    expect(new Set(names)).toEqual(new Set(["alice", "bøb 😀"]));
    expect(await whole.reports.spendReport.query(input)).toEqual({ group_by: "customer", data: elements });
  });

  it("the spend-logs summary's days stream too, equal to httpLink's whole answer", async () => {
    const { stream, whole } = clients();
    const streamed = (await stream.logs.spendLogs.query(range)) as unknown as {
      mode: string;
      days: AsyncIterable<unknown>;
    };
    const days: unknown[] = [];
    for await (const d of streamed.days) days.push(d);
    const w = await whole.logs.spendLogs.query(range);
    expect(w.mode).toBe("summary");
    expect({ mode: streamed.mode, days }).toEqual(w);
    expect((days as { spend: number }[]).map((d) => d.spend)).toEqual(
      DAYS.map((d) => logs.filter((l) => l.startTime.startsWith(d)).reduce((a, l) => a + l.spend, 0)),
    );
  });

  it("a streamed call still gets 401 without a key and 400 on bad input", async () => {
    const url = `${h.srv.url}/trpc`;
    const anon = createTRPCClient<AppRouter>({ links: [httpBatchStreamLink({ url })] });
    await expect(anon.reports.spendReport.query(range)).rejects.toMatchObject({
      data: { code: "UNAUTHORIZED" },
    });
    const { stream } = clients();
    await expect(
      stream.reports.spendReport.query({ start_date: "nope", end_date: "2026-01-01" }),
    ).rejects.toMatchObject({ data: { code: "BAD_REQUEST", field: "start_date" } });
  });
});
