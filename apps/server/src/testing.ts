/**
 * Test harness shared by the server's and the CLI's tests: a fresh test database (PGlite or a real
 * Postgres, per SPENDLENS_TEST_ENGINE) with users, teams and keys, a real HTTP server on a free port,
 * and fetch helpers. `useTestServer` registers its own beforeAll/afterAll.
 */
import { emptyConfig, type SpendlensConfig } from "@spendlens/core";
import { createTestDb, type Fixtures, setClock, type TestDb, writeFixtures } from "@spendlens/core/testing";
import pino from "pino";
import { afterAll, beforeAll } from "vitest";
import type { Limits } from "./limits.ts";
import { type RunningServer, type ServerOptions, startServer } from "./server.ts";

export interface TestServerOptions extends Fixtures {
  master: string;
  config?: SpendlensConfig;
  /** Runs after users, teams and keys are written and before the server starts (logs, etc.). */
  setup?: (t: TestDb) => Promise<void>;
  /** Pins core's clock for the whole file (restored after). */
  now?: Date;
  /** A database on disk (the CLI's in-process mode opens it from another process). */
  onDisk?: boolean;
  /** The server's limits (default: startServer's, without a rate limit). */
  limits?: Limits;
  /** Budget webhooks (ServerOptions.budgetAlerts). */
  budgetAlerts?: ServerOptions["budgetAlerts"];
}

export interface HttpAnswer {
  status: number;
  type: string | null;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or null when it is not JSON. */
  body: any;
}

export interface TestServer {
  t: TestDb;
  srv: RunningServer;
  /** The raw fetch Response; `key` null sends no Authorization header (default: the master key). */
  fetch(path: string, key?: string | null, init?: RequestInit): Promise<Response>;
  request(method: string, path: string, key?: string | null, body?: unknown): Promise<HttpAnswer>;
  get(path: string, key?: string | null): Promise<HttpAnswer>;
  post(path: string, body: unknown, key?: string | null): Promise<HttpAnswer>;
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

/** Creates the database and the server (call close() when done). */
export async function startTestServer(
  o: TestServerOptions,
): Promise<TestServer & { close(): Promise<void> }> {
  if (o.now) {
    const at = o.now;
    setClock(() => at);
  }
  const t = await createTestDb(o.onDisk ? { onDisk: true } : {});
  await writeFixtures(t.db, o);
  await o.setup?.(t);
  const srv = await startServer({
    services: {
      db: t.db,
      handle: t,
      config: o.config ?? emptyConfig(),
      masterKey: o.master,
    },
    port: 0,
    logger: pino({ level: "silent" }),
    ...(o.limits ? { limits: o.limits } : {}),
    ...(o.budgetAlerts ? { budgetAlerts: o.budgetAlerts } : {}),
  });
  const doFetch = (path: string, key: string | null = o.master, init: RequestInit = {}) =>
    fetch(`${srv.url}${path}`, {
      ...init,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(init.headers as Record<string, string>),
      },
    });
  const request = async (method: string, path: string, key: string | null = o.master, body?: unknown) => {
    const r = await doFetch(
      path,
      key,
      body === undefined
        ? { method }
        : { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
    );
    const text = await r.text();
    return {
      status: r.status,
      type: r.headers.get("content-type"),
      headers: r.headers,
      text,
      body: parseJson(text),
    };
  };
  return {
    t,
    srv,
    fetch: doFetch,
    request,
    get: (path, key) => request("GET", path, key),
    post: (path, body, key) => request("POST", path, key, body),
    async close() {
      await srv.close();
      await t.drop();
      if (o.now) setClock(null);
    },
  };
}

/**
 * startTestServer in this file's beforeAll, closed in its afterAll. The methods can be taken at module
 * level (`const get = h.get`); `t` and `srv` exist once beforeAll has run.
 */
export function useTestServer(o: TestServerOptions): TestServer {
  let inner: (TestServer & { close(): Promise<void> }) | undefined;
  const ready = () => {
    if (!inner) throw new Error("the test server starts in beforeAll");
    return inner;
  };
  beforeAll(async () => {
    inner = await startTestServer(o);
  });
  afterAll(async () => {
    await inner?.close();
  });
  return {
    get t() {
      return ready().t;
    },
    get srv() {
      return ready().srv;
    },
    fetch: (path, key, init) => ready().fetch(path, key, init),
    request: (method, path, key, body) => ready().request(method, path, key, body),
    get: (path, key) => ready().get(path, key),
    post: (path, body, key) => ready().post(path, body, key),
  };
}
