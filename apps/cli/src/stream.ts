import { once } from "node:events";
import { cell, toCsv } from "@spendlens/api";
import { stringify } from "csv-stringify/sync";

/**
 * The CLI's big outputs, streamed: rows are printed as they are read, in exactly the text
 * `render` would print for the whole answer (`--json`: JSON.stringify(rows, null, 2); `--csv`: toCsv),
 * so memory is bounded by one element of the answer. The rows come from the REST route's stream: in
 * process through the procedure (as a server calls it), against a server (--url) from its streamed
 * body, split element by element.
 */

export type Row = Record<string, unknown>;

export interface RowStream {
  /** Every row's keys, in order (the CSV header). */
  columns: readonly string[];
  rows: AsyncIterable<Row>;
}

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, "drain");
}

const indent = (s: string) => s.replace(/\n/g, "\n  ");

/** Prints the rows as `render(rows, format)` would, piece by piece, waiting when stdout is full. */
export async function writeRows(
  s: RowStream,
  format: "json" | "csv",
  out: NodeJS.WritableStream,
): Promise<void> {
  let n = 0;
  for await (const r of s.rows) {
    if (format === "json") await write(out, `${n ? ",\n" : "[\n"}  ${indent(JSON.stringify(r, null, 2))}`);
    else {
      if (!n) await write(out, stringify([[...s.columns]]));
      await write(out, stringify([s.columns.map((c) => cell(r[c], false))]));
    }
    n += 1;
  }
  if (format === "json") await write(out, n ? "\n]\n" : "[]\n");
  else if (!n) await write(out, toCsv([]));
}

/**
 * The elements of a JSON array read from a byte stream, one at a time (each parsed once complete):
 * the REST routes stream `[elem,elem,…]`, so a client never holds more than one element.
 */
export async function* jsonArrayElements(body: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  const dec = new TextDecoder();
  let depth = 0; // [ and { open, the answer's own [ included
  let inString = false;
  let escaped = false;
  let inElement = false;
  let closed = false;
  let parts: string[] = [];
  const done = () => {
    const el = parts.join("");
    parts = [];
    inElement = false;
    return JSON.parse(el) as unknown;
  };
  for await (const chunk of body) {
    const text = dec.decode(chunk, { stream: true });
    let from = inElement ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 92)
          escaped = true; // backslash
        else if (c === 34) inString = false; // closing quote
        continue;
      }
      if (c <= 32) continue;
      if (closed) throw new Error("unexpected text after the answer");
      if (depth === 1 && !inElement && c !== 44 && c !== 93) {
        inElement = true; // an element starts: { [ " or a scalar
        from = i;
      }
      if (c === 34) inString = true;
      else if (c === 91 || c === 123) depth += 1;
      else if (c === 93 || c === 125) {
        depth -= 1;
        if (depth === 1) {
          // an object or array element ends here
          parts.push(text.slice(from, i + 1));
          from = -1;
          yield done();
        } else if (depth === 0) {
          if (inElement) {
            parts.push(text.slice(from, i)); // a scalar element ends at the closing ]
            yield done();
          }
          closed = true;
        }
      } else if (c === 44 && depth === 1 && inElement) {
        parts.push(text.slice(from, i)); // a scalar element ends at the comma
        from = -1;
        yield done();
      }
    }
    if (inElement && from >= 0) parts.push(text.slice(from));
  }
  if (!closed) throw new Error("the server's answer was cut short");
}
