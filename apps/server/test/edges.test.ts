/**
 * Inputs at the edges, over real HTTP, against a server in its own process (isolated/edgeServer.ts): a
 * regression to an endless loop makes these requests time out and the tests fail, never hang the run.
 * Dates outside 1970-01-01..9998-12-31 and text with NUL or an unpaired surrogate are a 400 naming the
 * field on every transport; an unexpected database error is a generic 500 with the request id, whose
 * detail is only in the server's log; every answer carries `x-request-id`.
 */
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type Bundle, dropTestDatabaseAt, spawnBundled, testRunId } from "@spendlens/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DISK_FULL_PREFIX, EDGE_ALICE, EDGE_MASTER } from "./isolated/edgeServer.ts";

const REQUEST_MS = 10_000;
let child: ChildProcess;
let bundle: Bundle | undefined;
let base = "";
let database: string | null = null;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  testRunId(); // the child's database carries this run's id (it inherits the environment)
  // Bundled, then run by plain node: its start under tsx cost ~2.5 s of CPU (packages/core/src/testing/bundleTs.ts).
  ({ child, bundle } = await spawnBundled(
    fileURLToPath(new URL("./isolated/edgeServer.ts", import.meta.url)),
  ));
  let buf = "";
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let o: Record<string, unknown>;
        try {
          o = JSON.parse(line);
        } catch {
          continue;
        }
        if (typeof o.ready === "string") {
          base = o.ready;
          database = (o.database as string | null) ?? null;
          resolve();
        } else logLines.push(o);
      }
    });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => process.stderr.write(d));
    child.once("exit", (code) => reject(new Error(`edge server exited (${code}) before it was ready`)));
  });
  await ready;
}, 120_000);

afterAll(async () => {
  bundle?.remove();
  if (!child || child.exitCode !== null) return;
  const exited = new Promise<boolean>((resolve) => {
    child.once("exit", () => resolve(true));
    setTimeout(() => resolve(false), 15_000).unref();
  });
  child.kill("SIGTERM");
  if (await exited) return;
  // Stuck (a loop): killed, so its own database is dropped here.
  child.kill("SIGKILL");
  if (database) await dropTestDatabaseAt(database);
}, 60_000);

interface Answer {
  status: number;
  body: any;
  text: string;
  requestId: string | null;
}

async function call(
  method: string,
  path: string,
  opts: { key?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const key = opts.key === undefined ? EDGE_MASTER : opts.key;
  const r = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(opts.body !== undefined ? { "content-type": "application/json" } : {}),
      ...opts.headers,
    },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    signal: AbortSignal.timeout(REQUEST_MS),
  });
  const text = await r.text();
  let body: any = null;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: r.status, body, text, requestId: r.headers.get("x-request-id") };
}
const get = (path: string, key?: string | null) => call("GET", path, { key });
const trpcQuery = (proc: string, input: unknown, key?: string | null) =>
  get(`/trpc/${proc}?input=${encodeURIComponent(JSON.stringify(input))}`, key);

/** A LiteLLM 400 naming `param`, with nothing of the database in it. */
function expect400(a: Answer, param: string, message?: RegExp) {
  expect(a.status, a.text).toBe(400);
  expect(a.body.error.param).toBe(param);
  expect(a.body.error.type).toBe("bad_request_error");
  if (message) expect(a.body.error.message).toMatch(message);
  expect(a.text).not.toMatch(/displacement|postgres|invalid byte sequence|0x00|SQL|select /i);
}

const RANGE = /within 1970-01-01 to 9998-12-31/;

