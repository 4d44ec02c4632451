import { emptyConfig, openDatabase } from "@spendlens/core";
import { testEngine } from "@spendlens/core/testing";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { startServer } from "../src/server.ts";
import { useTestServer } from "../src/testing.ts";

/**
 * /metrics (who may read it, what its labels hold, the ingest counter) and the read headers and
 * `consistency` parameter without a standby, on both engines; on Postgres also a standby that is
 * unreachable and one that is not a standby at all (DATABASE_READ_URL = the primary): reads answer from
 * the primary and /healthz says why. The real primary + standby topology: standby.test.ts.
 */

const MASTER = "sk-master-metrics";
const h = useTestServer({
  master: MASTER,
  users: [{ user_id: "adm", user_role: "proxy_admin" }],
  keys: [{ raw: "sk-adm", user_id: "adm" }],
});

/** `name{labels}` -> value, for every sample line; every other line must be a HELP or TYPE comment. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) continue;
    const m =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})?) (\S+)$/.exec(
        line,
      );
    if (!m) throw new Error(`not a metric line: ${line}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

const log = (id: string) => ({
  request_id: id,
  api_key: "sk-x",
  spend: 0.5,
  startTime: new Date().toISOString(),
  model: "gpt-4o",
});

describe("/metrics", () => {
  it("is only for the master key: no key, a wrong key and a proxy_admin virtual key get 401", async () => {
    for (const key of [null, "sk-wrong", "sk-adm"]) {
      const r = await h.get("/metrics", key);
      expect(r.status, String(key)).toBe(401);
      expect(r.body.error.type).toBe("auth_error");
    }
    const ok = await h.get("/metrics");
    expect(ok.status).toBe(200);
    expect(ok.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(parseMetrics(ok.text).size).toBeGreaterThan(10);
  });

  it("labels routes by template, counts statuses and ingested rows (duplicates not counted)", async () => {
    expect((await h.get("/spend/logs/ui/secret-request-id-123")).status).toBe(200);
    expect((await h.get("/global/spend?consistency=strong")).status).toBe(200);
    expect((await h.get("/global/spend?consistency=STRONGER")).status).toBe(400);
    const first = await h.post("/spend/logs/ingest", [log("m-1"), log("m-2"), log("m-3")]);
    expect(first.body.inserted).toBe(3);
    const again = await h.post("/spend/logs/ingest", [log("m-1"), log("m-4")]);
    expect(again.body.inserted).toBe(1);
    const text = (await h.get("/metrics")).text;
    const m = parseMetrics(text);
    expect(text).not.toContain("secret-request-id-123");
    expect(text).not.toContain("STRONGER");
    expect(
      m.get(
        'spendlens_http_request_duration_seconds_count{method="GET",route="/spend/logs/ui/{request_id}",status="200"}',
      ),
    ).toBe(1);
    expect(
      m.get('spendlens_http_request_duration_seconds_count{method="GET",route="/global/spend",status="400"}'),
    ).toBe(1);
    expect(
      m.get('spendlens_http_request_duration_seconds_count{method="GET",route="/metrics",status="401"}'),
    ).toBe(3);
    expect(m.get('spendlens_ingested_rows_total{kind="spend"}')).toBe(4);
    expect(m.get("spendlens_rollup_dirty_days")).toBe(0);
    expect(m.get("spendlens_rollup_pending_logs")).toBe(0); // ingest folds before it answers
    expect(m.get("spendlens_counter_deltas_pending")).toBe(0); // and the counters
    expect(m.has("spendlens_replication_lag_seconds")).toBe(false); // no standby configured
    if (testEngine() === "postgres")
      expect(m.get('spendlens_db_pool_connections{pool="primary",state="total"}')).toBeGreaterThan(0);
  });

  it("SPENDLENS_METRICS_PUBLIC (metrics.public) serves it without a key", async () => {
    const srv = await startServer({
      services: { db: h.t.db, handle: h.t, config: emptyConfig(), masterKey: MASTER },
      port: 0,
      logger: pino({ level: "silent" }),
      metrics: { public: true },
    });
    try {
      expect((await fetch(`${srv.url}/metrics`)).status).toBe(200);
    } finally {
      await srv.close();
    }
  });
});

describe("read headers and consistency without a standby", () => {
  it("a read says primary, a write says nothing, a bad consistency is a 400 naming it (REST and tRPC)", async () => {
    const r = await h.get("/global/spend");
    expect(r.headers.get("x-spendlens-read-source")).toBe("primary");
    expect(r.headers.get("x-spendlens-as-of")).toBeNull();
    const t = await h.request("GET", "/trpc/spend.globalSpend");
    expect(t.headers.get("x-spendlens-read-source")).toBe("primary");
    const w = await h.post("/spend/logs/ingest", [log("m-9")]);
    expect(w.status).toBe(200);
    expect(w.headers.get("x-spendlens-read-source")).toBeNull();
    const bad = await h.get("/global/spend?consistency=");
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe("consistency");
    const badT = await h.fetch("/trpc/spend.globalSpend", MASTER, {
      headers: { "x-spendlens-consistency": "x" },
    });
    expect(badT.status).toBe(400);
    expect(((await badT.json()) as any).error.data.field).toBe("consistency");
    // The key first: without one, a 401 whatever the consistency.
    expect((await h.get("/global/spend?consistency=bogus", null)).status).toBe(401);
  });

  it("DATABASE_READ_URL needs DATABASE_URL", async () => {
    await expect(openDatabase({ databaseReadUrl: "postgres://127.0.0.1:1/x" })).rejects.toMatchObject({
      code: "CONFIG",
    });
  });
});

describe.skipIf(testEngine() !== "postgres")("a standby that cannot serve (Postgres)", () => {
  for (const [what, readUrl, state] of [
    ["unreachable", "postgres://postgres@127.0.0.1:1/none", "down"],
    ["the primary itself (not in recovery)", null, "not_standby"],
  ] as const) {
    it(`${what}: reads answer from the primary, /healthz says ${state}, /metrics says down`, async () => {
      const handle = await openDatabase({ databaseUrl: h.t.url!, databaseReadUrl: readUrl ?? h.t.url! });
      const srv = await startServer({
        services: { db: handle.db, handle, config: emptyConfig(), masterKey: MASTER },
        port: 0,
        logger: pino({ level: "silent" }),
      });
      try {
        const auth = { authorization: `Bearer ${MASTER}` };
        const want = await h.get("/global/spend");
        const r = await fetch(`${srv.url}/global/spend`, { headers: auth });
        expect(r.status).toBe(200);
        expect(r.headers.get("x-spendlens-read-source")).toBe("primary");
        expect(await r.json()).toEqual(want.body);
        const health = (await (await fetch(`${srv.url}/healthz`)).json()) as any;
        expect(health.status).toBe("ok");
        expect(health.standby.status).toBe(state);
        const m = parseMetrics(await (await fetch(`${srv.url}/metrics`, { headers: auth })).text());
        expect(m.get("spendlens_standby_up")).toBe(0);
        expect(m.get('spendlens_read_requests_total{source="primary",reason="down"}')).toBe(1);
      } finally {
        await srv.close();
        await handle.close();
      }
    });
  }
});
