import { createHash } from "node:crypto";
import type { Db } from "../db/connect.ts";
import { prng } from "../demo/generate.ts";
import { insertLogs, makeLog } from "./logs.ts";

/**
 * Rows for the analytics tests (core, and the server's and CLI's one case per route) and a brute-force
 * aggregation over them, written independently of the code under test (the demo generator's PRNG picks
 * the rows): buckets come from Intl's own formatting of each log's instant (`longOffset`), not
 * from analytics/zones.ts.
 */

export interface ALog {
  request_id: string;
  startTime: string;
  spend: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  api_key: string;
  user: string;
  team_id: string | null;
  organization_id: string | null;
  end_user: string | null;
  model: string;
  model_group: string;
  custom_llm_provider: string;
  api_base: string;
  request_tags: string;
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
export const KEYS = { a: sha("sk-analytics-a"), b: sha("sk-analytics-b"), c: sha("sk-analytics-c") };

const TAGS = ["[]", '["x"]', '["x","y"]', '["y","z","w"]', '{"not":"an array"}', '"x"', "5", '["z"]'];

/**
 * `n` random logs between `from` and `to` (ISO), plus logs on the edges that matter: the Paris DST
 * change (2026-03-29 01:00Z), Kolkata midnights (18:30Z), UTC midnights, month and week edges.
 */
export function makeAnalyticsLogs(
  n: number,
  seed = 7,
  from = "2026-02-20T00:00:00Z",
  to = "2026-04-10T00:00:00Z",
) {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const lo = Date.parse(from);
  const span = Date.parse(to) - lo;
  const edges = [
    "2026-03-28T22:59:59.999Z",
    "2026-03-28T23:00:00.000Z",
    "2026-03-29T00:30:00.000Z",
    "2026-03-29T00:59:59.999Z",
    "2026-03-29T01:00:00.000Z",
    "2026-03-29T01:00:00.000Z",
    "2026-03-29T01:59:59.999Z",
    "2026-03-29T21:59:59.999Z",
    "2026-03-29T22:00:00.000Z",
    "2026-03-28T18:29:59.999Z",
    "2026-03-28T18:30:00.000Z",
    "2026-03-01T00:00:00.000Z",
    "2026-02-28T23:59:59.999Z",
    "2026-03-22T23:59:59.999Z",
    "2026-03-23T00:00:00.000Z",
    "2026-03-31T22:00:00.000Z",
    "2026-03-31T21:59:59.999Z",
  ];
  const times = [
    ...edges,
    ...Array.from({ length: n }, () => new Date(lo + Math.floor(rnd() * span)).toISOString()),
  ];
  return times.map((startTime, i): ALog => {
    const prompt = Math.floor(rnd() * 1000);
    const completion = Math.floor(rnd() * 500);
    return {
      request_id: `an-${seed}-${i}`,
      startTime,
      spend: Math.round(rnd() * 1e6) / 1e5,
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      api_key: pick([KEYS.a, KEYS.b, KEYS.c]),
      user: pick(["alice", "bob", "carol", ""]),
      team_id: pick(["t1", "t2", null]),
      organization_id: i % 2 ? pick(["o1", "o2", null]) : null,
      end_user: pick(["e1", "e2", null]),
      model: pick(["gpt-4o", "claude-3", "mistral-large"]),
      model_group: pick(["g1", "g2", "g3"]),
      custom_llm_provider: pick(["openai", "anthropic", ""]),
      api_base: pick(["https://a", "https://b"]),
      request_tags: pick(TAGS),
    };
  });
}

/** Even rows through the test helper insertLogs, odd rows by a plain INSERT (with organization_id). */
export async function writeAnalyticsLogs(db: Db, logs: ALog[]): Promise<void> {
  await insertLogs(
    db,
    logs
      .filter((_, i) => i % 2 === 0)
      .map(({ organization_id: _o, ...l }) => makeLog({ ...l, endTime: l.startTime })),
  );
  const odd = logs.filter((_, i) => i % 2 === 1);
  for (let i = 0; i < odd.length; i += 500) {
    await db
      .insertInto("LiteLLM_SpendLogs")
      .values(
        odd.slice(i, i + 500).map((l) => ({
          ...l,
          endTime: l.startTime,
          model_id: "",
          request_tags: l.request_tags,
        })),
      )
      .execute();
  }
}

export type Unit = "hour" | "day" | "week" | "month";
export const DIM_COL: Record<string, keyof ALog> = {
  api_key: "api_key",
  user: "user",
  team: "team_id",
  organization: "organization_id",
  end_user: "end_user",
  model: "model",
  model_group: "model_group",
  provider: "custom_llm_provider",
  api_base: "api_base",
};

/** Intl's view of an instant in a zone: local date, hour and offset (e.g. "+05:30"). */
export function localOf(tz: string, ms: number) {
  const f = new Intl.DateTimeFormat("en-US", {
    timeZone: tz,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    hourCycle: "h23",
    timeZoneName: "longOffset",
  });
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const off = p.timeZoneName === "GMT" ? "+00:00" : p.timeZoneName!.replace("GMT", "");
  return { date: `${p.year}-${p.month}-${p.day}`, hour: p.hour!, off };
}

/** The label a log's instant gets for a bucket unit in a zone. */
export function labelOf(unit: Unit, tz: string, ms: number): string {
  const l = localOf(tz, ms);
  if (unit === "hour") return `${l.date}T${l.hour}:00:00${l.off}`;
  if (unit === "day") return l.date;
  if (unit === "month") return `${l.date.slice(0, 8)}01`;
  const d = new Date(`${l.date}T00:00:00Z`);
  return new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * 86_400_000).toISOString().slice(0, 10);
}

