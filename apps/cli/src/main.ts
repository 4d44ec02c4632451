import { errorDetail } from "@spendlens/api";
import { SpendlensError } from "@spendlens/core";
import { seedDemoData } from "@spendlens/core/demo";
import { TRPCClientError } from "@trpc/client";
import { TRPCError } from "@trpc/server";
import cliProgress from "cli-progress";
import { Command, InvalidArgumentError, Option } from "commander";
import {
  type ConnectOptions,
  callProcedure,
  connect,
  localSettings,
  procedureNames,
  remoteTarget,
} from "./client.ts";
import { completionScript } from "./completion.ts";
import { type CommandSpec, commandHeads, commandSpec, csvList } from "./derive.ts";
import { type Format, render } from "./output.ts";
import { countLogs, seedThroughServer } from "./seed.ts";
import { writeRows } from "./stream.ts";
import type { StreamSource } from "./target.ts";
import { BASELINE_SEED_MAX_LOGS, baselineWasmOnly } from "./wasmTier.ts";

interface GlobalOpts extends ConnectOptions {
  json?: boolean;
  csv?: boolean;
  wide?: boolean;
}

function formatOf(o: GlobalOpts): Format {
  return o.json ? "json" : o.csv ? "csv" : "table";
}

/** The width tables fit: the terminal's, or COLUMNS when stdout is not a terminal (as `ls` does). */
function terminalWidth(): number | undefined {
  if (process.stdout.isTTY) return process.stdout.columns;
  const n = Number(process.env.COLUMNS);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Prints an answer in the chosen format; tables fit the terminal unless --wide. */
function print(g: GlobalOpts, data: unknown): void {
  process.stdout.write(
    render(data, formatOf(g), {
      wide: !!g.wide,
      width: terminalWidth(),
    }),
  );
}

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a whole number");
  return n;
};

/** One clear line for any failure; never a stack trace. */
export function errorLine(e: unknown): string {
  if (e instanceof TRPCClientError) {
    const data = e.data as { httpStatus?: number; code?: string } | undefined;
    return `${e.message}${data?.httpStatus ? ` (${data.httpStatus} ${data.code ?? ""})`.replace(/ \)$/, ")") : ""}`;
  }
  if (e instanceof SpendlensError) return e.message;
  // In process (a local database), the operator is the server's log: an unexpected error shows its detail.
  if (e instanceof TRPCError && e.code === "INTERNAL_SERVER_ERROR" && errorDetail(e) !== e) {
    const d = errorDetail(e);
    return `${e.message}: ${d instanceof Error ? d.message : String(d)}`;
  }
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ECONNREFUSED") return `cannot reach the server: ${e.message}`;
    return e.message;
  }
  return String(e);
}

async function run(
  program: Command,
  procedure: string,
  input: unknown,
  show: Pick<CommandSpec, "view" | "picture" | "streamRows"> = {},
): Promise<void> {
  const g = program.opts<GlobalOpts>();
  const conn = await connect(g);
  try {
    const format = formatOf(g);
    // Big answers with --json/--csv are printed as they are read (stream.ts).
    if (show.streamRows && format !== "table") {
      const src: StreamSource = conn.remote
        ? { mode: "remote", url: conn.remote.url, key: conn.remote.key }
        : { mode: "local", ctx: conn.context! };
      const s = await show.streamRows(src, input as Record<string, unknown>);
      if (s) return await writeRows(s, format, process.stdout);
    }
    const out = await callProcedure(conn, procedure, input);
    if (show.picture && format === "table") process.stdout.write(show.picture(out));
    else print(g, show.view ? show.view(out) : out);
  } finally {
    await conn.close();
  }
}

/** A named command from its spec (derive.ts): arguments, options and their checks, the call. */
function addCommand(program: Command, spec: CommandSpec): void {
  const cmd = program.command(spec.name).description(spec.summary);
  for (const a of spec.args) cmd.argument(a.optional ? `[${a.name}]` : `<${a.name}>`, a.description);
  // The procedure's zod input says which fields it cannot do without: their options are required, so
  // --help marks them and the parser asks for them before anything runs.
  const options = spec.options.map((o) => {
    const opt = new Option(o.flags, o.required ? `${o.description} (required)` : o.description);
    if (o.required) opt.makeOptionMandatory();
    // A list: `--model a,b` or `--model a --model b`, either way the list [a, b].
    if (o.list) opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), ...csvList(v)]);
    cmd.addOption(opt);
    return { spec: o, key: opt.attributeName() };
  });
  cmd.action(async (...argv: unknown[]) => {
    const opts = (argv[spec.args.length] ?? {}) as Record<string, unknown>;
    const input: Record<string, unknown> = {};
    spec.args.forEach((a, i) => {
      if (argv[i] !== undefined) input[a.field] = argv[i];
    });
    for (const { spec: o, key } of options) {
      const v = opts[key];
      if (v === undefined) continue;
      input[o.field] = o.parse && typeof v === "string" ? o.parse(v) : v;
    }
    await run(program, spec.procedure, input, spec);
  });
}

