/**
 * What the authorization matrix and the hostile-input tests share (packages/api and apps/server): the
 * procedures as data (walked from the router, so a new procedure is covered without editing a test),
 * a valid input for each built from its zod input, the callers (one key per kind) and a fixture where
 * another user has rows; and the small fixtures the layers' tests share (users with keys, the spend
 * window's four logs, seeded random logs).
 */
import type { SpendlensConfig } from "@spendlens/core";
import { prng } from "@spendlens/core/demo";
import type { Fixtures } from "@spendlens/core/testing";
import { hashToken, makeLog, parseConfig } from "@spendlens/core/testing";
import { z } from "zod";
import { appRouter } from "./root.ts";
import type { Access, RestMeta } from "./trpc.ts";

export interface ProcedureInfo {
  /** Dotted tRPC path, e.g. `spend.globalSpend`. */
  path: string;
  type: "query" | "mutation" | "subscription";
  access: Access | undefined;
  rest: RestMeta | undefined;
  /** The procedure's input parser (the last `.input()`), or undefined when it takes none. */
  input: z.ZodType | undefined;
}

/** Every procedure of the router, in a stable order. */
export function procedureList(router = appRouter): ProcedureInfo[] {
  const procs = router._def.procedures as unknown as Record<
    string,
    { _def: { type: ProcedureInfo["type"]; meta?: { access?: Access; rest?: RestMeta }; inputs: unknown[] } }
  >;
  return Object.entries(procs)
    .map(([path, p]) => ({
      path,
      type: p._def.type,
      access: p._def.meta?.access,
      rest: p._def.meta?.rest,
      input: p._def.inputs.at(-1) as z.ZodType | undefined,
    }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** The top-level fields of an input (its zod object, through optional/nullable/default/pipe wrappers). */
export function inputFields(schema: z.ZodType | undefined): { name: string; required: boolean }[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const obj = findObject(json);
  if (!obj) return [];
  const required = new Set(obj.required ?? []);
  return Object.keys(obj.properties ?? {}).map((name) => ({ name, required: required.has(name) }));
}

interface JsonSchema {
  type?: string;
  properties?: Record<string, unknown>;
  required?: string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

function findObject(s: JsonSchema): JsonSchema | null {
  if (s.properties) return s;
  for (const sub of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])]) {
    const o = findObject(sub);
    if (o) return o;
  }
  return null;
}

// ---------- the fixture ----------

/** Core's clock for every matrix test: the fixture's logs sit in the 30 days before it. */
export const MATRIX_NOW = new Date("2026-05-20T12:00:00.000Z");
export const MATRIX_MASTER = "sk-master-matrix";
/** A provider budget, so /provider/budgets has something to answer. */
export const MATRIX_CONFIG_YAML =
  "router_settings:\n  provider_budget_config:\n    openai: { budget_limit: 100, time_period: 1d }\n";
export const matrixConfig = (): SpendlensConfig => parseConfig(MATRIX_CONFIG_YAML);

/** One key per kind of caller (null: no key sent). `expected` access rows below are keyed by the kind. */
const CALLER_KEYS = {
  "no key": null,
  "wrong key": "sk-not-a-key",
  "blocked key": "sk-blocked",
  "expired key": "sk-expired",
  internal_user_viewer: "sk-ivy",
  internal_user: "sk-alice",
  "internal key without a user": "sk-nouser",
  proxy_admin_viewer: "sk-vic",
  proxy_admin: "sk-pat",
  "master key": MATRIX_MASTER,
} as const;
export type CallerKind = keyof typeof CALLER_KEYS;
export const MATRIX_CALLERS = (Object.keys(CALLER_KEYS) as CallerKind[]).map((kind) => ({
  kind,
  key: CALLER_KEYS[kind],
}));

/** The internal users whose answers must hold their own rows only, and the other user who has rows. */
export const SCOPED_CALLERS = [
  { kind: "internal_user", key: "sk-alice", userId: "alice" },
  { kind: "internal_user_viewer", key: "sk-ivy", userId: "ivy" },
] as const;
export const OTHER_USER = "bob";

/**
 * The status a caller must get from a procedure with a valid input, from its declared access alone.
 * 401 for keys that do not sign in; 403 below the role; 200 otherwise.
 */
export function expectedStatus(access: Access, kind: CallerKind): 200 | 401 | 403 {
  switch (kind) {
    case "no key":
    case "wrong key":
    case "blocked key":
    case "expired key":
      return 401;
    case "proxy_admin":
    case "master key":
      return 200;
    case "proxy_admin_viewer":
      return access === "adminWrite" || access === "ingest" ? 403 : 200;
    case "internal_user":
    case "internal_user_viewer":
      return access === "authed" || access === "scoped" ? 200 : 403;
    case "internal key without a user":
      // A non-admin key with no user has no rows of its own to read.
      return access === "authed" ? 200 : 403;
  }
}

interface Person {
  userId: string;
  role: string;
  key: string;
  team: string;
  spend: number;
}
const PEOPLE: Person[] = [
  { userId: "alice", role: "internal_user", key: "sk-alice", team: "team-alice", spend: 1.25 },
  { userId: "ivy", role: "internal_user_viewer", key: "sk-ivy", team: "team-ivy", spend: 2.5 },
  { userId: "bob", role: "internal_user", key: "sk-bob", team: "team-bob", spend: 777.77 },
];

/**
 * What identifies the other user's rows, by input field name: an internal user sending these must get
 * a 403 or an answer without any of the other user's rows.
 */
export const OTHER_USER_IDS: Record<string, unknown[]> = {
  user_id: ["bob"],
  user: ["bob"],
  internal_user_id: ["bob"],
  api_key: ["sk-bob", hashToken("sk-bob")],
  team_id: ["team-bob"],
  team: ["team-bob"],
  end_user: ["eu-bob"],
  customer_id: ["eu-bob"],
  request_id: ["req-bob-1"],
  model: ["model-bob"],
  model_group: ["mg-bob"],
  tag: ["tag-bob"],
  api_base: ["https://bob.example"],
  model_id: ["mid-bob"],
  key_alias: ["alias-bob"],
  session_id: ["sess-bob"],
  team_ids: ["team-bob"],
  exclude_team_ids: ["team-alice"],
  end_user_ids: ["eu-bob"],
  exclude_end_user_ids: ["eu-alice"],
  organization_ids: ["org-bob"],
  exclude_organization_ids: ["org-alice"],
  agent_ids: ["agent-bob"],
  exclude_agent_ids: ["agent-alice"],
  tags: ["tag-bob"],
  exclude_tags: ["tag-alice"],
  tag_filter: ["tag-bob"],
  tag_filters: [["tag-bob"]],
  entity_id: ["bob"],
};
/** Text that only the other user's rows hold: none may appear in an internal user's answer. */
export const OTHER_USER_MARKERS = ["bob", hashToken("sk-bob"), "777.77"];

/** Fields of scoped inputs that name no one's rows (dates, paging, shape). */
export const NON_ID_FIELDS = new Set([
  "start_date",
  "end_date",
  "start",
  "end",
  "startTime",
  "endTime",
  "limit",
  "page",
  "page_size",
  "cursor",
  "include_total",
  "min_spend",
  "max_spend",
  "dims",
  "bucket",
  "timezone",
  "include_current_utc_day",
  "order_by",
  "order",
  "attribution",
  "organization",
  "provider",
  "custom_llm_provider",
  "status_filter",
  "error_code",
  "sort_by",
  "sort_order",
  "summarize",
  "months",
  "entity_type",
]);

/**
 * Users, keys and teams, and their logs; `only` keeps one user's rows (and the admins' keys), for the
 * answer an internal user must get whoever else has rows.
 */
export function matrixFixture(only?: string): Fixtures & { logs: ReturnType<typeof makeLog>[] } {
  const people = only ? PEOPLE.filter((p) => p.userId === only) : PEOPLE;
  const logs = people.flatMap((p) =>
    [0, 1, 2].map((n, i = PEOPLE.indexOf(p)) =>
      makeLog({
        request_id: `req-${p.userId}-${n + 1}`,
        startTime: `2026-05-${String(10 + n + i).padStart(2, "0")}T0${n}:00:00.000Z`,
        user: p.userId,
        api_key: hashToken(p.key),
        spend: p.spend * (n + 1),
        prompt_tokens: 10 * (n + 1),
        completion_tokens: 5,
        model: p.userId === "bob" ? "model-bob" : "gpt-4o",
        model_group: p.userId === "bob" ? "mg-bob" : "gpt-4o",
        model_id: `mid-${p.userId}`,
        custom_llm_provider: "openai",
        api_base: p.userId === "bob" ? "https://bob.example" : "https://api.openai.com",
        team_id: p.team,
        end_user: `eu-${p.userId}`,
        request_tags: JSON.stringify([`tag-${p.userId}`]),
      }),
    ),
  );
  // Fixed times, so the same rows in two databases print the same.
  const at = { created_at: "2026-01-01T00:00:00.000Z", updated_at: "2026-01-01T00:00:00.000Z" };
  return {
    teams: people.map((p) => ({ ...at, team_id: p.team, team_alias: `alias ${p.team}`, spend: p.spend })),
    users: [
      ...people.map((p) => ({ ...at, user_id: p.userId, user_role: p.role, spend: p.spend })),
      { ...at, user_id: "vic", user_role: "proxy_admin_viewer" },
      { ...at, user_id: "pat", user_role: "proxy_admin" },
    ],
    keys: [
      ...people.map((p) => ({
        ...at,
        raw: p.key,
        user_id: p.userId,
        team_id: p.team,
        key_alias: `alias-${p.userId}`,
        spend: p.spend,
      })),
      { ...at, raw: "sk-vic", user_id: "vic" },
      { ...at, raw: "sk-pat", user_id: "pat" },
      // Not signed in: a blocked key and an expired one, both alice's.
      { ...at, raw: "sk-blocked", user_id: "alice", blocked: true },
      { ...at, raw: "sk-expired", user_id: "alice", expires: "2026-05-19T00:00:00.000Z" },
      { ...at, raw: "sk-nouser", user_id: null },
    ],
    logs,
  };
}

// ---------- valid inputs ----------

/**
 * Valid values by field name, tried in order until the procedure's input accepts them (start_date is a
 * day on most routes and a datetime on /spend/logs/ui). Required fields always get one; the optional
 * fields listed in ALWAYS_SET too (a price needs a model). A procedure with a required field not listed
 * here makes `validInput` throw, naming it.
 */
const SAMPLES: Record<string, unknown[]> = {
  start_date: ["2026-05-01", "2026-05-01 00:00:00"],
  end_date: ["2026-05-20", "2026-05-20 23:59:59"],
  start: ["2026-05-01"],
  end: ["2026-05-20"],
  model_group: ["gpt-4o"],
  model: ["gpt-4o"],
  session_id: ["sess-1"],
  request_id: ["req-alice-1"],
  messages: [[{ role: "user", content: "hello" }]],
  // A row the ingest refuses (no request_id): the batch answers 200 and writes nothing.
  logs: [[{ spend: 1 }]],
};
const ALWAYS_SET = new Set(["model", "messages"]);

/** A valid input for a procedure, built from its zod input (undefined when it takes none). */
export function validInput(p: ProcedureInfo): Record<string, unknown> | undefined {
  if (!p.input) return undefined;
  const fields = inputFields(p.input).filter((f) => f.required || ALWAYS_SET.has(f.name));
  const choice: Record<string, number> = {};
  const build = () => Object.fromEntries(fields.map((f) => [f.name, SAMPLES[f.name]?.[choice[f.name] ?? 0]]));
  for (const f of fields) {
    if (!SAMPLES[f.name]) throw new Error(`${p.path}: no sample value for required input field "${f.name}"`);
  }
  // Try each field's candidates in turn (the fields are few and independent).
  for (let round = 0; round < 4; round++) {
    const input = build();
    const r = p.input.safeParse(input);
    if (r.success) return input;
    const bad = new Set(r.error.issues.map((i) => String(i.path[0])));
    for (const name of bad) choice[name] = ((choice[name] ?? 0) + 1) % (SAMPLES[name]?.length ?? 1);
  }
  const input = build();
  const r = p.input.safeParse(input);
  if (!r.success) throw new Error(`${p.path}: no valid sample input (${r.error.message})`);
  return input;
}

/** A REST request for an input: GET as a query string (lists comma separated), POST as a JSON body. */
export function restRequest(
  rest: RestMeta,
  input: Record<string, unknown> | undefined,
): { path: string; body?: unknown } {
  if (rest.method === "POST") return { path: rest.path, body: input ?? {} };
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(input ?? {})) {
    if (v !== undefined) q.append(k, Array.isArray(v) ? v.join(",") : String(v));
  }
  const qs = q.toString();
  return { path: qs ? `${rest.path}?${qs}` : rest.path };
}

