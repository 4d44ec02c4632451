import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { providerWindowCtes, type WindowRow } from "../src/budgets/providerBudgets.ts";
import {
  ALL,
  addProviderSpend,
  errorTotals,
  globalSpend,
  hashToken,
  ingestErrorLogs,
  ingestSpendLogs,
  parseConfig,
  type SpendIngestResult,
  type SpendlensConfig,
  spendTotals,
} from "../src/internal.ts";
import { useTestDb } from "../src/testing/hooks.ts";
import { testEngine } from "../src/testing/index.ts";

/**
 * The one-statement ingest path (its fast row checks against zod: ingestRowChecks.test.ts): concurrent
 * overlapping batches with duplicates and conflicts leave counters, rollup reports and provider windows equal to
 * brute-force sums over the logs actually stored; the provider-window SQL equals the JS reference
 * (`addProviderSpend`) on random states; text Postgres cannot store is reported per row.
 */

const NOW = new Date("2026-03-02T12:00:00.000Z");
const NOW_MS = NOW.getTime();
const iso = (ms: number) => new Date(ms).toISOString();

const config: SpendlensConfig = parseConfig(
  `
model_list:
  - model_name: az-gpt
    litellm_params: { model: azure/gpt-4o }
    model_info: { id: dep-az }
router_settings:
  provider_budget_config:
    openai: { budget_limit: 100, time_period: 1d }
    azure: { budget_limit: 100, time_period: 1h }
    anthropic: { budget_limit: 100, time_period: 1mo, window: calendar }
`,
  "ingest-fast.yaml",
);

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const RAW_KEYS = ["sk-fast-0", "sk-fast-1", "sk-fast-2", "sk-fast-3"];
const USERS = ["u0", "u1", "u2", "u3"];
const TEAMS = ["t0", "t1", "t2"];

const t = useTestDb({
  now: NOW,
  setup: async (t) => {
    await t.db
      .insertInto("LiteLLM_TeamTable")
      .values(TEAMS.map((team_id) => ({ team_id })))
      .execute();
    await t.db
      .insertInto("LiteLLM_UserTable")
      .values(USERS.map((user_id) => ({ user_id })))
      .execute();
    await t.db
      .insertInto("LiteLLM_VerificationToken")
      .values(RAW_KEYS.map((k, i) => ({ token: hashToken(k), user_id: USERS[i % USERS.length]! })))
      .execute();
  },
});

// ---------------------------------------------------------------------------------------------------
/** A spend log as the test sends it, and what the stored row must hold. */
interface SentLog {
  request_id: string;
  api_key: string;
  spend: number;
  startTime: string;
  endTime: string;
  model: string;
  model_id: string;
  user: string | null;
  team_id: string | null;
  end_user: string | null;
  request_tags: string[];
  prompt_tokens: number;
  completion_tokens: number;
}
const keyOf = (l: SentLog) => (l.api_key.startsWith("sk-") ? hashToken(l.api_key) : l.api_key);
const providerOf = (l: SentLog) =>
  l.model_id === "dep-az"
    ? "azure"
    : l.model.startsWith("gpt")
      ? "openai"
      : l.model.startsWith("claude")
        ? "anthropic"
        : "mistral";
const sameContent = (a: SentLog, b: SentLog) => JSON.stringify(a) === JSON.stringify(b);

