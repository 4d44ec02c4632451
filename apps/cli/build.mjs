// Bundles the CLI (its TypeScript and the workspace packages it uses) into dist/main.cjs, so
// `spendlens` starts without compiling TypeScript at run time, and writes V8's code cache for it
// (dist/main.cjs.cache, bin/loadBundle.mjs). bin/spendlens.mjs uses the bundle when it is newer than
// every source, else the sources through tsx.
//
// CommonJS, not an ES module: Node 20 can give V8 a code cache only for a script it compiles itself
// (vm.Script's cachedData), and in a CommonJS bundle an external package is required where its
// importing module is first initialised (an ES module bundle hoists every external import to its top,
// so pino and the rest loaded on every run).
import { readdirSync, rmSync } from "node:fs";
import { build } from "esbuild";
import { writeBundleCache } from "./bin/loadBundle.mjs";

const outfile = new URL("dist/main.cjs", import.meta.url).pathname;
await build({
  entryPoints: [new URL("src/main.ts", import.meta.url).pathname],
  outfile,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  // Packages that find files next to their own modules (PGlite's wasm, the price table, the
  // tokenizer's ranks) or load optional native code stay outside and are required from node_modules.
  external: [
    "@electric-sql/pglite",
    "pg",
    "pg-native",
    "pino",
    "@pydantic/genai-prices",
    "gpt-tokenizer",
    "tsx",
  ],
  // import() of an external becomes a require() (every external has a CommonJS entry): a vm.Script's
  // import() needs a loader callback, which Node 20 gives only behind --experimental-vm-modules.
  supported: { "dynamic-import": false },
  // import.meta.url (modules that resolve files next to themselves) is the bundle's own URL.
  define: { "import.meta.url": "__slImportMetaUrl" },
  banner: { js: "const __slImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  // No comments or indentation: a third of the bundle's bytes, and the comments' non-ASCII characters
  // would make it a two-byte string (loadBundle.mjs reads an ASCII bundle as Latin-1, without decoding).
  minifyWhitespace: true,
  logLevel: "warning",
});
// The caches of the previous bundle (one per set of node flags) are of no use to this one.
const dist = new URL("dist/", import.meta.url).pathname;
for (const f of readdirSync(dist)) if (/^main\.cjs\..*cache/.test(f)) rmSync(`${dist}${f}`, { force: true });
writeBundleCache(outfile);
