import type { Context } from "@spendlens/api";

/**
 * Where a streamed command reads its REST route: in process through the procedure (with the
 * connection's context, so its role checks apply as to every other command), or a server over HTTP.
 */
export type StreamSource =
  | { mode: "local"; ctx: Context }
  | { mode: "remote"; url: string; key: string | undefined };