describe("dates outside 1970-01-01..9998-12-31: a 400 naming the field, at once", () => {
  it("the routes that looped forever on year 9999 answer 400, and the server stays up", async () => {
    expect400(await get("/spend/logs?start_date=9999-12-30&end_date=9999-12-31"), "start_date", RANGE);
    expect400(
      await get("/global/spend/report?start_date=9999-12-30&end_date=9999-12-31"),
      "start_date",
      RANGE,
    );
    expect400(await get("/global/spend/report?start_date=2026-01-01&end_date=9999-01-01"), "end_date", RANGE);
    const t = await trpcQuery("reports.spendReport", { start_date: "9999-12-31", end_date: "9999-12-31" });
    expect(t.status).toBe(400);
    expect(t.body.error.data.field).toBe("start_date");
    expect(t.body.error.message).toMatch(RANGE);
    expect((await get("/healthz", null)).status).toBe(200);
  }, 60_000);

  it("the routes that gave Postgres's message on year 9999 answer 400 naming the field", async () => {
    const d = "start_date=9999-12-30&end_date=9999-12-31";
    expect400(await get(`/global/activity?${d}`), "start_date", RANGE);
    expect400(await get(`/global/activity/model?${d}`), "start_date", RANGE);
    expect400(await get(`/global/activity/exceptions?${d}&model_group=gpt-4o`), "start_date", RANGE);
    expect400(
      await get(`/global/activity/exceptions/deployment?${d}&model_group=gpt-4o`),
      "start_date",
      RANGE,
    );
    expect400(await get(`/global/spend/provider?${d}`), "start_date", RANGE);
    expect400(await get(`/global/spend/tags?${d}`), "start_date", RANGE);
    expect400(await get(`/spend/tags?${d}`), "start_date", RANGE);
    expect400(
      await get("/spend/logs/ui?start_date=9999-12-31%2000:00:00&end_date=9999-12-31%2023:59:59"),
      "start_date",
      RANGE,
    );
    expect400(await get("/spendlens/logs?end_date=9999-12-31%2023:59:59"), "end_date", RANGE);
    expect400(
      await call("POST", "/global/spend/end_users", {
        body: { startTime: "2024-01-01", endTime: "9999-12-31" },
      }),
      "endTime",
      RANGE,
    );
    expect400(await get("/spendlens/analytics?start=9999-12-30&end=9999-12-31"), "start", RANGE);
  }, 60_000);

  it("a time zone that moves a bound past the range is a 400 naming it; inside the range answers 200", async () => {
    const q = (tz: string, start = "9998-12-01", end = "9998-12-31") =>
      get(`/spendlens/analytics?start=${start}&end=${end}&timezone=${encodeURIComponent(tz)}&dims=day`);
    expect((await q("UTC")).status).toBe(200);
    expect((await q("Asia/Tokyo")).status).toBe(200);
    expect400(await q("America/Los_Angeles"), "end", RANGE);
    expect400(await q("Asia/Tokyo", "1970-01-01", "1970-01-31"), "start", RANGE);
    expect400(
      await get("/spendlens/analytics?start=2026-01-01T00:00:00Z&end=9998-12-31T23:00:00-05:00"),
      "end",
      RANGE,
    );
  }, 60_000);

  it("/global/spend/end_users: a reversed window says so; endTime far in the future says the range", async () => {
    const post = (body: unknown) => call("POST", "/global/spend/end_users", { body });
    expect400(
      await post({ startTime: "2024-01-02", endTime: "2024-01-01" }),
      "endTime",
      /must not be before startTime/,
    );
    expect400(
      await post({ startTime: "2024-01-01 12:00:00", endTime: "2023-12-31" }),
      "endTime",
      /must not be before startTime/,
    );
    expect400(await post({ startTime: "2024-01-01", endTime: "9999-12-31" }), "endTime", RANGE);
    expect400(await post({ startTime: "2024-01-01", endTime: "9999-12-31 00:00:00" }), "endTime", RANGE);
    const ok = await post({ startTime: "2026-01-10", endTime: "2026-01-10" });
    expect(ok.status).toBe(200);
  }, 60_000);
});

