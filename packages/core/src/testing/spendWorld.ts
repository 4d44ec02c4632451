import { createHash } from "node:crypto";
import { sql } from "kysely";
import type { Db } from "../db/connect.ts";
import type { DemoLog } from "../demo/generate.ts";
import { insertLogs, makeLog } from "./logs.ts";

/**
 * A small world written by the test itself, and the brute-force answers computed from the same rows
 * in plain JS (never through the code under test). Spend values are multiples of 1/64, so float sums
 * are exact in any order and the tests can use toBe.
 *
 * The clock is pinned to NOW = 2026-03-15 10:00 UTC, so "the last 30 days" starts at
 * WINDOW_START = 2026-02-13 00:00:00.000 UTC.
 */
export const NOW = new Date("2026-03-15T10:00:00.000Z");
export const WINDOW_START = "2026-02-13T00:00:00.000Z";

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

export const RAW_KEYS = ["sk-test-alpha", "sk-test-bravo", "sk-test-charlie", "sk-test-delta"];
export const KEYS = RAW_KEYS.map((raw, i) => ({
  raw,
  token: sha256(raw),
  key_alias: `alias-${i}`,
  key_name: `sk-...${i}`,
  user_id: ["alice", "alice", "bob", "carol"][i]!,
  spend: [(i + 1) * 1.5, 40, 0.25, 7][i]!,
}));
/** A key that appears in logs but not in LiteLLM_VerificationToken. */
export const ORPHAN_KEY = sha256("sk-test-orphan");

export const USERS = [
  { user_id: "alice", user_role: "internal_user", spend: 12.5, password: "hash-a" },
  { user_id: "bob", user_role: "internal_user", spend: 99, password: "hash-b" },
  { user_id: "carol", user_role: "proxy_admin", spend: 0.5, password: "hash-c" },
  { user_id: "dave", user_role: "internal_user_viewer", spend: 3, password: null },
];

/** 12 teams with aliases (so the top 10 cut matters), one without alias. */
export const TEAMS = [
  ...Array.from({ length: 12 }, (_, i) => ({
    team_id: `team${String(i).padStart(2, "0")}`,
    team_alias: `Team${String.fromCharCode(65 + i)}`,
    spend: i + 0.5,
  })),
  { team_id: "teamnoalias", team_alias: null, spend: 2 },
];

export const END_USERS = [
  { user_id: "eu1", spend: 4 },
  { user_id: "eu2", spend: 5 },
];

export const LOG_USERS = ["alice", "bob", "carol", ""];
export const MODELS = ["gpt-4o", "claude-3-5-sonnet", "gemini-pro", ""];
export const TEAM_IDS: (string | null)[] = [...TEAMS.map((t) => t.team_id), null, "teammissing"];
export const END_USER_IDS: (string | null)[] = ["eu1", "eu2", "eu3", "eu4", null, ""];

/** A deterministic LCG, independent of the code under test. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Logs from 2026-02-05 to 2026-03-16 (past NOW), plus the window-edge rows. */
export function buildLogs(n = 400): DemoLog[] {
  const rnd = lcg(12345);
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)]!;
  const base = Date.parse("2026-02-05T00:00:00.000Z");
  const span = Date.parse("2026-03-16T12:00:00.000Z") - base;
  const logs: DemoLog[] = [];
  for (let i = 0; i < n; i++) {
    const key = rnd() < 0.1 ? ORPHAN_KEY : pick(KEYS).token;
    // Some logs share a start time exactly, to test the tie order on request_id.
    const t =
      i % 25 === 0 && i > 0
        ? logs[i - 1]!.startTime
        : new Date(base + Math.floor(rnd() * span)).toISOString();
    const prompt = Math.floor(rnd() * 500);
    const completion = Math.floor(rnd() * 300);
    logs.push(
      makeLog({
        request_id: `req${String(i).padStart(5, "0")}`,
        startTime: t,
        api_key: key,
        user: pick(LOG_USERS),
        model: pick(MODELS),
        team_id: pick(TEAM_IDS),
        end_user: pick(END_USER_IDS),
        spend: Math.floor(rnd() * 640) / 64,
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
      }),
    );
  }
  // The first instant inside the 30-day window, and the last one outside it.
  logs.push(
    makeLog({
      request_id: "edgein",
      startTime: WINDOW_START,
      api_key: KEYS[0]!.token,
      user: "alice",
      model: "gpt-4o",
      team_id: "team00",
      end_user: "eu1",
      spend: 1.25,
      total_tokens: 10,
    }),
    makeLog({
      request_id: "edgeout",
      startTime: "2026-02-12T23:59:59.999Z",
      api_key: KEYS[0]!.token,
      user: "alice",
      model: "gpt-4o",
      team_id: "team00",
      end_user: "eu1",
      spend: 100,
      total_tokens: 1000,
    }),
  );
  return logs;
}

/** Writes keys, users, teams, end users and logs. The entity spend values are fixed (not log sums). */
export async function writeWorld(db: Db, logs: DemoLog[]): Promise<void> {
  for (const k of KEYS) {
    await sql`INSERT INTO "LiteLLM_VerificationToken" (token, key_alias, key_name, user_id, spend)
      VALUES (${k.token}, ${k.key_alias}, ${k.key_name}, ${k.user_id}, ${k.spend})`.execute(db);
  }
  for (const u of USERS) {
    await sql`INSERT INTO "LiteLLM_UserTable" (user_id, user_role, spend, password)
      VALUES (${u.user_id}, ${u.user_role}, ${u.spend}, ${u.password})`.execute(db);
  }
  for (const t of TEAMS) {
    await sql`INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, spend)
      VALUES (${t.team_id}, ${t.team_alias}, ${t.spend})`.execute(db);
  }
  for (const e of END_USERS) {
    await sql`INSERT INTO "LiteLLM_EndUserTable" (user_id, spend) VALUES (${e.user_id}, ${e.spend})`.execute(
      db,
    );
  }
  await insertLogs(db, logs);
}

// ---- brute force over the rows the test wrote ----

export const ms = (iso: string) => Date.parse(iso);
export const dayOf = (iso: string) => iso.slice(0, 10);
export const inWindow = (l: DemoLog) => ms(l.startTime) >= ms(WINDOW_START);
export const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function sumBy<T>(rows: T[], key: (r: T) => string, val: (r: T) => number): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) m.set(key(r), (m.get(key(r)) ?? 0) + val(r));
  return m;
}

/** The spend of `rows` summed per `key`. */
export const spendBy = <T extends { spend: number }>(rows: T[], key: (r: T) => string): Map<string, number> =>
  sumBy(rows, key, (r) => r.spend);

/** Newest first, ties by request_id descending. */
export const newestFirst = (a: DemoLog, b: DemoLog) =>
  ms(b.startTime) - ms(a.startTime) || cmp(b.request_id, a.request_id);
