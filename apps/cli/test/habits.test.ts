import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { SPEND_REPORT_CSV_COLUMNS } from "@spendlens/api";
import { buildWorld, generateLogs } from "@spendlens/core/demo";
import { daysAgo, hashToken, insertLogs, makeLog, testRunId } from "@spendlens/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, runCli, serveCliDb, useCliDb } from "./harness.ts";

/**
 * The CLI's shell habits, each on the real binary: required options, compact tables that fit the
 * width, `| head`, cursors in --csv, CSV flattened as REST flattens it, seed through a server, and
 * shell completion.
 */
const MASTER = "sk-master-cli-habits";
const KEYS = ["sk-habit-0", "sk-habit-1", "sk-habit-2"].map(hashToken);
const SLOW = 400_000;

/** 1200 recent logs for alice (enough that `spend-logs --json` overflows a pipe's buffer). */
const bulk = Array.from({ length: 1200 }, (_, i) =>
  makeLog({
    request_id: `habit-${String(i).padStart(4, "0")}`,
    startTime: `${daysAgo(1 + (i % 20))}T${String(i % 24).padStart(2, "0")}:00:00.000Z`,
    user: "alice",
    api_key: KEYS[i % 3]!,
    model: i % 2 ? "gpt-4o" : "claude-3-haiku",
    spend: 0.25,
    prompt_tokens: 10,
    completion_tokens: 2,
  }),
);
/** A window of its own for the spend report: 2026-01-10 and 11. */
const reportLogs = [
  ["r1", "2026-01-10T09:00:00.000Z", "t1", KEYS[0]!, "gpt-4o", 1.5],
  ["r2", "2026-01-10T10:00:00.000Z", "t1", KEYS[1]!, "gpt-4o", 0.5],
  ["r3", "2026-01-10T11:00:00.000Z", "t1", KEYS[1]!, "claude-3-haiku", 0.25],
  ["r4", "2026-01-11T12:00:00.000Z", null, KEYS[2]!, "gpt-4o", 2],
].map(([request_id, startTime, team_id, api_key, model, spend]) =>
  makeLog({
    request_id: request_id as string,
    startTime: startTime as string,
    team_id: team_id as string | null,
    api_key: api_key as string,
    model: model as string,
    spend: spend as number,
    user: "bob",
    prompt_tokens: 4,
    completion_tokens: 4,
  }),
);

const h = useCliDb({
  users: [{ user_id: "alice" }, { user_id: "bob" }],
  teams: [{ team_id: "t1", team_alias: "Team One" }],
  keys: KEYS.map((_, i) => ({ raw: `sk-habit-${i}`, user_id: "alice", key_alias: `habit-${i}` })),
  setup: (t) => insertLogs(t.db, [...bulk, ...reportLogs]),
  timeout: 120_000,
});
const cli = (args: string[], env?: Record<string, string>) => runCli(args, env ? { env } : {});
const run = promisify(execFile);

/** CSV whose values hold no comma or quote (true of these rows) as objects by header. */
function csvRows(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trimEnd().split("\n");
  const cols = header!.split(",");
  return lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [cols[i]!, v])));
}

describe("required options", () => {
  it(
    "--help marks them and the parser asks for them before anything runs",
    async () => {
      const help = await cli(["activity", "--help"]);
      expect(help.stdout).toMatch(/--start-date <day>\s+first day, YYYY-MM-DD \(UTC\) \(required\)/);
      expect(help.stdout).toMatch(/--end-date <day>\s+.*\(required\)/);
      // Optional where the procedure does without them.
      const logsHelp = await cli(["spend-logs", "--help"]);
      expect(logsHelp.stdout).not.toContain("(required)");
      const missing = await cli(["activity", "--end-date", "2026-01-02"]);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain("error: required option '--start-date <day>' not specified");
      expect(missing.stdout).toBe("");
    },
    SLOW,
  );
});

describe("tables", () => {
  it(
    "fit the width (COLUMNS), hashes shortened, no rule between rows; --wide shows them whole",
    async () => {
      const r = await cli([...h.t.cliArgs, "logs-page", "--limit", "5"], { COLUMNS: "90" });
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split("\n");
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(90);
      expect(lines.filter((l) => /^[─━┼│+\-=\s]+$/.test(l))).toEqual([]);
      expect(lines[0]).toMatch(/^request_id\s+startT\S*\s+api_key\s/);
      // header, 5 rows, then the page's fields
      expect(lines.slice(1, 6).every((l) => l.startsWith("habit-"))).toBe(true);
      expect(lines[6]).toMatch(/^next_cursor: \S+$/);
      expect(r.stdout).not.toMatch(/[0-9a-f]{64}/);
      expect(r.stdout).toMatch(/ [0-9a-f]{6,10}… /);

      const wide = await cli([...h.t.cliArgs, "--wide", "logs-page", "--limit", "5"], { COLUMNS: "90" });
      const wideKeys = wide.stdout.match(/[0-9a-f]{64}/g) ?? [];
      expect(wideKeys.length).toBe(5);
      for (const k of wideKeys) expect(KEYS).toContain(k);
    },
    SLOW,
  );
});

