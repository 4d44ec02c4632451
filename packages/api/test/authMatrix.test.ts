import { createTestDb, insertLogs, setClock, type TestDb, writeFixtures } from "@spendlens/core/testing";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCESS_LEVELS,
  createCaller,
  createContext,
  restRoutes,
  type Services,
  toTRPCError,
} from "../src/index.ts";
import {
  expectedStatus,
  inputFields,
  MATRIX_CALLERS,
  MATRIX_MASTER,
  MATRIX_NOW,
  matrixConfig,
  matrixFixture,
  NON_ID_FIELDS,
  OTHER_USER_IDS,
  OTHER_USER_MARKERS,
  type ProcedureInfo,
  procedureList,
  SCOPED_CALLERS,
  validInput,
} from "../src/testing.ts";

/**
 * The authorization matrix, generated from the router: every procedure × every kind of caller, the
 * expected status taken from the access the procedure's builder declared in its meta. Internal users'
 * answers from scoped reads must equal the answers they get from a database holding only their own
 * rows (so another user's rows can change nothing), also when they name the other user's ids.
 */
const procs = procedureList();
const reads = procs.filter((p) => p.type === "query");
// Mutations last: reset zeroes counters the reads above look at.
const writes = procs.filter((p) => p.type !== "query");

let full: TestDb;
const own = new Map<string, TestDb>();
// One config and one services object per database, as a server holds them for all its requests (the
// config parsed per call, ~700 times, was ~1 s of CPU).
const config = matrixConfig();
const servicesOf = new Map<TestDb, Services>();
const services = (t: TestDb): Services => {
  let s = servicesOf.get(t);
  if (!s) {
    s = { db: t.db, handle: t, config, masterKey: MATRIX_MASTER };
    servicesOf.set(t, s);
  }
  return s;
};

async function seeded(only?: string): Promise<TestDb> {
  const t = await createTestDb();
  const fx = matrixFixture(only);
  await writeFixtures(t.db, fx);
  await insertLogs(t.db, fx.logs);
  return t;
}

beforeAll(async () => {
  setClock(() => MATRIX_NOW);
  full = await seeded();
  for (const c of SCOPED_CALLERS) own.set(c.userId, await seeded(c.userId));
});
afterAll(async () => {
  setClock(null);
  await full?.drop();
  for (const t of own.values()) await t.drop();
});

interface Answer {
  status: number;
  body: unknown;
  message?: string;
}

async function call(t: TestDb, key: string | null, p: ProcedureInfo, input: unknown): Promise<Answer> {
  try {
    const caller = createCaller(await createContext(services(t), key)) as unknown as Record<string, unknown>;
    const fn = p.path.split(".").reduce<any>((o, k) => o?.[k], caller) as (i: unknown) => Promise<unknown>;
    return { status: 200, body: await fn(input) };
  } catch (e) {
    const err = toTRPCError(e);
    return { status: getHTTPStatusCodeFromError(err), body: null, message: err.message };
  }
}

describe("every procedure declares who may call it", () => {
  it("has an access level from its builder, and every REST route is a procedure", () => {
    expect(procs.length).toBeGreaterThan(20);
    for (const p of procs) expect(ACCESS_LEVELS, p.path).toContain(p.access);
    expect(
      restRoutes()
        .map((r) => r.procedure)
        .sort((a, b) => a.localeCompare(b)),
    ).toEqual(
      procs
        .filter((p) => p.rest)
        .map((p) => p.path)
        .sort((a, b) => a.localeCompare(b)),
    );
  });

  it("has a valid sample input its own parser accepts", () => {
    for (const p of procs) {
      const input = validInput(p);
      if (p.input) expect(p.input.safeParse(input).success, p.path).toBe(true);
    }
  });
});