describe("text with NUL or an unpaired surrogate: a 400 naming the field, on every transport", () => {
  it("REST query filters", async () => {
    const nul = "UNSTORABLE";
    const msg = /must not contain a NUL character or an unpaired UTF-16 surrogate/;
    expect400(await get("/spendlens/logs?api_key=%00"), "api_key", msg);
    expect400(await get("/spend/logs?request_id=abc%00def"), "request_id", msg);
    expect400(await get("/global/spend/logs?api_key=sk-%00"), "api_key", msg);
    expect400(
      await get("/spend/logs/ui?start_date=2026-01-01%2000:00:00&end_date=2026-01-02%2000:00:00&user_id=%00"),
      "user_id",
      msg,
    );
    expect400(
      await get("/spendlens/analytics?start=2026-01-01&end=2026-01-02&model_group=%00"),
      "model_group",
      msg,
    );
    expect400(
      await get("/global/spend/tags?start_date=2026-01-01&end_date=2026-01-02&tags=a%00"),
      "tags",
      msg,
    );
    expect(nul).toBe("UNSTORABLE");
  }, 60_000);

  it("JSON bodies and tRPC inputs, nested fields named by their path", async () => {
    const msg = /must not contain a NUL character/;
    expect400(
      await call("POST", "/spendlens/analytics", {
        body: { start: "2026-01-01", end: "2026-01-02", model_group: ["ok", "x\ud800"] },
      }),
      "model_group.1",
      msg,
    );
    expect400(
      await call("POST", "/global/spend/end_users", { body: { api_key: "a\u0000" } }),
      "api_key",
      msg,
    );
    const t = await trpcQuery("logs.page", { api_key: "\u0000" });
    expect(t.status).toBe(400);
    expect(t.body.error.data.field).toBe("api_key");
    expect(t.body.error.message).toMatch(msg);
  }, 60_000);

  it("without a valid key the answer is 401, not 400", async () => {
    expect((await get("/spendlens/logs?api_key=%00", null)).status).toBe(401);
    expect((await get("/spendlens/logs?api_key=%00", "sk-wrong")).status).toBe(401);
  }, 60_000);

  it("an ingest row with NUL is an invalid row naming the field; the rest of the batch is stored", async () => {
    const a = await call("POST", "/spend/logs/ingest", {
      body: {
        logs: [
          { request_id: "edge-nul-1", startTime: "2026-01-11T00:00:00Z", user: "a\u0000b" },
          { request_id: "edge-nul-2", startTime: "2026-01-11T00:00:00Z", spend: 0.25 },
        ],
      },
    });
    expect(a.status).toBe(200);
    expect(a.body.inserted).toBe(1);
    expect(a.body.invalid).toEqual([
      {
        index: 0,
        request_id: "edge-nul-1",
        field: "user",
        reason: "user: must not contain a NUL character or an unpaired UTF-16 surrogate",
      },
    ]);
  }, 60_000);
});

describe("log cursors at the edges: a page or a 400 naming cursor, never a 500", () => {
  const cursor = (startTime: string, requestId: string) =>
    Buffer.from(JSON.stringify([startTime, requestId]), "utf8").toString("base64url");
  it("crafted cursors: calendar edges, NUL and a lone surrogate inside the request id", async () => {
    for (const [c, status] of [
      [cursor("9999-12-31 23:59:59.999999", "x"), 200],
      [cursor("0001-01-01 00:00:00", "x"), 200],
      [cursor("2026-01-10 10:00:00+00", "a\u0000"), 400],
      [cursor("2026-01-10 10:00:00", "\ud800"), 400],
      [cursor("10000-01-01 00:00:00", "x"), 400],
    ] as const) {
      const a = await get(`/spendlens/logs?cursor=${c}`);
      expect(a.status, a.text).toBe(status);
      if (status === 400) expect(a.body.error.param).toBe("cursor");
    }
  }, 60_000);
});

