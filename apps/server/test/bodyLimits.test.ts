import { Agent, request } from "node:http";
import { connect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../src/limits.ts";
import { useTestServer } from "../src/testing.ts";

/**
 * The key is checked from the headers before the body is read; bodies have a limit per route; a 413
 * closes its connection; a keep-alive connection stays usable after an ordinary 4xx. Real sockets.
 */

/** A JSON body, as the test reads it. */
const json = (r: Response): Promise<any> => r.json();

const MASTER = "sk-master-body-test";
const h = useTestServer({
  master: MASTER,
  users: [{ user_id: "alice", user_role: "internal_user" }],
  keys: [{ raw: "sk-alice", user_id: "alice" }],
  limits: { ...DEFAULT_LIMITS, rate: {} },
});

const hostPort = () => {
  const u = new URL(h.srv.url);
  return { host: u.hostname, port: Number(u.port) };
};

interface RawAnswer {
  /** Everything the server sent before it closed the connection. */
  text: string;
  status: number;
  /** The server closed the connection (we never did). */
  closedByServer: boolean;
}

/**
 * Sends `head` then `body` pieces on a fresh socket (stopping early once an answer arrived), and
 * collects what comes back until the server closes the connection.
 */
function rawExchange(head: string, pieces: Buffer[] = []): Promise<RawAnswer & { sentBytes: number }> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect(hostPort());
    const got: Buffer[] = [];
    let sentBytes = 0;
    let answered = false;
    s.on("data", (d) => {
      got.push(d);
      answered = true;
    });
    s.on("error", () => {
      /* a reset after the answer (we were still writing) is fine: the answer is what is checked */
    });
    s.on("close", () => {
      const text = Buffer.concat(got).toString("latin1");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ text, status, closedByServer: true, sentBytes });
    });
    s.once("connect", async () => {
      s.write(head);
      for (const p of pieces) {
        if (answered || s.destroyed) break;
        if (!s.write(p)) await new Promise((r) => s.once("drain", r));
        sentBytes += p.length;
        // Give the server a chance to answer between pieces.
        await new Promise((r) => setImmediate(r));
      }
    });
    setTimeout(() => {
      s.destroy();
      reject(new Error("the server neither answered nor closed the connection within 20 s"));
    }, 20_000).unref();
  });
}

/** One keep-alive socket; each request's answer is read whole (Content-Length or chunked). */
class KeepAlive {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<{ status: number; body: string; reused: boolean; headers: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = request({ ...hostPort(), method, path, headers, agent: this.agent }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d) => parts.push(d));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(parts).toString("utf8"),
            reused: req.reusedSocket,
            headers: res.headers,
          }),
        );
      });
      req.on("error", reject);
      req.setTimeout(10_000, () => req.destroy(new Error("no answer on the keep-alive connection")));
      req.end(body);
    });
  }
}

const MiB = 1024 * 1024;

describe("auth before body", () => {
  it("answers a keyless 16 MiB ingest 401 before the body is sent, and closes the connection", async () => {
    const declared = 16 * MiB;
    const pieces = Array.from({ length: 64 }, () => Buffer.alloc(declared / 64, 0x20));
    const r = await rawExchange(
      `POST /spend/logs/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`,
      pieces,
    );
    expect(r.status).toBe(401);
    expect(r.text).toMatch(/\r\nconnection: close\r\n/i);
    expect(r.text).toContain('"type":"auth_error"');
    // The answer came while most of the body was still unsent: the server never waited for it.
    expect(r.sentBytes).toBeLessThan(declared / 2);
    expect(r.closedByServer).toBe(true);
  });

  it("answers a keyless tRPC ingest 401 before the body too", async () => {
    const declared = 16 * MiB;
    const pieces = Array.from({ length: 64 }, () => Buffer.alloc(declared / 64, 0x20));
    const r = await rawExchange(
      `POST /trpc/ingest.spendLogs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`,
      pieces,
    );
    expect(r.status).toBe(401);
    expect(r.text).toContain('"code":"UNAUTHORIZED"');
    expect(r.sentBytes).toBeLessThan(declared / 2);
  });

  it("answers keyless and wrong-key bad JSON with 401, not 400 (REST and tRPC)", async () => {
    for (const key of [null, "sk-wrong"]) {
      const rest = await h.fetch("/spend/logs/ingest", key, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      });
      expect(rest.status).toBe(401);
      expect((await json(rest)).error.type).toBe("auth_error");
      const trpc = await h.fetch("/trpc/ingest.spendLogs", key, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      });
      expect(trpc.status).toBe(401);
      expect((await json(trpc)).error.data.code).toBe("UNAUTHORIZED");
    }
    // With a good key the same body is the 400 naming the body.
    const bad = await h.fetch("/spend/logs/ingest", MASTER, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error).toMatchObject({
      param: "body",
      message: "request body is not valid JSON",
    });
  });
});

