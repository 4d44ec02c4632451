// Preloaded into the embedded bench's server (`node --import …/memProbe.mjs`): records every
// WebAssembly memory the process makes (PGlite's Emscripten heap) and, on SIGUSR2, writes where the
// memory is to SPENDLENS_BENCH_MEM_FILE: RSS, V8 heap, external and ArrayBuffers, and the WebAssembly
// memories' sizes (they grow and never shrink). Bench-only; the server itself knows nothing of it.
import { readFileSync, writeFileSync } from "node:fs";

/**
 * Resident memory by kind from /proc/self/smaps, in bytes: `wasm` PGlite's WebAssembly heap (V8 reserves
 * a WebAssembly memory's whole address range with guard pages: the accessible part is the read-write
 * mapping that starts where a reserved (---p) mapping of 1 GiB or more ends; only its touched pages are
 * resident), `file` file-backed mappings (node's binary, shared libraries), `anon` every other mapping
 * (V8's heap pages, malloc arenas, Buffers).
 */
function smapsParts() {
  const out = { wasm: 0, file: 0, anon: 0 };
  let kind = "anon";
  let prevEnd = -1n;
  let prevReserved = false;
  try {
    for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
      const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$/.exec(line);
      if (head) {
        const start = BigInt(`0x${head[1]}`);
        const end = BigInt(`0x${head[2]}`);
        if (head[4]?.startsWith("/")) kind = "file";
        else if (head[3] === "rw-p" && prevReserved && start === prevEnd) kind = "wasm";
        else kind = "anon";
        prevReserved = head[3] === "---p" && end - start >= 1n << 30n;
        prevEnd = end;
        continue;
      }
      const rss = /^Rss:\s+(\d+) kB/.exec(line);
      if (rss) out[kind] += Number(rss[1]) * 1024;
    }
  } catch {
    /* not Linux */
  }
  return out;
}

// Weak references: the probe must not keep a closed PGlite's memory alive.
const mems = new Set();
const Orig = WebAssembly.Memory;
WebAssembly.Memory = function Memory(desc) {
  const m = new Orig(desc);
  mems.add(new WeakRef(m));
  return m;
};
WebAssembly.Memory.prototype = Orig.prototype;
for (const k of ["instantiate", "instantiateStreaming"]) {
  const f = WebAssembly[k];
  if (!f) continue;
  WebAssembly[k] = async (...a) => {
    const r = await f.apply(WebAssembly, a);
    const inst = r.instance ?? r;
    for (const v of Object.values(inst.exports ?? {})) if (v instanceof Orig) mems.add(new WeakRef(v));
    return r;
  };
}
const file = process.env.SPENDLENS_BENCH_MEM_FILE;
if (file)
  process.on("SIGUSR2", () => {
    const u = process.memoryUsage();
    const wasm = [];
    for (const r of mems) {
      const m = r.deref();
      if (m) wasm.push(m.buffer.byteLength);
      else mems.delete(r);
    }
    writeFileSync(
      file,
      JSON.stringify({
        at: Date.now(),
        rss: u.rss,
        heapUsed: u.heapUsed,
        heapTotal: u.heapTotal,
        external: u.external,
        arrayBuffers: u.arrayBuffers,
        wasm,
        resident: smapsParts(),
      }),
    );
  });
