import { Tiktoken } from "js-tiktoken/lite";
import cl100k from "js-tiktoken/ranks/cl100k_base";
import o200k from "js-tiktoken/ranks/o200k_base";
import { afterAll, describe, expect, it } from "vitest";
import {
  ALL,
  calculateSpend,
  countMessages,
  type EncodingName,
  parseConfig,
  SpendlensError,
  TokenCounter,
} from "../src/internal.ts";

/**
 * The token counter (a child process with gpt-tokenizer) against an independent implementation,
 * js-tiktoken (the library spendlens used before), text by text; and its process handling.
 */
const reference: Record<EncodingName, Tiktoken> = {
  o200k_base: new Tiktoken(o200k),
  cl100k_base: new Tiktoken(cl100k),
};
const ref = (e: EncodingName, t: string) => reference[e].encode(t, [], []).length;

/** A fixed pseudo-random generator (the corpus is the same on every run). */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

function corpus(): string[] {
  const rnd = lcg(42);
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)] as T;
  const ranges: [number, number][] = [
    [0x20, 0x7e], // ASCII
    [0xa0, 0x2ff], // Latin-1, Latin Extended
    [0x300, 0x36f], // combining marks
    [0x400, 0x4ff], // Cyrillic
    [0x590, 0x6ff], // Hebrew, Arabic
    [0x900, 0x97f], // Devanagari
    [0x3040, 0x30ff], // kana
    [0x4e00, 0x9fff], // CJK
    [0xac00, 0xd7a3], // Hangul
    [0x1f300, 0x1faff], // emoji (astral)
    [0x1d400, 0x1d7ff], // mathematical alphanumerics (astral)
    [0x20000, 0x2a6df], // CJK extension B (astral)
    [0x10000, 0x10ffff], // any astral code point
    [0x0, 0x1f], // controls, NUL
    [0xfff0, 0xffff], // specials, noncharacters
  ];
  const texts = [
    "",
    " ",
    "\n",
    "\r\n\r\n",
    "Hello world",
    "Hello, world! How's it going? I'VE been 'round. They're here; we'll see.",
    "<|endoftext|>",
    "<|endoftext|><|fim_prefix|><|im_start|>user<|im_end|>",
    "<|endofprompt|> <|fim_middle|> <|fim_suffix|>",
    "😀😃😄👨‍👩‍👧‍👦🏳️‍🌈",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕋𝕖𝕩𝕥",
    "𠀀𠀁𠀂 𪚥",
    "é e\u0301 ñ n\u0303 Z̴̢̛̖͎a̸l̵g̶o̷",
    "\ud800", // lone surrogates (JSON "\ud800" reaches the server as one)
    "a\udc00b",
    "x\ud83d",
    "\ud83d\ude00\ud800",
    "\0",
    "a\0b\0c",
    "1234567890".repeat(50),
    " ".repeat(1000),
    "\t \n ".repeat(300),
    "function f(x) {\n  return x * 2; // comment\n}\n".repeat(200),
    JSON.stringify({ a: [1, 2, { b: "c" }], é: "ü" }).repeat(300),
  ];
  for (let i = 0; i < 150; i++) {
    const len = Math.floor(rnd() ** 3 * 1500);
    let s = "";
    while (s.length < len) {
      const [lo, hi] = pick(ranges);
      s +=
        rnd() < 0.25
          ? pick([" ", "  ", "\n", "'s", "'T", "123", "...", "!?", "\u200d"])
          : String.fromCodePoint(lo + Math.floor(rnd() * (hi - lo + 1)));
    }
    texts.push(s);
  }
  // A long text: ~200k characters of everything above, in words.
  const long: string[] = [];
  for (let n = 0; n < 200_000; ) {
    const t = pick(texts).slice(0, 400);
    long.push(t);
    n += t.length + 1;
  }
  texts.push(long.join(" "));
  texts.push("The quick brown fox jumps over the lazy dog. ".repeat(5000)); // 225k characters of prose
  return texts;
}