function makeLogs(seed: number, n: number, prefix: string): SentLog[] {
  const r = rng(seed);
  const out: SentLog[] = [];
  for (let i = 0; i < n; i++) {
    // Over three days up to NOW; a few endTimes run past now (gateway clocks ahead).
    const start = NOW_MS - Math.floor(r() * 3 * 86_400_000);
    const end = start + Math.floor(r() * 5_000) + (r() < 0.03 ? 3_600_000 : 0);
    const model = pick(r, ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet-20241022", "mistral-large-latest"]);
    const tags = ["a", "b", "c"].filter(() => r() < 0.4);
    out.push({
      request_id: `${prefix}${String(i).padStart(5, "0")}`,
      api_key: pick(r, [...RAW_KEYS, hashToken(RAW_KEYS[1]!), "hashed-unknown-key"]),
      spend: Math.floor(r() * 200) / 64, // dyadic: sums are exact in any order
      startTime: iso(start),
      endTime: iso(end),
      model,
      model_id: model.startsWith("gpt") && r() < 0.3 ? "dep-az" : "",
      user: pick(r, [...USERS, "u-not-in-table", null]),
      team_id: pick(r, [...TEAMS, null, null]),
      end_user: pick(r, ["e0", "e1", "e2", "e3", "", null]),
      request_tags: tags,
      prompt_tokens: Math.floor(r() * 1000),
      completion_tokens: Math.floor(r() * 300),
    });
  }
  return out;
}

function sumBy<T>(
  rows: T[],
  key: (r: T) => string | null,
  val: (r: T) => number,
): Map<string | null, number> {
  const m = new Map<string | null, number>();
  for (const r of rows) {
    const k = key(r);
    m.set(k, (m.get(k) ?? 0) + val(r));
  }
  return m;
}
const spendBy = <T extends { spend: number }>(rows: T[], key: (r: T) => string | null) =>
  sumBy(rows, key, (r) => r.spend);

describe(`concurrent overlapping batches are exact (${testEngine()})`, () => {
  const PREFIX = "fx-";
  const pool = makeLogs(11, 900, PREFIX);
  // Windows opened before the concurrent part, at known instants: every later log at or after them counts.
  const OPEN: Record<string, number> = {
    openai: NOW_MS - 23 * 3_600_000,
    azure: NOW_MS - 50 * 60_000,
  };
  const MONTH_START = Date.parse("2026-03-01T00:00:00.000Z");
  const openers: SentLog[] = [
    { ...pool[0]!, request_id: "open-openai", model: "gpt-4o", model_id: "", spend: 1 },
    { ...pool[0]!, request_id: "open-azure", model: "gpt-4o", model_id: "dep-az", spend: 1 },
  ].map((l) => {
    const at = iso(OPEN[l.request_id === "open-openai" ? "openai" : "azure"]!);
    return { ...l, startTime: at, endTime: at };
  });

  let results: SpendIngestResult[] = [];
  let batches: SentLog[][] = [];
  /** The version of each request_id that is stored, as sent. */
  let stored: SentLog[] = [];

  beforeAll(async () => {
    const opened = await ingestSpendLogs(t.db, ALL, { logs: openers }, config);
    expect(opened.inserted).toBe(2);
    expect(opened.provider_spend_added).toEqual({ openai: 1, azure: 1 });
    // 12 batches over a sliding part of the pool (consecutive batches share 2/3 of their ids), every
    // other one reversed; each repeats some of its own rows (duplicates inside the batch) and sends 4
    // ids with other content (conflicts with whichever version another batch stored first).
    const r = rng(5);
    batches = Array.from({ length: 12 }, (_, b) => {
      const part = Array.from({ length: 225 }, (_, j) => pool[(b * 75 + j) % pool.length]!);
      const dups = Array.from({ length: 6 }, (_, j) => part[j * 17]!);
      const conflicts = Array.from({ length: 4 }, (_, j) => {
        const base = part[(j * 53 + b * 7) % part.length]!;
        return j % 2
          ? { ...base, spend: base.spend + 1 / 64 }
          : { ...base, model: "gpt-4.1", request_tags: [...base.request_tags, "z"] };
      });
      const rows = [...part, ...dups, ...conflicts].sort(() => r() - 0.5);
      return b % 2 ? rows.reverse() : rows;
    });
    results = await Promise.all(batches.map((logs) => ingestSpendLogs(t.db, ALL, { logs }, config)));
    const db = await sql<{
      request_id: string;
      spend: number;
      model: string;
      request_tags: string[];
    }>`SELECT request_id, spend, model, request_tags FROM "LiteLLM_SpendLogs"
      WHERE request_id LIKE ${`${PREFIX}%`}`.execute(t.db);
    const sent = new Map<string, SentLog[]>();
    for (const l of batches.flat()) sent.set(l.request_id, [...(sent.get(l.request_id) ?? []), l]);
    stored = db.rows.map((row) => {
      const match = sent
        .get(row.request_id)!
        .find(
          (l) =>
            l.spend === row.spend &&
            l.model === row.model &&
            JSON.stringify(l.request_tags) === JSON.stringify(row.request_tags),
        );
      expect(match, `stored ${row.request_id} is one of the versions sent`).toBeDefined();
      return match!;
    });
    expect(new Set(stored.map((l) => l.request_id))).toEqual(new Set(sent.keys()));
  }, 120_000);

  it("inserts each request_id once; every other copy is a duplicate (same content) or a conflict (other content)", () => {
    expect(results.reduce((s, r) => s + r.inserted, 0)).toBe(stored.length);
    const byId = new Map(stored.map((l) => [l.request_id, l]));
    // Per batch and request_id: a copy with the stored content is a duplicate unless it is the one the
    // batch inserted (its first copy); a copy with other content is always a conflict.
    const insertedBy = new Map<string, number>();
    let dups = 0;
    let conflicts = 0;
    results.forEach((r, b) => {
      expect(r.invalid).toEqual([]);
      expect(r.received).toBe(batches[b]!.length);
      expect(r.inserted + r.duplicates.length + r.conflicts.length).toBe(batches[b]!.length);
      const same = sumBy(
        batches[b]!.filter((l) => sameContent(l, byId.get(l.request_id)!)),
        (l) => l.request_id,
        () => 1,
      );
      const other = sumBy(
        batches[b]!.filter((l) => !sameContent(l, byId.get(l.request_id)!)),
        (l) => l.request_id,
        () => 1,
      );
      const seenDup = sumBy(
        r.duplicates,
        (x) => x,
        () => 1,
      );
      const seenConf = sumBy(
        r.conflicts,
        (x) => x.request_id,
        () => 1,
      );
      expect(seenConf).toEqual(other);
      let inserted = 0;
      for (const [key, n] of same) {
        const id = key as string;
        const ins = n - (seenDup.get(id) ?? 0);
        expect(ins === 0 || ins === 1).toBe(true);
        if (ins) {
          inserted++;
          insertedBy.set(id, (insertedBy.get(id) ?? 0) + 1);
          // It inserted the id only if its first copy of the id is the stored version.
          expect(sameContent(batches[b]!.find((l) => l.request_id === id)!, byId.get(id)!)).toBe(true);
        }
      }
      for (const id of seenDup.keys()) expect(same.has(id)).toBe(true);
      expect(inserted).toBe(r.inserted);
      for (const c of r.conflicts) {
        expect(c.fields.length).toBeGreaterThan(0);
        expect(c.fields.every((f) => ["spend", "model", "request_tags"].includes(f))).toBe(true);
      }
      dups += r.duplicates.length;
      conflicts += r.conflicts.length;
    });
    // Every stored id was inserted by exactly one batch.
    expect(insertedBy.size).toBe(stored.length);
    expect([...insertedBy.values()].every((n) => n === 1)).toBe(true);
    expect(dups).toBeGreaterThan(100);
    expect(conflicts).toBeGreaterThan(10);
    // What the counters were told: the spend of the rows each batch inserted.
    const added = results.reduce((s, r) => s + r.spend_added, 0);
    expect(added).toBe(stored.reduce((s, l) => s + l.spend, 0));
  });

  it("keys, users, teams and end users hold the brute-force sums of the stored logs", async () => {
    const all = [...openers, ...stored].filter((l) => l.spend > 0);
    const expectKeys = spendBy(all, keyOf);
    const keys = await t.db.selectFrom("LiteLLM_VerificationToken").select(["token", "spend"]).execute();
    expect(keys.length).toBe(RAW_KEYS.length);
    for (const k of keys) expect(k.spend).toBe(expectKeys.get(k.token) ?? 0);
    const expectUsers = spendBy(all, (l) => l.user);
    for (const u of await t.db.selectFrom("LiteLLM_UserTable").select(["user_id", "spend"]).execute())
      expect(u.spend).toBe(expectUsers.get(u.user_id) ?? 0);
    const expectTeams = spendBy(all, (l) => l.team_id);
    for (const x of await t.db.selectFrom("LiteLLM_TeamTable").select(["team_id", "spend"]).execute())
      expect(x.spend).toBe(expectTeams.get(x.team_id) ?? 0);
    const expectEnd = spendBy(
      all.filter((l) => l.end_user),
      (l) => l.end_user,
    );
    const ends = await t.db.selectFrom("LiteLLM_EndUserTable").select(["user_id", "spend"]).execute();
    expect(new Map(ends.map((e) => [e.user_id, e.spend]))).toEqual(expectEnd);
  });

  it("rollup reports equal brute-force sums of the stored logs (global spend, per dimension, tags)", async () => {
    const all = [...openers, ...stored];
    const total = all.reduce((s, l) => s + l.spend, 0);
    expect((await globalSpend(t.db, ALL, config)).spend).toBe(total);
    const window = { from: "2026-02-01T00:00:00.000Z", to: null };
    const check = async (
      dim: "api_key" | "user" | "team_id" | "end_user" | "model",
      key: (l: SentLog) => string | null,
    ) => {
      const rows = await spendTotals(t.db, ALL, { window, dims: [dim] });
      const spend = spendBy(all, key);
      const requests = sumBy(all, key, () => 1);
      const tokens = sumBy(all, key, (l) => l.prompt_tokens + l.completion_tokens);
      expect(new Map(rows.map((x) => [x[dim] ?? null, x.spend]))).toEqual(spend);
      expect(new Map(rows.map((x) => [x[dim] ?? null, x.requests]))).toEqual(requests);
      expect(new Map(rows.map((x) => [x[dim] ?? null, x.total_tokens]))).toEqual(tokens);
    };
    await check("api_key", keyOf);
    await check("user", (l) => l.user);
    await check("team_id", (l) => l.team_id);
    await check("end_user", (l) => l.end_user);
    await check("model", (l) => l.model);
    const byDay = await spendTotals(t.db, ALL, { window, dims: ["day"] });
    expect(new Map(byDay.map((x) => [x.day, x.spend]))).toEqual(
      spendBy(all, (l) => l.startTime.slice(0, 10)),
    );
    // Tags (each request's tags are distinct here): full spend per tag, and the split that adds up.
    const tagged = all.flatMap((l) => l.request_tags.map((tag) => ({ tag, l })));
    const full = await spendTotals(t.db, ALL, { window, dims: ["tag"], attribution: "full" });
    expect(new Map(full.map((x) => [x.tag, x.spend]))).toEqual(
      sumBy(
        tagged,
        (x) => x.tag,
        (x) => x.l.spend,
      ),
    );
    expect(new Map(full.map((x) => [x.tag, x.requests]))).toEqual(
      sumBy(
        tagged,
        (x) => x.tag,
        () => 1,
      ),
    );
    const split = await spendTotals(t.db, ALL, { window, dims: ["tag"], attribution: "split" });
    const expectSplit = sumBy(
      tagged,
      (x) => x.tag,
      (x) => x.l.spend / x.l.request_tags.length,
    );
    expect(split.length).toBe(expectSplit.size);
    for (const x of split) expect(x.spend).toBeCloseTo(expectSplit.get(x.tag!)!, 9);
  });

  it("provider windows hold the brute-force sums of the stored logs spent inside them", async () => {
    const all = [...openers, ...stored];
    const spentAt = (l: SentLog) => Math.min(Date.parse(l.endTime), NOW_MS);
    const expected: Record<string, number> = {
      openai: all
        .filter((l) => providerOf(l) === "openai" && spentAt(l) >= OPEN.openai!)
        .reduce((s, l) => s + l.spend, 0),
      azure: all
        .filter((l) => providerOf(l) === "azure" && spentAt(l) >= OPEN.azure!)
        .reduce((s, l) => s + l.spend, 0),
      anthropic: all
        .filter((l) => providerOf(l) === "anthropic" && spentAt(l) >= MONTH_START)
        .reduce((s, l) => s + l.spend, 0),
    };
    const rows = await sql<{
      provider: string;
      spend: number;
      window_start: string;
      window_end: string;
    }>`SELECT provider, spend, window_start, window_end FROM spendlens.provider_budget_windows`.execute(t.db);
    const got = Object.fromEntries(rows.rows.map((r) => [r.provider, r.spend]));
    expect(got).toEqual(expected);
    const w = Object.fromEntries(rows.rows.map((r) => [r.provider, [r.window_start, r.window_end]]));
    expect(w.openai).toEqual([iso(OPEN.openai!), iso(OPEN.openai! + 86_400_000)]);
    expect(w.azure).toEqual([iso(OPEN.azure!), iso(OPEN.azure! + 3_600_000)]);
    expect(w.anthropic).toEqual(["2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z"]);
    // What ingest reported as added equals what the windows gained.
    const reported: Record<string, number> = { openai: 1, azure: 1 };
    for (const r of results)
      for (const [p, v] of Object.entries(r.provider_spend_added)) reported[p] = (reported[p] ?? 0) + v;
    expect(reported).toEqual(expected);
    // Logs of providers without a budget, and logs before a window, were left out.
    expect(Object.keys(got).sort()).toEqual(["anthropic", "azure", "openai"]);
    expect(all.some((l) => providerOf(l) === "openai" && spentAt(l) < OPEN.openai!)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------
describe(`error logs through the same path (${testEngine()})`, () => {
  it("concurrent overlapping batches: error rollups equal a brute-force count of the stored rows", async () => {
    const r = rng(99);
    const pool = Array.from({ length: 400 }, (_, i) => ({
      request_id: `ex-${String(i).padStart(4, "0")}`,
      startTime: iso(NOW_MS - Math.floor(r() * 2 * 86_400_000)),
      model_group: pick(r, ["gpt-4o", "claude"]),
      api_base: pick(r, ["https://a", "https://b"]),
      exception_type: "RateLimitError",
      status_code: pick(r, [429, "429", 500, "503"]),
    }));
    const batches = Array.from({ length: 8 }, (_, b) => {
      const part = Array.from({ length: 120 }, (_, j) => pool[(b * 50 + j) % pool.length]!);
      return [...part, part[3]!, { ...part[5]!, status_code: "418" }];
    });
    const rs = await Promise.all(batches.map((logs) => ingestErrorLogs(t.db, ALL, { logs })));
    const storedIds = new Set(batches.flat().map((x) => x.request_id));
    expect(rs.reduce((s, x) => s + x.inserted, 0)).toBe(storedIds.size);
    expect(rs.every((x) => x.invalid.length === 0)).toBe(true);
    expect(rs.flatMap((x) => x.conflicts.map((c) => c.fields))).toEqual(
      rs.flatMap((x) => x.conflicts.map(() => ["status_code"])),
    );
    const db = await sql<{ request_id: string; status_code: string }>`SELECT request_id, status_code
      FROM "LiteLLM_ErrorLogs" WHERE request_id LIKE 'ex-%'`.execute(t.db);
    expect(db.rows.length).toBe(storedIds.size);
    const byId = new Map(pool.map((p) => [p.request_id, p]));
    const rows = db.rows.map((x) => ({ ...byId.get(x.request_id)!, status_code: x.status_code }));
    // The stored status is the pool's or the conflicting "418" of whichever batch came first.
    for (const x of rows)
      expect([String(byId.get(x.request_id)!.status_code), "418"]).toContain(x.status_code);
    const got = await errorTotals(t.db, ALL, {
      window: { from: "2026-02-01T00:00:00.000Z", to: null },
      dims: ["day", "model_group", "status_code"],
      filters: { exception_type: "RateLimitError" },
    });
    const key = (d: string | null | undefined, g: string | null | undefined, s: string | null | undefined) =>
      `${d}|${g}|${s}`;
    expect(new Map(got.map((x) => [key(x.day, x.model_group, x.status_code), x.errors]))).toEqual(
      sumBy(
        rows,
        (x) => key(x.startTime.slice(0, 10), x.model_group, x.status_code),
        () => 1,
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------------
describe(`text Postgres cannot store (${testEngine()})`, () => {
  it("is reported per row, naming the field, and the other rows are stored", async () => {
    const base = {
      api_key: "hashed-nul",
      spend: 0.25,
      startTime: "2026-03-02T09:00:00Z",
      model: "mistral-large-latest",
    };
    const r = await ingestSpendLogs(
      t.db,
      ALL,
      {
        logs: [
          { ...base, request_id: "nul-ok-1", metadata: { note: "emoji \ud83d\ude00 is fine" } },
          { ...base, request_id: "nul-user", user: "a\u0000b" },
          { ...base, request_id: "nul-meta", metadata: { deep: { list: ["x", "bad\u0000"] } } },
          { ...base, request_id: "nul-surrogate", request_tags: ["ok", "half \ud800"] },
          { ...base, request_id: "nul-ok-2", request_tags: ["back\\u0000slash"] },
        ],
      },
      config,
    );
    expect(r.inserted).toBe(2);
    expect(r.invalid.map((x) => [x.index, x.request_id, x.field])).toEqual([
      [1, "nul-user", "user"],
      [2, "nul-meta", "metadata.deep.list.1"],
      [3, "nul-surrogate", "request_tags.1"],
    ]);
    expect(r.invalid[0]!.reason).toBe(
      "user: must not contain a NUL character or an unpaired UTF-16 surrogate",
    );
    const stored = await sql<{
      request_id: string;
      metadata: unknown;
      request_tags: unknown;
    }>`SELECT request_id,
        metadata, request_tags FROM "LiteLLM_SpendLogs" WHERE request_id LIKE 'nul-%' ORDER BY request_id`.execute(
      t.db,
    );
    expect(stored.rows).toEqual([
      { request_id: "nul-ok-1", metadata: { note: "emoji \ud83d\ude00 is fine" }, request_tags: [] },
      { request_id: "nul-ok-2", metadata: {}, request_tags: ["back\\u0000slash"] },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------
describe(`provider windows in SQL equal the JS reference (${testEngine()})`, () => {
  class Rollback extends Error {
    constructor(readonly value: unknown) {
      super("rollback");
    }
  }
  async function inRollback<T>(fn: (trx: typeof t.db) => Promise<T>): Promise<T> {
    try {
      await t.db.transaction().execute(async (trx) => {
        throw new Rollback(await fn(trx));
      });
    } catch (e) {
      if (e instanceof Rollback) return e.value as T;
      throw e;
    }
    throw new Error("unreachable");
  }
  const windowsOf = async (db: typeof t.db, providers: string[]) =>
    (
      await sql<
        WindowRow & { updated_at: string }
      >`SELECT provider, time_period, window_kind, window_start, window_end, spend, updated_at
      FROM spendlens.provider_budget_windows WHERE provider = ANY(${providers}::text[]) ORDER BY provider`.execute(
        db,
      )
    ).rows;

  it("on random window states, periods and spend times (400 providers)", async () => {
    const r = rng(2026);
    const periods = ["30m", "1h", "6h", "1d", "1w", "1mo", "2mo"];
    const budgets: SpendlensConfig["providerBudgets"] = {};
    const existing: {
      provider: string;
      tp: string;
      kind: string;
      start: string | null;
      end: string | null;
      spend: number;
    }[] = [];
    const items: { provider: string; spend: number; at: string }[] = [];
    for (let n = 0; n < 400; n++) {
      const provider = `prov-${n}`;
      const tp = pick(r, periods);
      const kind = r() < 0.4 ? "calendar" : "rolling";
      budgets[provider] = {
        budget_limit: 10,
        time_period: tp,
        ...(kind === "calendar" ? { window: "calendar" as const } : {}),
      };
      // 0: no row; 1: live; 2: ended; 3: another time_period; 4: another kind; 5: never opened.
      const state = Math.floor(r() * 6);
      if (state > 0) {
        const start = NOW_MS - Math.floor(r() * 40 * 86_400_000);
        const end =
          state === 2
            ? start + Math.floor(r() * (NOW_MS - start))
            : NOW_MS + 1 + Math.floor(r() * 10 * 86_400_000);
        existing.push({
          provider,
          tp: state === 3 ? (tp === "1d" ? "1h" : "1d") : tp,
          kind: state === 4 ? (kind === "calendar" ? "rolling" : "calendar") : kind,
          start: state === 5 ? null : iso(start),
          end: state === 5 ? null : iso(end),
          spend: Math.floor(r() * 64) / 8,
        });
      }
      const k = Math.floor(r() * 6);
      for (let j = 0; j < k; j++) {
        const at = NOW_MS - Math.floor(r() ** 2 * 70 * 86_400_000) + (r() < 0.1 ? 600_000 : 0);
        items.push({ provider, spend: r() < 0.1 ? 0 : Math.floor(r() * 64) / 16, at: iso(at) });
      }
    }
    const cfg = { providerBudgets: budgets } as Pick<SpendlensConfig, "providerBudgets">;
    const providers = Object.keys(budgets);
    const seed = async (db: typeof t.db) => {
      for (const e of existing) {
        await sql`INSERT INTO spendlens.provider_budget_windows
          (provider, time_period, window_kind, window_start, window_end, spend, updated_at)
          VALUES (${e.provider}, ${e.tp}, ${e.kind}, ${e.start}::timestamp(3), ${e.end}::timestamp(3), ${e.spend},
            '2020-01-01T00:00:00Z'::timestamp(3))`.execute(db);
      }
    };
    const js = await inRollback(async (trx) => {
      await seed(trx);
      const added = await addProviderSpend(trx, cfg, items);
      return { added, rows: await windowsOf(trx, providers) };
    });
    const viaSql = await inRollback(async (trx) => {
      await seed(trx);
      const ids = items.map((_, i) => `pi-${i}`);
      const ctes = providerWindowCtes(
        cfg,
        items.map((x) => x.provider),
        NOW_MS,
      );
      const res = await sql<{ windows: string }>`WITH
        v AS (SELECT * FROM unnest(${ids}::text[], ${items.map((x) => x.provider)}::text[],
          ${items.map((_, i) => i)}::int4[]) AS v(request_id, p, i)),
        ins AS (SELECT * FROM unnest(${ids}::text[], ${items.map((x) => x.spend)}::float8[],
          ${items.map((x) => x.at)}::timestamp(3)[]) AS i(request_id, spend, "endTime")),
        ${sql.join(ctes.map(([name, body]) => sql`${sql.ref(name)} AS (${body})`))}
        SELECT coalesce(json_agg(json_build_array(pw.provider, pw.added, pw.items)), '[]'::json)::text AS windows
        FROM pw`.execute(trx);
      const added: Record<string, number> = {};
      const windows = JSON.parse(res.rows[0]!.windows) as [string, number, number[] | null][];
      for (const [p, v, counted] of windows) {
        if (v > 0) added[p] = v;
        // The rows each window counted (what group commit splits among its callers) add up to `added`,
        // and are the provider's own (spends are sixteenths: exact in any order).
        expect((counted ?? []).every((i) => items[i]!.provider === p)).toBe(true);
        expect((counted ?? []).reduce((s, i) => s + items[i]!.spend, 0)).toBe(v);
      }
      return { added, rows: await windowsOf(trx, providers) };
    });
    // Same windows; updated_at only where spend was added (a new empty row takes the database clock).
    const norm = (rows: typeof js.rows) =>
      rows.map((x) => ({ ...x, updated_at: x.updated_at === NOW.toISOString() ? "now" : "other" }));
    expect(norm(viaSql.rows)).toEqual(norm(js.rows));
    expect(viaSql.added).toEqual(js.added);
    // The scenarios exercised every branch.
    const before = new Map(existing.map((e) => [e.provider, e]));
    const after = new Map(js.rows.map((x) => [x.provider, x]));
    let kept = 0;
    let reopened = 0;
    let opened = 0;
    for (const p of Object.keys(js.added)) {
      const b = before.get(p);
      const a = after.get(p)!;
      if (!b) opened++;
      else if (b.start === a.window_start) kept++;
      else reopened++;
    }
    expect(kept).toBeGreaterThan(5);
    expect(reopened).toBeGreaterThan(5);
    expect(opened).toBeGreaterThan(5);
  }, 120_000);
});
