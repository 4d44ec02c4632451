// Bundles the CLI (its TypeScript and the workspace packages it uses) into dist/main.mjs, so
// `spendlens` starts without compiling TypeScript at run time. bin/spendlens.mjs uses the bundle when
// it is newer than every source, else the sources through tsx.
import { build } from "esbuild";

await build({
  entryPoints: [new URL("src/main.ts", import.meta.url).pathname],
  outfile: new URL("dist/main.mjs", import.meta.url).pathname,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // Packages that find files next to their own modules (PGlite's wasm, the price table, the
  // tokenizer's ranks) or load optional native code stay outside and are imported from node_modules.
  external: [
    "@electric-sql/pglite",
    "pg",
    "pg-native",
    "pino",
    "@pydantic/genai-prices",
    "gpt-tokenizer",
    "tsx",
  ],
  // CommonJS dependencies inside an ES module bundle need a require.
  banner: {
    js: "import { createRequire as __slRequire } from 'node:module'; const require = __slRequire(import.meta.url);",
  },
  logLevel: "warning",
});