describe("body limits and 413", () => {
  it("413s a body over a small route's limit with Connection: close, then the server closes; a new connection works", async () => {
    const size = DEFAULT_LIMITS.maxBodyBytes + 1;
    const body = Buffer.alloc(size, 0x20);
    const r = await rawExchange(
      `POST /global/spend/end_users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${MASTER}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`,
      [body],
    );
    expect(r.status).toBe(413);
    expect(r.text).toMatch(/\r\nconnection: close\r\n/i);
    expect(r.text).toContain(`request body larger than ${DEFAULT_LIMITS.maxBodyBytes} bytes`);
    expect(r.closedByServer).toBe(true);
    const next = await h.post("/global/spend/end_users", {});
    expect(next.status).toBe(200);
  });

  it("413s a chunked body once it passes the limit, and closes", async () => {
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const chunked = Array.from({ length: 8 }, () =>
      Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]),
    );
    const r = await rawExchange(
      `POST /global/spend/end_users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${MASTER}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      [...chunked, Buffer.from("0\r\n\r\n")],
    );
    expect(r.status).toBe(413);
    expect(r.text).toMatch(/\r\nconnection: close\r\n/i);
    expect(r.closedByServer).toBe(true);
  });

  it("413s a tRPC mutation over the small limit the same way", async () => {
    const size = DEFAULT_LIMITS.maxBodyBytes + 1;
    const r = await rawExchange(
      `POST /trpc/admin.globalSpendRefresh HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${MASTER}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`,
      [Buffer.alloc(size, 0x20)],
    );
    expect(r.status).toBe(413);
    expect(r.text).toContain('"code":"PAYLOAD_TOO_LARGE"');
    expect(r.closedByServer).toBe(true);
  });

  it("takes a 1000-log ingest batch far above the small limit (REST and tRPC)", async () => {
    // Long prompts make each row ~1 KB, as LiteLLM's rows with messages are.
    const logs = Array.from({ length: 1000 }, (_, i) => ({
      request_id: `big-${i}`,
      api_key: "sk-alice",
      spend: 0.5,
      startTime: "2026-01-02T03:04:05.000Z",
      model: "gpt-4o",
      user: "alice",
      request_tags: ["x".repeat(900)],
    }));
    const body = JSON.stringify({ logs: logs.slice(0, 500) });
    expect(Buffer.byteLength(body)).toBeGreaterThan(DEFAULT_LIMITS.maxBodyBytes);
    const rest = await h.post("/spend/logs/ingest", { logs: logs.slice(0, 500) });
    expect(rest.status).toBe(200);
    expect(rest.body.inserted).toBe(500);
    const trpc = await h.fetch("/trpc/ingest.spendLogs", MASTER, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ logs: logs.slice(500) }),
    });
    expect(trpc.status).toBe(200);
    expect((await json(trpc)).result.data.inserted).toBe(500);
  });
});

describe("requests node cannot take, and bodies that arrive before the key is checked", () => {
  it("answers a 6 MB request line with a 431 in LiteLLM's error shape, not a reset, and closes", async () => {
    const q = encodeURIComponent("😀".repeat(262_144)); // 1 MB of UTF-8, 3 MB percent-encoded
    const line = `GET /global/spend/logs?api_key=${q}${q} HTTP/1.1\r\n`;
    // Sent in pieces, as a client that is still writing when the server has answered.
    const pieces: Buffer[] = [];
    for (let i = 0; i < line.length; i += 64 * 1024) pieces.push(Buffer.from(line.slice(i, i + 64 * 1024)));
    const r = await rawExchange("", [
      ...pieces,
      Buffer.from(`Host: x\r\nAuthorization: Bearer ${MASTER}\r\n\r\n`),
    ]);
    expect(r.status).toBe(431);
    expect(r.text).toContain('"type":"bad_request_error"');
    expect(r.closedByServer).toBe(true);
    expect((await h.get("/global/spend")).status).toBe(200);
  });

  it("answers 1 MB query strings sent by fetch with a 431 every time (the client reads it, no reset)", async () => {
    for (const v of ["x".repeat(1 << 20), "😀".repeat(1 << 18), "é".repeat(1 << 19)]) {
      const r = await fetch(`${h.srv.url}/global/spend/logs?api_key=${encodeURIComponent(v)}`, {
        headers: { authorization: `Bearer ${MASTER}` },
      });
      expect(r.status).toBe(431);
      expect(((await r.json()) as { error: { type: string } }).error.type).toBe("bad_request_error");
    }
  });

  it("reads a body that arrived whole while the key was being checked (a virtual key, one write)", async () => {
    // Headers and body in one write: the body is complete in the socket's buffer before the key's
    // lookup in the database returns. It must still be read, not taken for empty.
    const body = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hello" }] });
    const r = await rawExchange(
      `POST /spend/calculate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-alice\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(r.status).toBe(200);
  });
});

describe("keep-alive", () => {
  it("a connection stays usable after a 401, a 400, a 404 and a small keyless body", async () => {
    const c = new KeepAlive();
    try {
      const auth = { authorization: `Bearer ${MASTER}` };
      const first = await c.send("GET", "/global/spend", {});
      expect(first.status).toBe(401);
      const bad = await c.send("GET", "/global/activity?start_date=nope&end_date=2026-01-01", auth);
      expect(bad.status).toBe(400);
      const missing = await c.send("GET", "/no/such/route", auth);
      expect(missing.status).toBe(404);
      const keyless = await c.send(
        "POST",
        "/spend/logs/ingest",
        { "content-type": "application/json" },
        JSON.stringify({ logs: [{ request_id: "x" }] }),
      );
      expect(keyless.status).toBe(401);
      expect(keyless.headers.connection).not.toBe("close");
      const ok = await c.send("GET", "/global/spend", auth);
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body)).toHaveProperty("spend");
      // Every answer after the first came on the same connection.
      expect([bad.reused, missing.reused, keyless.reused, ok.reused]).toEqual([true, true, true, true]);
    } finally {
      c.agent.destroy();
    }
  });
});
