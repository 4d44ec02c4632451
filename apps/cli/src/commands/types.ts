import type { Db } from "@spendlens/core";
import type { RowStream } from "../stream.ts";

/**
 * A named CLI command that calls one procedure. Options map to input fields by their long flag:
 * `--start-date <day>` sets `start_date`. Values stay strings unless `parse` says otherwise; the
 * procedure's zod input does the validation, so the CLI and the API answer the same errors.
 */
export interface OptionSpec {
  flags: string;
  description: string;
  /** Input field; default: the long flag in snake_case. */
  field?: string;
  parse?: (value: string) => unknown;
  defaultValue?: string;
}

export interface ReportCommand {
  name: string;
  procedure: string;
  summary: string;
  options?: OptionSpec[];
  /** Positional arguments, each mapped to an input field. */
  args?: { name: string; field: string; description: string; optional?: boolean }[];
  /** Shapes the answer before it is printed (e.g. choosing the table to show). Default: as is. */
  view?: (out: any) => unknown;
  /** The default (table) format drawn instead of a table, e.g. bars and charts. --json/--csv stay plain. */
  picture?: (out: any) => string;
  /**
   * For big answers: the rows `view` would give, streamed (printed as they come with --json and --csv;
   * see stream.ts). Null: this input is answered whole through the procedure (also how errors are
   * reported, so they read the same as every other command's).
   */
  streamRows?: (src: StreamSource, input: Record<string, unknown>) => Promise<RowStream | null>;
}

/** Where a streamed command reads: in process on the database, or a server's REST route. */
export type StreamSource =
  | { mode: "local"; db: Db }
  | { mode: "remote"; url: string; key: string | undefined };

export const csvList = (v: string) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
