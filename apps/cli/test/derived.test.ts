import { appRouter, inputFields, type Meta } from "@spendlens/api";
import { describe, expect, it } from "vitest";
import { commandSpecs, flagOf } from "../src/derive.ts";
import { buildProgram } from "../src/main.ts";
import { runCli } from "./harness.ts";

/**
 * The named commands are derived from the router (src/derive.ts): every procedure gets one, with an
 * option per input field and the fields its zod input requires required, so a new procedure needs no
 * CLI file. The parser's checks are asserted on the real binary.
 */

type Def = { _def: { type: string; meta?: Meta } };
const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, Def>);
const specs = commandSpecs();
const byProcedure = new Map(specs.map((s) => [s.procedure, s]));

/** Parses argv with the binary's own parser in this process; nothing runs past the parser's refusal. */
async function parseOnly(args: string[]): Promise<{ code: string | null; stderr: string }> {
  const program = buildProgram();
  let stderr = "";
  for (const c of [program, ...program.commands]) {
    c.exitOverride().configureOutput({
      writeOut: () => {},
      writeErr: (x) => {
        stderr += x;
      },
      outputError: (x, write) => write(x),
    });
  }
  try {
    await program.parseAsync(["node", "spendlens", ...args]);
    return { code: null, stderr };
  } catch (e) {
    return { code: (e as { code?: string }).code ?? String(e), stderr };
  }
}

/** The commands written by hand in main.ts (not procedures). */
const FIXED = ["call", "seed", "serve", "migrate", "completion", "help"];
const GLOBAL_FLAGS = "--url --key --database-url --data-dir --config --json --csv --wide".split(" ");

describe("commands derived from the procedures", () => {
  it("every procedure with a REST route, and every query and mutation, has exactly one command", () => {
    const withRest = procedures.filter(([, p]) => p._def.meta?.rest).map(([path]) => path);
    expect(withRest.length).toBeGreaterThan(40);
    for (const path of withRest) expect(byProcedure.has(path), path).toBe(true);
    const callable = procedures.filter(([, p]) => ["query", "mutation"].includes(p._def.type));
    expect(specs.map((s) => s.procedure).sort()).toEqual(callable.map(([path]) => path).sort());
  });

  it("names are unique and leave the hand-written commands alone", () => {
    const names = specs.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of FIXED) expect(names).not.toContain(n);
  });

  it("keeps the names and flags people use (meta.cli.name where the REST path would give another)", () => {
    const of = (procedure: string) => byProcedure.get(procedure)!;
    expect(of("spend.globalSpendKeys").name).toBe("global-spend-keys"); // from /global/spend/keys
    expect(of("analytics.query").name).toBe("analytics"); // /spendlens/analytics, prefix dropped
    expect(of("activity.globalActivity").name).toBe("activity"); // meta.cli.name
    expect(of("activity.failures").name).toBe("activity-failures"); // no CLI file: derived
    expect(of("auth.whoami").name).toBe("whoami");
    // Fields in kebab-case, snake_case and camelCase alike.
    expect(of("spend.globalSpendEndUsers").options.map((o) => o.flags)).toEqual([
      "--start-time <time>",
      "--end-time <time>",
      "--api-key <key>",
    ]);
    // A `{name}` path segment, and meta.cli.args, are positional arguments.
    expect(of("logs.spendLogDetail").args.map((a) => a.field)).toEqual(["request_id"]);
    expect(of("logs.spendLogsSession").args.map((a) => a.field)).toEqual(["session_id"]);
    // A list field adds up repeated flags; an object field takes JSON; ingest reads a file.
    expect(of("analytics.query").options.find((o) => o.field === "model_group")?.list).toBe(true);
    expect(of("pricing.spendCalculate").options.find((o) => o.field === "messages")?.parse).toBeTypeOf(
      "function",
    );
    expect(of("ingest.spendLogs").options.map((o) => o.flags)).toEqual(["--file <path>"]);
  });

  it("every input field is an option or an argument, none clashing with a global flag", () => {
    for (const s of specs) {
      const flags = s.options.map((o) => /--[a-z0-9-]+/.exec(o.flags)![0]);
      expect(new Set(flags).size, s.name).toBe(flags.length);
      for (const f of flags) expect(GLOBAL_FLAGS, `${s.name} ${f}`).not.toContain(f);
      const fields = [...s.options.map((o) => o.field), ...s.args.map((a) => a.field)];
      expect(fields.sort(), s.name).toEqual(
        inputFields(s.procedure)
          .map((f) => f.name)
          .sort(),
      );
      for (const o of s.options)
        if (o.field === "logs") expect(o.flags).toBe("--file <path>");
        else expect(o.flags.startsWith(`${flagOf(o.field)} <`), `${s.name} ${o.flags}`).toBe(true);
    }
  });

  it("required fields: activity needs --start-date and --end-date; an optional input needs nothing", () => {
    const req = (p: string) =>
      byProcedure
        .get(p)!
        .options.filter((o) => o.required)
        .map((o) => o.field);
    expect(req("activity.globalActivity")).toEqual(["start_date", "end_date"]);
    expect(req("activity.globalActivityExceptions")).toEqual(["model_group", "start_date", "end_date"]);
    expect(req("analytics.query")).toEqual(["start", "end"]);
    expect(req("logs.spendLogs")).toEqual([]);
    expect(req("spend.globalSpend")).toEqual([]);
  });
});

describe("the binary's parser asks for what the procedure requires", () => {
  it("--help lists every derived command", async () => {
    const top = await runCli(["--help"]);
    for (const s of specs) expect(top.stdout, s.name).toMatch(new RegExp(`^  ${s.name}\\b`, "m"));
  });

  it("each command with a required option or argument refuses to run without it, before connecting", async () => {
    const needy = specs.filter((s) => s.options.some((o) => o.required) || s.args.some((a) => !a.optional));
    expect(needy.length).toBeGreaterThan(20);
    // The parser of every command, in this process (the binary's own parser: buildProgram); the binary
    // itself is run for one command of each kind below. No database options: the parser must stop
    // first (else it would open ./.spendlens).
    for (const s of needy) {
      const r = await parseOnly([s.name]);
      const arg = s.args.find((a) => !a.optional);
      const first = s.options.find((o) => o.required)!;
      expect([s.name, r.code, r.stderr]).toEqual([
        s.name,
        arg ? "commander.missingArgument" : "commander.missingMandatoryOptionValue",
        expect.stringContaining(
          arg
            ? `error: missing required argument '${arg.name}'`
            : `error: required option '${first.flags}' not specified`,
        ),
      ]);
    }
    const option = needy.find((s) => !s.args.some((a) => !a.optional))!;
    const argument = needy.find((s) => s.args.some((a) => !a.optional))!;
    const [byOption, byArgument, help] = await Promise.all([
      runCli([option.name]),
      runCli([argument.name]),
      runCli(["activity-failures", "--help"]),
    ]);
    expect([byOption.code, byArgument.code]).toEqual([1, 1]);
    expect(byOption.stderr).toMatch(
      new RegExp(
        `^error: required option '${option.options.find((o) => o.required)!.flags}' not specified\n`,
      ),
    );
    expect(byArgument.stderr).toMatch(
      new RegExp(`^error: missing required argument '${argument.args.find((a) => !a.optional)!.name}'\n`),
    );
    expect(help.stdout).toMatch(/--start-date <day>\s+first day, YYYY-MM-DD \(UTC\) \(required\)/);
  }, 240_000);
});