describe("pipes", () => {
  it(
    "`spendlens … | head` ends quietly: no EPIPE, no stack, exit 0 under pipefail",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), `spendlens-pipe-${testRunId()}-`));
      try {
        const err = join(dir, "stderr");
        const args = [...h.t.cliArgs, "--json", "spend-logs", "--user-id", "alice"]
          .map((a) => `'${a}'`)
          .join(" ");
        const r = await run(
          "bash",
          [
            "-c",
            `set -o pipefail; '${process.execPath}' '${BIN}' ${args} 2>'${err}' | head -c 200 >/dev/null`,
          ],
          { timeout: 240_000 },
        );
        expect(r.stderr).toBe("");
        expect(readFileSync(err, "utf8")).toBe("");
        // The answer really is bigger than a pipe holds (so the reader did leave early).
        const whole = await cli([...h.t.cliArgs, "--json", "spend-logs", "--user-id", "alice"]);
        expect(whole.stdout.length).toBeGreaterThan(256 * 1024);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    SLOW,
  );
});

/** The logs newest first, as the keyset pages give them (startTime, then request_id, descending). */
const newestFirst = [...bulk, ...reportLogs]
  .sort((a, b) => b.startTime.localeCompare(a.startTime) || b.request_id.localeCompare(a.request_id))
  .map((l) => l.request_id);

describe("cursors", () => {
  it(
    "--json and --csv carry next_cursor, and the CSV pages through",
    async () => {
      const j = await cli([...h.t.cliArgs, "--json", "logs-page", "--limit", "3"]);
      const page = JSON.parse(j.stdout);
      expect(page.data.map((r: { request_id: string }) => r.request_id)).toEqual(newestFirst.slice(0, 3));
      expect(page.next_cursor).toEqual(expect.any(String));

      const c = await cli([...h.t.cliArgs, "--csv", "logs-page", "--limit", "3"]);
      const rows = csvRows(c.stdout);
      expect(rows.map((r) => r.request_id)).toEqual(newestFirst.slice(0, 3));
      expect(new Set(rows.map((r) => r.next_cursor))).toEqual(new Set([page.next_cursor]));

      const next = await cli([
        ...h.t.cliArgs,
        "--csv",
        "logs-page",
        "--limit",
        "3",
        "--cursor",
        rows[0]!.next_cursor!,
      ]);
      const rows2 = csvRows(next.stdout);
      expect(rows2.map((r) => r.request_id)).toEqual(newestFirst.slice(3, 6));
    },
    SLOW,
  );
});

