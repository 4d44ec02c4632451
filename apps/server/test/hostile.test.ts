import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  inputFields,
  MATRIX_CONFIG_YAML,
  MATRIX_MASTER,
  MATRIX_NOW,
  matrixFixture,
  type ProcedureInfo,
  procedureList,
  validInput,
} from "@spendlens/api/testing";
import {
  createTestDb,
  foldRollups,
  insertLogs,
  type TestDb,
  testRunId,
  writeFixtures,
} from "@spendlens/core/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AttackedServer,
  answerProblems,
  hostileJson,
  queryString,
  queryText,
  rawJsonToken,
  send,
} from "./hostile/harness.ts";

/**
 * Hostile input, generated with fast-check, on every parameter of every REST route and tRPC procedure
 * (the parameters are read from each procedure's zod input, so a new route is attacked without editing
 * this file), over real HTTP against a real server in a child process. Every answer must be a 2xx or a
 * 4xx within REQUEST_TIMEOUT_MS, show no internals (stack, SQL, driver text, paths), and a read must leave
 * the database as it was. A server that stops answering is killed and started again, and the failure is
 * listed with the value that caused it. The seed is fixed (SPENDLENS_HOSTILE_SEED to change it) and
 * printed with every failure.
 */
const SEED = Number(process.env.SPENDLENS_HOSTILE_SEED ?? 20261206);
const REQUEST_TIMEOUT_MS = Number(process.env.SPENDLENS_HOSTILE_TIMEOUT_MS ?? 1_000);
/** Runs per parameter (REST, then tRPC), per date pair and per whole input: about 1,200 requests in all with the examples below. */
const RUNS = { restField: 4, trpcField: 2, datePair: 6, wholeInput: 3 };

// ---------- hostile values ----------

const DATE_FIELDS = new Set(["start_date", "end_date", "start", "end", "startTime", "endTime"]);
const EDGE_DATES = [
  "9999-12-31",
  "9999-12-31 23:59:59",
  "9999-12-31T23:59:59Z",
  "0000-01-01",
  "0000-01-01 00:00:00",
  "1969-12-31",
  "1969-12-31 23:59:59",
  "1970-01-01",
  "2024-02-29",
  "2023-02-29",
  "2026-05-20 24:00:00",
  "2026-05-20T24:00:00Z",
  "2026-12-31T23:59:59-23:59",
  "2026-01-01T00:00:00+14:00",
  "10000-01-01",
  "-0001-01-01",
  "+002026-01-01",
  "2026-13-01",
  "2026-02-30",
  "2026-1-1",
  "9998-12-31",
  "1970-01-01T00:00:00.000000001Z",
];
const MB = 1 << 20;
const STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "%00",
  "\uD800",
  "x\uDFFFy",
  "\uDBFF\uDFFF",
  "😀🂡𝕏",
  "x".repeat(MB),
  "😀".repeat(MB / 4),
  "' OR '1'='1",
  '"; DROP TABLE "LiteLLM_SpendLogs"; --',
  "$1",
  "\\",
  "../../../../etc/passwd",
  "all-tags",
  ",,,",
  "sk-",
  "null",
  "NaN",
  "-1",
  "1e309",
  "0x10",
  "[]",
  "{}",
  "true",
];
const NUMBERS = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  -1,
  0,
  0.5,
  1.5,
  -(2 ** 31),
  2 ** 31,
  2 ** 53 + 2,
  1e21,
  1e308,
  -1e308,
  5e-324,
];

const hostileNumber = fc.oneof(
  fc.constantFrom(...NUMBERS),
  fc.double(),
  fc.integer(),
  fc.constantFrom(rawJsonToken("123456789012345678901234567890"), rawJsonToken("-1e400")),
);
const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }) },
  { weight: 1, arbitrary: hostileNumber.map((n) => (typeof n === "number" ? String(n) : "1e999")) },
);
const wrongType = fc.oneof(
  fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null)), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
  fc.boolean(),
  fc.constant(null),
);
const edgeDate = fc.constantFrom(...EDGE_DATES);
/** A spend log row with hostile values (the `logs` parameter of the ingest routes). */
const hostileRow = fc.record(
  {
    request_id: fc.oneof(hostileString, fc.uuid()),
    startTime: fc.oneof(edgeDate, hostileString),
    endTime: fc.oneof(edgeDate, hostileString),
    spend: fc.oneof(hostileNumber, hostileString),
    total_tokens: hostileNumber,
    user: hostileString,
    api_key: hostileString,
    model: hostileString,
    metadata: fc.oneof(hostileString, wrongType),
    request_tags: fc.oneof(hostileString, wrongType),
  },
  { requiredKeys: ["request_id"] },
);

