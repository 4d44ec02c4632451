import { fileURLToPath } from "node:url";
import { SpendlensError } from "@spendlens/core";
import { runBundled, testRunId } from "@spendlens/core/testing";
import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { errorField, toTRPCError } from "../src/errors.ts";
import {
  appRouter,
  callRestRoute,
  createCaller,
  createContext,
  restRoutes,
  type Services,
} from "../src/index.ts";
import { apiHarness } from "./harness.ts";

const MASTER = "sk-master-edges-api";
const h = apiHarness({
  master: MASTER,
  users: [{ user_id: "alice", user_role: "internal_user" }],
  keys: [{ raw: "sk-alice", user_id: "alice" }],
});

const RANGE = /within 1970-01-01 to 9998-12-31/;

describe("procedures at the end of the calendar (in a child process: a loop fails, never hangs)", () => {
  it("the last supported days answer; year 9999 is a 400 naming the field; end_users says what is wrong", async () => {
    testRunId();
    const run = await runBundled(fileURLToPath(new URL("./isolated/yearEdges.ts", import.meta.url)), {
      timeoutMs: 60_000,
    });
    expect(run.timedOut, run.stderr).toBe(false);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.reportLast).toBe("ok");
    expect(out.spendLogsLast).toBe("ok");
    for (const k of ["report9999", "spendLogs9999", "activity9999", "tags9999"]) {
      expect(out[k]).toMatchObject({ code: "BAD_REQUEST", field: "start_date" });
      expect(out[k].message).toMatch(RANGE);
    }
    expect(out.endUsersFuture).toMatchObject({ code: "BAD_REQUEST", field: "endTime" });
    expect(out.endUsersFuture.message).toMatch(RANGE);
    expect(out.endUsersReversed).toMatchObject({ code: "BAD_REQUEST", field: "endTime" });
    expect(out.endUsersReversed.message).toMatch(/must not be before startTime/);
  }, 90_000);
});

/** Every procedure of the router, as `a.b` paths. */
const procedurePaths = () =>
  Object.keys(appRouter._def.procedures as Record<string, unknown>).filter((p) => p.includes("."));

describe("text the database cannot hold, refused by the base procedure", () => {
  it("every procedure (but the ingest ones, which report bad rows) refuses a NUL or a lone surrogate, naming the field", async () => {
    const api = createCaller(await createContext(h.services, MASTER)) as unknown as Record<
      string,
      Record<string, (i: unknown) => Promise<unknown>>
    >;
    const paths = procedurePaths();
    expect(paths.length).toBeGreaterThan(25);
    for (const p of paths) {
      const [a, b] = p.split(".") as [string, string];
      for (const [bad, field] of [
        [{ zz_probe: "a\u0000b" }, "zz_probe"],
        [{ zz_probe: { deep: ["ok", "\udc00"] } }, "zz_probe.deep.1"],
      ] as const) {
        let err: unknown = null;
        try {
          await api[a]![b]!(bad);
        } catch (e) {
          err = e;
        }
        if (p.startsWith("ingest.")) {
          // The batch is checked row by row in core: no blanket 400 on text.
          expect(err instanceof TRPCError && errorField(err), p).not.toBe(field);
          continue;
        }
        expect(err, p).toBeInstanceOf(TRPCError);
        expect((err as TRPCError).code, p).toBe("BAD_REQUEST");
        expect(errorField(err as TRPCError), p).toBe(field);
        expect((err as TRPCError).message, p).toBe(
          "must not contain a NUL character or an unpaired UTF-16 surrogate",
        );
      }
    }
  }, 120_000);

  it("a caller without a valid key hears 401 first", async () => {
    const api = createCaller(await createContext(h.services, "sk-nobody"));
    await expect(api.logs.page({ api_key: "\u0000" })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("an ingest row with NUL or a lone surrogate is an invalid row naming the field; the others are stored", async () => {
    const api = createCaller(await createContext(h.services, MASTER));
    const r = await api.ingest.spendLogs({
      logs: [
        { request_id: "api-edge-1", startTime: "2026-01-01T00:00:00Z", end_user: "x\u0000" },
        { request_id: "api-edge-2", startTime: "2026-01-01T00:00:00Z", metadata: { a: ["\ud800"] } },
        { request_id: "api-edge-3", startTime: "2026-01-01T00:00:00Z", endTime: "9999-01-01T00:00:00Z" },
        { request_id: "api-edge-4", startTime: "2026-01-01T00:00:00Z" },
      ],
    });
    expect(r.inserted).toBe(1);
    expect(r.invalid.map((i) => [i.index, i.field])).toEqual([
      [0, "end_user"],
      [1, "metadata.a.0"],
      [2, "endTime"],
    ]);
    expect(r.invalid[2]!.reason).toMatch(RANGE);
  });
});

describe("one error boundary: nothing internal leaves", () => {
  const pgError = Object.assign(
    new Error('could not extend file "base/16384/16385.1": No space left on device'),
    { code: "53100" },
  );

  it("an unexpected error, wrapped by tRPC or not, becomes a generic 500 that keeps the cause for the log", () => {
    for (const thrown of [
      pgError,
      new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: pgError.message, cause: pgError }),
      new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "SELECT 1 FROM secret" }),
      new SpendlensError("CONFIG", "cannot read /etc/spendlens/config.yaml"),
    ]) {
      const e = toTRPCError(thrown);
      expect(e.code).toBe("INTERNAL_SERVER_ERROR");
      expect(e.message).toBe("internal error");
    }
    expect(toTRPCError(pgError).cause).toBe(pgError);
    // Known classes keep their meaning.
    expect(toTRPCError(Object.assign(new Error("x"), { code: "57014" })).code).toBe("GATEWAY_TIMEOUT");
    expect(toTRPCError(Object.assign(new Error("x"), { code: "ECONNREFUSED" })).code).toBe(
      "SERVICE_UNAVAILABLE",
    );
  });

  it("a REST route whose database fails answers the generic body with the request id; the cause is kept apart", async () => {
    // The same database, every query failing as a full disk makes it fail (a kysely plugin throws).
    const failing: Services = {
      ...h.services,
      db: h.t.db.withPlugin({
        transformQuery: () => {
          throw pgError;
        },
        transformResult: async (a) => a.result,
      }),
    };
    const ctx = await createContext(h.services, MASTER, { requestId: "req-123" });
    const route = restRoutes().find((r) => r.path === "/global/spend/report")!;
    const r = await callRestRoute({ ...ctx, db: failing.db }, route, {
      query: { start_date: "2026-01-01", end_date: "2026-01-02" },
      body: undefined,
    });
    expect(r.status).toBe(500);
    expect(r.body).toEqual({
      error: {
        message: "internal error (request id req-123)",
        type: "internal_error",
        param: null,
        code: "500",
      },
    });
    expect(r.cause).toBe(pgError);
    // The key check itself (a virtual key is looked up) failing unexpectedly: a 500 with the id too.
    await expect(createContext(failing, "sk-alice", { requestId: "req-456" })).rejects.toMatchObject({
      code: "INTERNAL_SERVER_ERROR",
      message: "internal error (request id req-456)",
    });
  });
});
