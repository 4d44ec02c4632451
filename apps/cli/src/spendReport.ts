import {
  callRestRoute,
  flattenRow,
  type RestItem,
  type Row,
  restRoutes,
  SPEND_REPORT_CSV_COLUMNS,
} from "@spendlens/api";
import { type SpendReport, spendReportInput, spendReportShape } from "@spendlens/core";
import { httpFetch } from "./http.ts";
import { jsonArrayElements, type RowStream } from "./stream.ts";
import type { StreamSource } from "./target.ts";

/** The nested spend report as flat rows (the same rows as REST `?format=csv`: tabular.ts flattenRow). */
export function flattenSpendReport(r: SpendReport): Record<string, unknown>[] {
  return (r.data as unknown as Row[]).flatMap(flattenRow);
}

const itemText = (i: RestItem) =>
  typeof i === "string" ? i : i instanceof Uint8Array ? Buffer.from(i).toString("utf8") : i.join("");

/** The query a REST route gets for this input (the CLI's values are text, or lists of text). */
const queryOf = (input: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(input).filter(
      (e): e is [string, string | string[]] =>
        typeof e[1] === "string" || (Array.isArray(e[1]) && e[1].every((x) => typeof x === "string")),
    ),
  );

/**
 * spend-report's rows, streamed from its REST route: in process through the procedure (as a server
 * would call it, with the connection's caller), against a server from the route's streamed body. Input
 * the procedure refuses, and any error, go the whole way (null) so that the error is reported as for
 * every other command.
 */
export async function streamSpendReport(
  src: StreamSource,
  input: Record<string, unknown>,
): Promise<RowStream | null> {
  const parsed = spendReportInput.safeParse(input);
  if (!parsed.success) return null;
  const route = restRoutes().find((r) => r.procedure === "reports.spendReport")!;
  const query = queryOf(input);
  let elements: AsyncIterable<unknown>;
  if (src.mode === "local") {
    const r = await callRestRoute(src.ctx, route, { query, body: undefined }, { stream: true });
    if (r.status !== 200) return null;
    const { stream, body } = r;
    elements = (async function* () {
      if (!stream) yield* body as unknown[];
      else for await (const item of stream.items()) yield JSON.parse(itemText(item));
    })();
  } else {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) for (const x of [v].flat()) qs.append(k, x);
    const res = await httpFetch(`${src.url.replace(/\/+$/, "")}${route.path}?${qs}`, {
      headers: src.key ? { authorization: `Bearer ${src.key}` } : {},
    });
    if (res.status !== 200) {
      res.body.destroy();
      return null;
    }
    elements = jsonArrayElements(res.body);
  }
  return {
    columns: SPEND_REPORT_CSV_COLUMNS[spendReportShape(parsed.data)],
    rows: (async function* () {
      for await (const el of elements) yield* flattenRow(el as Row);
    })(),
  };
}
