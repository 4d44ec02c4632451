// Loads the CLI's CommonJS bundle (dist/main.cjs, build.mjs) with V8's code cache: the bundle's
// functions compiled once (at build time, by writeBundleCache) instead of on every run. Node 20 has no
// module compile cache (module.enableCompileCache is Node 22), so the bundle is compiled here as a
// vm.Script, the way Node compiles a CommonJS file, with `cachedData`.
//
// The cache file is the bundle's sha256 (32 bytes) and V8's data. V8 itself checks only its own version,
// flags and the source's length, so the hash is what ties a cache to this bundle: a cache of another
// build, or one V8 rejects (another Node), is not used; the run then compiles the bundle as before, and
// writes a fresh cache when it exits (best effort, renamed into place whole). V8 also rejects a cache made
// under other flags (`--max-semi-space-size=4` of the bin's shebang, NODE_OPTIONS), so each set of flags
// has its own file: `main.cjs.cache` without flags (the one build.mjs writes), `main.cjs.<flags' hash>.cache`.
import { isAscii } from "node:buffer";
import { createHash } from "node:crypto";
import { readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname } from "node:path";
import vm from "node:vm";

function cacheFile(file) {
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" ").trim();
  return flags
    ? `${file}.${createHash("sha256").update(flags).digest("hex").slice(0, 12)}.cache`
    : `${file}.cache`;
}

function compile(file) {
  // Read and hashed as bytes; an ASCII bundle (build.mjs) is decoded as Latin-1 (the same string, no
  // UTF-8 decoding): ~20 ms less per run than reading the text as UTF-8 and hashing the string.
  const bytes = readFileSync(file);
  const source = isAscii(bytes) ? bytes.latin1Slice(0, bytes.length) : bytes.toString("utf8");
  const hash = createHash("sha256").update(bytes).digest();
  let cachedData;
  try {
    const c = readFileSync(cacheFile(file));
    if (c.length > 32 && c.subarray(0, 32).equals(hash)) cachedData = c.subarray(32);
  } catch {}
  const script = new vm.Script(Module.wrap(source), {
    filename: file,
    cachedData,
  });
  const module = { exports: {}, filename: file, id: file, loaded: false };
  script
    .runInThisContext()
    .call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  module.loaded = true;
  return {
    exports: module.exports,
    script,
    hash,
    cached: cachedData !== undefined && !script.cachedDataRejected,
  };
}

function writeCache(file, script, hash) {
  const to = cacheFile(file);
  const tmp = `${to}.${process.pid}`;
  try {
    writeFileSync(tmp, Buffer.concat([hash, script.createCachedData()]));
    renameSync(tmp, to);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {}
  }
}

/** The bundle's exports; without a usable cache, one is written when the process exits. */
export function loadBundle(file) {
  const { exports, script, hash, cached } = compile(file);
  if (!cached) process.once("exit", () => writeCache(file, script, hash));
  return exports;
}

/** build.mjs: the cache of a fresh bundle, its modules initialised (what every run compiles). */
export function writeBundleCache(file) {
  const { script, hash } = compile(file);
  writeCache(file, script, hash);
}
