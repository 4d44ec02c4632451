import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { openRestStream, type RestStream, streamOr, toCsv } from "@spendlens/api";
import { seededLogs } from "@spendlens/api/testing";
import type { DemoLog } from "@spendlens/core/demo";
import {
  createTestDb,
  hashToken,
  insertLogs,
  parseConfig,
  type TestDb,
  testEngine,
  writeFixtures,
} from "@spendlens/core/testing";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bruteCustomers,
  bruteTeams,
  bruteKeys as keysOf,
} from "../../../packages/core/test/spendReportBrute.ts";
import { type RunningServer, startServer } from "../src/server.ts";
import { sendRestStream } from "../src/stream.ts";

/**
 * Streamed REST answers through real HTTP: GET /global/spend/report sent as it is read (chunked, no
 * content-length), equal to a brute-force computation over the inserted logs, with more (day,
 * customer) rows than one cursor chunk (500) and more bytes than one write (64 KiB); CSV streamed too;
 * errors before the first byte are proper error responses, an error after it cuts the connection; a
 * client that goes away releases the database.
 */

const MASTER = "sk-master-streaming";
const START = "2026-05-01";
const END = "2026-05-24";
const KEYS = Array.from({ length: 6 }, (_, i) => hashToken(`sk-stream-${i}`));
const CUSTOMERS: (string | null)[] = [...Array.from({ length: 40 }, (_, i) => `cust-${i}`), null];
const TEAMS: Record<string, string | null> = { t1: "Search", t2: "Ads", t3: null };
const TEAM_IDS: (string | null)[] = ["t1", "t2", "t3", null];
const MODELS = ["gpt-4o", "claude-3-5-sonnet", "gpt-4o-mini"];

// 26 days (the window and one day either side) x 100 logs: ~1000 (day, customer) rows in the window.
const logs = seededLogs(4242, "2026-04-30", 26, 100, ({ rnd, pick, at }) => {
  const p = Math.floor(rnd() * 1000);
  const c = Math.floor(rnd() * 300);
  return {
    startTime: at(),
    api_key: pick(KEYS),
    end_user: pick(CUSTOMERS),
    team_id: pick(TEAM_IDS),
    user: pick(["alice", "bob"]),
    model: pick(MODELS),
    spend: Math.floor(rnd() * 1024) / 512, // dyadic: exact in any order of addition
    prompt_tokens: p,
    completion_tokens: c,
    total_tokens: p + c,
  };
});
const inWindow = (l: DemoLog) => l.startTime >= `${START}T` && l.startTime < "2026-05-25T";
const win = logs.filter(inWindow);

const brute = (by: "team" | "customer") =>
  by === "team"
    ? bruteTeams(win, (l) => (l.team_id && TEAMS[l.team_id]) ?? "Unassigned Team")
    : bruteCustomers(win);

const bruteKeys = () => keysOf(win);

let t: TestDb;
let srv: RunningServer;
const Q = `start_date=${START}&end_date=${END}`;
const get = (path: string, key = MASTER, init: RequestInit = {}) =>
  fetch(`${srv.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}` } });

beforeAll(async () => {
  t = await createTestDb();
  await writeFixtures(t.db, {
    teams: Object.entries(TEAMS).map(([team_id, team_alias]) => ({ team_id, team_alias })),
    users: [{ user_id: "alice", user_role: "internal_user" }],
    keys: [{ raw: "sk-alice-stream", user_id: "alice" }],
  });
  await insertLogs(t.db, logs);
  srv = await startServer({
    services: { db: t.db, handle: t, config: parseConfig(""), masterKey: MASTER },
    port: 0,
    logger: pino({ level: "silent" }),
  });
});
afterAll(async () => {
  await srv?.close();
  await t?.drop();
});