function matrix(list: ProcedureInfo[]) {
  for (const p of list) {
    it(`${p.path} (${p.access})`, async () => {
      const input = validInput(p);
      const got: Record<string, number> = {};
      const want: Record<string, number> = {};
      for (const c of MATRIX_CALLERS) {
        const a = await call(full, c.key, p, input);
        got[c.kind] = a.status;
        want[c.kind] = expectedStatus(p.access!, c.kind);
        if (a.status !== 200) expect(a.body).toBeNull();
      }
      expect(got).toEqual(want);
    });
  }
}

describe("reads: status per caller from the declared access", () => matrix(reads));

describe("scoped reads: an internal user's answer holds their own rows only", () => {
  const scoped = reads.filter((p) => p.access === "scoped");

  it("every input field of a scoped read is known to name someone's rows or not", () => {
    expect(scoped.length).toBeGreaterThan(5);
    for (const p of scoped) {
      for (const f of inputFields(p.input)) {
        expect(f.name in OTHER_USER_IDS || NON_ID_FIELDS.has(f.name), `${p.path}.${f.name}`).toBe(true);
      }
    }
  });

  for (const p of scoped) {
    it(`${p.path}: the same answer as on a database without the other user, even naming their ids`, async () => {
      const base = validInput(p) ?? {};
      const idFields = inputFields(p.input).filter((f) => f.name in OTHER_USER_IDS);
      let compared = 0;
      for (const c of SCOPED_CALLERS) {
        const inputs: { input: Record<string, unknown> | undefined; naming: string | null }[] = [
          { input: validInput(p), naming: null },
        ];
        for (const f of idFields) {
          for (const v of OTHER_USER_IDS[f.name]!)
            inputs.push({ input: { ...base, [f.name]: v }, naming: f.name });
        }
        for (const { input, naming } of inputs) {
          const label = `${c.kind} ${JSON.stringify(input)}`;
          const got = await call(full, c.key, p, input);
          if (naming && got.status === 403) continue;
          expect(got.status, `${label}: ${got.message}`).toBe(200);
          const alone = await call(own.get(c.userId)!, c.key, p, input);
          expect(alone.status, label).toBe(200);
          expect(got.body, label).toEqual(alone.body);
          const text = JSON.stringify(got.body);
          for (const m of OTHER_USER_MARKERS) expect(text, label).not.toContain(m);
          compared++;
        }
      }
      expect(compared).toBeGreaterThanOrEqual(SCOPED_CALLERS.length);
    });
  }

  it("the fixture is such that an admin does see the other user's rows (the check above can fail)", async () => {
    const p = procs.find((x) => x.path === "logs.page")!;
    const a = await call(full, MATRIX_MASTER, p, {});
    expect(JSON.stringify(a.body)).toContain("req-bob-1");
    const alice = await call(full, "sk-alice", p, {});
    expect((alice.body as { data: { request_id: string }[] }).data.map((r) => r.request_id).sort()).toEqual([
      "req-alice-1",
      "req-alice-2",
      "req-alice-3",
    ]);
  });
});

describe("mutations refused", () => {
  it("every mutation, by every caller its access refuses, changes nothing (spend counters, logs)", async () => {
    const snapshot = async () =>
      JSON.stringify(
        await Promise.all([
          full.db
            .selectFrom("LiteLLM_VerificationToken")
            .select(["token", "spend"])
            .orderBy("token")
            .execute(),
          full.db.selectFrom("LiteLLM_TeamTable").select(["team_id", "spend"]).orderBy("team_id").execute(),
          full.db.selectFrom("LiteLLM_UserTable").select(["user_id", "spend"]).orderBy("user_id").execute(),
          full.db.selectFrom("LiteLLM_SpendLogs").select("request_id").orderBy("request_id").execute(),
        ]),
      );
    const before = await snapshot();
    let refused = 0;
    for (const p of writes) {
      for (const c of MATRIX_CALLERS) {
        if (expectedStatus(p.access!, c.kind) === 200) continue;
        const a = await call(full, c.key, p, validInput(p));
        expect(a.status, `${p.path} ${c.kind}`).not.toBe(200);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(writes.length);
    expect(await snapshot()).toBe(before);
  });
});

describe("mutations: status per caller from the declared access", () => matrix(writes));