/**
 * The command `args` (process.argv) names, when only known global options come before it; undefined for
 * `--help`, `help`, an unknown option, or no command: then every command is built whole.
 */
function invokedCommand(program: Command, args: string[]): string | undefined {
  const globals = new Map(program.options.map((o) => [o.long, o.required || o.optional]));
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("-")) return a;
    const [flag, inline] = a.split("=", 2) as [string, string | undefined];
    if (!globals.has(flag)) return undefined;
    if (globals.get(flag) && inline === undefined) i += 1;
  }
  return undefined;
}

/** The commands defined here rather than from a procedure, but `completion` (which reads them all). */
const OWN_COMMANDS = new Set(["call", "seed", "serve", "migrate"]);

/**
 * The program with every command; given `argv` (a run), the procedure commands other than the one it
 * invokes get only their name and summary: each whole command reads its procedure's input fields
 * (`inputFields`, a JSON-schema walk of its zod input), ~30 ms of a run's CPU for all of them, and a run
 * parses only its own. `--help`, `help`, `completion` and anything unexpected build them all.
 */
export function buildProgram(argv?: string[]): Command {
  const program = new Command("spendlens")
    .description("Spend tracking and budget analytics for LLM API gateways (LiteLLM's database)")
    .option("--url <url>", "a spendlens server to call (else: in process on the database)")
    .option("--key <key>", "API key for --url (default: SPENDLENS_API_KEY)")
    .option("--database-url <url>", "Postgres to use in process (default: DATABASE_URL)")
    .option("--data-dir <dir>", "embedded database folder (default: SPENDLENS_DATA_DIR or ./.spendlens)")
    .option("--config <file>", "LiteLLM-shaped config.yaml (default: SPENDLENS_CONFIG)")
    .option("--json", "print JSON")
    .option("--csv", "print CSV")
    .option("--wide", "tables: show key hashes and long values whole (default: fit the terminal)")
    .showHelpAfterError()
    .configureOutput({ outputError: (s, write) => write(s) });

  program
    .command("call")
    .description("call any procedure by name with a JSON input, e.g. call spend.globalSpend '{}'")
    .argument("<procedure>", `one of: ${procedureNames().join(", ")}`)
    .argument("[input]", "JSON input", "")
    .action(async (procedure: string, raw: string) => {
      let input: unknown;
      if (raw) {
        try {
          input = JSON.parse(raw);
        } catch {
          throw new Error("input is not valid JSON");
        }
      }
      await run(program, procedure, input);
    });

  const heads = commandHeads();
  const invoked = argv ? invokedCommand(program, argv.slice(2)) : undefined;
  const lightOthers =
    invoked !== undefined && (OWN_COMMANDS.has(invoked) || heads.some((h) => h.name === invoked));
  for (const head of heads) {
    if (lightOthers && head.name !== invoked) program.command(head.name).description(head.summary);
    else addCommand(program, commandSpec(head));
  }

  program
    .command("seed")
    .description("write demo data (deterministic from --seed) into the database, in process")
    .option("--logs <n>", "spend logs to write", positiveInt, 10000)
    .option("--seed <n>", "random seed", positiveInt, 42)
    .option("--days <n>", "days back from now to spread logs over", positiveInt, 90)
    .option(
      "--bulk",
      "Postgres: pause the rollups while seeding and rebuild the touched days once at the end (reports stay exact meanwhile)",
    )
    .option("--no-bulk", "Postgres: keep the rollups current chunk by chunk while seeding")
    .action(async (o: { logs: number; seed: number; days: number; bulk?: boolean }) => {
      const g = program.opts<GlobalOpts>();
      const bar = new cliProgress.SingleBar(
        {
          format: "seeding [{bar}] {percentage}% | {value}/{total} logs | {duration}s",
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      );
      const started = Date.now();
      const remote = remoteTarget(g);
      if (remote) {
        // A server holds the database (or --url names one): the logs go through its ingest route.
        if (remote.heldDir)
          process.stderr.write(`seeding through the server at ${remote.url} (it holds ${remote.heldDir})\n`);
        try {
          bar.start(o.logs, 0);
          const r = await seedThroughServer(remote, o, (n) => bar.update(n));
          bar.stop();
          print(g, { ...r, seconds: (Date.now() - started) / 1000, through: remote.url });
        } finally {
          bar.stop();
        }
        return;
      }
      const { openRuntime } = await import("@spendlens/core/runtime");
      const settings = localSettings(g);
      if (!settings.databaseUrl && o.logs <= BASELINE_SEED_MAX_LOGS) baselineWasmOnly();
      const rt = await openRuntime(settings);
      try {
        const before = await countLogs(rt.handle.db);
        process.stderr.write(
          `${rt.handle.location} holds ${before} spend logs already; writing ${o.logs} demo logs (seed ${o.seed}: logs already there are skipped)\n`,
        );
        bar.start(o.logs, 0);
        const r = await seedDemoData(rt.handle, {
          logs: o.logs,
          seed: o.seed,
          days: o.days,
          ...(o.bulk === undefined ? {} : { bulk: o.bulk }),
          onProgress: (n) => bar.update(n),
        });
        bar.stop();
        print(g, {
          logs_before: before,
          logs_inserted: r.logs,
          logs_already_there: o.logs - r.logs,
          logs_now: before + r.logs,
          error_logs_inserted: r.errorLogs,
          keys: r.keys,
          users: r.users,
          teams: r.teams,
          seconds: (Date.now() - started) / 1000,
          ...(Object.keys(r.timings).length ? { timings: r.timings } : {}),
        });
      } finally {
        bar.stop();
        await rt.close();
      }
    });

  program
    .command("serve")
    .description("start the HTTP server (same as pnpm start)")
    .option("--port <n>", "port (default: SPENDLENS_PORT or 4000)", positiveInt)
    .option(
      "--db-pool-max <n>",
      "Postgres connections in the pool (default: SPENDLENS_DB_POOL_MAX or 10)",
      positiveInt,
    )
    .option(
      "--database-read-url <url>",
      "a hot standby of the database for report reads (default: DATABASE_READ_URL; see docs/scaling.md)",
    )
    .action(async (o: { port?: number; dbPoolMax?: number; databaseReadUrl?: string }) => {
      const g = program.opts<GlobalOpts>();
      const { serve } = await import("@spendlens/server");
      const s = localSettings(g);
      await serve(
        {
          ...s,
          ...(o.port !== undefined ? { port: o.port } : {}),
          ...(o.dbPoolMax !== undefined ? { dbPoolMax: o.dbPoolMax } : {}),
          ...(o.databaseReadUrl ? { databaseReadUrl: o.databaseReadUrl } : {}),
        },
        // A fresh embedded folder is prepared (initdb, migrations, demo data) by this same command in a
        // child process that exits before the server opens it.
        { prepareChild: { module: process.argv[1] as string, args: process.argv.slice(2) } },
      );
    });

  program
    .command("migrate")
    .description("bring spendlens's own database objects up to date and check LiteLLM's tables")
    .action(async () => {
      const g = program.opts<GlobalOpts>();
      const remote = remoteTarget(g);
      if (remote) {
        process.stdout.write(
          remote.heldDir
            ? `migrate: nothing to do: the server at ${remote.url} holds ${remote.heldDir} and brought it up to date when it started\n`
            : `migrate: nothing to do here: the server at ${remote.url} brings its database up to date when it starts\n`,
        );
        return;
      }
      const { openRuntime } = await import("@spendlens/core/runtime");
      const settings = localSettings(g);
      if (!settings.databaseUrl) baselineWasmOnly();
      const rt = await openRuntime(settings);
      try {
        print(g, { mode: rt.migration.mode, applied: rt.migration.applied.join(",") || "(none)" });
      } finally {
        await rt.close();
      }
    });

  program
    .command("completion")
    .description('print a shell completion script: eval "$(spendlens completion bash)" (or zsh)')
    .argument("<shell>", "bash or zsh")
    .action((shell: string) => {
      if (shell !== "bash" && shell !== "zsh")
        throw new InvalidArgumentError(`no completion for "${shell}": bash or zsh`);
      process.stdout.write(completionScript(program, shell));
    });

  return program;
}

const isBrokenPipe = (e: unknown) => (e as NodeJS.ErrnoException | null)?.code === "EPIPE";

/**
 * `spendlens … | head`: once the reader has gone, stop quietly (no EPIPE trace), as `cat` would.
 * Node ignores SIGPIPE and reports EPIPE on the stream instead, which ends the process. No SIGPIPE
 * handler: one would stop Node ignoring the signal, and `spendlens serve` would then exit (status 0,
 * no log line) the first time a client closed its socket while the server was writing to it.
 */
function endQuietlyOnBrokenPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e) => {
      if (isBrokenPipe(e)) process.exit(0);
      throw e;
    });
  }
}

export async function main(argv: string[]): Promise<void> {
  endQuietlyOnBrokenPipe();
  const program = buildProgram(argv);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (isBrokenPipe(e)) process.exit(0);
    process.stderr.write(`spendlens: ${errorLine(e)}\n`);
    process.exitCode = 1;
  }
}
