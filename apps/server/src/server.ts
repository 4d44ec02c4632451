import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo, Socket } from "node:net";
import { dirname, extname, join, normalize, sep } from "node:path";
import {
  appRouter,
  type Context,
  callRestRoute,
  errorDetail,
  matchRoute,
  type OpenedStream,
  openRestStream,
  procedureMeta,
  procedureReads,
  type RestRoute,
  restErrorBody,
  restRoutes,
  type Services,
  type StandbyRead,
  standbyUnusable,
  toCsv,
  toTRPCError,
  VerifiedKeys,
} from "@spendlens/api";
import { badRequest, classifyDbError, SpendlensError } from "@spendlens/core";
import {
  type BudgetAlerter,
  budgetWebhooksEnabled,
  type PartitionMaintainer,
  type PartitionOptions,
  ping,
  startBudgetAlerter,
  startPartitionMaintainer,
} from "@spendlens/core/runtime";
import type { TRPCError } from "@trpc/server";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import pino from "pino";
import { serveApiDocs } from "./apiDocs.ts";
import { BodyError, closeAfterAnswer, closeUnlessDrainable, parseJsonBody, readBody } from "./body.ts";
import {
  type Admission,
  deadlineError,
  Edge,
  payloadTooLarge,
  startDeadline,
  trpcCalls,
  trpcErrorAnswer,
  trpcKind,
} from "./edge.ts";
import { type Limits, UNRATED_LIMITS } from "./limits.ts";
import { Metrics } from "./metrics.ts";
import { assignRequestId, internalErrorBody, requestIdOf } from "./requestId.ts";
import { type ReadChoice, type StandbyOptions, StandbyReads } from "./standby.ts";
import { sendRestStream } from "./stream.ts";
import { useWholeChunkTextEncoderStream } from "./textEncoderStream.ts";

export interface ServerOptions {
  services: Services;
  port?: number;
  host?: string;
  logger?: pino.Logger;
  /**
   * Rate limits, heavy-query admission, deadline and body limits (limits.ts). Default UNRATED_LIMITS:
   * the defaults without a rate limit; `spendlens serve` passes limitsFromEnv(process.env).
   */
  limits?: Limits;
  /**
   * Budget webhooks, sent when the config's general_settings.alerting lists `webhook`. The caller reads
   * the URL from the environment (WEBHOOK_URL, as LiteLLM).
   */
  budgetAlerts?: {
    webhookUrl: string | undefined;
    /** How often budgets are checked and the outbox drained (ms). Default 2000. */
    pollMs?: number;
    /** First retry delay (ms), doubled per attempt. Default 1000. */
    backoffMs?: number;
  };
  /**
   * Reads from the hot standby `services.handle.read` (DATABASE_READ_URL), when there is one: its lag
   * bound and sampling (standby.ts). `spendlens serve` reads SPENDLENS_MAX_READ_LAG_MS.
   */
  standby?: StandbyOptions;
  /**
   * /metrics: by default only for the master key; `public: true` (SPENDLENS_METRICS_PUBLIC=1) serves it
   * to anyone who can reach the port.
   */
  metrics?: { public?: boolean };
  /**
   * Log partitions (standalone mode): made ahead and dropped after the retention period at start and
   * then every `everyMs` (default one hour). Absent: no maintenance timer (tests).
   */
  partitions?: PartitionOptions & { everyMs?: number };
  /**
   * Trust a verified virtual key this long (ms) before looking it up again (packages/api keyCache.ts):
   * a blocked or deleted key is refused by every replica at most this long after the change; expiry is
   * checked on every request. Absent or 0: every request looks its key up (`spendlens serve` reads
   * SPENDLENS_KEY_CACHE_MS, default 1000).
   */
  keyCacheMs?: number;
}

export interface RunningServer {
  server: Server;
  url: string;
  /** Heavy queries running and waiting now (limits.ts HeavyGate). */
  heavyStats(): { running: number; waiting: number };
  /** The standby's reads (null without DATABASE_READ_URL). */
  standby: StandbyReads | null;
  close(): Promise<void>;
}