/**
 * Tried first on every parameter, whatever the seed (tRPC: the first only): a NUL byte and a lone
 * surrogate everywhere, the calendar's last day on dates; and on every pair of dates (both transports),
 * the last day, the first and the epoch's eve.
 */
const fieldExamples = (field: string): unknown[] =>
  DATE_FIELDS.has(field) ? ["9999-12-31", "a\u0000b"] : ["a\u0000b", "\uD800"];
const PAIR_EXAMPLES: unknown[] = [
  ["9999-12-31", "9999-12-31"],
  ["9999-12-31 23:59:59", "9999-12-31 23:59:59"],
  ["0000-01-01", "0000-01-01"],
  ["1969-12-31", "1970-01-01"],
];

function hostileValue(field: string): fc.Arbitrary<unknown> {
  const any = fc.oneof(hostileString, hostileNumber, wrongType);
  if (DATE_FIELDS.has(field))
    return fc.oneof({ weight: 3, arbitrary: edgeDate }, { weight: 2, arbitrary: any });
  if (field === "logs")
    return fc.oneof(
      fc.array(hostileRow, { minLength: 1, maxLength: 3 }),
      any,
      fc.array(any, { maxLength: 3 }),
    );
  return any;
}

// ---------- targets ----------

interface Target {
  transport: "REST" | "tRPC";
  proc: ProcedureInfo;
  label: string;
}

/** The request for one input: REST GET as a query string (arrays repeat the parameter), else JSON. */
function request(target: Target, input: unknown): { method: string; path: string; body?: string } {
  const p = target.proc;
  if (target.transport === "REST") {
    const rest = p.rest!;
    if (rest.method === "GET") {
      const obj = input && typeof input === "object" && !Array.isArray(input) ? input : { input };
      const qs = queryString(obj as Record<string, unknown>);
      return { method: "GET", path: qs ? `${rest.path}?${qs}` : rest.path };
    }
    return { method: "POST", path: rest.path, body: hostileJson(input) };
  }
  if (p.type === "query")
    return { method: "GET", path: `/trpc/${p.path}?input=${encodeURIComponent(hostileJson(input))}` };
  return { method: "POST", path: `/trpc/${p.path}`, body: hostileJson(input) };
}

/** The texts of the values sent, as a 400 might quote them back. */
function sentTexts(values: unknown[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    out.push(queryText(v));
    const j = hostileJson(v);
    out.push(j, j.slice(1, -1));
    if (typeof v === "string" && v.length > 200) out.push(v.slice(0, 200));
  }
  return out;
}

// ---------- the run ----------

interface Failure {
  target: string;
  parameter: string;
  value: string;
  problems: string[];
  seed: number;
  path: string | undefined;
}

const show = (v: unknown) => {
  const s = hostileJson(v);
  return s.length > 120 ? `${s.slice(0, 100)}… (${s.length} chars)` : s;
};

let t: TestDb;
let template: string | null = null;
let server: AttackedServer;
let baseline: Record<string, string>;
const failures: Failure[] = [];
const notes: string[] = [];
let requests = 0;
/** Where the time goes (printed with the report): waiting for answers, restarting, checksumming. */
const spent = { answers: 0, restarts: 0, checksums: 0 };
const timed = async <T>(what: keyof typeof spent, f: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    spent[what] += performance.now() - t0;
  }
};