describe("GET /global/spend/report, streamed", () => {
  it("customer: chunked, more rows than a cursor chunk, equal to the brute force", async () => {
    const expected = bruteCustomers(win);
    const rows = expected.reduce((n, d) => n + d.customers.length, 0);
    expect(rows).toBeGreaterThan(500); // more (day, customer) rows than one FETCH
    const r = await get(`/global/spend/report?${Q}&group_by=customer`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(r.headers.get("transfer-encoding")).toBe("chunked");
    expect(r.headers.get("content-length")).toBeNull();
    const text = await r.text();
    expect(text.length).toBeGreaterThan(64 * 1024); // more than one write
    expect(JSON.parse(text)).toEqual(expected);
  });

  it("team (the default) and api_key equal the brute force", async () => {
    const team = await get(`/global/spend/report?${Q}`);
    expect(team.headers.get("transfer-encoding")).toBe("chunked");
    expect(await team.json()).toEqual(brute("team"));
    const keys = await get(`/global/spend/report?${Q}&group_by=api_key`);
    expect(await keys.json()).toEqual(bruteKeys());
  });

  it("?format=csv streams the same table toCsv makes of the whole answer", async () => {
    for (const by of ["customer", "team"] as const) {
      const r = await get(`/global/spend/report?${Q}&group_by=${by}&format=csv`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      expect(r.headers.get("transfer-encoding")).toBe("chunked");
      expect(await r.text()).toBe(toCsv(brute(by)));
    }
    const keys = await get(`/global/spend/report?${Q}&group_by=api_key&format=csv`);
    expect(await keys.text()).toBe(toCsv(bruteKeys()));
    const empty = await get("/global/spend/report?start_date=2025-01-01&end_date=2025-01-02&format=csv");
    expect(await empty.text()).toBe(toCsv([]));
  });

  it("an empty answer is [] (still streamed)", async () => {
    const r = await get("/global/spend/report?start_date=2025-01-01&end_date=2025-01-02");
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual([]);
  });

  it("errors before the first byte are LiteLLM error responses with a content-length", async () => {
    const bad = await get(`/global/spend/report?${Q}&group_by=everything`);
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-length")).not.toBeNull();
    expect(((await bad.json()) as any).error.param).toBe("group_by");
    expect((await get(`/global/spend/report?${Q}`, "sk-alice-stream")).status).toBe(403);
    expect((await get(`/global/spend/report?${Q}`, "sk-wrong")).status).toBe(401);
  });

  it("a client that goes away mid-answer releases the database; the server keeps answering", async () => {
    const ac = new AbortController();
    const r = await get(`/global/spend/report?${Q}&group_by=customer`, MASTER, { signal: ac.signal });
    const reader = r.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    ac.abort();
    await reader.read().catch(() => {});
    // The server notices the closed socket, stops reading and rolls back.
    for (let i = 0; testEngine() === "postgres"; i++) {
      const open = await t.pool!.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND (state LIKE 'idle in transaction%' OR query LIKE 'FETCH%')`);
      if (open.rows[0]!.n === 0) break;
      if (i === 50) throw new Error("the stream's transaction is still open");
      await new Promise((res) => setTimeout(res, 100));
    }
    const again = await get(`/global/spend/report?${Q}&group_by=customer`);
    expect(await again.json()).toEqual(brute("customer"));
  });
});

describe("GET /spend/logs (per-day summary), streamed", () => {
  it("chunked, every day of the range, equal to the brute force; an internal user gets their own", async () => {
    const summary = (rows: DemoLog[]) => {
      const out: Record<string, any>[] = [];
      for (let d = Date.parse(`${START}T00:00:00Z`); d <= Date.parse(`${END}T00:00:00Z`); d += 86_400_000) {
        const day = new Date(d).toISOString().slice(0, 10);
        const o: Record<string, any> = { users: {}, models: {}, spend: 0, startTime: day };
        for (const l of rows.filter((x) => x.startTime.slice(0, 10) === day)) {
          o.spend += l.spend;
          o[l.api_key] = (o[l.api_key] ?? 0) + l.spend;
          o.users[l.user] = (o.users[l.user] ?? 0) + l.spend;
          o.models[l.model] = (o.models[l.model] ?? 0) + l.spend;
        }
        out.push(o);
      }
      return out;
    };
    const r = await get(`/spend/logs?${Q}`);
    expect(r.status).toBe(200);
    expect(r.headers.get("transfer-encoding")).toBe("chunked");
    const body = (await r.json()) as unknown[];
    expect(body).toHaveLength(24);
    expect(body).toEqual(summary(win));
    const own = await get(`/spend/logs?${Q}`, "sk-alice-stream");
    expect(await own.json()).toEqual(summary(win.filter((l) => l.user === "alice")));
    expect((await get(`/spend/logs?${Q}&user_id=bob`, "sk-alice-stream")).status).toBe(403);
  });
});

describe("the streaming hook (api openRestStream + server sendRestStream)", () => {
  let http: Server;
  let url = "";
  // Elements of ~70 kB each; the stream fails when it reaches `failAt` (null: ends after `count`).
  let failAt: number | null = null;
  let count = 0;
  let pad = 70_000;
  const element = (i: number) => [`{"i":${i},"pad":"`, "x".repeat(pad), `"}`];

  beforeAll(async () => {
    http = createServer(async (_req, res) => {
      const marker = await streamOr(
        { restStream: true },
        async () => null,
        () => ({
          async *items() {
            for (let i = 0; i < count; i++) {
              if (i === failAt) throw new Error("the database went away");
              yield element(i);
            }
          },
        }),
      );
      try {
        const opened = await openRestStream(marker as unknown as RestStream, "json");
        await sendRestStream(res, opened);
      } catch (e) {
        res.writeHead(503, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: (e as Error).message }));
      }
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => http.close(() => r()));
  });

  it("an error before the first element is an error response", async () => {
    failAt = 0;
    count = 10;
    const r = await fetch(url);
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual({ error: "the database went away" });
  });

  it("an error while the first piece is gathered (after the first element, before any byte) is an error response, not a dropped connection", async () => {
    failAt = 5;
    count = 10;
    pad = 100; // the first ~64 KiB piece would hold every element: the failure comes before it is written
    try {
      const r = await fetch(url);
      expect(r.status).toBe(503);
      expect(await r.json()).toEqual({ error: "the database went away" });
    } finally {
      pad = 70_000;
    }
  });

  it("an error after the first byte cuts the connection: the client sees a truncated body, never a 200 that parses", async () => {
    failAt = 3;
    count = 10;
    const r = await fetch(url);
    expect(r.status).toBe(200);
    expect(r.headers.get("transfer-encoding")).toBe("chunked");
    let text = "";
    const reader = r.body!.getReader();
    const dec = new TextDecoder();
    const read = async () => {
      for (;;) {
        const c = await reader.read();
        if (c.done) return "complete";
        text += dec.decode(c.value, { stream: true });
      }
    };
    await expect(read()).rejects.toThrow();
    expect(text.startsWith('[{"i":0,"pad":"xxx')).toBe(true);
    expect(() => JSON.parse(text)).toThrow();
  });

  it("without an error the same hook sends the whole array, in order", async () => {
    failAt = null;
    count = 7;
    const r = await fetch(url);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { i: number; pad: string }[];
    expect(body.map((x) => x.i)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(body.every((x) => x.pad.length === 70_000)).toBe(true);
  });
});
