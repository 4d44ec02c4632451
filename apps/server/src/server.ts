import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, extname, join, normalize, sep } from "node:path";
import {
  appRouter,
  type Context,
  callRestRoute,
  createContext,
  matchRoute,
  type OpenedStream,
  openRestStream,
  restErrorBody,
  restRoutes,
  type Services,
  toCsv,
  toTRPCError,
} from "@spendlens/api";
import { ping } from "@spendlens/core";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import pino from "pino";
import { serveApiDocs } from "./apiDocs.ts";
import { sendRestStream } from "./stream.ts";

export interface ServerOptions {
  services: Services;
  port?: number;
  host?: string;
  logger?: pino.Logger;
  /** Largest request body accepted, in bytes. Default 16 MiB. */
  maxBodyBytes?: number;
}

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

// Found through this package's own package.json, so the paths also hold when this module is bundled
// into the CLI (apps/cli/dist), where import.meta.url is the bundle's.
const SERVER_PKG = createRequire(import.meta.url).resolve("@spendlens/server/package.json");
const DASHBOARD_DIR = `${join(dirname(SERVER_PKG), "dashboard")}${sep}`;
// The chart library the dashboard loads, served from its npm package.
const CHART_JS = join(dirname(createRequire(SERVER_PKG).resolve("chart.js")), "chart.umd.min.js");
const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

export function bearerOf(req: IncomingMessage): string | null {
  const h = req.headers.authorization ?? (req.headers["x-litellm-api-key"] as string | undefined);
  if (!h) return null;
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  return (m ? m[1]! : h).trim() || null;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  // Encoded once: Buffer.byteLength(text) then res.end(text) would walk a large answer twice.
  const buf = Buffer.from(JSON.stringify(body), "utf8");
  res.writeHead(status, { "content-type": "application/json", "content-length": buf.length });
  res.end(buf);
}

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new BodyError(413, `request body larger than ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  if (!size) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new BodyError(400, "request body is not valid JSON");
  }
}

async function serveDashboard(path: string, res: ServerResponse): Promise<boolean> {
  if (path === "/dashboard/vendor/chart.umd.min.js") {
    res.writeHead(200, { "content-type": MIME[".js"]!, "cache-control": "max-age=86400" });
    res.end(await readFile(CHART_JS));
    return true;
  }
  const rel =
    path === "/" || path === "/dashboard" || path === "/dashboard/"
      ? "index.html"
      : path.replace(/^\/dashboard\//, "");
  const file = normalize(join(DASHBOARD_DIR, rel));
  if (!file.startsWith(DASHBOARD_DIR)) return false;
  try {
    const body = await readFile(file);
    res.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream" });
    res.end(body);
    return true;
  } catch {
    return false;
  }
}

/** node:http with tRPC at /trpc, the seed's REST routes, /healthz and the dashboard. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const log = opts.logger ?? pino({ level: process.env.SPENDLENS_LOG_LEVEL ?? "info" });
  const services = opts.services;
  const routes = restRoutes();
  const maxBody = opts.maxBodyBytes ?? 16 * 1024 * 1024;

  const trpcHandler = createHTTPHandler({
    router: appRouter,
    basePath: "/trpc/",
    maxBodySize: maxBody,
    createContext: ({ req }) => createContext(services, bearerOf(req)),
    onError: ({ error, path }) => {
      if (error.code === "INTERNAL_SERVER_ERROR")
        log.error({ path, err: error.cause ?? error }, "procedure failed");
    },
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
    res.on("finish", () => {
      // Never log query values: they may hold raw keys.
      log.info(
        {
          method: req.method,
          path,
          params: [...url.searchParams.keys()],
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        "request",
      );
    });
    try {
      if (path.startsWith("/trpc/")) return void (await trpcHandler(req, res));
      if (path === "/healthz") {
        return (await ping(services.db))
          ? sendJson(res, 200, { status: "ok", database: services.handle?.engine ?? "up" })
          : sendJson(res, 503, { status: "unavailable", database: "down" });
      }
      if (req.method === "GET" && (await serveApiDocs(path, res))) return;
      const route = matchRoute(routes, req.method ?? "GET", path);
      if (route === "method")
        return sendJson(res, 405, {
          error: {
            message: `method ${req.method} not allowed on ${path}`,
            type: "method_not_allowed",
            param: null,
            code: "405",
          },
        });
      if (route) {
        const body = route.method === "POST" ? await readJsonBody(req, maxBody) : undefined;
        let ctx: Context;
        try {
          ctx = await createContext(services, bearerOf(req));
        } catch (e) {
          const r = restErrorBody(toTRPCError(e));
          return sendJson(res, r.status, r.body);
        }
        // CSV of any table-shaped answer: ?format=csv or Accept: text/csv.
        const query = Object.fromEntries(url.searchParams);
        const csv = query.format === "csv" || /\btext\/csv\b/.test(req.headers.accept ?? "");
        delete query.format;
        const r = await callRestRoute(ctx, route, { query, body }, { stream: true });
        if (r.stream) {
          // A big answer, streamed (apps/server/src/stream.ts): errors before the first byte are
          // answered as usual; after it, the connection is cut.
          let opened: OpenedStream;
          try {
            opened = await openRestStream(r.stream, csv ? "csv" : "json");
          } catch (e) {
            const er = restErrorBody(toTRPCError(e));
            const msg = e instanceof Error ? e.message : String(e);
            if (er.status >= 500) log.warn({ path, status: er.status, err: msg }, "rest route failed");
            return sendJson(res, er.status, er.body);
          }
          const cut = await sendRestStream(res, opened);
          if (cut) log.warn({ path, err: cut.message }, "streamed answer cut short");
          return;
        }
        if (r.status >= 500) log.warn({ path, status: r.status }, "rest route failed");
        if (csv && r.status === 200) {
          const buf = Buffer.from(toCsv(r.body), "utf8");
          res.writeHead(200, { "content-type": "text/csv; charset=utf-8", "content-length": buf.length });
          return void res.end(buf);
        }
        return sendJson(res, r.status, r.body);
      }
      if (req.method === "GET" && (await serveDashboard(path, res))) return;
      sendJson(res, 404, {
        error: {
          message: `no route ${req.method} ${path}`,
          type: "not_found_error",
          param: null,
          code: "404",
        },
      });
    } catch (e) {
      if (e instanceof BodyError) {
        return sendJson(res, e.status, {
          error: { message: e.message, type: "bad_request_error", param: "body", code: String(e.status) },
        });
      }
      log.error({ err: e, path }, "unhandled");
      if (!res.headersSent)
        sendJson(res, 500, {
          error: { message: "internal error", type: "internal_error", param: null, code: "500" },
        });
      else res.end();
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 4000, opts.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address === "::" ? "localhost" : addr.address}:${addr.port}`;
  let closing: Promise<void> | null = null;
  return {
    server,
    url,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still running get a grace period, then their connections are cut.
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      });
      return closing;
    },
  };
}
