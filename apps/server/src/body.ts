import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/**
 * Request bodies: read only after the caller is known (auth comes from the headers), never past the
 * route's limit, and a request refused before its body was read either has that body drained (when it
 * is small) or its connection closed, so that a keep-alive connection never carries a half-read body
 * into the next request.
 */

export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

/** A refused request's body up to this size is read and dropped (the connection stays open); a bigger one closes it. */
export const DRAIN_CAP = 64 * 1024;

/** The declared Content-Length; null when the body is chunked (size unknown); 0 when there is none. */
export function declaredLength(req: IncomingMessage): number | null {
  const cl = req.headers["content-length"];
  if (cl !== undefined) {
    const n = Number(cl);
    return Number.isSafeInteger(n) && n >= 0 ? n : null;
  }
  return req.headers["transfer-encoding"] ? null : 0;
}

/**
 * Call before answering without reading the body (401, 429, 503, 413…): a body too big (or of unknown
 * size) to drain cheaply closes the connection after the answer (node then drops what is left), so
 * the next request on it never starts in the middle of this one's body.
 */
export function closeUnlessDrainable(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete || res.headersSent) return;
  const n = declaredLength(req);
  if (n === null || n > DRAIN_CAP) closeAfterAnswer(req, res);
}

/** How long a closing connection keeps reading (and dropping) a body the client is still sending. */
const LINGER_MS = 2_000;
const lingering = new WeakSet<Socket>();

/**
 * `Connection: close` on this answer, and a lingering close: node would destroy the socket as soon as
 * the answer is flushed, and a socket closed with unread bytes sends a reset, which makes the
 * client's kernel drop the answer it has not read yet (the client sees a reset, not the 401 or 413).
 * So the connection is half-closed instead (FIN after the answer), what the client still sends is
 * read and dropped, and the socket is destroyed when the client closes its side or after LINGER_MS.
 */
export function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  if (!res.headersSent) res.setHeader("connection", "close");
  const sock = req.socket as Socket & { destroySoon?: () => void };
  if (lingering.has(sock)) return;
  lingering.add(sock);
  sock.destroySoon = () => {
    sock.end();
    const timer = setTimeout(() => sock.destroy(), LINGER_MS);
    timer.unref();
    sock.once("close", () => clearTimeout(timer));
    sock.once("end", () => sock.destroy());
    sock.resume();
  };
}

/**
 * The body as bytes (undefined when empty), at most `limit` bytes: a bigger declared Content-Length
 * is refused before reading, a chunked body once it passes the limit (what follows is dropped). A
 * 413's answer must close the connection (`closeAfterAnswer`).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = declaredLength(req);
  const tooBig = () => new BodyError(413, `request body larger than ${limit} bytes`);
  if (declared !== null && declared > limit) return Promise.reject(tooBig());
  // `req.complete` only says the whole body has arrived (it may still wait in the stream's buffer, e.g.
  // while the key was checked): read it. Only a body already read to its end has nothing left.
  if (declared === 0 || req.readableEnded) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        cleanup();
        // The rest is read and dropped until the connection closes (closeAfterAnswer).
        req.resume();
        reject(tooBig());
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(size ? Buffer.concat(chunks, size) : undefined);
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onClose = () => {
      cleanup();
      reject(new Error("the client went away before sending its whole body"));
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

export function parseJsonBody(buf: Buffer | undefined): unknown {
  if (!buf) return undefined;
  try {
    return JSON.parse(buf.toString("utf8"));
  } catch {
    throw new BodyError(400, "request body is not valid JSON");
  }
}