export interface BruteQuery {
  dims: string[];
  bucket?: Unit;
  tz?: string;
  /** UTC window [from, to). */
  from: string;
  to: string;
  filters?: Record<string, (string | null)[]>;
  attribution?: "split" | "full";
  /** An internal user's scope. */
  user?: string;
}

export interface Measures {
  requests: number;
  spend: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

const keyOf = (parts: (string | null)[]) => parts.map((p) => (p === null ? "∅" : p)).join("|");

/** Groups → measures, by brute force over the logs. Keys: bucket label then dims, joined with "|". */
export function brute(logs: ALog[], q: BruteQuery): Map<string, Measures> {
  const out = new Map<string, Measures>();
  const lo = Date.parse(q.from);
  const hi = Date.parse(q.to);
  const tagQuery = q.dims.includes("tag") || q.filters?.tag !== undefined;
  for (const l of logs) {
    const t = Date.parse(l.startTime);
    if (t < lo || t >= hi) continue;
    if (q.user !== undefined && l.user !== q.user) continue;
    let ok = true;
    for (const [d, vals] of Object.entries(q.filters ?? {})) {
      if (d === "tag") continue;
      if (!vals.includes(l[DIM_COL[d]!] as string | null)) ok = false;
    }
    if (!ok) continue;
    const parsed: unknown = JSON.parse(l.request_tags);
    const tags = Array.isArray(parsed) ? (parsed as string[]) : [];
    const elems: (string | null)[] = tagQuery ? tags : [null];
    for (const tag of elems) {
      if (q.filters?.tag && !q.filters.tag.includes(tag)) continue;
      const share = tagQuery && (q.attribution ?? "split") === "split" ? l.spend / tags.length : l.spend;
      const parts: (string | null)[] = [];
      if (q.bucket) parts.push(labelOf(q.bucket, q.tz ?? "UTC", t));
      for (const d of q.dims) parts.push(d === "tag" ? tag : (l[DIM_COL[d]!] as string | null));
      const k = keyOf(parts);
      const m = out.get(k) ?? {
        requests: 0,
        spend: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        total_tokens: 0,
      };
      m.requests += 1;
      m.spend += share;
      m.prompt_tokens += l.prompt_tokens;
      m.completion_tokens += l.completion_tokens;
      m.total_tokens += l.total_tokens;
      out.set(k, m);
    }
  }
  return out;
}

/** The same keys from an answer's rows. */
export function keyedRows(
  rows: Record<string, unknown>[],
  dims: string[],
  bucket?: Unit,
): Map<string, Measures> {
  const out = new Map<string, Measures>();
  for (const r of rows) {
    const parts: (string | null)[] = [];
    if (bucket) parts.push(r[bucket] as string);
    for (const d of dims) parts.push(r[d] as string | null);
    const k = keyOf(parts);
    if (out.has(k)) throw new Error(`duplicate group ${k}`);
    out.set(k, {
      requests: r.requests as number,
      spend: r.spend as number,
      prompt_tokens: r.prompt_tokens as number,
      completion_tokens: r.completion_tokens as number,
      total_tokens: r.total_tokens as number,
    });
  }
  return out;
}