// Found through this package's own package.json, so the paths also hold when this module is bundled
// into the CLI (apps/cli/dist), where import.meta.url is the bundle's.
const SERVER_PKG = createRequire(import.meta.url).resolve("@spendlens/server/package.json");
// The dashboard: apps/web's Vite build, found beside this package (a sibling, not a dependency: the web
// app's tests start this server).
const DASHBOARD_DIR = `${join(dirname(SERVER_PKG), "..", "web", "dist")}${sep}`;
const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
};

/** Calls in one tRPC batch request at most (tRPC answers more with a 400). */
const MAX_BATCH_CALLS = 16;

export function bearerOf(req: IncomingMessage): string | null {
  const h = req.headers.authorization ?? (req.headers["x-litellm-api-key"] as string | undefined);
  if (!h) return null;
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  return (m ? m[1]! : h).trim() || null;
}

/** How fresh a read must be: `strong` reads from the primary; `eventual` (default) may use the standby. */
const CONSISTENCY = new Set(["strong", "eventual"]);

/**
 * The request's consistency: the `consistency` query parameter (REST and /trpc URLs) or the
 * `x-spendlens-consistency` header (what a tRPC client sets); a bad value is a 400 naming `consistency`.
 */
function consistencyOf(req: IncomingMessage, url: URL): { strong: boolean } | SpendlensError {
  const h = req.headers["x-spendlens-consistency"];
  const values = [...url.searchParams.getAll("consistency"), ...(Array.isArray(h) ? h : h ? [h] : [])];
  for (const v of values)
    if (!CONSISTENCY.has(v.trim().toLowerCase()))
      return badRequest("consistency", "must be strong or eventual");
  return { strong: values.some((v) => v.trim().toLowerCase() === "strong") };
}

/** The headers of a read's answer: which database answered and, for the standby, as of when. */
function setReadHeaders(res: ServerResponse, choice: ReadChoice | null): void {
  if (res.headersSent) return;
  for (const h of [
    "x-spendlens-replay-lsn",
    "x-spendlens-as-of",
    "x-spendlens-lag-ms",
    "x-spendlens-replayed-at",
  ])
    res.removeHeader(h);
  const sb = choice?.standby;
  res.setHeader("x-spendlens-read-source", sb ? "standby" : "primary");
  if (!sb) return;
  res.setHeader("x-spendlens-replay-lsn", sb.lsn);
  res.setHeader("x-spendlens-as-of", sb.asOf);
  res.setHeader("x-spendlens-lag-ms", String(sb.lagMs));
  if (sb.replayedAt) res.setHeader("x-spendlens-replayed-at", sb.replayedAt);
}

const sha256 = (s: string) => createHash("sha256").update(s).digest();

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  // Already answered (the deadline's 504) or gone: nothing more to say.
  if (res.headersSent || res.destroyed) return;
  // Encoded once: Buffer.byteLength(text) then res.end(text) would walk a large answer twice.
  const buf = Buffer.from(JSON.stringify(body), "utf8");
  res.writeHead(status, { "content-type": "application/json", "content-length": buf.length });
  res.end(buf);
}

/**
 * The dashboard's files, and its index.html for any other GET that a browser navigates to (the app's
 * own routes, e.g. /teams/t1). Asset names carry a content hash, so they are cached for good.
 */