describe("CSV of nested answers", () => {
  const RANGE = ["--start-date", "2026-01-10", "--end-date", "2026-01-11"];
  // Brute force: one row per (day, team, model, key), the team's day total beside it.
  const teamOf = (t: string | null) => (t ? "Team One" : "Unassigned Team");
  const brute = () => {
    const leaves = new Map<
      string,
      { day: string; team: string; model: string; key: string; spend: number }
    >();
    for (const l of reportLogs) {
      const day = l.startTime.slice(0, 10);
      const id = [day, teamOf(l.team_id), l.model, l.api_key].join("|");
      const e = leaves.get(id) ?? { day, team: teamOf(l.team_id), model: l.model, key: l.api_key, spend: 0 };
      e.spend += l.spend;
      leaves.set(id, e);
    }
    const teamTotal = (day: string, team: string) =>
      [...leaves.values()].filter((e) => e.day === day && e.team === team).reduce((a, e) => a + e.spend, 0);
    return [...leaves.values()]
      .map((e) =>
        [e.day, e.team, String(teamTotal(e.day, e.team)), e.model, e.key, String(e.spend), "8"].join(","),
      )
      .sort();
  };

  it(
    "REST ?format=csv and the CLI (--url and in process) flatten the spend report the same way",
    async () => {
      const srv = await serveCliDb(h.t, MASTER);
      let rest: string;
      let viaUrl: string;
      try {
        const res = await fetch(
          `${srv.url}/global/spend/report?start_date=2026-01-10&end_date=2026-01-11&format=csv`,
          {
            headers: { authorization: `Bearer ${MASTER}` },
          },
        );
        rest = await res.text();
        viaUrl = (await cli(["--url", srv.url, "--key", MASTER, "--csv", "spend-report", ...RANGE])).stdout;
      } finally {
        await srv.close();
      }
      const local = (await cli([...h.t.cliArgs, "--csv", "spend-report", ...RANGE])).stdout;
      const [header, ...lines] = rest.trimEnd().split("\n");
      expect(header).toBe(SPEND_REPORT_CSV_COLUMNS.team.join(","));
      expect([...lines].sort()).toEqual(brute());
      expect(rest).not.toMatch(/[[{]/); // no JSON in any cell
      expect(viaUrl).toBe(rest);
      expect(local).toBe(rest);
    },
    SLOW,
  );
});

describe("seed through a server (--url)", () => {
  it(
    "writes through ingest, says how many logs were there before, and adds nothing twice",
    async () => {
      const srv = await serveCliDb(h.t, MASTER);
      try {
        const before = bulk.length + reportLogs.length;
        // What the CLI sends: the demo generator's rows for seed 42; ingest refuses a legacy tags shape.
        const sent = [...generateLogs(buildWorld({ seed: 42 }), 60, { seed: 42, days: 30 })];
        const refused = sent.filter(({ log }) => !Array.isArray(JSON.parse(log.request_tags))).length;
        const args = ["--url", srv.url, "--key", MASTER, "--json", "seed", "--logs", "60", "--days", "30"];
        const first = JSON.parse((await cli(args)).stdout);
        expect(first).toMatchObject({
          logs_before: before,
          logs_inserted: 60 - refused,
          logs_already_there: 0,
          logs_now: before + 60 - refused,
          invalid: refused,
          through: srv.url,
        });
        const again = JSON.parse((await cli(args)).stdout);
        expect(again).toMatchObject({
          logs_before: before + 60 - refused,
          logs_inserted: 0,
          logs_already_there: 60 - refused,
          logs_now: before + 60 - refused,
        });
        const migrate = await cli(["--url", srv.url, "--key", MASTER, "migrate"]);
        expect(migrate.code).toBe(0);
        expect(migrate.stdout).toMatch(
          /^migrate: nothing to do here: the server at \S+ brings its database up to date/,
        );
      } finally {
        await srv.close();
      }
    },
    SLOW,
  );
});

describe("shell completion", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `spendlens-completion-${testRunId()}-`));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** What bash completes for the words typed so far (the last one being completed). */
  async function bashComplete(script: string, words: string[]): Promise<string[]> {
    const file = join(dir, "spendlens.bash");
    writeFileSync(file, script);
    const arr = words.map((w) => `'${w}'`).join(" ");
    const r = await run("bash", [
      "-c",
      `source '${file}'; COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _spendlens; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ]);
    return r.stdout.split("\n").filter(Boolean);
  }

  it(
    "bash: commands, then each command's options, past global options with values",
    async () => {
      const r = await cli(["completion", "bash"]);
      expect(r.code).toBe(0);
      // Run as an executable (the way a shell or an npm bin shim starts it), its shebang gives node the
      // server's small young generation (`spendlens serve` run directly: BENCHMARKS.md, session 9's memory).
      expect(readFileSync(BIN, "utf8").split("\n", 1)[0]).toBe(
        "#!/usr/bin/env -S node --max-semi-space-size=4",
      );
      expect((await run(BIN, ["completion", "bash"])).stdout).toBe(r.stdout);
      // In the router's order; activity-failures has no CLI file of its own (derived from its procedure).
      expect(await bashComplete(r.stdout, ["spendlens", "activity-"])).toEqual([
        "activity-model",
        "activity-exceptions",
        "activity-exceptions-deployment",
        "activity-cache-hits",
        "activity-failures",
      ]);
      expect(await bashComplete(r.stdout, ["spendlens", "--url", "http://x", "activity", "--st"])).toEqual([
        "--start-date",
      ]);
      expect(await bashComplete(r.stdout, ["spendlens", "--w"])).toEqual(["--wide"]);
      expect(await bashComplete(r.stdout, ["spendlens", "completion", ""])).toEqual([
        "--help",
        "bash",
        "zsh",
      ]);
    },
    SLOW,
  );

  it(
    "zsh: a script zsh parses, naming every command; an unknown shell is refused",
    async () => {
      const r = await cli(["completion", "zsh"]);
      expect(r.stdout.startsWith("#compdef spendlens\n")).toBe(true);
      for (const c of ["global-spend", "activity", "spend-report", "seed", "migrate", "completion"])
        expect(r.stdout).toContain(`'${c}:`);
      expect(r.stdout).toContain("'--start-date[first day, YYYY-MM-DD (UTC) (required)]:start-date:'");
      const zsh = await run("bash", ["-c", "command -v zsh || true"]);
      if (zsh.stdout.trim()) {
        const file = join(dir, "_spendlens");
        writeFileSync(file, r.stdout);
        await run(zsh.stdout.trim(), ["-n", file]); // throws on a syntax error
      }
      const bad = await cli(["completion", "fish"]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('no completion for "fish"');
    },
    SLOW,
  );
});
