import { testEngine, testRunId } from "@spendlens/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, type Replica, startReplica, sumBy, type WireLog } from "./replicas.ts";
import { buildTopology, type Topology, topologyUnavailable } from "./standbyCluster.ts";

/**
 * Reads from a hot standby, on a topology made here: a throwaway primary cluster and a streaming
 * standby of it (standbyCluster.ts), and two real servers (`spendlens serve`, child processes) that write
 * to the primary and read from the standby. Server A takes the ingest, server B answers the reports:
 * every answer B gives equals the brute-force sum of the batches acknowledged before the instant it says
 * it is complete as of (`x-spendlens-as-of`), `consistency=strong` is exact at once, a standby held back
 * past the bound and a standby stopped mid-run send reads to the primary without an error, and
 * /metrics shows the lag and each route's latency. Postgres only (PGlite has no replication); needs
 * root and postgresql-common's tools (CI runs as root on Debian's Postgres).
 */

const MASTER = "sk-master-standby";
const MAX_LAG_MS = 3000;
const onPostgres = testEngine() === "postgres";
const unavailable = onPostgres ? topologyUnavailable() : null;
if (onPostgres && unavailable) console.log(`standby tests skipped: ${unavailable}`);

interface Answer {
  status: number;
  body: any;
  source: string | null;
  asOf: number | null;
  lagMs: number | null;
  lsn: string | null;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  try {
    const r = await fetch(url, {
      headers: { authorization: `Bearer ${MASTER}`, ...headers },
      signal: AbortSignal.timeout(20_000),
    });
    const text = await r.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    const asOf = r.headers.get("x-spendlens-as-of");
    const lag = r.headers.get("x-spendlens-lag-ms");
    return {
      status: r.status,
      body,
      source: r.headers.get("x-spendlens-read-source"),
      asOf: asOf ? Date.parse(asOf) : null,
      lagMs: lag === null ? null : Number(lag),
      lsn: r.headers.get("x-spendlens-replay-lsn"),
    };
  } catch {
    return { status: 0, body: null, source: null, asOf: null, lagMs: null, lsn: null };
  }
}

