import { stringify } from "csv-stringify/sync";
import { csvLines, toCsv } from "./tabular.ts";

/**
 * Streamed REST answers: a procedure whose answer can be big (the spend report, /spend/logs)
 * hands the REST server a stream of the answer's elements instead of the value, and the server writes
 * the JSON (or CSV) as elements arrive, with backpressure: memory is bounded by a chunk, not by the
 * answer. tRPC callers, the CLI and tests keep getting the whole value from the same procedure.
 *
 * How a procedure opts in: `streamOr(ctx, whole, stream)`. The REST server calls the procedure with
 * `ctx.restStream = true`; the procedure has then already run its middlewares (auth, role) and checked
 * its input, so a 400/401/403 is answered as before; what it returns is a RestStream marker (typed as
 * the whole value, which the REST path never serializes).
 */

const STREAMED: unique symbol = Symbol("spendlens.restStream");

/** One element of a streamed answer: its JSON text, whole, in pieces (text or UTF-8 bytes), or as UTF-8 bytes. */
export type RestItem = string | readonly (string | Uint8Array)[] | Uint8Array;
const bytesText = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8");
const itemText = (i: RestItem): string =>
  typeof i === "string"
    ? i
    : i instanceof Uint8Array
      ? bytesText(i)
      : i.map((p) => (typeof p === "string" ? p : bytesText(p))).join("");

export interface RestStream {
  readonly [STREAMED]: true;
  /**
   * Each element of the REST answer's top-level array, in order, as JSON text: a string, or pieces
   * whose concatenation is the element (so that a big element is never one big string).
   */
  items(): AsyncIterable<RestItem>;
  /**
   * When every element's flattened rows (tabular.ts flattenRow) have exactly these columns in this
   * order, CSV streams too (its lines per element). Without it, CSV is built from the whole answer
   * (toCsv), as for any other route.
   */
  csvColumns?: readonly string[] | undefined;
  /**
   * An answer that is a JSON object around a list (not a bare array): `open` is written before the
   * first element and `close()` (called once every element was read) after the last, in place of `[`
   * and `]`. CSV of such an answer is built from the whole value, as for an answer not streamed.
   */
  envelope?: { open: string; close: () => string } | undefined;
}

export function isRestStream(v: unknown): v is RestStream {
  return !!v && typeof v === "object" && (v as { [STREAMED]?: unknown })[STREAMED] === true;
}

/**
 * In a procedure: when the REST server asked for a stream (`ctx.restStream`), the stream; when a tRPC
 * request accepts a streamed answer (`ctx.trpcStream`, httpBatchStreamLink) and `trpc` is given, the
 * procedure's tRPC shape with its big list as an async iterable of the elements (tRPC writes them one
 * jsonl line each, with backpressure); otherwise (or when `stream` gives null: this input is answered
 * whole) the whole value. `stream` must check its input synchronously (throw before returning) and read
 * nothing until `items()` is iterated.
 */
export function streamOr<T>(
  ctx: { restStream?: boolean | undefined; trpcStream?: boolean | undefined },
  whole: () => Promise<T>,
  stream: () => Omit<RestStream, typeof STREAMED> | null,
  trpc?: (elements: AsyncIterable<unknown>) => unknown,
): Promise<T> {
  if (ctx.restStream) {
    const s = stream();
    if (!s) return whole();
    const marker: RestStream = {
      [STREAMED]: true,
      items: () => s.items(),
      csvColumns: s.csvColumns,
      envelope: s.envelope,
    };
    return Promise.resolve(marker as unknown as T);
  }
  if (ctx.trpcStream && trpc) {
    const s = stream();
    if (!s) return whole();
    // Typed as the whole value for in-process callers; over HTTP the client receives the iterable.
    return Promise.resolve(trpc(parsedElements(s)) as T);
  }
  return whole();
}

/**
 * The elements of a stream as values, one parsed at a time (never the whole list). Each waits for a
 * turn of the event loop first: tRPC's jsonl writer is a chain of web streams whose steps are promise
 * callbacks, and a socket write the kernel takes at once signals "drained" in a nextTick, so with
 * elements always ready (cached days, fast fetches) it ran for seconds without letting the event loop in
 * (measured: /healthz waited 4 s behind eight reports); now other requests' I/O is served between two
 * elements. The turn is cheap (a 366-day report is 366 turns): waiting one only every 1–10 ms of work
 * instead was no faster, and let the event loop's delay grow 1.5–2× (docs/scaling.md §8).
 */