// ---------- small fixtures the layers' tests share ----------

/** Users of the given roles (by user id), each with one key `sk-<user id>`: fixtures for writeFixtures. */
export function usersWithKeys(roles: Record<string, string>): Required<Pick<Fixtures, "users" | "keys">> {
  const ids = Object.keys(roles);
  return {
    users: ids.map((user_id) => ({ user_id, user_role: roles[user_id]! })),
    keys: ids.map((user_id) => ({ raw: `sk-${user_id}`, user_id })),
  };
}

/** The hashes of alice's and bob's keys (`sk-alice`, `sk-bob`) as the spend logs hold them. */
export const KEY_ALICE = hashToken("sk-alice");
export const KEY_BOB = hashToken("sk-bob");

/**
 * The four spend logs of the spend and logs routes' tests (each layer pins its own days): request ids
 * `<prefix>1`..`<prefix>4` at the 30-day window's first instant (`start` 00:00 UTC), 1 ms before it, and
 * on day `mid` at the two `hours`: alice 1 on m1 for e1; alice 64 on m1 for e1 (outside); bob 2.5 on m2
 * for e2; alice 0.25 on m2 with no end user. `extra[i]` adds fields to the i-th (a team, tokens).
 */
export function spendWindowLogs(
  prefix: string,
  window: { start: string; mid: string; hours: [number, number] },
  extra: Partial<Parameters<typeof makeLog>[0]>[] = [],
): ReturnType<typeof makeLog>[] {
  const at = (h: number) => `${window.mid}T${String(h).padStart(2, "0")}:00:00.000Z`;
  const first = `${window.start}T00:00:00.000Z`;
  const times = [
    first,
    new Date(Date.parse(first) - 1).toISOString(),
    at(window.hours[0]),
    at(window.hours[1]),
  ];
  const rows = [
    { user: "alice", api_key: KEY_ALICE, spend: 1, model: "m1", end_user: "e1" },
    { user: "alice", api_key: KEY_ALICE, spend: 64, model: "m1", end_user: "e1" },
    { user: "bob", api_key: KEY_BOB, spend: 2.5, model: "m2", end_user: "e2" },
    { user: "alice", api_key: KEY_ALICE, spend: 0.25, model: "m2", end_user: null },
  ];
  return rows.map((r, i) =>
    makeLog({ request_id: `${prefix}${i + 1}`, startTime: times[i]!, ...r, ...extra[i] }),
  );
}

/**
 * Seeded random spend logs: `perDay` logs a day for `days` UTC days from `from` (a day). `make` draws each
 * log's fields with `rnd` (the seeded generator) and `pick`; `at()` draws an instant of the log's day.
 * The draws happen in the order `make` makes them, so a seed gives the same logs every run.
 */
export function seededLogs(
  seed: number,
  from: string,
  days: number,
  perDay: number,
  make: (r: {
    rnd: () => number;
    pick: <T>(xs: readonly T[]) => T;
    at: () => string;
  }) => Parameters<typeof makeLog>[0],
): ReturnType<typeof makeLog>[] {
  const DAY = 86_400_000;
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const logs: ReturnType<typeof makeLog>[] = [];
  for (let d = 0; d < days; d++) {
    const at = () =>
      new Date(Date.parse(`${from}T00:00:00.000Z`) + d * DAY + Math.floor(rnd() * DAY)).toISOString();
    for (let i = 0; i < perDay; i++) logs.push(makeLog(make({ rnd, pick, at })));
  }
  return logs;
}