describe("ingest conflicts: 200 with the conflicts listed (the stored rows are not a failure)", () => {
  it("a batch with a new row and a conflicting copy answers 200: one inserted, one conflict naming the fields", async () => {
    const first = await call("POST", "/spend/logs/ingest", {
      body: { logs: [{ request_id: "edge-c-1", startTime: "2026-01-12T00:00:00Z", spend: 1 }] },
    });
    expect(first.status).toBe(200);
    const again = await call("POST", "/spend/logs/ingest", {
      body: {
        logs: [
          { request_id: "edge-c-1", startTime: "2026-01-12T00:00:00Z", spend: 2 },
          { request_id: "edge-c-2", startTime: "2026-01-12T00:00:00Z", spend: 3 },
        ],
      },
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      received: 2,
      inserted: 1,
      duplicates: [],
      conflicts: [{ request_id: "edge-c-1", fields: ["spend"] }],
      invalid: [],
      spend_added: 3,
    });
  }, 60_000);
});

describe("one error boundary: request ids, and nothing internal in a 500", () => {
  it("every answer carries x-request-id; a sane incoming one is kept, anything else replaced", async () => {
    const answers = [
      await get("/healthz", null),
      await get("/global/spend/report?start_date=2026-01-01&end_date=2026-01-02"),
      await get("/global/spend/report?start_date=x"),
      await get("/global/spend", null),
      await get("/no/such/route"),
      await trpcQuery("reports.spendReport", { start_date: "2026-01-01", end_date: "2026-01-02" }),
    ];
    for (const a of answers) expect(a.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(answers.map((a) => a.requestId)).size).toBe(answers.length);
    const kept = await call("GET", "/healthz", { key: null, headers: { "x-request-id": "lb-abc.123" } });
    expect(kept.requestId).toBe("lb-abc.123");
    const replaced = await call("GET", "/healthz", {
      key: null,
      headers: { "x-request-id": 'a b"<script>' },
    });
    expect(replaced.requestId).toMatch(/^[0-9a-f-]{36}$/);
  }, 60_000);

  it("a disk-full database error (SQLSTATE 53100) is a generic 500 with the request id; the detail only in the log", async () => {
    const a = await call("POST", "/spend/logs/ingest", {
      body: { logs: [{ request_id: `${DISK_FULL_PREFIX}1`, startTime: "2026-01-13T00:00:00Z" }] },
    });
    expect(a.status).toBe(500);
    expect(a.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.body).toEqual({
      error: {
        message: `internal error (request id ${a.requestId})`,
        type: "internal_error",
        param: null,
        code: "500",
      },
    });
    const t = await call("POST", "/trpc/ingest.spendLogs", {
      body: { logs: [{ request_id: `${DISK_FULL_PREFIX}2`, startTime: "2026-01-13T00:00:00Z" }] },
    });
    expect(t.status).toBe(500);
    expect(t.body.error.message).toBe(`internal error (request id ${t.requestId})`);
    for (const x of [a, t])
      expect(x.text).not.toMatch(/base\/|No space|extend file|53100|INSERT|trigger|stack/i);
    // The log has the detail, under the same request id.
    await new Promise((r) => setTimeout(r, 200));
    for (const id of [a.requestId, t.requestId]) {
      const lines = logLines.filter((l) => l.request_id === id);
      expect(lines.some((l) => JSON.stringify(l.err ?? "").includes("No space left on device"))).toBe(true);
    }
  }, 60_000);

  it("the database's other errors in a procedure never reach the caller either (tRPC formatter)", async () => {
    const t = await call("POST", "/trpc/ingest.spendLogs", {
      key: EDGE_ALICE,
      body: { logs: [{ request_id: "x", startTime: "2026-01-13T00:00:00Z" }] },
    });
    expect(t.status).toBe(403);
    expect(t.requestId).toMatch(/^[0-9a-f-]{36}$/);
  }, 60_000);
});