async function* parsedElements(s: Pick<RestStream, "items">): AsyncGenerator<unknown, void, undefined> {
  for await (const item of s.items()) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    yield JSON.parse(itemText(item));
  }
}

/** Text handed to the socket at once: elements are joined up to about this many characters. */
const BATCH_CHARS = 64 * 1024;

export interface OpenedStream {
  contentType: string;
  /** The body, in pieces of about BATCH_CHARS characters (or bigger ready-made bytes). */
  chunks: AsyncGenerator<string | Uint8Array, void, undefined>;
}

/**
 * Starts a streamed answer: reads its first element before anything is written, so that an error
 * there (database down, timeout, bad data) is still a proper error response (thrown here). Errors
 * after that surface from `chunks` once bytes have been sent: the server then destroys the connection
 * (see apps/server), so a client sees a truncated body, never a silently short 200.
 */
export async function openRestStream(s: RestStream, format: "json" | "csv"): Promise<OpenedStream> {
  const it = s.items()[Symbol.asyncIterator]();
  let first: IteratorResult<RestItem>;
  try {
    first = await it.next();
  } catch (e) {
    await it.return?.().catch(() => {});
    throw e;
  }
  const rest = async function* (): AsyncGenerator<RestItem, void, undefined> {
    if (first.done) return;
    yield first.value;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  };
  const columns = s.csvColumns;
  const env = s.envelope;
  if (format === "csv" && env) {
    const parts: string[] = [env.open];
    let sep = "";
    for await (const item of rest()) {
      parts.push(sep, itemText(item));
      sep = ",";
    }
    parts.push(env.close());
    return { contentType: "text/csv; charset=utf-8", chunks: once(toCsv(JSON.parse(parts.join("")))) };
  }
  if (format === "csv" && !columns) {
    // Columns depend on every element (toCsv): built whole.
    const all: unknown[] = [];
    for await (const item of rest()) all.push(JSON.parse(itemText(item)));
    return { contentType: "text/csv; charset=utf-8", chunks: once(toCsv(all)) };
  }
  if (format === "csv" && first.done) {
    return { contentType: "text/csv; charset=utf-8", chunks: once(toCsv([])) };
  }
  const pieces = format === "csv" ? csvPieces(rest(), columns ?? []) : jsonPieces(rest(), env);
  return {
    contentType: format === "csv" ? "text/csv; charset=utf-8" : "application/json",
    chunks: batch(pieces, it),
  };
}

async function* once(text: string): AsyncGenerator<string, void, undefined> {
  yield text;
}

async function* jsonPieces(
  items: AsyncIterable<RestItem>,
  env?: RestStream["envelope"],
): AsyncGenerator<string | Uint8Array, void, undefined> {
  const open = env?.open ?? "[";
  let sep = open;
  for await (const item of items) {
    yield sep;
    if (typeof item === "string" || item instanceof Uint8Array) yield item;
    else yield* item;
    sep = ",";
  }
  const close = env ? env.close() : "]";
  yield sep === open ? open + close : close;
}

async function* csvPieces(
  items: AsyncIterable<RestItem>,
  columns: readonly string[],
): AsyncGenerator<string, void, undefined> {
  yield stringify([[...columns]]);
  for await (const item of items) yield csvLines(JSON.parse(itemText(item)), columns);
}

/** Joins small pieces into writes of about BATCH_CHARS; stopping early also stops the source. */
async function* batch(
  pieces: AsyncGenerator<string | Uint8Array, void, undefined>,
  source: AsyncIterator<RestItem>,
): AsyncGenerator<string | Uint8Array, void, undefined> {
  let buf: string[] = [];
  let size = 0;
  try {
    for await (const p of pieces) {
      if (p.length === 0) continue; // an empty envelope's parts
      if (typeof p !== "string" || p.length >= BATCH_CHARS) {
        // Bytes (a cached day) and big pieces go out as they are, not copied into a batch.
        if (buf.length) yield buf.join("");
        buf = [];
        size = 0;
        yield p;
        continue;
      }
      buf.push(p);
      size += p.length;
      if (size >= BATCH_CHARS) {
        yield buf.join("");
        buf = [];
        size = 0;
      }
    }
    if (buf.length) yield buf.join("");
  } finally {
    await source.return?.().catch(() => {});
  }
}
