import { flattenRow, type Row, restRoutes, SPEND_REPORT_CSV_COLUMNS } from "@spendlens/api";
import {
  ALL,
  reportItemText,
  type SpendReport,
  spendReportInput,
  spendReportShape,
  spendReportStream,
} from "@spendlens/core";
import { jsonArrayElements, type RowStream } from "../stream.ts";
import { dayRangeOptions } from "./activity.ts";
import type { ReportCommand, StreamSource } from "./types.ts";

/** The nested spend report as flat rows (the same rows as REST `?format=csv`: tabular.ts flattenRow). */
export function flattenSpendReport(r: SpendReport): Record<string, unknown>[] {
  return (r.data as unknown as Row[]).flatMap(flattenRow);
}

/**
 * spend-report's rows, streamed: in process from the core's cursor, against a server from the REST
 * route's streamed body. Input the procedure would refuse, and any HTTP error, go the whole way
 * (null) so that the error is reported as for every other command.
 */
async function streamSpendReport(
  src: StreamSource,
  input: Record<string, unknown>,
): Promise<RowStream | null> {
  const parsed = spendReportInput.safeParse(input);
  if (!parsed.success) return null;
  const by = spendReportShape(parsed.data);
  let elements: AsyncIterable<unknown>;
  if (src.mode === "local") {
    const s = spendReportStream(src.db, ALL, parsed.data);
    elements = (async function* () {
      for await (const item of s.items()) yield JSON.parse(reportItemText(item));
    })();
  } else {
    const route = restRoutes().find((r) => r.procedure === "reports.spendReport")!;
    const query = new URLSearchParams(
      Object.entries(input).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
    const res = await fetch(`${src.url.replace(/\/+$/, "")}${route.path}?${query}`, {
      headers: src.key ? { authorization: `Bearer ${src.key}` } : {},
    });
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel();
      return null;
    }
    elements = jsonArrayElements(res.body as unknown as AsyncIterable<Uint8Array>);
  }
  return {
    columns: SPEND_REPORT_CSV_COLUMNS[by],
    rows: (async function* () {
      for await (const el of elements) yield* flattenRow(el as Row);
    })(),
  };
}

export const reportsCommands: ReportCommand[] = [
  {
    name: "spend-provider",
    procedure: "reports.spendProvider",
    summary:
      "Spend per provider (model_id → deployment → provider), Unknown last (GET /global/spend/provider)",
    options: dayRangeOptions,
  },
  {
    name: "spend-report",
    procedure: "reports.spendReport",
    summary:
      "Daily spend per team or customer, or per api_key with per-model cost (GET /global/spend/report)",
    options: [
      ...dayRangeOptions,
      { flags: "--group-by <by>", description: "team (default), customer or api_key" },
      { flags: "--api-key <key>", description: "one key (raw sk- keys are hashed)" },
      { flags: "--internal-user-id <id>", description: "one internal user's keys" },
      { flags: "--team-id <id>", description: "one team (with --customer-id: that team's customer)" },
      { flags: "--customer-id <id>", description: "one customer (end user)" },
    ],
    // One row per leaf; `call reports.spendReport` gives the nested answer.
    view: flattenSpendReport,
    streamRows: streamSpendReport,
  },
];