async function serveDashboard(path: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const file = normalize(join(DASHBOARD_DIR, path === "/" ? "index.html" : path));
  if (!file.startsWith(DASHBOARD_DIR)) return false;
  const immutable = path.startsWith("/assets/");
  try {
    const body = await readFile(file);
    res.writeHead(200, {
      "content-type": MIME[extname(file)] ?? "application/octet-stream",
      "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    });
    res.end(body);
    return true;
  } catch {
    if (extname(path) || !/\btext\/html\b/.test(req.headers.accept ?? "")) return false;
    try {
      const index = await readFile(join(DASHBOARD_DIR, "index.html"));
      res.writeHead(200, { "content-type": MIME[".html"]!, "cache-control": "no-cache" });
      res.end(index);
      return true;
    } catch {
      return false;
    }
  }
}

/** node:http with tRPC at /trpc, the original's REST routes, /healthz and the dashboard. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const log = opts.logger ?? pino({ level: process.env.SPENDLENS_LOG_LEVEL ?? "info" });
  // tRPC's jsonl answers go through TextEncoderStream: Node 20's is slow (textEncoderStream.ts).
  useWholeChunkTextEncoderStream();
  const services: Services =
    opts.keyCacheMs && !opts.services.keys
      ? { ...opts.services, keys: new VerifiedKeys(opts.keyCacheMs) }
      : opts.services;
  const routes = restRoutes();
  const limits = opts.limits ?? UNRATED_LIMITS;
  const edge = new Edge(services, limits);
  const bodyLimit = (large: boolean) => (large ? limits.maxIngestBodyBytes : limits.maxBodyBytes);
  // The context of each tRPC request, made (authenticated, admitted) before tRPC reads anything.
  const trpcContexts = new WeakMap<IncomingMessage, Promise<Context>>();
  const read = services.handle?.read;
  const standby = read
    ? new StandbyReads(services.db, read, opts.standby, (what, e) =>
        log.warn({ err: e instanceof Error ? e.message : String(e) }, what),
      )
    : null;
  standby?.start();
  const metrics = new Metrics(services, standby);
  const observe: Context["observe"] = { ingested: (kind, n) => metrics.ingested.inc({ kind }, n) };

  /**
   * Where a request's reads go. Only a request whose every procedure is a read (`procedureReads`) gets
   * the read headers and, unless it asked for `consistency=strong`, the standby; the headers are set
   * before the procedures run and corrected if the standby fails and the primary answers.
   */
  const routeRead = async (
    res: ServerResponse,
    procedures: string[],
    strong: boolean,
  ): Promise<StandbyRead | undefined> => {
    if (!procedures.length || !procedures.every((p) => procedureReads(p))) return undefined;
    const choice = standby ? await standby.choose(strong) : null;
    setReadHeaders(res, choice);
    const sb = choice?.standby;
    if (!sb) {
      metrics.reads.inc({ source: "primary", reason: choice?.reason ?? "none" });
      return undefined;
    }
    metrics.reads.inc({ source: "standby", reason: "standby" });
    return {
      db: sb.db,
      fallback: (e) => {
        const c = classifyDbError(errorDetail(e));
        if (c instanceof SpendlensError && c.code === "UNAVAILABLE") standby?.markDown(e);
        metrics.reads.inc({ source: "primary", reason: "error" });
        setReadHeaders(res, null);
      },
    };
  };

  const trpcHandler = createHTTPHandler({
    router: appRouter,
    basePath: "/trpc/",
    maxBodySize: limits.maxIngestBodyBytes,
    // A batch is admitted as one request (one token per call, one heavy slot): keep it small.
    maxBatchSize: MAX_BATCH_CALLS,
    createContext: ({ req }) => trpcContexts.get(req) ?? Promise.reject(new Error("request not admitted")),
    onError: ({ error, path, req }) => {
      if (error.code === "INTERNAL_SERVER_ERROR")
        log.error({ request_id: requestIdOf(req), path, err: errorDetail(error) }, "procedure failed");
    },
  });

  /**
   * A REST route: the key from the headers first (a refusal leaves the body unread), then the body
   * within the route's limit, then the procedure, all under the request's deadline.
   */
  const serveRest = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    path: string,
    route: RestRoute,
  ): Promise<void> => {
    const requestId = requestIdOf(req);
    const sendError = (err: TRPCError) => {
      const r = restErrorBody(err, requestId);
      if (r.status >= 500)
        log.warn({ request_id: requestId, path, status: r.status, err: r.cause }, "rest route failed");
      sendJson(res, r.status, r.body);
    };
    const deadline = startDeadline(res, limits.requestTimeoutMs, () => {
      if (res.headersSent) return void res.destroy();
      closeAfterAnswer(req, res);
      sendError(deadlineError());
    });
    let adm: Admission;
    try {
      adm = await edge.admit(req, res, bearerOf(req), { heavy: route.heavy, calls: 1 });
    } catch (e) {
      closeUnlessDrainable(req, res);
      return sendError(toTRPCError(e));
    }
    let release = () => {};
    try {
      if (adm.refused) return sendError(adm.refused);
      const consistency = consistencyOf(req, url);
      if (consistency instanceof SpendlensError) {
        closeUnlessDrainable(req, res);
        return sendError(toTRPCError(consistency));
      }
      const body =
        route.method === "POST" ? parseJsonBody(await readBody(req, bodyLimit(route.largeBody))) : undefined;
      if (route.heavy) {
        const slot = await edge.takeSlot(req, res, deadline.signal);
        release = slot.release;
        if (slot.refused) return sendError(slot.refused);
      }
      const sb = await routeRead(res, [route.procedure], consistency.strong);
      await answerRest(req, res, url, path, route, { ...adm.ctx, observe, standby: sb }, body);
    } finally {
      release();
    }
  };

  const answerRest = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    path: string,
    route: RestRoute,
    ctx: Context,
    body: unknown,
  ): Promise<void> => {
    const requestId = requestIdOf(req);
    // CSV of any table-shaped answer: ?format=csv or Accept: text/csv.
    const query: Record<string, string | string[]> = Object.fromEntries(url.searchParams);
    for (const name of route.meta.multi ?? []) {
      if (url.searchParams.has(name)) query[name] = url.searchParams.getAll(name);
    }
    const csv = query.format === "csv" || /\btext\/csv\b/.test(req.headers.accept ?? "");
    delete query.format;
    delete query.consistency;
    const r = await callRestRoute(ctx, route, { query, body }, { stream: true });
    if (res.headersSent || res.destroyed) {
      // Past the deadline (already answered 504) or the client is gone: a stream is never opened.
      await r.stream?.items()[Symbol.asyncIterator]().return?.();
      return;
    }
    if (r.stream) {
      // A big answer, streamed (apps/server/src/stream.ts): errors before the first byte are
      // answered as usual; after it, the connection is cut.
      // A stream that failed before its first byte: when the standby failed (and the primary may still
      // answer), the primary answers instead; otherwise the error is the answer.
      const streamFailed = (e: unknown, retry: boolean): Promise<void> | void => {
        if (retry && ctx.standby && standbyUnusable(e)) {
          ctx.standby.fallback(e);
          return answerRest(req, res, url, path, route, { ...ctx, standby: undefined }, body);
        }
        const er = restErrorBody(toTRPCError(e), requestId);
        if (er.status >= 500)
          log.warn({ request_id: requestId, path, status: er.status, err: er.cause }, "rest route failed");
        return sendJson(res, er.status, er.body);
      };
      let opened: OpenedStream;
      try {
        opened = await openRestStream(r.stream, csv ? "csv" : "json");
      } catch (e) {
        return streamFailed(e, true);
      }
      if (res.headersSent || res.destroyed) {
        await opened.chunks.return();
        return;
      }
      // sendRestStream throws only before it wrote anything (reading the first piece failed).
      let cut: Error | null;
      try {
        cut = await sendRestStream(res, opened);
      } catch (e) {
        return streamFailed(e, !res.headersSent);
      }
      if (cut) log.warn({ request_id: requestId, path, err: cut }, "streamed answer cut short");
      return;
    }
    if (r.status >= 500)
      log.warn({ request_id: requestId, path, status: r.status, err: r.cause }, "rest route failed");
    if (csv && r.status === 200 && !res.headersSent) {
      const buf = Buffer.from(toCsv(r.body), "utf8");
      res.writeHead(200, { "content-type": "text/csv; charset=utf-8", "content-length": buf.length });
      return void res.end(buf);
    }
    return sendJson(res, r.status, r.body);
  };

  /**
   * /trpc: the same admission as REST, before tRPC's handler reads the body. A refused request runs
   * through tRPC with an empty body and `ctx.refused` (every procedure then fails with it, in the
   * shape the client's link expects); an admitted one gets its body read here within the limit of the
   * procedures it names and handed to tRPC as `req.body`.
   */
  const serveTrpc = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const { paths, batch } = trpcCalls(url.pathname, url.searchParams);
    const kind = trpcKind(paths);
    const sendError = (err: TRPCError) => {
      const a = trpcErrorAnswer(err, paths, batch);
      sendJson(res, a.status, a.body);
    };
    const deadline = startDeadline(res, limits.requestTimeoutMs, () => {
      if (res.headersSent) return void res.destroy();
      closeAfterAnswer(req, res);
      sendError(deadlineError());
    });
    const withBody = req.method !== "GET" && req.method !== "HEAD";
    const body = req as IncomingMessage & { body?: string };
    let adm: Admission | null = null;
    let release = () => {};
    try {
      adm = await edge.admit(req, res, bearerOf(req), kind);
    } catch (e) {
      // Authentication itself failed (the database is down): tRPC answers the error, body unread.
      closeUnlessDrainable(req, res);
      if (withBody) body.body = "{}";
      trpcContexts.set(req, Promise.reject(e));
    }
    try {
      if (adm) {
        const accept = `${req.headers["trpc-accept"] ?? ""},${req.headers.accept ?? ""}`;
        const ctx: Context = {
          ...adm.ctx,
          observe,
          trpcStream: accept.includes("application/jsonl"),
          refused: adm.refused ?? undefined,
        };
        const consistency = ctx.refused ? null : consistencyOf(req, url);
        if (consistency instanceof SpendlensError) {
          closeUnlessDrainable(req, res);
          ctx.refused = toTRPCError(consistency);
        }
        if (withBody) {
          if (ctx.refused) body.body = "{}";
          else {
            try {
              body.body = (await readBody(req, bodyLimit(kind.largeBody)))?.toString("utf8") ?? "";
            } catch (e) {
              if (!(e instanceof BodyError)) throw e;
              closeAfterAnswer(req, res);
              return sendError(payloadTooLarge(e.message));
            }
          }
        }
        if (kind.heavy && !ctx.refused) {
          const slot = await edge.takeSlot(req, res, deadline.signal);
          release = slot.release;
          ctx.refused = slot.refused ?? undefined;
        }
        // Where the reads go is decided last, right before the procedures run (the standby's position
        // read now is what the answer is at least as fresh as).
        if (!ctx.refused && consistency && !(consistency instanceof SpendlensError))
          ctx.standby = await routeRead(res, paths, consistency.strong);
        trpcContexts.set(req, Promise.resolve(ctx));
      }
      if (res.headersSent || res.destroyed) return;
      // The standalone handler returns before the answer is written (a jsonl stream goes on for long
      // after): the heavy slot is held until the response is closed.
      const closed = new Promise<void>((resolve) => res.once("close", () => resolve()));
      await trpcHandler(req, res);
      await closed;
    } catch (e) {
      // Writing after the deadline's 504 fails inside tRPC's adapter: nothing left to answer.
      if (!deadline.expired()) throw e;
    } finally {
      release();
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const requestId = assignRequestId(req, res);
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
    // The route's template for the latency metric (never the raw path: ids would make a series each).
    let routeLabel = "unmatched";
    res.on("finish", () => {
      metrics.latency.observe(
        { method: req.method ?? "GET", route: routeLabel, status: String(res.statusCode) },
        (performance.now() - started) / 1000,
      );
      // Never log query values: they may hold raw keys.
      log.info(
        {
          request_id: requestId,
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
      if (path.startsWith("/trpc/")) {
        const { paths } = trpcCalls(url.pathname, url.searchParams);
        routeLabel =
          paths.length === 1
            ? procedureMeta(paths[0]!)
              ? `/trpc/${paths[0]}`
              : "/trpc/unknown"
            : paths.length > 1
              ? "/trpc/batch"
              : "/trpc/unknown";
        return void (await serveTrpc(req, res, url));
      }
      if (path === "/healthz") {
        routeLabel = "/healthz";
        const sb = standby ? { standby: standby.status() } : {};
        return (await ping(services.db))
          ? sendJson(res, 200, { status: "ok", database: services.handle?.engine ?? "up", ...sb })
          : sendJson(res, 503, { status: "unavailable", database: "down", ...sb });
      }
      if (path === "/metrics" && req.method === "GET") {
        routeLabel = "/metrics";
        if (!opts.metrics?.public) {
          const key = bearerOf(req);
          const ok =
            !!key && !!services.masterKey && timingSafeEqual(sha256(key), sha256(services.masterKey));
          if (!ok)
            return sendJson(res, 401, {
              error: {
                message: services.masterKey
                  ? "/metrics needs the master key (or SPENDLENS_METRICS_PUBLIC=1)"
                  : "/metrics needs SPENDLENS_MASTER_KEY to be set (or SPENDLENS_METRICS_PUBLIC=1)",
                type: "auth_error",
                param: null,
                code: "401",
              },
            });
        }
        const m = await metrics.text();
        res.writeHead(200, { "content-type": m.contentType });
        return void res.end(m.body);
      }
      if (req.method === "GET" && (await serveApiDocs(path, res))) {
        routeLabel = "/docs";
        return;
      }
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
        routeLabel = route.path;
        return void (await serveRest(req, res, url, path, route));
      }
      if (req.method === "GET" && (await serveDashboard(path, req, res))) {
        routeLabel = "/dashboard";
        return;
      }
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
        if (e.status === 413) closeAfterAnswer(req, res);
        return sendJson(res, e.status, {
          error: { message: e.message, type: "bad_request_error", param: "body", code: String(e.status) },
        });
      }
      log.error({ request_id: requestId, err: e, path }, "unhandled");
      if (!res.headersSent) sendJson(res, 500, internalErrorBody(requestId));
      else res.destroy();
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  // A request node cannot parse (a URL or headers past its 16 KiB limit, bad framing): answer it in
  // LiteLLM's error shape and close with a lingering close, as for a refused body (body.ts), so the
  // client reads the 431/400 instead of a reset while it is still sending.
  const refusedSockets = new WeakSet<Socket>();
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    // node feeds every later chunk to the failed parser and calls this again for each: answered once,
    // the socket is left to its lingering close (destroying it here would reset the client's read).
    if (refusedSockets.has(socket)) return;
    refusedSockets.add(socket);
    if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    // What the client still sends is read and dropped here, not parsed.
    socket.removeAllListeners("data");
    const tooLarge = err.code === "HPE_HEADER_OVERFLOW";
    const status = tooLarge ? 431 : 400;
    const body = JSON.stringify({
      error: {
        message: tooLarge ? "request line or headers larger than 16 KiB" : "malformed HTTP request",
        type: "bad_request_error",
        param: null,
        code: String(status),
      },
    });
    socket.end(
      `HTTP/1.1 ${status} ${tooLarge ? "Request Header Fields Too Large" : "Bad Request"}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    const timer = setTimeout(() => socket.destroy(), 2_000);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
    socket.resume();
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 4000, opts.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address === "::" ? "localhost" : addr.address}:${addr.port}`;
  let alerter: BudgetAlerter | null = null;
  if (budgetWebhooksEnabled(services.config)) {
    const hook = opts.budgetAlerts?.webhookUrl;
    if (!hook)
      log.warn(
        "general_settings.alerting lists webhook but WEBHOOK_URL is not set: no budget alerts are sent",
      );
    else {
      alerter = startBudgetAlerter(services.db, services.config, {
        url: hook,
        ...(opts.budgetAlerts?.pollMs !== undefined ? { pollMs: opts.budgetAlerts.pollMs } : {}),
        ...(opts.budgetAlerts?.backoffMs !== undefined ? { backoffMs: opts.budgetAlerts.backoffMs } : {}),
        // Never the driver's message text in full: the error code and a short reason.
        onError: (e) =>
          log.warn({ err: e instanceof Error ? e.message : String(e) }, "budget alert round failed"),
      });
    }
  }
  let partitions: PartitionMaintainer | null = null;
  if (opts.partitions) {
    partitions = startPartitionMaintainer(services.db, {
      ...opts.partitions,
      onChange: (changes) => log.info({ changes }, "log partitions changed"),
      onError: (e) =>
        log.warn({ err: e instanceof Error ? e.message : String(e) }, "log partition maintenance failed"),
    });
  }
  let closing: Promise<void> | null = null;
  return {
    server,
    url,
    heavyStats: () => edge.heavy.stats,
    standby,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const stopped = Promise.all([alerter?.stop(), standby?.stop(), partitions?.stop()]);
        server.close(() => void stopped.then(() => resolve()));
        server.closeIdleConnections();
        // Requests still running get a grace period, then their connections are cut.
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      });
      return closing;
    },
  };
}
