import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { toCsv } from "@spendlens/api";
import { seededLogs } from "@spendlens/api/testing";
import { createTestDb, hashToken, insertLogs, parseConfig, type TestDb } from "@spendlens/core/testing";
import { type RunningServer, startServer } from "@spendlens/server";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonArrayElements } from "../src/stream.ts";

/**
 * `spendlens spend-report --csv/--json` streams its rows (in process from the REST route called through the procedure, against a
 * server from the REST route's streamed body) and prints exactly what the whole answer would: rows
 * equal to a brute-force computation over the inserted logs, more (day, customer) rows than one
 * cursor chunk.
 */

const BIN = fileURLToPath(new URL("../bin/spendlens.mjs", import.meta.url));
const run = promisify(execFile);
async function cli(args: string[]) {
  try {
    const r = await run(process.execPath, [BIN, ...args], { timeout: 240_000, maxBuffer: 64 * 2 ** 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout: string; stderr: string };
    return { code: x.code ?? 1, stdout: x.stdout, stderr: x.stderr };
  }
}

const MASTER = "sk-master-cli-stream";
const RANGE = ["--start-date", "2026-07-01", "--end-date", "2026-07-20"];
const KEYS = [hashToken("sk-c1"), hashToken("sk-c2"), "k3"];
const logs = seededLogs(31, "2026-06-30", 22, 60, ({ rnd, pick, at }) => {
  const p = Math.floor(rnd() * 100);
  return {
    startTime: at(),
    api_key: pick(KEYS),
    end_user: pick([...Array.from({ length: 35 }, (_, j) => `u${j}`), null]),
    model: pick(["gpt-4o", "claude"]),
    spend: Math.floor(rnd() * 256) / 128,
    prompt_tokens: p,
    completion_tokens: 3,
    total_tokens: p + 3,
  };
});
const win = logs.filter((l) => l.startTime >= "2026-07-01T" && l.startTime < "2026-07-21T");
const cmp = (a: string | null, b: string | null) =>
  a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1;

/** The customer report flattened to rows (day, customer, model, api_key, spend, total_tokens), by hand. */
function bruteRows() {
  const leaf = new Map<string, { spend: number; total_tokens: number }>();
  for (const l of win) {
    const k = JSON.stringify([l.startTime.slice(0, 10), l.end_user, l.model, l.api_key]);
    const m = leaf.get(k) ?? { spend: 0, total_tokens: 0 };
    m.spend += l.spend;
    m.total_tokens += l.total_tokens;
    leaf.set(k, m);
  }
  const rows = [...leaf.entries()].map(([k, v]) => {
    const [day, customer, model, api_key] = JSON.parse(k) as [string, string | null, string, string];
    return { day, customer, model, api_key, spend: v.spend, total_tokens: v.total_tokens };
  });
  const total = new Map<string, number>();
  for (const r of rows) {
    const g = JSON.stringify([r.day, r.customer]);
    total.set(g, (total.get(g) ?? 0) + r.spend);
  }
  const tot = (r: (typeof rows)[number]) => total.get(JSON.stringify([r.day, r.customer]))!;
  // As the CLI and REST CSV flatten the report: the customer's day total beside each leaf.
  return rows
    .sort(
      (a, b) =>
        cmp(a.day, b.day) ||
        tot(b) - tot(a) ||
        cmp(a.customer, b.customer) ||
        b.spend - a.spend ||
        cmp(a.model, b.model) ||
        cmp(a.api_key, b.api_key),
    )
    .map((r) => ({
      group_by_day: r.day,
      customer: r.customer,
      total_spend: tot(r),
      model: r.model,
      api_key: r.api_key,
      spend: r.spend,
      total_tokens: r.total_tokens,
    }));
}

let t: TestDb;
let srv: RunningServer | null = null;
beforeAll(async () => {
  t = await createTestDb({ onDisk: true });
  await insertLogs(t.db, logs);
  srv = await startServer({
    services: { db: t.db, handle: t, config: parseConfig(""), masterKey: MASTER },
    port: 0,
    logger: pino({ level: "silent" }),
  });
}, 120_000);
afterAll(async () => {
  await srv?.close();
  await t?.drop();
});

describe("spend-report, streamed", () => {
  it("the data has more (day, customer) rows than one cursor chunk (500)", () => {
    const groups = new Set(bruteRows().map((r) => JSON.stringify([r.group_by_day, r.customer])));
    expect(groups.size).toBeGreaterThan(500);
  });

  it("against a server (--url): --json and --csv print the brute-force rows", async () => {
    const base = ["--url", srv!.url, "--key", MASTER];
    const j = await cli([...base, "--json", "spend-report", ...RANGE, "--group-by", "customer"]);
    expect(j.stderr).toBe("");
    expect(j.stdout).toBe(`${JSON.stringify(bruteRows(), null, 2)}\n`);
    const c = await cli([...base, "--csv", "spend-report", ...RANGE, "--group-by", "customer"]);
    expect(c.stdout).toBe(toCsv(bruteRows()));
    // Errors read as for every command (the whole path answers them).
    const bad = await cli([...base, "--json", "spend-report", ...RANGE, "--group-by", "nope"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/group_by/);
  }, 600_000);

  it("against a server (--url): the whole answer through tRPC's streamed link (call, table) equals the brute force", async () => {
    const base = ["--url", srv!.url, "--key", MASTER];
    const input = { start_date: RANGE[1], end_date: RANGE[3], group_by: "customer" };
    const r = await cli([...base, "--json", "call", "reports.spendReport", JSON.stringify(input)]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as {
      group_by: string;
      data: {
        group_by_day: string;
        customers: {
          customer: string | null;
          total_spend: number;
          metadata: { model: string; api_key: string; spend: number; total_tokens: number }[];
        }[];
      }[];
    };
    expect(out.group_by).toBe("customer");
    const rows = out.data.flatMap((d) =>
      d.customers.flatMap((c) =>
        c.metadata.map((m) => ({
          group_by_day: d.group_by_day,
          customer: c.customer,
          total_spend: c.total_spend,
          model: m.model,
          api_key: m.api_key,
          spend: m.spend,
          total_tokens: m.total_tokens,
        })),
      ),
    );
    expect(rows).toEqual(bruteRows());
    // The table (no --json; --wide: hashes whole) is built from the same whole answer.
    const table = await cli([...base, "--wide", "spend-report", ...RANGE, "--group-by", "customer"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(bruteRows()[0]!.api_key);
  }, 600_000);

  it("in process: --json and --csv print the same rows", async () => {
    await srv?.close();
    srv = null;
    if (t.engine === "pglite") await t.close(); // PGlite: one process at a time
    const j = await cli([...t.cliArgs, "--json", "spend-report", ...RANGE, "--group-by", "customer"]);
    expect(j.stderr).toBe("");
    expect(j.stdout).toBe(`${JSON.stringify(bruteRows(), null, 2)}\n`);
    const c = await cli([...t.cliArgs, "--csv", "spend-report", ...RANGE, "--group-by", "customer"]);
    expect(c.stdout).toBe(toCsv(bruteRows()));
    const empty = await cli([
      ...t.cliArgs,
      "--json",
      "spend-report",
      "--start-date",
      "2025-01-01",
      "--end-date",
      "2025-01-02",
    ]);
    expect(empty.stdout).toBe("[]\n");
  }, 600_000);
});

describe("jsonArrayElements", () => {
  async function* chunks(s: string, n: number) {
    const b = new TextEncoder().encode(s);
    for (let i = 0; i < b.length; i += n) yield b.slice(i, i + n);
  }
  it("splits a streamed JSON array into its elements across any chunk boundary", async () => {
    const value = [{ a: 'x,]}\\"y', b: [1, { c: "é\u{1F600}" }] }, [1, [2]], "s,]", true, null, -1.5e3, {}];
    const text = ` ${JSON.stringify(value)} `;
    for (const n of [1, 2, 3, 5, 4096]) {
      const got: unknown[] = [];
      for await (const e of jsonArrayElements(chunks(text, n))) got.push(e);
      expect(got).toEqual(value);
    }
  });
  it("a body cut short is an error, not a short answer", async () => {
    for (const bad of ['[{"a":1},', '[{"a":1}', ""]) {
      const read = async () => {
        for await (const _ of jsonArrayElements(chunks(bad, 2))) {
          // drain
        }
      };
      await expect(read()).rejects.toThrow(/cut short/);
    }
  });
});