beforeAll(async () => {
  const fx = matrixFixture();
  t = await createTestDb(process.env.SPENDLENS_TEST_ENGINE === "postgres" ? {} : { onDisk: true });
  await writeFixtures(t.db, fx);
  await insertLogs(t.db, fx.logs);
  // Inserted logs reach the rollups in a fold, which the first read would run: fold now, so that the
  // baseline below is the state reads must leave unchanged.
  await foldRollups(t.db);
  let dataDir: string | undefined;
  if (t.dataDir) {
    // PGlite allows one process: close ours, and let the server process start on copies of the folder.
    await t.close();
    template = join(mkdtempSync(join(tmpdir(), `spendlens-hostile-${testRunId()}-`)), "data");
    cpSync(t.dataDir, template, { recursive: true });
  }
  server = new AttackedServer({
    ...(t.url ? { databaseUrl: t.url } : {}),
    ...(template ? { template } : {}),
    ...(dataDir ? { dataDir } : {}),
    masterKey: MATRIX_MASTER,
    now: MATRIX_NOW.toISOString(),
    configYaml: MATRIX_CONFIG_YAML,
  });
  await server.start();
  baseline = await server.checksum();
}, 180_000);

afterAll(async () => {
  await server?.close();
  if (template) rmSync(join(template, ".."), { recursive: true, force: true });
  await t?.drop();
});

/**
 * Sends one input; returns its problems. A request with no answer in time is sent once more if the server
 * still answers /healthz (a first call may load a price table or an encoder: that is noted, not failed);
 * a server that stopped answering is killed and started again.
 */
async function attack(target: Target, input: unknown, values: unknown[]): Promise<string[]> {
  const req = request(target, input);
  const sendOnce = () => {
    requests++;
    return timed("answers", () =>
      send(server.url, req.method, req.path, MATRIX_MASTER, req.body, REQUEST_TIMEOUT_MS),
    );
  };
  let o = await sendOnce();
  if (o.status === null) {
    if (!(await server.healthy())) {
      await timed("restarts", () => server.restart());
      // The new process is cold: its first calls load what a first call loads, as after the start.
      await warmUp(target);
      return [...answerProblems(o, []), "the server stopped answering /healthz: killed and started again"];
    }
    if (o.failure?.startsWith("no answer")) {
      const again = await sendOnce();
      if (again.status !== null) {
        notes.push(
          `${target.label} ${show(values)}: over ${REQUEST_TIMEOUT_MS} ms once, in time when sent again`,
        );
        o = again;
      }
    }
  }
  const problems = answerProblems(o, sentTexts(values));
  // reports.explain answers the SQL text a report would run, by design (admin only): a 2xx body of it
  // is SQL; its errors are checked like every other route's.
  if (EXPLAINS_SQL.test(target.label) && o.status !== null && o.status < 300)
    return problems.filter((p) => !p.startsWith("SQL in the body"));
  return problems;
}

const EXPLAINS_SQL = /spend\/report\/explain|reports\.explain/;

/** The valid input once, with time to load what a first call loads; its answer must be a 200. */
async function warmUp(target: Target): Promise<string | null> {
  const req = request(target, validInput(target.proc));
  requests++;
  const o = await send(server.url, req.method, req.path, MATRIX_MASTER, req.body, 30_000);
  return o.status === 200
    ? null
    : `${target.label}: the valid input answered ${o.status ?? o.failure}: ${o.text.slice(0, 200)}`;
}

async function block(
  target: Target,
  parameter: string,
  arb: fc.Arbitrary<unknown>,
  build: (v: unknown) => { input: unknown; values: unknown[] },
  numRuns: number,
  seed: number,
  examples: unknown[] = [],
): Promise<void> {
  let last: string[] = [];
  const details = await fc.check(
    fc.asyncProperty(arb, async (v) => {
      const { input, values } = build(v);
      last = await attack(target, input, values);
      return last.length === 0;
    }),
    { seed, numRuns, endOnFailure: true, examples: examples.map((e) => [e]) },
  );
  if (details.failed) {
    failures.push({
      target: target.label,
      parameter,
      value: show(details.counterexample?.[0]),
      problems: last.length ? last : [String(details.errorInstance ?? "property failed")],
      seed: details.seed,
      path: details.counterexamplePath ?? undefined,
    });
  }
}

