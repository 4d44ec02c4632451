import * as M from "@spendlens/api/testing";
import { insertLogs } from "@spendlens/core/testing";
import { describe, expect, it } from "vitest";
import { useTestServer } from "../src/testing.ts";

/**
 * The authorization matrix's transport (the roles themselves, every procedure × every caller, are
 * packages/api/test/authMatrix.test.ts's): for one procedure of each access level and each way it is
 * reached (REST GET, REST POST, tRPC query, tRPC mutation), every kind of caller gets the status the
 * declared access implies, refusals in the transport's error shape; internal users naming the other
 * user's ids get a 403 or none of that user's rows on each way REST maps its input (query, list
 * values, a path segment, a JSON body).
 */
const fx = M.matrixFixture();
const h = useTestServer({
  master: M.MATRIX_MASTER,
  now: M.MATRIX_NOW,
  config: M.matrixConfig(),
  ...fx,
  setup: (t) => insertLogs(t.db, fx.logs),
});

const procs = M.procedureList();
/** The first procedure of each kind (`key` of it), in the router's order. */
const firstOf = (list: M.ProcedureInfo[], key: (p: M.ProcedureInfo) => string) =>
  list.filter((p, i) => list.findIndex((q) => key(q) === key(p)) === i);
// Mutations last: reset zeroes counters the reads look at.
const ordered = [...procs.filter((p) => p.type === "query"), ...procs.filter((p) => p.type !== "query")];
const restReps = firstOf(
  ordered.filter((p) => p.rest),
  (p) => `${p.access} ${p.rest!.method}`,
);
const trpcReps = firstOf(ordered, (p) => `${p.access} ${p.type}`);
/** REST's ways of mapping an input: query values, lists, a {name} path segment, a JSON body. */
const SCOPED_REPS = [
  "spend.spendUsers",
  "logs.spendLogs",
  "analytics.query",
  "tagAnalytics.summary",
  "logs.spendLogDetail",
  "analytics.queryPost",
];

describe("REST routes: status per caller from the declared access", () => {
  it("one route per access level and method, every level", () => {
    expect(new Set(restReps.map((p) => p.access))).toEqual(new Set(procs.map((p) => p.access)));
  });
  for (const p of restReps) {
    const rest = p.rest!;
    it(`${rest.method} ${rest.path} (${p.access})`, async () => {
      const req = M.restRequest(rest, M.validInput(p));
      const got: Record<string, number> = {};
      const want: Record<string, number> = {};
      for (const c of M.MATRIX_CALLERS) {
        const r = await h.request(rest.method, req.path, c.key, req.body);
        got[c.kind] = r.status;
        want[c.kind] = M.expectedStatus(p.access!, c.kind);
        if (r.status === 401 || r.status === 403) {
          expect(r.body, `${c.kind}: ${r.text}`).toMatchObject({
            error: {
              type: r.status === 401 ? "auth_error" : "permission_error",
              code: String(r.status),
            },
          });
        }
      }
      expect(got).toEqual(want);
    });
  }
});

describe("tRPC over HTTP: status per caller from the declared access", () => {
  for (const p of trpcReps) {
    it(`/trpc/${p.path} (${p.access})`, async () => {
      const input = M.validInput(p);
      const got: Record<string, number> = {};
      const want: Record<string, number> = {};
      for (const c of M.MATRIX_CALLERS) {
        const r =
          p.type === "query"
            ? await h.request(
                "GET",
                `/trpc/${p.path}${input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`}`,
                c.key,
              )
            : await h.request("POST", `/trpc/${p.path}`, c.key, input ?? {});
        got[c.kind] = r.status;
        want[c.kind] = M.expectedStatus(p.access!, c.kind);
        if (r.status !== 200) {
          expect(r.body?.error?.data?.code, `${c.kind}: ${r.text}`).toBe(
            r.status === 401 ? "UNAUTHORIZED" : "FORBIDDEN",
          );
        }
      }
      expect(got).toEqual(want);
    });
  }
});

describe("REST: internal users never get the other user's rows", () => {
  const scoped = SCOPED_REPS.map((path) => procs.find((p) => p.path === path)!);
  it("the representatives are scoped REST routes", () => {
    for (const [i, p] of scoped.entries())
      expect([SCOPED_REPS[i], p?.access, !!p?.rest]).toEqual([SCOPED_REPS[i], "scoped", true]);
  });
  for (const p of scoped) {
    const rest = p.rest!;
    it(`${rest.method} ${rest.path}`, async () => {
      const base = M.validInput(p) ?? {};
      const inputs: Record<string, unknown>[] = [base];
      for (const f of M.inputFields(p.input).filter((x) => x.name in M.OTHER_USER_IDS)) {
        for (const v of M.OTHER_USER_IDS[f.name]!) inputs.push({ ...base, [f.name]: v });
      }
      let answered = 0;
      for (const c of M.SCOPED_CALLERS) {
        for (const input of inputs) {
          const req = M.restRequest(rest, input);
          const r = await h.request(rest.method, req.path, c.key, req.body);
          expect([200, 403], `${c.kind} ${req.path}: ${r.text}`).toContain(r.status);
          if (r.status !== 200) continue;
          answered++;
          for (const m of M.OTHER_USER_MARKERS) expect(r.text, `${c.kind} ${req.path}`).not.toContain(m);
        }
      }
      // The plain call (no ids) is answered for both internal users.
      expect(answered).toBeGreaterThanOrEqual(M.SCOPED_CALLERS.length);
    });
  }

  it("the markers are there for an admin (the check above can fail)", async () => {
    const r = await h.get("/spendlens/logs", M.MATRIX_MASTER);
    expect(r.status).toBe(200);
    for (const m of M.OTHER_USER_MARKERS) expect(r.text).toContain(m);
  });
});
