/**
 * One setup for the api tests: a test database with the file's users, keys, teams and logs (core's
 * fixture helpers, `@spendlens/core/testing`), the services, and the two ways a key calls a procedure:
 * tRPC (`as`) and REST (`rest`, the route's own handler, as the server calls it). Who may call what is the
 * authorization matrix's (authMatrix.test.ts, from the procedures' meta); these files check one
 * representative answer per route, its REST shape and its 400s.
 */
import { emptyConfig, type SpendlensConfig } from "@spendlens/core";
import {
  createTestDb,
  type Fixtures,
  insertErrorLogs,
  insertLogs,
  type makeErrorLog,
  type makeLog,
  setClock,
  type TestDb,
  writeFixtures,
} from "@spendlens/core/testing";
import { afterAll, beforeAll } from "vitest";
import { callRestRoute, createCaller, createContext, restRoutes, type Services } from "../src/index.ts";

export interface ApiSetup extends Fixtures {
  master: string;
  logs?: ReturnType<typeof makeLog>[];
  errorLogs?: ReturnType<typeof makeErrorLog>[];
  config?: SpendlensConfig;
  /** Pins core's clock for the file (reset in afterAll). */
  now?: Date;
}

export interface ApiHarness {
  t: TestDb;
  services: Services;
  /** A tRPC caller with this key (null: no key). */
  as(key: string | null): Promise<ReturnType<typeof createCaller>>;
  /** The REST route at `path` (of `method`, when the path has two), as the server would call it. */
  rest(
    key: string | null,
    path: string,
    query?: Record<string, string>,
    opts?: { method?: "GET" | "POST"; body?: unknown },
  ): ReturnType<typeof callRestRoute>;
}

/** Registers the file's beforeAll/afterAll; the fields are set once beforeAll has run. */
export function apiHarness(setup: ApiSetup): ApiHarness {
  const h = {
    async as(key: string | null) {
      return createCaller(await createContext(h.services, key));
    },
    async rest(
      key: string | null,
      path: string,
      query: Record<string, string> = {},
      opts: { method?: "GET" | "POST"; body?: unknown } = {},
    ) {
      const route = restRoutes().find((r) => r.path === path && (!opts.method || r.method === opts.method));
      if (!route) throw new Error(`no route ${opts.method ?? ""} ${path}`);
      return callRestRoute(await createContext(h.services, key), route, { query, body: opts.body });
    },
  } as ApiHarness;
  beforeAll(async () => {
    const now = setup.now;
    if (now) setClock(() => now);
    h.t = await createTestDb();
    await writeFixtures(h.t.db, setup);
    if (setup.logs?.length) await insertLogs(h.t.db, setup.logs);
    if (setup.errorLogs?.length) await insertErrorLogs(h.t.db, setup.errorLogs);
    h.services = { db: h.t.db, handle: h.t, config: setup.config ?? emptyConfig(), masterKey: setup.master };
  });
  afterAll(async () => {
    if (setup.now) setClock(null);
    await h.t?.drop();
  });
  return h;
}
