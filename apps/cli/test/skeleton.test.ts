import { daysAgo, insertLogs, makeLog } from "@spendlens/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, serveCliDb, useCliDb } from "./harness.ts";

const MASTER = "sk-master-cli-test";

// The CLI runs in its own process with the real clock: the logs sit well inside and outside the window.
const logs = [
  makeLog({ startTime: `${daysAgo(2)}T08:00:00.000Z`, spend: 1.5, user: "alice" }),
  makeLog({ startTime: `${daysAgo(10)}T23:59:59.999Z`, spend: 2.25, user: "bob" }),
  makeLog({ startTime: `${daysAgo(45)}T12:00:00.000Z`, spend: 500, user: "bob" }),
];
const expected = 1.5 + 2.25;

const h = useCliDb({
  users: [{ user_id: "alice", user_role: "internal_user" }],
  keys: [{ raw: "sk-alice", user_id: "alice" }],
  setup: (t) => insertLogs(t.db, logs),
});
const cli = (args: string[], env?: Record<string, string>) => runCli(args, env ? { env } : {});

describe("spendlens, in process", () => {
  it("global-spend --json prints the brute-force sum", async () => {
    const r = await cli([...h.t.cliArgs, "global-spend", "--json"]);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ spend: expected, max_budget: 0 });
  });

  it("prints a table by default and CSV with --csv", async () => {
    const table = await cli([...h.t.cliArgs, "global-spend"]);
    expect(table.stdout).toBe("spend  max_budget\n 3.75           0\n");
    const csv = await cli([...h.t.cliArgs, "--csv", "global-spend"]);
    expect(csv.stdout).toBe("spend,max_budget\n3.75,0\n");
  });

  it("call reaches a procedure by name", async () => {
    const r = await cli([...h.t.cliArgs, "--json", "call", "spend.globalSpend", "{}"]);
    expect(JSON.parse(r.stdout)).toEqual({ spend: expected, max_budget: 0 });
  });

  it("prints one clear line and exits non-zero on errors", async () => {
    const unknown = await cli([...h.t.cliArgs, "call", "no.such"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
    expect(unknown.stderr).toMatch(/^spendlens: no procedure "no.such"/);
    const badJson = await cli([...h.t.cliArgs, "call", "spend.globalSpend", "{nope"]);
    expect(badJson.code).toBe(1);
    expect(badJson.stderr).toBe("spendlens: input is not valid JSON\n");
  });

  it("has --help on every command", async () => {
    const top = await cli(["--help"]);
    expect(top.stdout).toContain("global-spend");
    expect(top.stdout).toContain("seed [options]");
    const seed = await cli(["seed", "--help"]);
    expect(seed.stdout).toContain("--logs <n>");
  });
});

describe("spendlens --url, against a server", () => {
  let srv: Awaited<ReturnType<typeof serveCliDb>>;
  beforeAll(async () => {
    srv = await serveCliDb(h.t, MASTER);
  });
  afterAll(() => srv?.close());

  it("gives the same numbers over HTTP with --key or SPENDLENS_API_KEY", async () => {
    const a = await cli(["--url", srv.url, "--key", MASTER, "--json", "global-spend"]);
    expect(JSON.parse(a.stdout)).toEqual({ spend: expected, max_budget: 0 });
    const b = await cli(["--url", srv.url, "--json", "global-spend"], { SPENDLENS_API_KEY: MASTER });
    expect(JSON.parse(b.stdout)).toEqual({ spend: expected, max_budget: 0 });
  });

  it("reports 401 and 403 in one line", async () => {
    const wrong = await cli(["--url", srv.url, "--key", "sk-wrong", "global-spend"]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe("spendlens: invalid API key (401 UNAUTHORIZED)\n");
    const internal = await cli(["--url", srv.url, "--key", "sk-alice", "global-spend"]);
    expect(internal.code).toBe(1);
    expect(internal.stderr).toBe("spendlens: role internal_user may not use this report (403 FORBIDDEN)\n");
  });
});
