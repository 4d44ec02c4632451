import { describe, expect, it } from "vitest";
import { WholeChunkTextEncoderStream } from "../src/textEncoderStream.ts";

/**
 * The server's TextEncoderStream (tRPC's jsonl answers go through it) must give the bytes Node's own
 * gives for any chunking: surrogate pairs split across chunks, lone surrogates, empty chunks, a high
 * surrogate at the very end.
 */

const NativeTextEncoderStream = globalThis.TextEncoderStream;

async function encodeAll(
  make: () => TransformStream<string, Uint8Array>,
  chunks: string[],
): Promise<number[]> {
  const t = make();
  const out: number[] = [];
  const reading = (async () => {
    for await (const c of t.readable as unknown as AsyncIterable<Uint8Array>) out.push(...c);
  })();
  const w = t.writable.getWriter();
  for (const c of chunks) await w.write(c);
  await w.close();
  await reading;
  return out;
}

const CASES: [string, string[]][] = [
  ["ASCII lines", ['{"a":1}\n', '[0,1,[["x"]]]\n']],
  ["non-ASCII whole", ["héllo wörld €", "日本語"]],
  ["a pair whole", ["a😀b"]],
  ["a pair split across chunks", ["a\ud83d", "\ude00b"]],
  ["a high surrogate alone in a chunk", ["x", "\ud83d", "\ude00", "y"]],
  ["a high surrogate then no low", ["a\ud83d", "b"]],
  ["two high surrogates", ["\ud83d", "\ud83d", "\ude00"]],
  ["a lone low surrogate", ["a\ude00b"]],
  ["a high surrogate at the end", ["abc\ud83d"]],
  ["a high surrogate then an empty chunk", ["a\ud83d", "", "\ude00"]],
  ["empty chunks only", ["", ""]],
  ["nothing", []],
];

describe("WholeChunkTextEncoderStream", () => {
  it.each(CASES)("encodes like Node's TextEncoderStream: %s", async (_name, chunks) => {
    const mine = await encodeAll(() => new WholeChunkTextEncoderStream() as never, chunks);
    const native = await encodeAll(() => new NativeTextEncoderStream() as never, chunks);
    expect(mine).toEqual(native);
    expect(mine).toEqual([...new TextEncoder().encode(chunks.join(""))]);
  });

  it("enqueues one chunk per written chunk, not one per character", async () => {
    const t = new WholeChunkTextEncoderStream();
    const w = t.writable.getWriter();
    const line = `${JSON.stringify({ name: "bøb 😀", n: "x".repeat(100_000) })}\n`;
    void w.write(line);
    void w.close();
    const chunks: Uint8Array[] = [];
    for await (const c of t.readable as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
    expect(chunks.length).toBe(1);
    expect(new TextDecoder().decode(chunks[0])).toBe(line);
  });
});
