import { appRouter, type InputField, inputFields, type Meta } from "@spendlens/api";
import { describeField, takesJson } from "./fields.ts";
import { jsonArg, PRESENTATION, type Presentation } from "./views.ts";

/**
 * The CLI's named commands, derived from the router: one per procedure, its options from the
 * procedure's zod input (inputFields: the walk the OpenAPI document makes), its name and summary from
 * its meta. A new procedure is a new command without a CLI file; presentation (views.ts) is optional.
 *
 * - name: `meta.cli.name`, else the REST path (`/global/spend/keys` → `global-spend-keys`, without
 *   a leading `spendlens/` and `{name}` segments), else (no REST route, or that name is taken) the
 *   procedure path (`auth.whoami` → `auth-whoami`);
 * - options: one per input field, `--<field in kebab-case> <value>` (`start_date` → `--start-date`,
 *   `startTime` → `--start-time`); a field the input requires is a required option (the parser asks for
 *   it before anything runs); a list field takes a comma list or the flag repeated; an object field
 *   takes JSON or @file;
 * - positional arguments: the REST path's `{name}` segments, then `meta.cli.args`.
 */

export interface OptionSpec {
  /** The input field it sets. */
  field: string;
  /** Commander flags, e.g. `--start-date <day>`. */
  flags: string;
  description: string;
  required: boolean;
  /** Repeated flags add up (a list field). */
  list: boolean;
  parse?: (value: string) => unknown;
}

export interface ArgSpec {
  name: string;
  field: string;
  description: string;
  optional: boolean;
}

export interface CommandSpec extends Omit<Presentation, "options"> {
  name: string;
  procedure: string;
  type: "query" | "mutation";
  summary: string;
  args: ArgSpec[];
  options: OptionSpec[];
}

const kebab = (s: string) =>
  s
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/[_./]+/g, "-")
    .toLowerCase();

/** The command name a REST path gives: its segments but `spendlens` and `{name}`, in kebab-case. */
export function nameFromRestPath(path: string): string {
  const segments = path.split("/").filter((s) => s && !s.startsWith("{"));
  if (segments[0] === "spendlens" && segments.length > 1) segments.shift();
  return kebab(segments.join("-"));
}

export const flagOf = (field: string) => `--${kebab(field)}`;

export const csvList = (v: string) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

function optionOf(f: InputField, override: Presentation["options"]): OptionSpec {
  const own = override?.[f.name];
  const { value, description } = describeField(f);
  const json = takesJson(f);
  return {
    field: f.name,
    flags: own?.flags ?? `${flagOf(f.name)} <${value}>`,
    description: own?.description ?? description,
    required: f.required,
    list: !own && !json && f.isList,
    ...(own ? { parse: own.parse } : json ? { parse: jsonArg(flagOf(f.name)) } : {}),
  };
}

type ProcedureDefs = Record<string, { _def: { type: string; meta?: Meta } }>;

/** A command's name and summary, and its procedure: what the command list needs (no input fields). */
export interface CommandHead {
  name: string;
  procedure: string;
  summary: string;
}

/** Every procedure's command name, in the router's order. Names are unique (explicit names first). */
export function commandHeads(): CommandHead[] {
  const procs = Object.entries(appRouter._def.procedures as unknown as ProcedureDefs).filter(
    ([, p]) => p._def.type === "query" || p._def.type === "mutation",
  );
  const taken = new Set(procs.flatMap(([, p]) => p._def.meta?.cli?.name ?? []));
  return procs.map(([procedure, p]) => {
    const meta = p._def.meta ?? {};
    let name = meta.cli?.name;
    if (!name) {
      const fromRest = meta.rest ? nameFromRestPath(meta.rest.path) : "";
      name = fromRest && !taken.has(fromRest) ? fromRest : kebab(procedure);
      taken.add(name);
    }
    return {
      name,
      procedure,
      summary: `${meta.summary ?? procedure}${meta.rest ? ` (${meta.rest.method} ${meta.rest.path})` : ""}`,
    };
  });
}

/** One command's whole spec: its arguments and options from the procedure's input fields. */
export function commandSpec(head: CommandHead): CommandSpec {
  const { name, procedure, summary } = head;
  const p = (appRouter._def.procedures as unknown as ProcedureDefs)[procedure]!;
  const meta = p._def.meta ?? {};
  const show = PRESENTATION[procedure] ?? {};
  const fields = inputFields(procedure);
  const inPath = meta.rest ? [...meta.rest.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!) : [];
  const positional = [...new Set([...inPath, ...(meta.cli?.args ?? [])])];
  const args = positional.map((field) => {
    const f = fields.find((x) => x.name === field);
    return {
      name: field,
      field,
      description: f ? describeField(f).description : field,
      optional: !!f && !f.required && !inPath.includes(field),
    };
  });
  const { options: overrides, ...presentation } = show;
  return {
    name,
    procedure,
    type: p._def.type as "query" | "mutation",
    summary,
    args,
    options: fields.filter((f) => !positional.includes(f.name)).map((f) => optionOf(f, overrides)),
    ...presentation,
  };
}

/** Every procedure's command, in the router's order. Names are unique (explicit names first). */
export function commandSpecs(): CommandSpec[] {
  return commandHeads().map(commandSpec);
}
