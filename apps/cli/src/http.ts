import type { IncomingMessage } from "node:http";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

/**
 * The CLI's HTTP requests to a server (`--url`, or the server holding the embedded folder), on
 * node:http rather than the global fetch. Node 20's fetch is undici, whose JavaScript is loaded and
 * compiled on the first call: ~0.17 CPU-s of a ~0.55 CPU-s one-shot command (measured: a fresh process
 * doing one GET costs 0.31 CPU-s with fetch, 0.13 with node:http). The answer's body is the response
 * stream itself (a Node readable: async-iterable, and what tRPC's stream link reads).
 */
export interface HttpResponse {
  ok: boolean;
  status: number;
  statusText: string;
  headers: { get(name: string): string | null };
  body: IncomingMessage;
  text(): Promise<string>;
  json(): Promise<any>;
}

export interface HttpInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | null;
  signal?: AbortSignal | null;
}

export function httpFetch(url: string | URL, init: HttpInit = {}): Promise<HttpResponse> {
  const u = typeof url === "string" ? new URL(url) : url;
  const request = u.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      {
        method: init.method ?? "GET",
        headers: init.headers ?? {},
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (res) => {
        let used = false;
        const text = async () => {
          if (used) throw new TypeError("the response body was already read");
          used = true;
          res.setEncoding("utf8");
          let s = "";
          for await (const chunk of res) s += chunk;
          return s;
        };
        const status = res.statusCode ?? 0;
        resolve({
          ok: status >= 200 && status < 300,
          status,
          statusText: res.statusMessage ?? "",
          headers: {
            get(name) {
              const v = res.headers[name.toLowerCase()];
              return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
            },
          },
          body: res,
          text,
          json: async () => JSON.parse(await text()),
        });
      },
    );
    req.on("error", reject);
    req.end(init.body ?? undefined);
  });
}

/** The subset of fetch tRPC's links call (fetchHTTPResponse), on httpFetch. */
export const trpcFetch = ((url: string | URL, init?: HttpInit) =>
  httpFetch(url, init)) as unknown as typeof globalThis.fetch;