/** Polls `probe` until it returns a value, or fails at the deadline with the last thing it saw. */
async function until<T>(what: string, ms: number, probe: () => Promise<T | null>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!onPostgres || !!unavailable)(
  "reads from a hot standby (two servers, a primary, a standby)",
  () => {
    let topo: Topology | null = null;
    let a: Replica;
    let b: Replica;
    /** Every batch acknowledged by server A, in order, with the instant its answer arrived. */
    const batches: { logs: WireLog[]; ackAt: number }[] = [];
    const now = Date.now();
    let seq = 0;

    const total = (upto: number) =>
      batches.slice(0, upto).reduce((s, x) => s + x.logs.reduce((t, l) => t + l.spend, 0), 0);
    const models = (upto: number) =>
      Object.fromEntries(
        sumBy(
          batches.slice(0, upto).flatMap((x) => x.logs),
          (l) => l.model,
          (l) => l.spend,
        ),
      );

    /** Ingests one batch through server A; spends are multiples of 1/64, so sums are exact in any order. */
    async function ingest(n: number): Promise<number> {
      const logs: WireLog[] = Array.from({ length: n }, () => {
        const k = seq++;
        return {
          request_id: `sb-${k}`,
          api_key: `sk-sb-${k % 5}`,
          spend: ((k % 23) + 1) / 64,
          startTime: new Date(now - (k % 600) * 60_000).toISOString(),
          model: ["gpt-4o", "claude-3-5-sonnet", "o3-mini"][k % 3]!,
          user: `u-${k % 4}`,
          team_id: `t-${k % 3}`,
          end_user: `eu-${k % 7}`,
          prompt_tokens: k % 40,
          completion_tokens: 3,
        };
      });
      // Known before it is sent: a reader may see it committed before the answer arrives here.
      const batch = { logs, ackAt: Number.POSITIVE_INFINITY };
      batches.push(batch);
      const r = await postJson(`${a.url}/spend/logs/ingest`, MASTER, { logs });
      expect(r.status).toBe(200);
      batch.ackAt = Date.now();
      return batches.length;
    }

    /**
     * The honesty of one answer of /global/spend: whatever database answered, it is the total after some
     * whole number of batches (no half batch), and never fewer than every batch acknowledged before the
     * instant it says it is complete as of (a primary answer: before the request was sent).
     */
    function checkTotal(r: Answer, sentAt: number): number {
      expect(r.status).toBe(200);
      const cut = r.source === "standby" ? r.asOf! : sentAt;
      const known = batches.filter((x) => x.ackAt <= cut).length;
      const possible = Array.from({ length: batches.length - known + 1 }, (_, i) => total(known + i));
      expect(possible).toContain(r.body.spend);
      return possible.indexOf(r.body.spend) + known;
    }

    beforeAll(async () => {
      topo = await buildTopology(testRunId());
      const env = {
        DATABASE_READ_URL: topo.standbyUrl,
        SPENDLENS_MAX_READ_LAG_MS: String(MAX_LAG_MS),
      };
      // The servers start (and migrate the primary) while the standby is made: they read from the
      // primary until it answers.
      [a, b] = await Promise.all([
        startReplica(topo.primaryUrl, MASTER, env),
        startReplica(topo.primaryUrl, MASTER, env),
        topo.startStandby(),
      ]);
      // The standby has replayed the schema and B measures it within the bound.
      await until("B sees the standby ok", 60_000, async () => {
        const h = await get(`${b.url}/healthz`);
        return h.body?.standby?.status === "ok" ? h : null;
      });
    }, 180_000);

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await topo?.drop();
    }, 60_000);

    it("reports on B come from the standby and converge to the brute force within the lag they report", async () => {
      await ingest(300);
      const seen = new Set<string>();
      const last = await until("a standby answer complete as of the ingest", 30_000, async () => {
        const sentAt = Date.now();
        const r = await get(`${b.url}/global/spend`);
        const n = checkTotal(r, sentAt);
        seen.add(r.source ?? "none");
        if (r.source === "standby") {
          expect(r.lsn).toMatch(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/);
          expect(r.lagMs).toBeGreaterThanOrEqual(0);
          expect(r.lagMs).toBeLessThanOrEqual(MAX_LAG_MS);
        }
        return r.source === "standby" && n === batches.length ? r : null;
      });
      expect(last.body.spend).toBe(total(1));
      // Another report and the tRPC transport, from the standby, exact.
      const m = await until("models from the standby", 30_000, async () => {
        const r = await get(`${b.url}/global/spend/models?limit=100`);
        expect(r.status).toBe(200);
        return r.source === "standby" ? r : null;
      });
      expect(Object.fromEntries(m.body.map((x: any) => [x.model, x.total_spend]))).toEqual(models(1));
      // The streamed spend report (two connections in one exported snapshot, the per-day cache) from the
      // standby, twice (the second from the cache), equals the primary's.
      const days = (d: number) => new Date(now - d * 86_400_000).toISOString().slice(0, 10);
      for (const group of ["team", "customer", "api_key"]) {
        const q = `/global/spend/report?start_date=${days(2)}&end_date=${days(0)}&group_by=${group}`;
        const strong = await get(`${b.url}${q}&consistency=strong`);
        expect(strong.status).toBe(200);
        expect(strong.source).toBe("primary");
        for (let i = 0; i < 2; i++) {
          const r = await until(`the ${group} report from the standby`, 30_000, async () => {
            const x = await get(`${b.url}${q}`);
            expect(x.status).toBe(200);
            return x.source === "standby" ? x : null;
          });
          expect(r.body).toEqual(strong.body);
        }
      }
      const t = await get(`${b.url}/trpc/spend.globalSpend`);
      expect(t.status).toBe(200);
      expect(t.body.result.data.spend).toBe(total(1));
      expect(["standby", "primary"]).toContain(t.source);
      // Writes are never read-routed: the ingest answer carries no read headers.
      const w = await fetch(`${a.url}/spend/logs/ingest`, {
        method: "POST",
        headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
        body: JSON.stringify({ logs: [] }),
      });
      expect(w.headers.get("x-spendlens-read-source")).toBeNull();
    });

    it("consistency=strong is exact at once (query parameter on REST, header on tRPC); a bad value is a 400", async () => {
      await ingest(200);
      const r = await get(`${b.url}/global/spend?consistency=strong`);
      expect(r.status).toBe(200);
      expect(r.source).toBe("primary");
      expect(r.body.spend).toBe(total(2));
      const t = await get(`${b.url}/trpc/spend.globalSpend`, { "x-spendlens-consistency": "strong" });
      expect(t.status).toBe(200);
      expect(t.source).toBe("primary");
      expect(t.body.result.data.spend).toBe(total(2));
      const bad = await get(`${b.url}/global/spend?consistency=sometimes`);
      expect(bad.status).toBe(400);
      expect(bad.body.error.param).toBe("consistency");
      const badT = await get(`${b.url}/trpc/spend.globalSpend`, { "x-spendlens-consistency": "sometimes" });
      expect(badT.status).toBe(400);
      expect(badT.body.error.data.field).toBe("consistency");
    });

    it("a standby held back past SPENDLENS_MAX_READ_LAG_MS: reads go to the primary, exact, then back", async () => {
      await topo!.onStandby("SELECT pg_wal_replay_pause()");
      try {
        await ingest(100);
        const fell = await until("reads on the primary once the lag passes the bound", 30_000, async () => {
          const sentAt = Date.now();
          const r = await get(`${b.url}/global/spend`);
          checkTotal(r, sentAt);
          return r.source === "primary" ? r : null;
        });
        expect(fell.body.spend).toBe(total(3));
        const h = await get(`${b.url}/healthz`);
        expect(h.status).toBe(200);
        expect(["lagging", "starting"]).toContain(h.body.standby.status);
      } finally {
        await topo!.onStandby("SELECT pg_wal_replay_resume()");
      }
      const back = await until("the standby answers again", 30_000, async () => {
        const sentAt = Date.now();
        const r = await get(`${b.url}/global/spend`);
        checkTotal(r, sentAt);
        return r.source === "standby" && r.body.spend === total(3) ? r : null;
      });
      expect(back.body.spend).toBe(total(3));
    });

    it("/metrics (master key) parses and shows the lag, pools, ingest and each route's latency", async () => {
      const anon = await fetch(`${b.url}/metrics`);
      expect(anon.status).toBe(401);
      const text = await (
        await fetch(`${b.url}/metrics`, { headers: { authorization: `Bearer ${MASTER}` } })
      ).text();
      const samples = new Map<string, number>();
      for (const line of text.split("\n")) {
        if (line === "" || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) continue;
        const m =
          /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})?) (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(
            line,
          );
        expect(m, line).not.toBeNull();
        samples.set(m![1]!, Number(m![2]));
      }
      const lag = samples.get("spendlens_replication_lag_seconds");
      expect(Number.isFinite(lag)).toBe(true);
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(samples.get("spendlens_standby_up")).toBe(1);
      expect(samples.get("spendlens_replication_max_lag_seconds")).toBe(MAX_LAG_MS / 1000);
      expect(
        samples.get(
          'spendlens_http_request_duration_seconds_count{method="GET",route="/global/spend",status="200"}',
        ),
      ).toBeGreaterThan(0);
      expect(
        samples.get(
          'spendlens_http_request_duration_seconds_count{method="GET",route="/trpc/spend.globalSpend",status="200"}',
        ),
      ).toBeGreaterThan(0);
      expect(
        samples.get(
          'spendlens_http_request_duration_seconds_count{method="GET",route="/global/spend",status="400"}',
        ),
      ).toBe(1);
      // Route templates only: no query strings or ids in the labels.
      expect([...samples.keys()].filter((k) => /route="[^"]*\?/.test(k))).toEqual([]);
      expect(samples.get('spendlens_db_pool_connections{pool="standby",state="total"}')).toBeGreaterThan(0);
      expect(samples.has('spendlens_db_pool_connections{pool="primary",state="waiting"}')).toBe(true);
      expect(samples.get('spendlens_read_requests_total{source="standby",reason="standby"}')).toBeGreaterThan(
        0,
      );
      expect(samples.get('spendlens_read_requests_total{source="primary",reason="strong"}')).toBeGreaterThan(
        0,
      );
      expect(samples.get("spendlens_counter_deltas_pending")).toBeGreaterThanOrEqual(0);
      expect(samples.get("spendlens_rollup_dirty_days")).toBe(0);
      // Server A took every ingest.
      const aText = await (
        await fetch(`${a.url}/metrics`, { headers: { authorization: `Bearer ${MASTER}` } })
      ).text();
      const ingested = /^spendlens_ingested_rows_total\{kind="spend"\} (\d+)$/m.exec(aText);
      expect(Number(ingested?.[1])).toBe(batches.reduce((s, x) => s + x.logs.length, 0));
    });

    it("the standby stopped mid-run: reads fall back to the primary with no error, and stay exact", async () => {
      let stop = false;
      const statuses = new Map<number, number>();
      const sources = new Set<string>();
      let failure: unknown = null;
      const reader = async (path: string, headers: Record<string, string> = {}) => {
        try {
          while (!stop) {
            const sentAt = Date.now();
            const r = await get(`${b.url}${path}`, headers);
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
            sources.add(r.source ?? "none");
            if (path === "/global/spend") checkTotal(r, sentAt);
          }
        } catch (e) {
          failure ??= e;
          stop = true;
        }
      };
      const readers = [
        reader("/global/spend"),
        reader("/global/spend/models?limit=100"),
        reader("/trpc/spend.globalSpend"),
      ];
      try {
        await new Promise((r) => setTimeout(r, 300));
        await topo!.stopStandby();
        await ingest(50);
        await until("B reads the last batch from the primary", 30_000, async () => {
          const r = await get(`${b.url}/global/spend`);
          expect(r.status).toBe(200);
          return r.source === "primary" && r.body.spend === total(batches.length) ? r : null;
        });
      } finally {
        stop = true;
        await Promise.all(readers);
      }
      if (failure) throw failure;
      expect(Object.fromEntries(statuses)).toEqual({ 200: expect.any(Number) });
      expect(sources.has("primary")).toBe(true);
      const models = await get(`${b.url}/global/spend/models?limit=100`);
      expect(models.source).toBe("primary");
      expect(Object.fromEntries(models.body.map((x: any) => [x.model, x.total_spend]))).toEqual(
        Object.fromEntries(
          sumBy(
            batches.flatMap((x) => x.logs),
            (l) => l.model,
            (l) => l.spend,
          ),
        ),
      );
      const h = await get(`${b.url}/healthz`);
      expect(h.status).toBe(200);
      expect(h.body.standby.status).toBe("down");
      expect(b.alive() && a.alive()).toBe(true);
    });
  },
);