const counters: TokenCounter[] = [];
const make = (o: ConstructorParameters<typeof TokenCounter>[0]) => {
  const c = new TokenCounter(o);
  counters.push(c);
  return c;
};
afterAll(async () => {
  await Promise.all(counters.map((c) => c.close()));
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const waitFor = async (cond: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  return cond();
};

describe("token counts equal js-tiktoken's", () => {
  const texts = corpus();
  // One counter (one child, its encodings loaded once) for the counts: the child's own life is the
  // next describe's.
  let shared: TokenCounter | undefined;
  const counter = () => (shared ??= make({}));
  for (const e of ["o200k_base", "cl100k_base"] as const) {
    it(`${e}: ${texts.length} texts (astral characters, lone surrogates, special-token markers, NUL, 200k-character texts)`, async () => {
      const c = counter();
      // One request per text: a difference is reported with its text's index.
      const got = await Promise.all(texts.map((t) => c.count(e, [t])));
      const want = texts.map((t) => ref(e, t));
      const diff = got.flatMap((n, i) => (n === want[i] ? [] : [{ i, got: n, want: want[i] }]));
      expect(diff).toEqual([]);
      expect(got.reduce((a, b) => a + b, 0)).toBeGreaterThan(100_000);
      // Many texts in one request: the sum.
      expect(await c.count(e, texts)).toBe(want.reduce((a, b) => a + b, 0));
    }, 240_000);
  }

  it("counts a chat's messages as before (3 per message, 1 per name, 3 to prime the reply)", async () => {
    const c = counter();
    const messages = [
      { role: "system", content: "You are terse. 😀" },
      {
        role: "user",
        content: [{ type: "text", text: "Hello 𝔘𝔫𝔦 world" }, { type: "image_url" }],
        name: "bob",
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"x":1}' } }],
      },
    ];
    const e = "o200k_base";
    const want =
      3 +
      ref(e, "system") +
      ref(e, "You are terse. 😀") +
      3 +
      ref(e, "user") +
      ref(e, "Hello 𝔘𝔫𝔦 world") +
      ref(e, "bob") +
      1 +
      3 +
      ref(e, "assistant") +
      ref(e, "f") +
      ref(e, '{"x":1}') +
      3;
    expect(await countMessages(c, e, messages)).toBe(want);
  });
});

describe("the counter's child process", () => {
  it("serves many requests at once with one child, then exits when idle; the next request starts another", async () => {
    const c = make({ idleMs: 300 });
    expect(c.pid).toBeNull();
    const texts = Array.from({ length: 40 }, (_, i) => `request ${i}: ${"héllo wörld 😀 ".repeat(i * 10)}`);
    const got = await Promise.all(texts.map((t, i) => c.count(i % 2 ? "cl100k_base" : "o200k_base", [t])));
    expect(got).toEqual(texts.map((t, i) => ref(i % 2 ? "cl100k_base" : "o200k_base", t)));
    expect(c.started).toBe(1);
    const pid = c.pid;
    expect(pid).not.toBeNull();
    expect(pid).not.toBe(process.pid);
    expect(alive(pid as number)).toBe(true);
    // Idle: the child is let go and its process ends (its memory with it).
    expect(await waitFor(() => c.pid === null && !alive(pid as number), 10_000)).toBe(true);
    expect(await c.count("o200k_base", ["Hello world"])).toBe(2);
    expect(c.started).toBe(2);
    expect(c.pid).not.toBe(pid);
  }, 60_000);

  it("a child that dies with requests in flight fails them UNAVAILABLE (no hang); the next request works", async () => {
    const c = make({ idleMs: 60_000 });
    expect(await c.count("o200k_base", ["warm"])).toBe(1);
    const pid = c.pid as number;
    const big = "lorem ipsum dolor sit amet ".repeat(400_000); // ~11M characters: still counting when killed
    const inFlight = [c.count("o200k_base", [big]), c.count("cl100k_base", [big])].map((p) =>
      p.then(
        () => null,
        (e: unknown) => e,
      ),
    );
    process.kill(pid, "SIGKILL");
    for (const e of await Promise.all(inFlight)) {
      expect(e).toBeInstanceOf(SpendlensError);
      expect((e as SpendlensError).code).toBe("UNAVAILABLE");
      expect((e as SpendlensError).message).toMatch(/tokenizer process ended \(signal SIGKILL\)/);
    }
    expect(await c.count("o200k_base", ["Hello world"])).toBe(2);
    expect(c.started).toBe(2);
  }, 60_000);

  it("a request past the timeout fails TIMEOUT and its child is ended", async () => {
    const c = make({ timeoutMs: 40 }); // less than a child's start: every request times out
    const e = await c.count("o200k_base", ["Hello world"]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SpendlensError);
    expect((e as SpendlensError).code).toBe("TIMEOUT");
    expect((e as SpendlensError).message).toContain("ran past 40 ms");
    expect(c.pid).toBeNull();
    const again = await c.count("o200k_base", ["Hello world"]).catch((x: unknown) => x);
    expect((again as SpendlensError).code).toBe("TIMEOUT");
    expect(c.started).toBe(2);
  }, 30_000);

  it("calculateSpend passes the counter's failure on as UNAVAILABLE (503 on REST), not a hang", async () => {
    const c = make({});
    const config = parseConfig("model_list: []\n", "test.yaml");
    const ok = await calculateSpend(
      null,
      ALL,
      { model: "gpt-4o", messages: [{ role: "user", content: "Hi" }] },
      config,
      c,
    );
    expect(ok.tokens.prompt_tokens).toBe(3 + ref("o200k_base", "user") + ref("o200k_base", "Hi") + 3);
    const big = "lorem ipsum ".repeat(1_000_000);
    const p = calculateSpend(
      null,
      ALL,
      { model: "gpt-4o", messages: [{ role: "user", content: big }] },
      config,
      c,
    );
    const killed = await waitFor(() => c.pid !== null, 5_000);
    expect(killed).toBe(true);
    process.kill(c.pid as number, "SIGKILL");
    const e = await p.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SpendlensError);
    expect((e as SpendlensError).code).toBe("UNAVAILABLE");
  }, 60_000);
});
