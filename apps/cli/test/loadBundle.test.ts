import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

/**
 * bin/loadBundle.mjs, which runs the CLI's bundle with V8's code cache (every other CLI test runs the
 * real binary through it): a small CommonJS bundle in a folder of its own, loaded in child processes.
 */

const LOADER = fileURLToPath(new URL("../bin/loadBundle.mjs", import.meta.url));
const run = promisify(execFile);
const dir = mkdtempSync(
  join(tmpdir(), `spendlens-loadbundle-${process.env.SPENDLENS_TEST_RUN_ID ?? "dev"}-`),
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bundle = join(dir, "main.cjs");
const cache = `${bundle}.cache`;
// Two sources of the same length: V8 checks only the length, the loader the sha256.
const source = (answer: string) =>
  `const path = require("node:path");
module.exports = { main: () => ${answer}, file: __filename, dir: __dirname, base: path.basename(__filename),
  deep: [1, 2, 3].map((x) => x * 2).join(","), self: typeof module.exports };\n`;

/** Loads the bundle in a fresh node (with these flags) and prints what it exports. */
async function load(flags: string[] = []) {
  const runner = join(dir, "run.mjs");
  writeFileSync(
    runner,
    `import { loadBundle } from ${JSON.stringify(LOADER)};
const m = loadBundle(${JSON.stringify(bundle)});
console.log(JSON.stringify({ ...m, main: m.main() }));\n`,
  );
  const r = await run(process.execPath, [...flags, runner], { env: { ...process.env, NODE_OPTIONS: "" } });
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout);
}

const sha = (s: string) => createHash("sha256").update(s).digest();

describe("the CLI bundle's loader (V8 code cache)", () => {
  it("runs the bundle as CommonJS, writes the cache once, then uses it", async () => {
    writeFileSync(bundle, source("41"));
    const want = { main: 41, file: bundle, dir, base: "main.cjs", deep: "2,4,6", self: "object" };
    expect(await load()).toEqual(want);
    // Written when the first run exited: the bundle's hash, then V8's data.
    const first = readFileSync(cache);
    expect(first.subarray(0, 32).equals(sha(source("41")))).toBe(true);
    expect(first.length).toBeGreaterThan(32);
    const mtime = statSync(cache).mtimeMs;
    expect(await load()).toEqual(want);
    // Accepted: not written again.
    expect(statSync(cache).mtimeMs).toBe(mtime);
    expect(readFileSync(cache).equals(first)).toBe(true);
  });

  it("a cache of another bundle of the same length is not used, and is replaced", async () => {
    expect(source("42").length).toBe(source("41").length);
    writeFileSync(bundle, source("42"));
    expect((await load()).main).toBe(42);
    expect(
      readFileSync(cache)
        .subarray(0, 32)
        .equals(sha(source("42"))),
    ).toBe(true);
    // A damaged cache with the right hash: V8 rejects it, the bundle still runs, the cache is rewritten.
    const good = readFileSync(cache);
    const bad = Buffer.from(good);
    bad.fill(7, 40);
    writeFileSync(cache, bad);
    expect((await load()).main).toBe(42);
    expect(
      readFileSync(cache)
        .subarray(0, 32)
        .equals(sha(source("42"))),
    ).toBe(true);
    expect(readFileSync(cache).equals(bad)).toBe(false);
  });

  it("other node flags (the bin's --max-semi-space-size=4) have a cache file of their own", async () => {
    const before = readFileSync(cache);
    const flagged = () => readdirSync(dir).filter((f) => /^main\.cjs\.[0-9a-f]{12}\.cache$/.test(f));
    expect(flagged()).toEqual([]);
    expect((await load(["--max-semi-space-size=4"])).main).toBe(42);
    expect(flagged()).toHaveLength(1);
    const own = readFileSync(join(dir, flagged()[0]!));
    expect(own.subarray(0, 32).equals(sha(source("42")))).toBe(true);
    // The flagless cache untouched, and each used again without being rewritten.
    expect(readFileSync(cache).equals(before)).toBe(true);
    expect((await load(["--max-semi-space-size=4"])).main).toBe(42);
    expect((await load()).main).toBe(42);
    expect(readFileSync(join(dir, flagged()[0]!)).equals(own)).toBe(true);
    expect(readFileSync(cache).equals(before)).toBe(true);
  });
});