async function attackProcedure(target: Target, seed: number): Promise<void> {
  const warm = await warmUp(target);
  if (warm) notes.push(warm);
  const base = (validInput(target.proc) ?? {}) as Record<string, unknown>;
  const fields = inputFields(target.proc.input).map((f) => f.name);
  const rest = target.transport === "REST";
  let s = seed;
  for (const f of fields) {
    await block(
      target,
      f,
      hostileValue(f),
      (v) => ({ input: { ...base, [f]: v }, values: [v] }),
      rest ? RUNS.restField : RUNS.trpcField,
      s++,
      rest ? fieldExamples(f) : fieldExamples(f).slice(0, 1),
    );
  }
  const dates = fields.filter((f) => DATE_FIELDS.has(f));
  if (dates.length >= 2) {
    // The same edge date (or two) for every date parameter, past the range checks on one alone.
    const pair = fc.oneof(
      edgeDate.map((d) => [d, d] as const),
      fc.tuple(edgeDate, edgeDate),
    );
    await block(
      target,
      dates.join("+"),
      pair,
      (v) => {
        const [a, b] = v as [string, string];
        return {
          input: { ...base, ...Object.fromEntries(dates.map((d, i) => [d, i === 0 ? a : b])) },
          values: [a, b],
        };
      },
      RUNS.datePair,
      s++,
      PAIR_EXAMPLES,
    );
  }
  // The whole input a wrong type, or (REST GET) parameters nobody asked for, repeated.
  await block(
    target,
    "(whole input)",
    fc.oneof(hostileString, hostileNumber, wrongType, fc.constant(undefined)),
    (v) =>
      rest && target.proc.rest!.method === "GET"
        ? {
            input: {
              ...base,
              unknown_param: [v, v],
              ...(fields[0] ? { [fields[0]]: [v, base[fields[0]]] } : {}),
            },
            values: [v],
          }
        : { input: v, values: [v] },
    RUNS.wholeInput,
    s++,
  );
}

const procs = procedureList();
const targets = (list: ProcedureInfo[]): Target[] =>
  list.flatMap((p) => [
    ...(p.rest
      ? [{ transport: "REST" as const, proc: p, label: `REST ${p.rest.method} ${p.rest.path}` }]
      : []),
    { transport: "tRPC" as const, proc: p, label: `tRPC ${p.type} ${p.path}` },
  ]);

describe("hostile input on every parameter of every route", () => {
  it("reads: 2xx or 4xx in time, no internals, the database unchanged", async () => {
    let seed = SEED;
    const changed: string[] = [];
    // One checksum per procedure (after its REST route and its tRPC call were attacked).
    for (const p of procs.filter((x) => x.type === "query")) {
      for (const target of targets([p])) {
        await attackProcedure(target, seed);
        seed += 100;
      }
      const now = await timed("checksums", () => server.checksum());
      const diff = Object.keys({ ...baseline, ...now }).filter((k) => baseline[k] !== now[k]);
      if (diff.length) {
        changed.push(`${p.path}: ${diff.join(", ")}`);
        baseline = now;
      }
    }
    report("reads");
    expect(changed, "tables changed by reads").toEqual([]);
    expect(failures, `seed ${SEED}; see the list above`).toEqual([]);
  }, 600_000);

  it("writes and calculations: 2xx or 4xx in time, no internals", async () => {
    failures.length = 0;
    const restartsBefore = server.restarts;
    let seed = SEED + 50_000;
    for (const target of targets(procs.filter((p) => p.type !== "query"))) {
      await attackProcedure(target, seed);
      seed += 100;
    }
    report("writes");
    expect(await server.healthy()).toBe(true);
    if (server.restarts === restartsBefore) {
      // The checksum does see a change: reset set the fixture keys' spend to 0.
      expect(await server.checksum()).not.toEqual(baseline);
    }
    expect(failures, `seed ${SEED}; see the list above`).toEqual([]);
  }, 600_000);
});

function report(what: string) {
  const lines = failures.map(
    (f) =>
      `  ${f.target} · ${f.parameter} = ${f.value}\n    ${f.problems.join("\n    ")}\n    (fast-check seed ${f.seed}, path ${f.path})`,
  );
  console.log(
    `hostile ${what}: ${requests} requests so far, ${failures.length} failing parameter(s), ${server.restarts} server restart(s), seed ${SEED}; ${Object.entries(
      spent,
    )
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
      .join(
        ", ",
      )}${lines.length ? `\n${lines.join("\n")}` : ""}${notes.length ? `\nnotes:\n  ${notes.join("\n  ")}` : ""}`,
  );
}
