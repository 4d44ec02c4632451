import type { ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { OpenedStream } from "@spendlens/api";

/** The stream's next chunk; on an error the stream is closed (its statement released) first. */
async function nextOrClose(s: OpenedStream): Promise<IteratorResult<string | Uint8Array, void>> {
  try {
    return await s.chunks.next();
  } catch (e) {
    await s.chunks.return(undefined).catch(() => {});
    throw e;
  }
}

/**
 * Writes a streamed REST answer (packages/api/src/stream.ts): status 200 with `transfer-encoding:
 * chunked` (no content-length: the size is not known up front), the body as its pieces arrive.
 * Backpressure: the next piece is read from the database only once the socket has taken the previous
 * ones, so a slow client slows the cursor down instead of filling memory.
 *
 * The headers are written only once the first piece of the body is ready: the first piece gathers
 * elements up to ~64 KiB, so reading it can still fail (the database going away mid-read); that error is
 * thrown, before anything was written, and the caller answers it as any other (503, …) instead of the
 * client seeing a dropped connection with no answer at all.
 *
 * An error after the headers (the database going away, a statement timeout between two chunks):
 * the response cannot become an error any more, so the connection is destroyed without the final
 * zero-length chunk; every HTTP client then reports a truncated body (fetch: "terminated", curl:
 * exit 18), never a complete-looking 200. Resolves with the error (or null) for the request log.
 */
export async function sendRestStream(res: ServerResponse, s: OpenedStream): Promise<Error | null> {
  const first = await nextOrClose(s);
  if (first.done) {
    res.writeHead(200, { "content-type": s.contentType });
    res.end();
    return null;
  }
  const head = first.value;
  // An answer that is one piece of ready-made bytes (a cached daily-activity page) is written at once,
  // with its length; text answers keep the chunked stream.
  let second: IteratorResult<string | Uint8Array, void> | null = null;
  if (typeof head !== "string") {
    second = await nextOrClose(s);
    if (second.done) {
      res.writeHead(200, { "content-type": s.contentType, "content-length": head.byteLength });
      res.end(head);
      return null;
    }
  }
  res.writeHead(200, { "content-type": s.contentType });
  const next = second?.value;
  const rest = s.chunks;
  async function* body(): AsyncGenerator<string | Uint8Array, void, undefined> {
    yield head;
    if (next !== undefined) yield next;
    yield* rest;
  }
  try {
    await pipeline(Readable.from(body(), { objectMode: true, highWaterMark: 1 }), res);
    return null;
  } catch (e) {
    res.destroy();
    return e instanceof Error ? e : new Error(String(e));
  }
}
