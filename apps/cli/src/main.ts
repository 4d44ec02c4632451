import { errorDetail } from "@spendlens/api";
import { SpendlensError, seedDemoData } from "@spendlens/core";
import { TRPCClientError } from "@trpc/client";
import { TRPCError } from "@trpc/server";
import cliProgress from "cli-progress";
import { Command, InvalidArgumentError, Option } from "commander";
import { type ConnectOptions, callProcedure, connect, localSettings, procedureNames } from "./client.ts";
import { reportCommands } from "./commands/index.ts";
import type { ReportCommand, StreamSource } from "./commands/types.ts";
import { type Format, render } from "./output.ts";
import { writeRows } from "./stream.ts";

interface GlobalOpts extends ConnectOptions {
  json?: boolean;
  csv?: boolean;
}

const snake = (flag: string) => flag.replace(/^--/, "").replace(/-/g, "_");
const longFlag = (flags: string) => /--([a-z0-9-]+)/.exec(flags)?.[0] ?? flags;
const camel = (flag: string) =>
  flag.replace(/^--/, "").replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function formatOf(o: GlobalOpts): Format {
  return o.json ? "json" : o.csv ? "csv" : "table";
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
  view?: (o: any) => unknown,
  streamRows?: ReportCommand["streamRows"],
  picture?: (o: any) => string,
): Promise<void> {
  const g = program.opts<GlobalOpts>();
  const conn = await connect(g);
  try {
    const format = formatOf(g);
    // Big answers with --json/--csv are printed as they are read (stream.ts).
    if (streamRows && format !== "table") {
      const src: StreamSource = conn.runtime
        ? { mode: "local", db: conn.runtime.handle.db }
        : { mode: "remote", url: g.url!, key: g.key ?? process.env.SPENDLENS_API_KEY };
      const s = await streamRows(src, input as Record<string, unknown>);
      if (s) return await writeRows(s, format, process.stdout);
    }
    const out = await callProcedure(conn, procedure, input);
    if (picture && format === "table") process.stdout.write(picture(out));
    else process.stdout.write(render(view ? view(out) : out, format));
  } finally {
    await conn.close();
  }
}

function addReportCommand(program: Command, spec: ReportCommand): void {
  const cmd = program.command(spec.name).description(spec.summary);
  for (const a of spec.args ?? []) cmd.argument(a.optional ? `[${a.name}]` : `<${a.name}>`, a.description);
  for (const o of spec.options ?? []) {
    const opt = new Option(o.flags, o.description);
    if (o.defaultValue !== undefined) opt.default(o.defaultValue);
    cmd.addOption(opt);
  }
  cmd.action(async (...argv: unknown[]) => {
    const opts = (argv[(spec.args ?? []).length] ?? {}) as Record<string, string>;
    const input: Record<string, unknown> = {};
    (spec.args ?? []).forEach((a, i) => {
      if (argv[i] !== undefined) input[a.field] = argv[i];
    });
    for (const o of spec.options ?? []) {
      const lf = longFlag(o.flags);
      const v = opts[camel(lf)];
      if (v === undefined) continue;
      input[o.field ?? snake(lf)] = o.parse && typeof v === "string" ? o.parse(v) : v;
    }
    await run(program, spec.procedure, input, spec.view, spec.streamRows, spec.picture);
  });
}

export function buildProgram(): Command {
  const program = new Command("spendlens")
    .description("Spend tracking and budget analytics for LLM API gateways (LiteLLM's database)")
    .option("--url <url>", "a spendlens server to call (else: in process on the database)")
    .option("--key <key>", "API key for --url (default: SPENDLENS_API_KEY)")
    .option("--database-url <url>", "Postgres to use in process (default: DATABASE_URL)")
    .option("--data-dir <dir>", "embedded database folder (default: SPENDLENS_DATA_DIR or ./.spendlens)")
    .option("--config <file>", "LiteLLM-shaped config.yaml (default: SPENDLENS_CONFIG)")
    .option("--json", "print JSON")
    .option("--csv", "print CSV")
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

  for (const spec of reportCommands) addReportCommand(program, spec);

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
      if (g.url) throw new Error("seed writes to the database directly: drop --url");
      const { openRuntime } = await import("@spendlens/core");
      const rt = await openRuntime(localSettings(g));
      const bar = new cliProgress.SingleBar(
        {
          format: "seeding [{bar}] {percentage}% | {value}/{total} logs | {duration}s",
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      );
      const started = Date.now();
      try {
        bar.start(o.logs, 0);
        const r = await seedDemoData(rt.handle, {
          logs: o.logs,
          seed: o.seed,
          days: o.days,
          ...(o.bulk === undefined ? {} : { bulk: o.bulk }),
          onProgress: (n) => bar.update(n),
        });
        bar.stop();
        const secs = (Date.now() - started) / 1000;
        process.stdout.write(
          render(
            {
              logs_inserted: r.logs,
              error_logs: r.errorLogs,
              keys: r.keys,
              users: r.users,
              teams: r.teams,
              seconds: secs,
            },
            formatOf(g),
          ),
        );
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
    .action(async (o: { port?: number; dbPoolMax?: number }) => {
      const g = program.opts<GlobalOpts>();
      const { serve } = await import("@spendlens/server");
      const s = localSettings(g);
      await serve({
        ...s,
        ...(o.port !== undefined ? { port: o.port } : {}),
        ...(o.dbPoolMax !== undefined ? { dbPoolMax: o.dbPoolMax } : {}),
      });
    });

  program
    .command("migrate")
    .description("bring spendlens's own database objects up to date and check LiteLLM's tables")
    .action(async () => {
      const g = program.opts<GlobalOpts>();
      const { openRuntime } = await import("@spendlens/core");
      const rt = await openRuntime(localSettings(g));
      try {
        process.stdout.write(
          render(
            { mode: rt.migration.mode, applied: rt.migration.applied.join(",") || "(none)" },
            formatOf(g),
          ),
        );
      } finally {
        await rt.close();
      }
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    process.stderr.write(`spendlens: ${errorLine(e)}\n`);
    process.exitCode = 1;
  }
}
