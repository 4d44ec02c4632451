// Preloaded into the embedded bench's server (`node --import …/memProbe.mjs`): records every
// WebAssembly memory the process makes (PGlite's Emscripten heap) and, on SIGUSR2, writes where the
// memory is to SPENDLENS_BENCH_MEM_FILE: RSS, V8 heap, external and ArrayBuffers, and the WebAssembly
// memories' sizes (they grow and never shrink). Bench-only; the server itself knows nothing of it.
import { writeFileSync } from "node:fs";

const mems = new Set();
const Orig = WebAssembly.Memory;
WebAssembly.Memory = function Memory(desc) {
  const m = new Orig(desc);
  mems.add(m);
  return m;
};
WebAssembly.Memory.prototype = Orig.prototype;
for (const k of ["instantiate", "instantiateStreaming"]) {
  const f = WebAssembly[k];
  if (!f) continue;
  WebAssembly[k] = async (...a) => {
    const r = await f.apply(WebAssembly, a);
    const inst = r.instance ?? r;
    for (const v of Object.values(inst.exports ?? {})) if (v instanceof Orig) mems.add(v);
    return r;
  };
}
const file = process.env.SPENDLENS_BENCH_MEM_FILE;
if (file)
  process.on("SIGUSR2", () => {
    const u = process.memoryUsage();
    const wasm = [...mems].map((m) => m.buffer.byteLength);
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
      }),
    );
  });
